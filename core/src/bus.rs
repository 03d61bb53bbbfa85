//! The event bus: every change to a session or device is published here after it is stored, and
//! realtime pushes it to subscribers. In-process now; a Redis backend joins in the realtime work.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::{Device, Session};

#[derive(Debug, Clone)]
pub enum Event {
    /// A session changed; carries the whole session.
    Session(Arc<Session>),
    /// A device changed; carries the whole device.
    Device(Arc<Device>),
    /// A device came online or went offline.
    Presence(Arc<Presence>),
    /// An agent asks a device to join a session (`POST /devices/:id/notifications`).
    Notify(Arc<Notification>),
    /// A user's socket credentials were revoked: every replica closes the user's sockets.
    Revoked(Arc<Revocation>),
    /// A notification for the session's subscribers about a participant joining, or the session
    /// activating or deactivating (Genesys Co-browse's controller channels).
    Controller(Arc<ControllerNotice>),
    /// A customer with a visitor id started a session (see `service::glance`): agents waiting
    /// on that visitor id hear it, and look the session up themselves.
    VisitorStarted(Arc<VisitorStarted>),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Presence {
    #[serde(skip)]
    pub account_id: String,
    pub id: String,
    pub present: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    pub last_seen: crate::time::Micros,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification {
    #[serde(skip)]
    pub account_id: String,
    #[serde(skip)]
    pub device_id: String,
    pub session: Session,
    pub attempt: u32,
}

/// A visitor id that now has a started session; only the id, which the waiting agent already
/// knows: the session itself is read over REST, under the reader's policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VisitorStarted {
    #[serde(skip)]
    pub account_id: String,
    pub visitorid: String,
}

/// Whose credentials were revoked.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub account_id: String,
    pub user_id: String,
}

/// What a Genesys controller hears about a session (see `service::genesys`): a socket event
/// named `event` with `data`, for the session's subscribers.
#[derive(Debug, Clone)]
pub struct ControllerNotice {
    pub account_id: String,
    pub session_id: String,
    /// `controller.joined`, `controller.activated` or `controller.deactivated`.
    pub event: &'static str,
    pub data: serde_json::Value,
}

impl Event {
    pub fn account_id(&self) -> &str {
        match self {
            Event::Session(s) => &s.account_id,
            Event::Device(d) => &d.account_id,
            Event::Presence(p) => &p.account_id,
            Event::Notify(n) => &n.account_id,
            Event::Revoked(r) => &r.account_id,
            Event::Controller(c) => &c.account_id,
            Event::VisitorStarted(v) => &v.account_id,
        }
    }
}

pub trait Bus: Send + Sync + 'static {
    fn publish(&self, event: Event);
    fn subscribe(&self) -> broadcast::Receiver<Event>;
}

/// A broadcast channel inside one process. Slow receivers lose the oldest events (they see
/// `Lagged`) rather than holding memory.
pub struct InProcessBus {
    tx: broadcast::Sender<Event>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity).0,
        }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl Bus for InProcessBus {
    fn publish(&self, event: Event) {
        // No receivers is normal (nobody is listening yet).
        let _ = self.tx.send(event);
    }
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
