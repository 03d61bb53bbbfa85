//! The hub: which sockets are open, which topics each follows, and delivery of encoded frames to
//! them. Every event is encoded once and the same bytes go to every receiver; each socket has a
//! bounded queue, and a socket whose queue is full is closed rather than allowed to grow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_core::bus::Event;
use tandem_core::service::{Service, PRESENCE_TTL};
use tokio::sync::{broadcast, watch, Notify};

use crate::bridge::Bridge;
use crate::frame;
use crate::meters::Meters;
use crate::peer::Peer;
use crate::replay::Replay;
use crate::wire;

/// A delivery address: `s:<account>:<session>` (session changes), `d:<account>:<device>`
/// (device changes and presence), `n:<account>:<device>` (the device's own inbox).
pub type Topic = String;

pub fn session_topic(account_id: &str, id: &str) -> Topic {
    format!("s:{account_id}:{id}")
}
pub fn device_topic(account_id: &str, id: &str) -> Topic {
    format!("d:{account_id}:{id}")
}
pub fn inbox_topic(account_id: &str, id: &str) -> Topic {
    format!("n:{account_id}:{id}")
}
/// Session stream traffic for the agents in a session (`a`) or for its device (`d`).
pub fn stream_topic(account_id: &str, session_id: &str, side: Side) -> Topic {
    let side = match side {
        Side::Agent => 'a',
        Side::Device => 'd',
    };
    format!("r:{account_id}:{session_id}:{side}")
}
/// Not a delivery address: tells every replica to close the sockets of an ended session.
fn ended_topic(account_id: &str, session_id: &str) -> Topic {
    format!("k:{account_id}:{session_id}")
}
/// Not a delivery address: an agent's sockets (subscriptions and streams) follow it, so that
/// revoking the user closes them.
pub fn user_topic(account_id: &str, user_id: &str) -> Topic {
    format!("u:{account_id}:{user_id}")
}
/// Not a delivery address: tells every replica to close a revoked user's sockets.
fn revoked_topic(account_id: &str, user_id: &str) -> Topic {
    format!("x:{account_id}:{user_id}")
}

/// Close code for the sockets of a user whose credentials were revoked.
const REVOKED: u16 = 4001;

/// The two ends of a session stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Agent,
    Device,
}

/// Close code for stream sockets of a session that has ended.
pub const SESSION_ENDED: u16 = 4004;

/// The topic and the framed message (WebSocket frame around CBOR) for an event; `None` for a
/// revocation, which closes sockets instead.
pub fn route(event: &Event) -> Option<(Topic, Bytes)> {
    let (topic, cbor) = match event {
        Event::Session(s) => (
            session_topic(&s.account_id, &s.id),
            frame::event("session", &**s),
        ),
        Event::Device(d) => (
            device_topic(&d.account_id, &d.id),
            frame::event("device", &**d),
        ),
        Event::Presence(p) => (
            device_topic(&p.account_id, &p.id),
            frame::event("presence", &**p),
        ),
        Event::Notify(n) => (
            inbox_topic(&n.account_id, &n.device_id),
            frame::event("notification", &**n),
        ),
        Event::Revoked(_) => return None,
    };
    Some((topic, wire::binary(&cbor)))
}

/// Limits on what one socket may cost.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest client message (and frame) accepted; bigger ones close the socket with 1009.
    pub max_message_bytes: usize,
    /// Largest event a client may send in chunks of at most `max_message_bytes`.
    pub max_event_bytes: usize,
    /// Subscriptions one socket may hold.
    pub max_subscriptions: usize,
    /// Frames waiting to be written to one socket; a full queue closes it with 4008.
    pub queue_frames: usize,
    /// Bytes of recording kept per session for agents who join late (snapshot and events since).
    pub replay_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            max_event_bytes: 32 * 1024 * 1024,
            max_subscriptions: 1000,
            queue_frames: 256,
            replay_bytes: 8 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub limits: Limits,
    /// The server's own origin (`scheme://host[:port]`), always trusted for browser sockets.
    pub public_origin: String,
    /// With a Redis URL, events cross replicas through Redis pub/sub.
    pub redis_url: Option<String>,
}

