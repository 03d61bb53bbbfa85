//! Subscriptions: `subscribe` follows a session (by `control_token`) or a device (by
//! `notification_token`) within what the socket may reach; `sync-presence` reads a device's
//! presence.

use tandem_core::service::Subscription;

use super::conn::Conn;
use super::Failure;
use crate::frame::{self, ClientFrame};
use crate::topic::Topic;

impl Conn {
    pub(super) async fn subscribe(&mut self, f: &ClientFrame<'_>) -> Result<(), Failure> {
        let token = f.text().ok_or((
            "invalid_subscribe",
            "subscribe takes a control_token or notification_token string".to_string(),
        ))?;
        let max = self.hub.limits().max_subscriptions;
        // The user's own topic (for revocation) is not a subscription.
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
        let service = self.hub.service().clone();
        match service.subscription(&self.who.watcher(), token).await {
            Ok(sub) => {
                self.join(match &sub {
                    Subscription::Session(s) => Topic::Session(self.who.scoped(&s.id)),
                    Subscription::Device(d) => Topic::Device(self.who.scoped(&d.id)),
                });
                // Read again after joining, so no change can fall between the read and the join.
                match service.refresh(&self.who.watcher(), sub).await {
                    Subscription::Session(s) => self.reply(frame::event("session", &s)),
                    Subscription::Device(d) => self.reply(frame::event("device", &d)),
                }
                Ok(())
            }
            // Unknown, another account's and out of reach are one answer, as over REST.
            Err(tandem_core::Error::NotFound(_)) => Err((
                "not_found",
                "no session or device you can reach has that token".into(),
            )),
            Err(e) => {
                tracing::error!(error = %e, "subscribe failed");
                Err(("internal", "could not subscribe; try again".into()))
            }
        }
    }

    pub(super) async fn sync_presence(&mut self, f: &ClientFrame<'_>) -> Result<(), Failure> {
        let device_id = f.text().ok_or((
            "invalid_sync_presence",
            "sync-presence takes a device id".to_string(),
        ))?;
        match self
            .hub
            .service()
            .presence(&self.who.watcher(), device_id)
            .await
        {
            Ok(p) => {
                self.reply(frame::event("presence", &p));
                Ok(())
            }
            Err(tandem_core::Error::NotFound(_)) => Err(("not_found", "no such device".into())),
            Err(e) => {
                tracing::error!(error = %e, "sync-presence failed");
                Err(("internal", "could not read presence; try again".into()))
            }
        }
    }
}
