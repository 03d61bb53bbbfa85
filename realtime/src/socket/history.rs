//! The session's history: agents joining and leaving its stream, and the pages the customer's
//! device loads.

use std::time::Duration;

use super::conn::Conn;
use super::identity::Stream;
use crate::frame::ClientFrame;

impl Conn {
    /// An agent's stream opening or closing goes into the session's history.
    pub(super) async fn record_agent(&self, joined: bool) {
        let Some(Stream {
            session,
            user_id: Some(user_id),
            ..
        }) = &self.who.stream
        else {
            return;
        };
        if let Err(e) = self
            .hub
            .service()
            .record_agent(&self.who.account_id, &session.id, user_id, joined)
            .await
        {
            tracing::warn!(error = %e, "could not record an agent in the session history");
        }
    }

    /// A page the customer's device loaded: at most one history entry per second.
    pub(super) async fn record_page(&mut self, f: &ClientFrame<'_>) {
        if self
            .last_page
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last_page = Some(std::time::Instant::now());
        let Some(stream) = &self.who.stream else {
            return;
        };
        let field = |name: &str| f.data_text(name).unwrap_or_default().to_owned();
        let (url, title) = (field("url"), field("title"));
        if let Err(e) = self
            .hub
            .service()
            .record_page(&self.who.account_id, &stream.session.id, &url, &title)
            .await
        {
            tracing::warn!(error = %e, "could not record a page in the session history");
        }
    }
}