pub struct Hub {
    service: Arc<Service>,
    settings: Settings,
    topics: RwLock<HashMap<Topic, HashMap<u64, Arc<Peer>>>>,
    next_id: AtomicU64,
    /// Devices with notification sockets on this replica, and how many each has.
    devices: Mutex<HashMap<(String, String), usize>>,
    open: AtomicUsize,
    closed: Notify,
    stop: watch::Sender<bool>,
    bridge: Option<Bridge>,
    /// Replays of the sessions whose device stream is on this replica, by `<account>:<session>`.
    replays: Mutex<HashMap<String, Arc<Mutex<Replay>>>>,
    pub(crate) meters: Meters,
}

impl Hub {
    /// Starts the hub: it follows the service's bus (and Redis, when configured) and keeps the
    /// presence of its devices fresh.
    pub fn start(service: Arc<Service>, settings: Settings) -> Arc<Hub> {
        let (stop, _) = watch::channel(false);
        let bridge = settings.redis_url.clone().map(Bridge::new);
        let hub = Arc::new(Hub {
            service: service.clone(),
            settings,
            topics: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            devices: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            closed: Notify::new(),
            stop,
            bridge,
            replays: Mutex::new(HashMap::new()),
            meters: Meters::new(),
        });
        tokio::spawn(hub.clone().pump(service.events()));
        tokio::spawn(hub.clone().heartbeat());
        if let Some(bridge) = &hub.bridge {
            bridge.spawn(hub.clone());
        }
        hub
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }
    pub fn public_origin(&self) -> &str {
        &self.settings.public_origin
    }

    /// `None` without Redis; otherwise whether the Redis link is up.
    pub fn redis_up(&self) -> Option<bool> {
        self.bridge.as_ref().map(Bridge::is_up)
    }

