//! Who is on the other end of a socket: how a credential is authenticated, what that found, and
//! the little an open socket keeps of it.

use std::sync::Arc;

use tandem_core::model::{Account, Device};
use tandem_core::policy::Policy;
use tandem_core::service::{NotificationToken, StreamToken, Watcher};
use tandem_core::time::Micros;

use super::Refusal;
use crate::close;
use crate::hub::Hub;
use crate::topic::{Scoped, Side};

/// Who is on the other end of a socket.
#[derive(Debug, Clone)]
pub enum Identity {
    /// An agent's socket for subscriptions (bearer: a `notification_token` from `/users/me`).
    Agent {
        account: Account,
        token: NotificationToken,
    },
    /// A device's notification socket (bearer: the device token).
    Device { account: Account, device: Device },
    /// An agent on a session's stream (bearer: a stream token from `/sessions/:id/tokens`).
    AgentStream {
        account: Account,
        token: StreamToken,
    },
    /// A device on its session's stream (device token, plus `X-CobrowseSession` in the query).
    DeviceStream {
        account_id: String,
        session_id: String,
    },
}

/// One end of a session stream.
pub(super) struct Stream {
    pub session: Scoped,
    pub side: Side,
    /// The agent, on an agent's stream (for the session's history).
    pub user_id: Option<Box<str>>,
    /// When the credential expires; the socket is closed then (4002).
    expires: Option<Micros>,
}

/// An agent's socket for subscriptions.
struct Agent {
    user_id: Box<str>,
    /// The policy of the JWT the notification token was minted for.
    policy: Option<Arc<Policy>>,
    /// When the notification token expires; the socket is closed then (4002).
    expires: Micros,
}

/// What an open socket keeps of its identity: ids only, so idle sockets stay small.
pub(super) struct Who {
    /// Shared with the socket's topics.
    pub account_id: Arc<str>,
    /// Set for a device's notification socket.
    pub device_id: Option<Box<str>>,
    /// Set for session stream sockets.
    pub stream: Option<Stream>,
    /// Set for an agent's socket for subscriptions.
    agent: Option<Agent>,
}

impl Who {
    /// `id` in this socket's account.
    pub fn scoped(&self, id: &str) -> Scoped {
        Scoped::new(self.account_id.clone(), id)
    }

    /// When the socket's credential expires, if it does.
    pub fn expires(&self) -> Option<Micros> {
        match (&self.agent, &self.stream) {
            (Some(agent), _) => Some(agent.expires),
            (None, Some(stream)) => stream.expires,
            (None, None) => None,
        }
    }

    /// The user on an agent's socket or stream, whose revocation closes it.
    pub fn user_id(&self) -> Option<&str> {
        match (&self.agent, &self.stream) {
            (Some(agent), _) => Some(&agent.user_id),
            (None, Some(stream)) => stream.user_id.as_deref(),
            (None, None) => None,
        }
    }

    /// What `subscribe` and `sync-presence` may reach from this socket.
    pub fn watcher(&self) -> Watcher<'_> {
        let account_id = &self.account_id;
        match (&self.agent, &self.device_id, &self.stream) {
            (Some(agent), _, _) => Watcher::Agent {
                account_id,
                policy: agent.policy.as_deref(),
            },
            (None, Some(device_id), _) => Watcher::Device {
                account_id,
                device_id,
            },
            (None, None, Some(stream)) => Watcher::Stream {
                account_id,
                session_id: &stream.session.id,
            },
            // Every identity sets one of them; were none set, nothing would be in reach.
            (None, None, None) => Watcher::Stream {
                account_id,
                session_id: "",
            },
        }
    }
}

impl From<Identity> for Who {
    fn from(id: Identity) -> Self {
        let mut agent = None;
        let (account_id, device_id, stream): (Arc<str>, _, _) = match id {
            Identity::Agent { account, token } => {
                agent = Some(Agent {
                    user_id: token.user_id.into(),
                    policy: token.policy.map(Arc::new),
                    expires: token.expires,
                });
                (account.id.into(), None, None)
            }
            Identity::Device { account, device } => {
                (account.id.into(), Some(device.id.into()), None)
            }
            Identity::AgentStream { account, token } => {
                let account_id: Arc<str> = account.id.into();
                let stream = Stream {
                    session: Scoped::new(account_id.clone(), &token.session_id),
                    side: Side::Agent,
                    user_id: Some(token.user_id.into()),
                    expires: Some(token.expires),
                };
                (account_id, None, Some(stream))
            }
            Identity::DeviceStream {
                account_id,
                session_id,
            } => {
                let account_id: Arc<str> = account_id.into();
                let stream = Stream {
                    session: Scoped::new(account_id.clone(), &session_id),
                    side: Side::Device,
                    user_id: None,
                    expires: None,
                };
                (account_id, None, Some(stream))
            }
        };
        Who {
            account_id,
            device_id,
            stream,
            agent,
        }
    }
}

fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Who a bearer token (and, for devices, the query's license and device id) names: the
/// handshake asks, and a socket asks again when a revocation may have passed it by.
pub(super) async fn authenticate(
    hub: &Hub,
    token: Option<&str>,
    query: &[(String, String)],
) -> Result<Identity, Refusal> {
    use tandem_core::Error;
    let token = token.ok_or((close::UNAUTHORIZED, "missing bearer subprotocol"))?;
    let service = hub.service();
    let refused = |e: Error| match e {
        Error::NotFound(_) | Error::Forbidden(_) => (close::UNAUTHORIZED, "invalid token"),
        Error::Refused {
            id: "token_expired",
            ..
        } => (close::TOKEN_EXPIRED, "token expired"),
        Error::Refused {
            id: "session_ended",
            ..
        } => (close::SESSION_ENDED, "the session has ended"),
        e => {
            tracing::error!(error = %e, "socket authentication failed");
            (close::SERVER_ERROR, "could not check the token; try again")
        }
    };
    match (
        query_value(query, "X-CobrowseLicense"),
        query_value(query, "X-CobrowseDevice"),
    ) {
        (Some(license), Some(device_id)) => {
            let account = service.account_by_license(license).await.map_err(refused)?;
            let device = service
                .authenticate_device(&account, device_id, token)
                .await
                .map_err(refused)?;
            if let Some(session_id) = query_value(query, "X-CobrowseSession") {
                let s = service
                    .device_stream(&account.id, &device.id, session_id)
                    .await
                    .map_err(refused)?;
                return Ok(Identity::DeviceStream {
                    account_id: account.id,
                    session_id: s.id,
                });
            }
            Ok(Identity::Device { account, device })
        }
        _ => match service.socket_agent(token).await {
            Ok((account, token)) => Ok(Identity::Agent { account, token }),
            Err(Error::NotFound(_)) => {
                let (account, token, _) = service.stream_agent(token).await.map_err(refused)?;
                Ok(Identity::AgentStream { account, token })
            }
            Err(e) => Err(refused(e)),
        },
    }
}
