//! `watch-visitor <visitor id>`: an agent's socket waits for the customer with that visitor id
//! (Glance's `visitorid`) to start a session, and hears `visitor-started {visitorid}` when one
//! does (`tandem_core::service` publishes it). The event carries only the id the agent already
//! knows: the session is read over REST, where the agent's policy applies.

use tandem_core::service::{valid_visitor_id, Watcher, MAX_VISITOR_ID};

use super::conn::Conn;
use super::Failure;
use crate::frame::ClientFrame;
use crate::topic::Topic;

impl Conn {
    pub(super) fn watch_visitor(&mut self, f: &ClientFrame<'_>) -> Result<(), Failure> {
        if !matches!(self.who.watcher(), Watcher::Agent { .. }) {
            return Err((
                "forbidden",
                "only an agent's socket waits for a visitor".to_string(),
            ));
        }
        let visitor = f.text().filter(|v| valid_visitor_id(v)).ok_or_else(|| {
            (
                "invalid_visitor_id",
                format!(
                    "watch-visitor takes a visitor id: 1 to {MAX_VISITOR_ID} bytes without \
                         control characters"
                ),
            )
        })?;
        let max = self.hub.limits().max_subscriptions;
        let held = self
            .topics
            .iter()
            .filter(|t| !matches!(t, Topic::User(_)))
            .count();
        if held >= max {
            return Err((
                "too_many_subscriptions",
                format!("a socket may hold {max} subscriptions"),
            ));
        }
        self.join(Topic::Visitor(self.who.scoped(visitor)));
        Ok(())
    }
}