    /// A receiver that turns true when the hub is shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Asks every socket to close (1001, going away) and waits up to `grace` for them to go.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            // Register for the wake-up before looking, so a close in between is not missed.
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                tracing::warn!(
                    open = self.open.load(Ordering::Acquire),
                    "sockets still open at the end of the shutdown grace period"
                );
                break;
            }
        }
    }

    /// Registers a new socket; returns its id.
    pub(crate) fn open(&self) -> u64 {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets a socket: its topics, and the count of open sockets.
    pub(crate) fn close(&self, id: u64, topics: &[Topic]) {
        self.leave(id, topics);
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.closed.notify_waiters();
    }

    pub(crate) fn join(&self, id: u64, topic: Topic, peer: &Arc<Peer>) {
        let mut topics = self.topics.write().expect("topics lock");
        topics.entry(topic).or_default().insert(id, peer.clone());
        self.meters.subscriptions.increment(1.0);
    }

    fn leave(&self, id: u64, left: &[Topic]) {
        if left.is_empty() {
            return;
        }
        let mut topics = self.topics.write().expect("topics lock");
        for topic in left {
            if let Some(subs) = topics.get_mut(topic) {
                if subs.remove(&id).is_some() {
                    self.meters.subscriptions.decrement(1.0);
                }
                if subs.is_empty() {
                    topics.remove(topic);
                }
            }
        }
    }

    /// Writes `frame` to every socket following `topic` on this replica. Never waits: what a
    /// socket cannot take at once is queued, and a socket whose queue is full is closed.
    pub fn deliver(&self, topic: &str, frame: &Bytes) -> usize {
        let topics = self.topics.read().expect("topics lock");
        let Some(subs) = topics.get(topic) else {
            return 0;
        };
        let sent = subs
            .values()
            .filter(|peer| peer.push(frame.clone()))
            .count();
        self.meters.frames_out.increment(sent as u64);
        self.meters.bytes_out.increment((sent * frame.len()) as u64);
        sent
    }

    /// A device's stream opened: it keeps the session's replay here from now on.
    pub(crate) fn replay_open(&self, account_id: &str, session_id: &str) -> Arc<Mutex<Replay>> {
        let replay = Arc::new(Mutex::new(Replay::opened()));
        self.replays
            .lock()
            .expect("replays lock")
            .insert(format!("{account_id}:{session_id}"), replay.clone());
        replay
    }

    /// The device's stream closed: forget its replay (unless a newer stream replaced it).
    pub(crate) fn replay_close(
        &self,
        account_id: &str,
        session_id: &str,
        replay: &Arc<Mutex<Replay>>,
    ) {
        let mut replays = self.replays.lock().expect("replays lock");
        let key = format!("{account_id}:{session_id}");
        if replays.get(&key).is_some_and(|r| Arc::ptr_eq(r, replay)) {
            replays.remove(&key);
        }
    }

    pub(crate) fn replay(&self, account_id: &str, session_id: &str) -> Option<Arc<Mutex<Replay>>> {
        self.replays
            .lock()
            .expect("replays lock")
            .get(&format!("{account_id}:{session_id}"))
            .cloned()
    }

    /// Delivers on this replica and, with Redis, on the others.
    pub fn relay(&self, topic: Topic, frame: Bytes) {
        self.deliver(&topic, &frame);
        if let Some(bridge) = &self.bridge {
            bridge.publish(&self.meters, topic, frame);
        }
    }

    /// What another replica published.
    pub(crate) fn remote(&self, topic: &str, frame: &Bytes) {
        if topic.starts_with("k:") {
            self.end_streams(topic);
        } else if topic.starts_with("x:") {
            self.close_revoked(topic);
        } else {
            self.deliver(topic, frame);
        }
    }

    /// Closes this replica's stream sockets of an ended session (`k:<account>:<session>`).
    fn end_streams(&self, ended: &str) {
        let Some(rest) = ended.strip_prefix("k:") else {
            return;
        };
        let topics = self.topics.read().expect("topics lock");
        for side in ["a", "d"] {
            if let Some(subs) = topics.get(&format!("r:{rest}:{side}")) {
                for peer in subs.values() {
                    peer.close_with(SESSION_ENDED, "the session has ended");
                }
            }
        }
    }

    /// Closes this replica's sockets of a revoked user (`x:<account>:<user>`).
    fn close_revoked(&self, revoked: &str) {
        let Some(rest) = revoked.strip_prefix("x:") else {
            return;
        };
        let topics = self.topics.read().expect("topics lock");
        if let Some(subs) = topics.get(&format!("u:{rest}")) {
            for peer in subs.values() {
                peer.close_with(REVOKED, "the credentials were revoked");
            }
        }
    }

    /// Follows the local bus: each event is delivered here and, with Redis, to other replicas.
    async fn pump(self: Arc<Self>, mut events: broadcast::Receiver<Event>) {
        let mut stop = self.stopping();
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                _ = stop.wait_for(|s| *s) => return,
            };
            match event {
                Ok(Event::Revoked(r)) => {
                    let revoked = revoked_topic(&r.account_id, &r.user_id);
                    self.close_revoked(&revoked);
                    if let Some(bridge) = &self.bridge {
                        bridge.publish(&self.meters, revoked, Bytes::new());
                    }
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
                            let ended = ended_topic(&s.account_id, &s.id);
                            self.end_streams(&ended);
                            if let Some(bridge) = &self.bridge {
                                bridge.publish(&self.meters, ended, Bytes::new());
                            }
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

    /// A device's notification socket opened: the first one on this replica makes it present.
    pub(crate) async fn device_opened(&self, account_id: &str, device_id: &str) {
        let first = {
            let mut devices = self.devices.lock().expect("devices lock");
            let n = devices
                .entry((account_id.to_owned(), device_id.to_owned()))
                .or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            if let Err(e) = self
                .service
                .device_presence(account_id, device_id, true)
                .await
            {
                tracing::warn!(error = %e, device = device_id, "could not record presence");
            }
        }
    }

    pub(crate) async fn device_closed(&self, account_id: &str, device_id: &str) {
        let last = {
            let mut devices = self.devices.lock().expect("devices lock");
            let key = (account_id.to_owned(), device_id.to_owned());
            match devices.get_mut(&key) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    devices.remove(&key);
                    true
                }
                None => false,
            }
        };
        if last {
            if let Err(e) = self
                .service
                .device_presence(account_id, device_id, false)
                .await
            {
                tracing::warn!(error = %e, device = device_id, "could not record absence");
            }
        }
    }

    /// Renews the presence lease of this replica's devices, a few times per lease.
    async fn heartbeat(self: Arc<Self>) {
        let mut stop = self.stopping();
        let mut tick = tokio::time::interval(PRESENCE_TTL / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let held: Vec<(String, String)> = self
                .devices
                .lock()
                .expect("devices lock")
                .keys()
                .cloned()
                .collect();
            if let Err(e) = self.service.refresh_presence(&held).await {
                tracing::warn!(error = %e, "could not renew device presence");
            }
        }
    }
}
