//! `/sockets/1/ws`: authenticates the upgrade, then runs one task per socket that reads client
//! frames and writes queued events.
//!
//! Who may connect:
//! - an agent, with the `notification_token` of `/users/me` as the bearer subprotocol
//!   (`cbio.http.headers.authorization.bearer.<base64>`); from a browser, only from the server's
//!   own origin or one the account trusts;
//! - a device, with its device token as the bearer and `X-CobrowseLicense` and
//!   `X-CobrowseDevice` in the query (as the device SDK sends its headers on sockets).
//!
//! Close codes: 4001 bad or missing credentials, 4008 too slow (send queue full), 1001 server
//! going away, 1003 text frame, 1009 message too big, 1011 server error.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use futures_util::SinkExt;
use tandem_core::model::{Account, Device, User};
use tandem_core::service::Subscription;

use crate::frame::{self, ClientFrame};
use crate::hub::{device_topic, inbox_topic, session_topic, Hub, Inbox, Outbox, Topic};

/// How long a close frame may wait behind unread data before the connection is dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

const BEARER_PREFIX: &str = "cbio.http.headers.authorization.bearer.";

pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const UNSUPPORTED: u16 = 1003;
    pub const TOO_BIG: u16 = 1009;
    pub const SERVER_ERROR: u16 = 1011;
    pub const UNAUTHORIZED: u16 = 4001;
    pub const TOO_SLOW: u16 = 4008;
}

/// Who is on the other end of a socket.
#[derive(Debug, Clone)]
pub enum Identity {
    Agent { account: Account, user: User },
    Device { account: Account, device: Device },
}

impl Identity {
    fn account(&self) -> &Account {
        match self {
            Identity::Agent { account, .. } | Identity::Device { account, .. } => account,
        }
    }
}

/// Why a socket is refused after the upgrade: `(close code, reason)`.
type Refusal = (u16, &'static str);

/// Why a client frame failed: `(error id, message)`.
type Failure = (&'static str, String);

/// The bearer token from the subprotocol list (standard base64, padding optional).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let offered = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL);
    let encoded = offered
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = engine.decode(encoded).ok()?;
    String::from_utf8(raw).ok()
}

fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

async fn authenticate(
    hub: &Hub,
    token: Option<&str>,
    query: &[(String, String)],
) -> Result<Identity, Refusal> {
    use tandem_core::Error;
    let token = token.ok_or((close::UNAUTHORIZED, "missing bearer subprotocol"))?;
    let service = hub.service();
    let refused = |e: Error| match e {
        Error::NotFound(_) | Error::Forbidden(_) => (close::UNAUTHORIZED, "invalid token"),
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
            let account = service
                .store()
                .account_by_license(license)
                .await
                .map_err(refused)?;
            let device = service
                .authenticate_device(&account, device_id, token)
                .await
                .map_err(refused)?;
            Ok(Identity::Device { account, device })
        }
        _ => {
            let (account, user) = service.socket_agent(token).await.map_err(refused)?;
            Ok(Identity::Agent { account, user })
        }
    }
}

/// The upgrade handler.
pub async fn upgrade(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let query: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let auth = authenticate(&hub, bearer(&headers).as_deref(), &query).await;
    if let Ok(Identity::Agent { account, .. }) = &auth {
        // A browser always sends Origin; a page the account does not trust must not be able to
        // ride an agent's credentials (cross-site WebSocket hijacking).
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if origin != hub.public_origin() && !account.settings.trusts_origin(origin) {
                hub.meters.auth_failures.increment(1);
                return (
                    StatusCode::FORBIDDEN,
                    axum::Json(serde_json::json!({
                        "id": "untrusted_origin",
                        "message": format!("sockets from {origin} are not allowed for this account"),
                    })),
                )
                    .into_response();
            }
        }
    }
    let limits = hub.limits().clone();
    ws.protocols(["cbor"])
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(0)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| run(hub, socket, auth))
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

