//! What the realtime sockets ask of the service: who a socket token belongs to, what a socket
//! may reach with `subscribe` and `sync-presence`, device presence and connect requests.

use std::sync::Arc;
use std::time::Duration;

use super::{Caller, Service};
use crate::bus::{Event, Notification, Presence, Revocation};
use crate::model::{Account, Device, Session};
use crate::policy::Policy;
use crate::secrets;
use crate::store::{NotificationToken, StreamToken};
use crate::time::{self, Micros};
use crate::{Error, Result};

/// How long a presence lease lasts without a refresh. Replicas refresh the devices they hold
/// every third of this, so a replica that dies leaves its devices online for at most this long.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);

/// Notification tokens kept per user: each `/users/me` mints one, and the oldest go first.
const NOTIFICATION_TOKENS_KEPT: u32 = 100;

/// What a `subscribe` token reaches.
#[derive(Debug, Clone)]
pub enum Subscription {
    Session(Box<Session>),
    Device(Box<Device>),
}

/// Who holds a socket, as far as `subscribe` and `sync-presence` are concerned. It reaches what
/// the same caller reaches over REST, and nothing else.
#[derive(Debug, Clone, Copy)]
pub enum Watcher<'a> {
    /// An agent's socket: the account's sessions and devices that the policy of the JWT its
    /// notification token came from lets it read.
    Agent {
        account_id: &'a str,
        policy: Option<&'a Policy>,
    },
    /// A device's notification socket: the device itself and the sessions bound to it.
    Device {
        account_id: &'a str,
        device_id: &'a str,
    },
    /// A session's stream socket: that session only.
    Stream {
        account_id: &'a str,
        session_id: &'a str,
    },
}

impl Watcher<'_> {
    fn account_id(&self) -> &str {
        match self {
            Watcher::Agent { account_id, .. }
            | Watcher::Device { account_id, .. }
            | Watcher::Stream { account_id, .. } => account_id,
        }
    }

    /// Whether the watcher may read this session (as `GET /sessions/:id` would let it).
    fn sees_session(&self, s: &Session) -> bool {
        match self {
            Watcher::Agent { policy, .. } => {
                policy.is_none_or(|p| p.allows("sessions", "read", &s.id, &s.custom_data))
            }
            Watcher::Device { device_id, .. } => s.device_id.as_deref() == Some(*device_id),
            Watcher::Stream { session_id, .. } => s.id == *session_id,
        }
    }

    /// Whether the watcher may read this device (as `GET /devices/:id` would let it).
    fn sees_device(&self, d: &Device) -> bool {
        match self {
            Watcher::Agent { policy, .. } => {
                policy.is_none_or(|p| p.allows("devices", "read", &d.id, &d.custom_data))
            }
            Watcher::Device { device_id, .. } => d.id == *device_id,
            Watcher::Stream { .. } => false,
        }
    }
}

fn micros(d: Duration) -> Micros {
    d.as_micros() as Micros
}

impl Service {
    /// Mints a notification token (`/users/me`) for an agent's socket: bound to the agent and to
    /// the policy of the caller's JWT, good for `ttl`. Only its hash is stored.
    pub async fn notification_token(&self, caller: &Caller, ttl: Duration) -> Result<String> {
        let Caller::Agent {
            account,
            user,
            policy,
        } = caller
        else {
            return Err(Error::Forbidden(
                "only agents have notification tokens".into(),
            ));
        };
        let token = secrets::bearer_token();
        self.store
            .add_notification_token(
                &NotificationToken {
                    token_hash: secrets::hash_token(&token),
                    account_id: account.id.clone(),
                    user_id: user.id.clone(),
                    policy: policy.clone(),
                    expires: time::now() + micros(ttl),
                },
                NOTIFICATION_TOKENS_KEPT,
            )
            .await?;
        Ok(token)
    }

    /// The agent whose notification token (from `/users/me`) opens a socket, with the policy
    /// it was minted for. Expired tokens are refused as `token_expired`.
    pub async fn socket_agent(&self, token: &str) -> Result<(Account, NotificationToken)> {
        if token.is_empty() {
            return Err(Error::NotFound("notification token"));
        }
        let t = self
            .store
            .notification_token(&secrets::hash_token(token))
            .await?;
        if t.expires <= time::now() {
            return Err(Error::refused(
                "token_expired",
                "the notification token has expired",
            ));
        }
        let account = Self::usable(self.store.account(&t.account_id).await?)?;
        Ok((account, t))
    }

