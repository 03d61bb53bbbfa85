//! What the realtime sockets ask of the service: who a socket token belongs to, what a
//! subscription token reaches, device presence and connect requests.

use std::sync::Arc;
use std::time::Duration;

use super::{Caller, Service};
use crate::bus::{Event, Notification, Presence};
use crate::model::{Account, Device, Session, User};
use crate::secrets;
use crate::store::StreamToken;
use crate::time::{self, Micros};
use crate::{Error, Result};

/// How long a presence lease lasts without a refresh. Replicas refresh the devices they hold
/// every third of this, so a replica that dies leaves its devices online for at most this long.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);

/// What a `subscribe` token reaches.
#[derive(Debug, Clone)]
pub enum Subscription {
    Session(Box<Session>),
    Device(Box<Device>),
}

fn micros(d: Duration) -> Micros {
    d.as_micros() as Micros
}

impl Service {
    /// The agent whose notification token (from `/users/me`) opens a socket.
    pub async fn socket_agent(&self, token: &str) -> Result<(Account, User)> {
        if token.is_empty() {
            return Err(Error::NotFound("user"));
        }
        let user = self.store.user_by_notification_token(token).await?;
        let account = self.store.account(&user.account_id).await?;
        Ok((account, user))
    }

    /// Resolves a `subscribe` token: a session's `control_token` or a device's
    /// `notification_token`, inside the caller's account only.
    pub async fn subscription(&self, account_id: &str, token: &str) -> Result<Subscription> {
        if token.is_empty() {
            return Err(Error::NotFound("subscription"));
        }
        match self.store.session_by_control_token(account_id, token).await {
            Ok(s) => return Ok(Subscription::Session(Box::new(s))),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        match self
            .store
            .device_by_notification_token(account_id, token)
            .await
        {
            Ok(d) => Ok(Subscription::Device(Box::new(d))),
            Err(Error::NotFound(_)) => Err(Error::NotFound("subscription")),
            Err(e) => Err(e),
        }
    }

    /// The agent and session a stream token (from `/sessions/:id/tokens`) opens. Expired
    /// tokens are refused as `token_expired`, ended sessions as `session_ended`.
    pub async fn stream_agent(&self, token: &str) -> Result<(StreamToken, Session)> {
        if token.is_empty() {
            return Err(Error::NotFound("stream token"));
        }
        let t = self.store.stream_token(&secrets::hash_token(token)).await?;
        if t.expires <= time::now() {
            return Err(Error::refused(
                "token_expired",
                "the stream token has expired",
            ));
        }
        let s = self.store.session(&t.account_id, &t.session_id).await?;
        if !s.is_live() {
            return Err(Error::refused("session_ended", "the session has ended"));
        }
        Ok((t, s))
    }

    /// The account whose asset relay a viewer may use: the key is the hash of one of its agents'
    /// stream tokens (`/sessions/:id/tokens` gives it as `asset_url`), valid while that token
    /// and its session are. The key opens nothing but the relay.
    pub async fn asset_relay_account(&self, token_hash: &str) -> Result<Account> {
        let t = self.store.stream_token(token_hash).await?;
        if t.expires <= time::now() {
            return Err(Error::refused("token_expired", "the asset key has expired"));
        }
        let s = self.store.session(&t.account_id, &t.session_id).await?;
        if !s.is_live() {
            return Err(Error::refused("session_ended", "the session has ended"));
        }
        self.store.account(&t.account_id).await
    }

    /// The session a device's stream socket joins: live, and joined by this device.
    pub async fn device_stream(
        &self,
        account_id: &str,
        device_id: &str,
        session_id: &str,
    ) -> Result<Session> {
        let s = self.store.session(account_id, session_id).await?;
        if s.device_id.as_deref() != Some(device_id) {
            return Err(Error::NotFound("session"));
        }
        if !s.is_live() {
            return Err(Error::refused("session_ended", "the session has ended"));
        }
        Ok(s)
    }

    /// The presence of a device as subscribers see it.
    pub async fn presence(&self, account_id: &str, device_id: &str) -> Result<Presence> {
        let d = self.store.device(account_id, device_id).await?;
        Ok(Presence {
            account_id: d.account_id,
            id: d.id,
            present: d.online,
            last_seen: d.last_active,
        })
    }

    /// A device's first notification socket on this replica opened (`present`), or its last one
    /// closed. Stores the presence lease and tells subscribers.
    pub async fn device_presence(
        &self,
        account_id: &str,
        device_id: &str,
        present: bool,
    ) -> Result<()> {
        let now = time::now();
        let until = if present {
            now + micros(PRESENCE_TTL)
        } else {
            0
        };
        self.store
            .set_presence(&[(account_id.to_owned(), device_id.to_owned())], until, now)
            .await?;
        self.bus.publish(Event::Presence(Arc::new(Presence {
            account_id: account_id.to_owned(),
            id: device_id.to_owned(),
            present,
            last_seen: now,
        })));
        Ok(())
    }

    /// Devices whose presence lease ran out (the replica holding their socket died without
    /// saying goodbye) go offline, and subscribers hear it. Part of the reaper's pass.
    pub(crate) async fn expire_presence(&self, now: Micros) -> Result<()> {
        for (account_id, id, last_seen) in self.store.lapsed_presence(now, 1000).await? {
            self.bus.publish(Event::Presence(Arc::new(Presence {
                account_id,
                id,
                present: false,
                last_seen,
            })));
        }
        Ok(())
    }

    /// Renews the presence lease of devices whose sockets this replica holds.
    pub async fn refresh_presence(&self, devices: &[(String, String)]) -> Result<()> {
        if devices.is_empty() {
            return Ok(());
        }
        let now = time::now();
        self.store
            .set_presence(devices, now + micros(PRESENCE_TTL), now)
            .await
    }

    /// Asks a device to join a session: the request reaches the device's notification socket on
    /// whichever replica holds it. Fails when the device is not online.
    pub async fn notify_device(
        &self,
        caller: &Caller,
        device_id: &str,
        session_id: &str,
        attempt: u32,
    ) -> Result<()> {
        let Caller::Agent { account, .. } = caller else {
            return Err(Error::Forbidden(
                "only agents can ask a device to join".into(),
            ));
        };
        let device = self.get_device(caller, device_id).await?;
        let session = self.get_session(caller, session_id).await?;
        metrics::counter!("tandem_device_notifications_total").increment(1);
        if !session.is_live() {
            metrics::counter!("tandem_device_notification_failures_total", "reason" => "session_ended")
                .increment(1);
            return Err(Error::refused(
                "session_ended",
                "the session has ended; create a new one",
            ));
        }
        if session.device_id.as_deref().is_some_and(|d| d != device.id) {
            metrics::counter!("tandem_device_notification_failures_total", "reason" => "other_device")
                .increment(1);
            return Err(Error::refused(
                "device_mismatch",
                "the session is already joined by another device",
            ));
        }
        if !device.online {
            metrics::counter!("tandem_device_notification_failures_total", "reason" => "offline")
                .increment(1);
            return Err(Error::refused(
                "device_offline",
                "the device is offline: it has no notification socket open",
            ));
        }
        self.bus.publish(Event::Notify(Arc::new(Notification {
            account_id: account.id.clone(),
            device_id: device.id,
            session,
            attempt,
        })));
        Ok(())
    }
}
