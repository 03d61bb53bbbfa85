//! What the hub is configured with.

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
    /// One relayed frame in this many is timed stage by stage (`crate::trace`); 0: none.
    pub trace_every: u64,
}