enum Step {
    Incoming(Option<Result<Message, axum::Error>>),
    Outgoing(Option<Bytes>),
    Overflow,
    Stop,
}

async fn run(hub: Arc<Hub>, mut ws: WebSocket, auth: Result<Identity, Refusal>) {
    let who = match auth {
        Ok(who) => who,
        Err((code, reason)) => {
            hub.meters.auth_failures.increment(1);
            let _ = ws.send(close_message(code, reason)).await;
            return;
        }
    };
    let inbox = hub.open();
    let mut conn = Conn {
        hub: hub.clone(),
        id: inbox.id,
        outbox: inbox.outbox.clone(),
        who,
        topics: Vec::new(),
    };
    let gauge = match &conn.who {
        Identity::Agent { .. } => &hub.meters.agent_sockets,
        Identity::Device { .. } => &hub.meters.device_sockets,
    };
    gauge.increment(1.0);
    if let Identity::Device { account, device } = &conn.who {
        let (a, d) = (account.id.clone(), device.id.clone());
        conn.join(inbox_topic(&a, &d));
        hub.device_opened(&a, &d).await;
    }
    conn.serve(&mut ws, inbox).await;
    hub.close(conn.id, &conn.topics);
    if let Identity::Device { account, device } = &conn.who {
        hub.device_closed(&account.id, &device.id).await;
    }
    gauge.decrement(1.0);
}

struct Conn {
    hub: Arc<Hub>,
    id: u64,
    outbox: Outbox,
    who: Identity,
    topics: Vec<Topic>,
}

