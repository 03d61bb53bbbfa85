//! Fan-out: what the local bus and other replicas say becomes frames for this replica's
//! sockets, or closes them.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tandem_core::bus::Event;
use tokio::sync::{broadcast, mpsc};

use super::{until_stopped, Hub};
use crate::bridge::Crossing;
use crate::close;
use crate::frame;
use crate::topic::{Scoped, Side, Topic};
use crate::wire;

/// The topic and the framed message (WebSocket frame around CBOR) for an event; `None` for a
/// revocation, which closes sockets instead.
pub(crate) fn route(event: &Event) -> Option<(Topic, Bytes)> {
    let (topic, cbor) = match event {
        Event::Session(s) => (
            Topic::Session(Scoped::new(s.account_id.as_str(), &s.id)),
            frame::event("session", &**s),
        ),
        Event::Device(d) => (
            Topic::Device(Scoped::new(d.account_id.as_str(), &d.id)),
            frame::event("device", &**d),
        ),
        Event::Presence(p) => (
            Topic::Device(Scoped::new(p.account_id.as_str(), &p.id)),
            frame::event("presence", &**p),
        ),
        Event::Notify(n) => (
            Topic::Inbox(Scoped::new(n.account_id.as_str(), &n.device_id)),
            frame::event("notification", &**n),
        ),
        Event::Controller(c) => (
            Topic::Session(Scoped::new(c.account_id.as_str(), &c.session_id)),
            frame::event(c.event, &c.data),
        ),
        Event::VisitorStarted(v) => (
            Topic::Visitor(Scoped::new(v.account_id.as_str(), &v.visitorid)),
            frame::event("visitor-started", &**v),
        ),
        Event::Revoked(_) => return None,
    };
    Some((topic, wire::binary(&cbor)))
}

impl Hub {
    /// Follows the local bus: each event is delivered here and, with Redis, to other replicas.
    pub(super) async fn pump(self: Arc<Self>, mut events: broadcast::Receiver<Event>) {
        let mut stop = self.stopping();
        while let Some(event) = until_stopped(&mut stop, events.recv()).await {
            match event {
                Ok(Event::Revoked(r)) => {
                    let user = Scoped::new(r.account_id.as_str(), &r.user_id);
                    self.close_revoked(&user);
                    self.publish(Crossing::UserRevoked(user));
                }
                Ok(event) => {
                    let started = Instant::now();
                    let Some((topic, frame)) = route(&event) else {
                        continue;
                    };
                    self.relay(topic, frame);
                    self.meters
                        .fanout_seconds
                        .record(started.elapsed().as_secs_f64());
                    if let Event::Session(s) = &event {
                        if !s.is_live() {
                            let session = Scoped::new(s.account_id.as_str(), &s.id);
                            self.end_streams(&session);
                            self.publish(Crossing::SessionEnded(session));
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.meters.bus_lagged.increment(n);
                    tracing::warn!(missed = n, "realtime fell behind the event bus");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Follows what other replicas publish (the bridge hands it over).
    pub(super) async fn follow(self: Arc<Self>, mut remote: mpsc::Receiver<Crossing>) {
        let mut stop = self.stopping();
        while let Some(Some(crossing)) = until_stopped(&mut stop, remote.recv()).await {
            match crossing {
                Crossing::Frame(topic, frame) => {
                    self.deliver(&topic, &frame);
                }
                Crossing::SessionEnded(session) => self.end_streams(&session),
                Crossing::UserRevoked(user) => self.close_revoked(&user),
                Crossing::Agents {
                    session,
                    replica,
                    count,
                } => self.agents_announced(&session, replica, count),
                Crossing::AgentsAsked(session) => self.agents_asked(&session),
            }
        }
    }

    /// Closes this replica's stream sockets of an ended session.
    fn end_streams(&self, session: &Scoped) {
        for side in [Side::Agent, Side::Device] {
            let topic = Topic::Stream(session.clone(), side);
            self.close_followers(&topic, close::SESSION_ENDED, "the session has ended");
        }
    }

    /// Closes this replica's sockets of a revoked user.
    fn close_revoked(&self, user: &Scoped) {
        // Counted before closing: a socket that registers after this pass sees the change.
        self.revocations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let topic = Topic::User(user.clone());
        self.close_followers(&topic, close::UNAUTHORIZED, "the credentials were revoked");
    }
}