    /// Revokes a user's socket credentials: their notification and stream tokens stop working
    /// at once, and every replica closes the user's open sockets (4001). Returns how many tokens
    /// went.
    pub async fn revoke_user_tokens(&self, account_id: &str, user_id: &str) -> Result<u64> {
        let gone = self.store.revoke_user_tokens(account_id, user_id).await?;
        self.bus.publish(Event::Revoked(Arc::new(Revocation {
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
        })));
        tracing::info!(
            account = account_id,
            user = user_id,
            tokens = gone,
            "revoked a user's socket credentials"
        );
        Ok(gone)
    }

    /// Resolves a `subscribe` token: a session's `control_token` or a device's
    /// `notification_token`, of the watcher's account, that the watcher may read. Anything
    /// else, whether it exists or not, is `NotFound`.
    pub async fn subscription(&self, watcher: &Watcher<'_>, token: &str) -> Result<Subscription> {
        if token.is_empty() {
            return Err(Error::NotFound("subscription"));
        }
        let account_id = watcher.account_id();
        match self.store.session_by_control_token(account_id, token).await {
            Ok(s) if watcher.sees_session(&s) => return Ok(Subscription::Session(Box::new(s))),
            Ok(_) => return Err(Error::NotFound("subscription")),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        match self
            .store
            .device_by_notification_token(account_id, token)
            .await
        {
            Ok(d) if watcher.sees_device(&d) => Ok(Subscription::Device(Box::new(d))),
            Ok(_) | Err(Error::NotFound(_)) => Err(Error::NotFound("subscription")),
            Err(e) => Err(e),
        }
    }

    /// The account, agent and session a stream token (from `/sessions/:id/tokens`) opens.
    /// Expired tokens are refused as `token_expired`, ended sessions as `session_ended`.
    pub async fn stream_agent(&self, token: &str) -> Result<(Account, StreamToken, Session)> {
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
        let account = Self::usable(self.store.account(&t.account_id).await?)?;
        Ok((account, t, s))
    }

    /// A subscription as it is now: read again once the socket has joined its topic, so that no
    /// change can fall between the first read and the join. Keeps what it had when the read
    /// fails, or when what it reaches is no longer the watcher's to see.
    pub async fn refresh(&self, watcher: &Watcher<'_>, sub: Subscription) -> Subscription {
        let account_id = watcher.account_id();
        match sub {
            Subscription::Session(s) => match self.store.session(account_id, &s.id).await {
                Ok(now) if watcher.sees_session(&now) => Subscription::Session(Box::new(now)),
                _ => Subscription::Session(s),
            },
            Subscription::Device(d) => match self.store.device(account_id, &d.id).await {
                Ok(now) if watcher.sees_device(&now) => Subscription::Device(Box::new(now)),
                _ => Subscription::Device(d),
            },
        }
    }

    /// Whether an agent's control frame (a click, a key) may reach the customer's page now: the
    /// session is live and its `remote_control` is `on`. Read for every control frame, so a
    /// customer who revokes control stops the very next one, whichever replica either side is on.
    pub async fn control_allowed(&self, account_id: &str, session_id: &str) -> Result<bool> {
        let s = self.store.session(account_id, session_id).await?;
        Ok(s.is_live() && s.remote_control == crate::model::Toggle::On)
    }

    /// The account and the session a viewer's key stands for: the hash of one of the account's
    /// stream tokens (`/sessions/:id/tokens` gives it in `asset_url`), valid while that token
    /// and its session are. It opens the viewer's asset relay and its session page's policy,
    /// nothing else.
    pub async fn viewer_key(&self, token_hash: &str) -> Result<(Account, Session)> {
        let t = self.store.stream_token(token_hash).await?;
        if t.expires <= time::now() {
            return Err(Error::refused(
                "token_expired",
                "the viewer's key has expired",
            ));
        }
        let s = self.store.session(&t.account_id, &t.session_id).await?;
        if !s.is_live() {
            return Err(Error::refused("session_ended", "the session has ended"));
        }
        Ok((Self::usable(self.store.account(&t.account_id).await?)?, s))
    }

    /// The session a stream socket is on, as it is now (the socket's credential was checked when
    /// it opened): whether it is active, whether the customer allows remote control.
    pub async fn stream_session(&self, account_id: &str, session_id: &str) -> Result<Session> {
        self.store.session(account_id, session_id).await
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

    /// The presence of a device as subscribers see it, for a watcher who may read the device.
    pub async fn presence(&self, watcher: &Watcher<'_>, device_id: &str) -> Result<Presence> {
        let d = self.store.device(watcher.account_id(), device_id).await?;
        if !watcher.sees_device(&d) {
            return Err(Error::NotFound("device"));
        }
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
    /// saying goodbye) go offline, and subscribers hear it; expired notification tokens are
    /// forgotten. Part of the reaper's pass.
    pub(crate) async fn expire_presence(&self, now: Micros) -> Result<()> {
        self.store.purge_notification_tokens(now).await?;
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