impl Conn {
    fn join(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.hub.join(self.id, topic.clone(), &self.outbox);
            self.topics.push(topic);
        }
    }

    /// Queues a reply behind any events already queued, so the socket has one writer and one
    /// order.
    fn reply(&self, frame: Bytes) {
        self.outbox.try_push(frame);
    }

    async fn serve(&mut self, ws: &mut WebSocket, mut inbox: Inbox) {
        let hub = self.hub.clone();
        let mut stop = hub.stopping();
        let overflow = inbox.overflow.clone();
        loop {
            let step = tokio::select! {
                biased;
                _ = overflow.notified() => Step::Overflow,
                _ = stop.wait_for(|s| *s) => Step::Stop,
                out = inbox.rx.recv() => Step::Outgoing(out),
                msg = ws.recv() => Step::Incoming(msg),
            };
            let step = match step {
                // A write waits for the client to read; a full queue or a shutdown cuts it short.
                Step::Outgoing(Some(first)) => tokio::select! {
                    biased;
                    _ = overflow.notified() => Step::Overflow,
                    _ = stop.wait_for(|s| *s) => Step::Stop,
                    r = self.write(ws, first, &mut inbox) => match r {
                        Ok(()) => continue,
                        Err(_) => return,
                    },
                },
                other => other,
            };
            match step {
                Step::Overflow => {
                    hub.meters.queue_drops.increment(1);
                    tracing::info!(socket = self.id, "closing a socket that does not keep up");
                    let bye = close_message(close::TOO_SLOW, "too slow: the send queue is full");
                    // The close frame waits behind unread data; give the client a little time.
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.send(bye)).await;
                    return;
                }
                Step::Stop => {
                    let bye = close_message(close::GOING_AWAY, "server shutting down");
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.send(bye)).await;
                    return;
                }
                Step::Outgoing(_) => return,
                Step::Incoming(None) => return,
                Step::Incoming(Some(Err(e))) => {
                    // Oversized messages surface here; the socket cannot continue.
                    let text = e.to_string();
                    let code = if text.contains("too long") || text.contains("too big") {
                        close::TOO_BIG
                    } else {
                        close::UNSUPPORTED
                    };
                    hub.meters.bad_frames.increment(1);
                    let bye = close_message(code, "message too big");
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.send(bye)).await;
                    return;
                }
                Step::Incoming(Some(Ok(msg))) => match msg {
                    Message::Binary(bytes) => {
                        hub.meters.frames_in.increment(1);
                        hub.meters.bytes_in.increment(bytes.len() as u64);
                        match ClientFrame::decode(&bytes) {
                            Ok(f) => self.handle(f).await,
                            Err(e) => {
                                hub.meters.bad_frames.increment(1);
                                self.reply(frame::error(e.id(), &e.to_string(), None));
                            }
                        }
                    }
                    Message::Text(_) => {
                        hub.meters.bad_frames.increment(1);
                        let bye = close_message(close::UNSUPPORTED, "send binary CBOR frames");
                        let _ = tokio::time::timeout(CLOSE_GRACE, ws.send(bye)).await;
                        return;
                    }
                    Message::Close(_) => return,
                    Message::Ping(_) | Message::Pong(_) => {}
                },
            }
        }
    }

    /// Writes `first` and whatever else is already queued, then flushes once.
    async fn write(
        &self,
        ws: &mut WebSocket,
        first: Bytes,
        inbox: &mut Inbox,
    ) -> Result<(), axum::Error> {
        let meters = &self.hub.meters;
        let mut n = 1u64;
        let mut bytes = first.len() as u64;
        ws.feed(Message::Binary(first)).await?;
        while n < 64 {
            let Ok(more) = inbox.rx.try_recv() else { break };
            n += 1;
            bytes += more.len() as u64;
            ws.feed(Message::Binary(more)).await?;
        }
        ws.flush().await?;
        meters.frames_out.increment(n);
        meters.bytes_out.increment(bytes);
        Ok(())
    }

    /// Answers one client frame: an `ack` when it had an id and succeeded, an `error` (with
    /// `ref` = its id) when it failed.
    async fn handle(&mut self, f: ClientFrame) {
        let done = match f.event.as_str() {
            "ping" => Ok(()),
            "subscribe" => self.subscribe(&f).await,
            "sync-presence" => self.sync_presence(&f).await,
            other => Err(("unknown_event", format!("unknown event {other:?}"))),
        };
        match (done, f.id) {
            (Ok(()), Some(id)) => self.reply(frame::ack(id)),
            (Ok(()), None) => {}
            (Err((id, message)), reply_to) => self.reply(frame::error(id, &message, reply_to)),
        }
    }

    async fn subscribe(&mut self, f: &ClientFrame) -> Result<(), Failure> {
        let token = f.text().ok_or((
            "invalid_subscribe",
            "subscribe takes a control_token or notification_token string".to_string(),
        ))?;
        let max = self.hub.limits().max_subscriptions;
        if self.topics.len() >= max {
            return Err((
                "too_many_subscriptions",
                format!("a socket may hold {max} subscriptions"),
            ));
        }
        let account_id = self.who.account().id.clone();
        let service = self.hub.service().clone();
        match service.subscription(&account_id, token).await {
            Ok(Subscription::Session(s)) => {
                self.join(session_topic(&account_id, &s.id));
                // Read again after joining, so no change can fall between the read and the join.
                let s = service
                    .store()
                    .session(&account_id, &s.id)
                    .await
                    .unwrap_or(*s);
                self.reply(frame::event("session", &s));
                Ok(())
            }
            Ok(Subscription::Device(d)) => {
                self.join(device_topic(&account_id, &d.id));
                let d = service
                    .store()
                    .device(&account_id, &d.id)
                    .await
                    .unwrap_or(*d);
                self.reply(frame::event("device", &d));
                Ok(())
            }
            Err(tandem_core::Error::NotFound(_)) => Err((
                "invalid_token",
                "no session or device of this account has that token".into(),
            )),
            Err(e) => {
                tracing::error!(error = %e, "subscribe failed");
                Err(("internal", "could not subscribe; try again".into()))
            }
        }
    }

    async fn sync_presence(&mut self, f: &ClientFrame) -> Result<(), Failure> {
        let device_id = f.text().ok_or((
            "invalid_sync_presence",
            "sync-presence takes a device id".to_string(),
        ))?;
        let account_id = &self.who.account().id;
        match self.hub.service().presence(account_id, device_id).await {
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
