//! Where the hub delivers: a topic names a kind of traffic and the account-scoped id it is
//! about. Topics are values here; only the Redis edge ([`crate::bridge`]) writes them as text.

use std::sync::Arc;

/// An id inside its account: every topic is scoped by the account, as every Store call is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scoped {
    /// Shared with the socket's identity, so an idle socket's topics cost little.
    pub account: Arc<str>,
    pub id: Box<str>,
}

impl Scoped {
    pub fn new(account: impl Into<Arc<str>>, id: &str) -> Self {
        Scoped {
            account: account.into(),
            id: id.into(),
        }
    }
}

/// The two ends of a session stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Agent,
    Device,
}

impl Side {
    /// The end a frame from this one goes to.
    pub fn other(self) -> Side {
        match self {
            Side::Agent => Side::Device,
            Side::Device => Side::Agent,
        }
    }
}

/// A delivery address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A session's changes (`session` events).
    Session(Scoped),
    /// A device's changes and presence (`device`, `presence`).
    Device(Scoped),
    /// A device's own inbox (`notification`: connect requests).
    Inbox(Scoped),
    /// A session's stream traffic for one of its ends.
    Stream(Scoped, Side),
    /// Agents waiting for the customer with this visitor id to start a session
    /// (`visitor-started`).
    Visitor(Scoped),
    /// Not a delivery address: an agent's sockets (subscriptions and streams) follow their
    /// user, so that revoking the user closes them.
    User(Scoped),
}
