//! `/sockets/1/ws`: authenticates the upgrade, then runs one task per socket that reads client
//! frames and writes queued events.
//!
//! Who may connect:
//! - an agent, with the `notification_token` of `/users/me` as the bearer subprotocol
//!   (`cbio.http.headers.authorization.bearer.<base64>`); from a browser, only from the server's
//!   own origin or one the account trusts. The socket reaches what the JWT that token was minted
//!   for reaches (its policy), and closes when the token expires;
//! - a device, with its device token as the bearer and `X-CobrowseLicense` and
//!   `X-CobrowseDevice` in the query (as the device SDK sends its headers on sockets).
//!
//! Close codes ([`crate::close`]): 4001 bad, missing or revoked credentials, 4002 token expired,
//! 4008 too slow (send queue full), 1001 server going away, 1003 text frame, 1009 message too
//! big, 1011 server error.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tandem_core::model::{Account, Device, SessionState};
use tandem_core::policy::Policy;
use tandem_core::service::{NotificationToken, StreamToken, Subscription, Watcher};
use tandem_core::time::Micros;
use tokio::net::TcpStream;

use crate::chunk::{Assembly, Chunk, ChunkError, Progress};
use crate::close;
use crate::frame::{self, ClientFrame};
use crate::hub::Hub;
use crate::peer::{Bulk, Peer};
use crate::replay::{Kept, Replay};
use crate::topic::{Scoped, Side, Topic};
use crate::wire::{self, Incoming, Reader, WireError};

/// How long a close frame may wait behind unread data before the connection is dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

const BEARER_PREFIX: &str = "cbio.http.headers.authorization.bearer.";

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
struct Stream {
    session: Scoped,
    side: Side,
    /// The agent, on an agent's stream (for the session's history).
    user_id: Option<Box<str>>,
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
struct Who {
    /// Shared with the socket's topics.
    account_id: Arc<str>,
    /// Set for a device's notification socket.
    device_id: Option<Box<str>>,
    /// Set for session stream sockets.
    stream: Option<Stream>,
    /// Set for an agent's socket for subscriptions.
    agent: Option<Agent>,
}

impl Who {
    /// `id` in this socket's account.
    fn scoped(&self, id: &str) -> Scoped {
        Scoped::new(self.account_id.clone(), id)
    }

    /// When the socket's credential expires, if it does.
    fn expires(&self) -> Option<Micros> {
        match (&self.agent, &self.stream) {
            (Some(agent), _) => Some(agent.expires),
            (None, Some(stream)) => stream.expires,
            (None, None) => None,
        }
    }

    /// The user on an agent's socket or stream, whose revocation closes it.
    fn user_id(&self) -> Option<&str> {
        match (&self.agent, &self.stream) {
            (Some(agent), _) => Some(&agent.user_id),
            (None, Some(stream)) => stream.user_id.as_deref(),
            (None, None) => None,
        }
    }

    /// What `subscribe` and `sync-presence` may reach from this socket.
    fn watcher(&self) -> Watcher<'_> {
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

/// Why a socket is refused after the upgrade: `(close code, reason)`.
type Refusal = (u16, &'static str);

/// The event an agent sends to act on the customer's page (click, type, select, scroll). The
/// server passes it on only while the customer has remote control on.
pub const CONTROL: &str = "control";

/// An event too big for one frame, in one of its numbered pieces (`crate::chunk`).
pub const CHUNK: &str = "chunk";

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

fn refuse(status: StatusCode, id: &str, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"id": id, "message": message})),
    )
        .into_response()
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}

/// The upgrade handler: checks the handshake and the credentials, answers 101 and hands the
/// connection to its own task.
pub async fn upgrade(State(hub): State<Arc<Hub>>, mut req: Request) -> Response {
    let headers = req.headers();
    if !header_has(headers, header::UPGRADE, "websocket")
        || !header_has(headers, header::CONNECTION, "upgrade")
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "not_a_websocket",
            "this endpoint takes WebSocket upgrades only".into(),
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        let mut res = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_version",
            "WebSocket version 13 is required".into(),
        );
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return res;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "not_a_websocket",
            "Sec-WebSocket-Key is missing".into(),
        );
    };
    let accept = wire::accept_key(key.as_bytes());
    let cbor = header_has(headers, header::SEC_WEBSOCKET_PROTOCOL, "cbor");
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let auth = authenticate(&hub, bearer(headers).as_deref(), &query).await;
    if let Ok(Identity::Agent { account, .. } | Identity::AgentStream { account, .. }) = &auth {
        // A browser always sends Origin; a page the account does not trust must not be able to
        // ride an agent's credentials (cross-site WebSocket hijacking).
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if origin != hub.public_origin() && !account.settings.trusts_origin(origin) {
                hub.meters.auth_failures.increment(1);
                return refuse(
                    StatusCode::FORBIDDEN,
                    "untrusted_origin",
                    format!("sockets from {origin} are not allowed for this account"),
                );
            }
        }
    }
    // Keep only ids from here on: the task lives as long as the socket.
    let who = auth.map(Who::from);
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            // axum serves through hyper-util's auto (HTTP/1 or 2) builder, which wraps the IO.
            Ok(upgraded) => match hyper_util::server::conn::auto::upgrade::downcast::<
                TokioIo<TcpStream>,
            >(upgraded)
            {
                Ok(parts) => run(hub, parts.io.into_inner(), parts.read_buf, who).await,
                Err(_) => tracing::error!("upgraded connection is not a TCP stream"),
            },
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    if cbor {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("cbor"),
        );
    }
    res
}

/// Why a socket's loop ended, and the close frame to send for it (if any).
enum End {
    Close(u16, &'static str),
    /// The client closed, or the connection broke: nothing more to say.
    Quiet,
}

/// Sends a last frame and gives it `CLOSE_GRACE` to leave, then drops the connection.
async fn finish(peer: &Peer, frame: Bytes) {
    peer.push_final(frame);
    let drain = async {
        loop {
            match peer.flush() {
                Ok(true) | Err(_) => return,
                Ok(false) => {
                    if peer.stream().writable().await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
}

/// Reads what the kernel has for this socket into `reader`, at most 64 KiB at a time (what was
/// read is parsed, and limits enforced, before more is taken). `Ok(false)` at end of stream.
fn read_available(stream: &TcpStream, reader: &mut Reader) -> std::io::Result<bool> {
    let mut chunk = [0u8; 4096];
    for _ in 0..16 {
        match stream.try_read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                reader.extend(&chunk[..n]);
                if n < chunk.len() {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

async fn run(hub: Arc<Hub>, stream: TcpStream, prefix: Bytes, who: Result<Who, Refusal>) {
    // Bytes the server read past the handshake; copied so hyper's read buffer can go.
    let mut reader = Reader::default();
    reader.extend(&prefix);
    drop(prefix);
    let limits = hub.limits();
    // A page's snapshot reaches an agent as a burst of chunks: bounded by bytes, not count.
    let bulk = Bulk {
        min_frame: limits.max_message_bytes / 4,
        max_bytes: limits
            .max_event_bytes
            .max(limits.queue_frames * limits.max_message_bytes),
    };
    let peer = Arc::new(Peer::new(stream, limits.queue_frames, bulk));
    let who = match who {
        Ok(who) => who,
        Err((code, reason)) => {
            hub.meters.auth_failures.increment(1);
            Box::pin(finish(&peer, wire::close(code, reason))).await;
            return;
        }
    };
    let id = hub.open();
    let mut conn = Conn {
        hub: hub.clone(),
        id,
        peer: peer.clone(),
        who,
        topics: Vec::new(),
        last_page: None,
        replay: None,
        assembly: Assembly::default(),
        active: false,
        active_checked: None,
    };
    let gauge = match (&conn.who.device_id, &conn.who.stream) {
        (_, Some(Stream { side, .. })) => match side {
            Side::Agent => &hub.meters.agent_streams,
            Side::Device => &hub.meters.device_streams,
        },
        (None, None) => &hub.meters.agent_sockets,
        (Some(_), None) => &hub.meters.device_sockets,
    };
    gauge.increment(1.0);
    if let Some(stream) = &conn.who.stream {
        let session = Topic::Session(stream.session.clone());
        let own = Topic::Stream(stream.session.clone(), stream.side);
        let replay = (stream.side == Side::Device).then(|| hub.replay_open(&stream.session));
        conn.join(session);
        conn.join(own);
        conn.replay = replay;
    }
    if let Some(user_id) = conn.who.user_id() {
        // Not a delivery address: the user's revocation closes what follows it.
        let revocable = Topic::User(conn.who.scoped(user_id));
        conn.join(revocable);
    }
    Box::pin(conn.record_agent(true)).await;
    if let Some(device_id) = conn.who.device_id.clone() {
        conn.join(Topic::Inbox(conn.who.scoped(&device_id)));
        Box::pin(hub.device_opened(&conn.who.account_id, &device_id)).await;
    }
    let end = Box::pin(conn.serve(&mut reader)).await;
    hub.close(conn.id, &conn.topics);
    if let (Some(replay), Some(stream)) = (&conn.replay, &conn.who.stream) {
        hub.replay_close(&stream.session, replay);
    }
    Box::pin(conn.record_agent(false)).await;
    if let End::Close(code, reason) = end {
        Box::pin(finish(&peer, wire::close(code, reason))).await;
    }
    if let Some(device_id) = &conn.who.device_id {
        Box::pin(hub.device_closed(&conn.who.account_id, device_id)).await;
    }
    gauge.decrement(1.0);
}

struct Conn {
    hub: Arc<Hub>,
    id: u64,
    peer: Arc<Peer>,
    who: Who,
    topics: Vec<Topic>,
    /// When the device last announced a page (history entries are rate-limited).
    last_page: Option<std::time::Instant>,
    /// On a device's stream: the session's replay, kept on this replica.
    replay: Option<Arc<std::sync::Mutex<Replay>>>,
    /// The chunked event this socket is sending, while it is incomplete.
    assembly: Assembly,
    /// On a stream: whether its session has been seen `active` (it stays so until it ends,
    /// and an ended session's sockets are closed), and when it was last read while not.
    active: bool,
    active_checked: Option<std::time::Instant>,
}

/// How often a stream whose session is not active yet may have it read again: frames in
/// between are refused without asking the Store.
const ACTIVE_RECHECK: Duration = Duration::from_millis(250);

enum Step {
    Stop,
    Write,
    Read,
}

impl Conn {
    fn join(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.hub.join(self.id, topic.clone(), &self.peer);
            self.topics.push(topic);
        }
    }

    /// Sends a CBOR reply behind anything already queued for this socket.
    fn reply(&self, cbor: Bytes) {
        let framed = wire::binary(&cbor);
        let len = framed.len() as u64;
        if self.peer.push(framed) {
            self.hub.meters.frames_out.increment(1);
            self.hub.meters.bytes_out.increment(len);
        }
    }

    async fn serve(&mut self, reader: &mut Reader) -> End {
        let hub = self.hub.clone();
        let peer = self.peer.clone();
        let mut stop = hub.stopping();
        let max = hub.limits().max_message_bytes;
        let expires = self.who.expires();
        let deadline = tokio::time::Instant::now()
            + expires.map_or(Duration::from_secs(86_400 * 365), |e| {
                Duration::from_micros(e.saturating_sub(tandem_core::time::now()).max(0) as u64)
            });
        let expiry = tokio::time::sleep_until(deadline);
        tokio::pin!(expiry);
        loop {
            // Everything already read, first.
            loop {
                match reader.next(max) {
                    Ok(Some(msg)) => {
                        // Boxed: an idle socket's task should not carry the size of the
                        // deepest request it might handle.
                        if let Some(end) = Box::pin(self.receive(msg)).await {
                            return end;
                        }
                    }
                    Ok(None) => break,
                    Err(WireError::TooBig) => {
                        hub.meters.bad_frames.increment(1);
                        hub.meters.oversized_closes.increment(1);
                        tracing::warn!(
                            socket = self.id,
                            account_id = %self.who.account_id,
                            limit = max,
                            "closing a socket that sent a message over socket_max_message_bytes"
                        );
                        return End::Close(close::TOO_BIG, "message too big");
                    }
                    Err(WireError::Protocol(why)) => {
                        hub.meters.bad_frames.increment(1);
                        return End::Close(close::PROTOCOL, why);
                    }
                }
            }
            let step = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => Step::Stop,
                _ = &mut expiry, if expires.is_some() => {
                    return End::Close(close::TOKEN_EXPIRED, "token expired")
                }
                _ = peer.notified() => Step::Write,
                r = peer.stream().readable() => match r {
                    Ok(()) => Step::Read,
                    Err(_) => return End::Quiet,
                },
            };
            match step {
                Step::Stop => return End::Close(close::GOING_AWAY, "server shutting down"),
                Step::Read => match read_available(peer.stream(), reader) {
                    Ok(true) => {}
                    Ok(false) | Err(_) => return End::Quiet,
                },
                Step::Write => loop {
                    if let Some((code, reason)) = peer.closing() {
                        return End::Close(code, reason);
                    }
                    if peer.overflowed() {
                        hub.meters.queue_drops.increment(1);
                        tracing::info!(socket = self.id, "closing a socket that does not keep up");
                        return End::Close(close::TOO_SLOW, "too slow: the send queue is full");
                    }
                    match peer.flush() {
                        Ok(true) => break,
                        Ok(false) => {}
                        Err(_) => return End::Quiet,
                    }
                    // The kernel is full: wait for room, a shutdown, or an overflow.
                    tokio::select! {
                        biased;
                        _ = stop.wait_for(|s| *s) => {
                            return End::Close(close::GOING_AWAY, "server shutting down")
                        }
                        _ = peer.notified() => {}
                        r = peer.stream().writable() => if r.is_err() { return End::Quiet },
                    }
                },
            }
        }
    }

    /// Handles one client message; `Some` ends the socket.
    async fn receive(&mut self, msg: Incoming) -> Option<End> {
        let meters = &self.hub.meters;
        match msg {
            Incoming::Binary(bytes) => {
                meters.frames_in.increment(1);
                meters.bytes_in.increment(bytes.len() as u64);
                match ClientFrame::decode(&bytes) {
                    Ok(f) => self.handle(f, &bytes).await,
                    Err(e) => {
                        meters.bad_frames.increment(1);
                        self.reply(frame::error(e.id(), &e.to_string(), None));
                    }
                }
                None
            }
            Incoming::Text => {
                meters.bad_frames.increment(1);
                Some(End::Close(close::UNSUPPORTED, "send binary CBOR frames"))
            }
            Incoming::Ping(payload) => {
                self.peer.push(wire::frame(wire::OP_PONG, &payload));
                None
            }
            Incoming::Pong => None,
            Incoming::Close => Some(End::Close(close::NORMAL, "")),
        }
    }

    /// Answers one client frame: an `ack` when it had an id and succeeded, an `error` (with
    /// `ref` = its id) when it failed. On a session stream, events the server does not handle
    /// itself go to the other side of the session, byte for byte (a device's `page` is also
    /// written to the session's history).
    async fn handle(&mut self, f: ClientFrame<'_>, raw: &[u8]) {
        let passed_on = !matches!(f.event, "ping" | "subscribe" | "sync-presence" | "probe");
        if passed_on && self.who.stream.is_some() && !self.stream_active().await {
            // Nothing crosses between the customer and the agent before the customer accepts.
            self.hub.meters.inactive_refused.increment(1);
            let message =
                "the session is not active: nothing is passed on until the customer accepts";
            self.reply(frame::error("session_not_active", message, f.id));
            return;
        }
        let device_stream = matches!(&self.who.stream, Some(s) if s.side == Side::Device);
        if f.event == "page" && device_stream {
            self.record_page(&f).await;
        }
        if f.event == "stream-error" && device_stream {
            self.page_failed(&f);
        }
        if f.event != CHUNK && self.assembly.in_flight().is_some() {
            // A chunked event is sent in one go; anything in between means it was given up.
            self.assembly.drop_series();
            self.chunks_failed(&ChunkError::Interrupted);
        }
        let done = match (f.event, &self.who.stream) {
            ("ping", _) => Ok(()),
            ("subscribe", _) => self.subscribe(&f).await,
            ("sync-presence", _) => self.sync_presence(&f).await,
            ("probe", Some(_)) => {
                self.reply(frame::event("alive", &f.data()));
                Ok(())
            }
            ("sync", Some(stream)) if stream.side == Side::Agent && self.catch_up(stream) => Ok(()),
            (CHUNK, Some(_)) if device_stream => self.relay_chunk(&f, raw),
            (CHUNK, Some(_)) => Err((
                "invalid_chunk",
                "only the customer's page sends events in chunks".to_string(),
            )),
            (CONTROL, Some(stream))
                if stream.side == Side::Agent
                    && !self.control_allowed(&stream.session.id).await =>
            {
                self.hub.meters.control_refused.increment(1);
                Err((
                    "remote_control_off",
                    "the customer has not given this session remote control".to_string(),
                ))
            }
            (event, Some(stream)) => {
                let topic = Topic::Stream(stream.session.clone(), stream.side.other());
                let framed = wire::binary(raw);
                if event == "rrweb" {
                    let kind = f.data_int("type");
                    self.relay_recording(topic, framed, |replay, frame, max| {
                        replay.record(kind, frame, max)
                    });
                } else {
                    self.hub.relay(topic, framed);
                }
                self.hub.service().touch(&stream.session.id);
                Ok(())
            }
            (other, None) => Err(("unknown_event", format!("unknown event {other:?}"))),
        };
        match (done, f.id) {
            (Ok(()), Some(id)) => self.reply(frame::ack(id)),
            (Ok(()), None) => {}
            (Err((id, message)), reply_to) => self.reply(frame::error(id, &message, reply_to)),
        }
    }

    /// Relays one chunk of a device's event to the agents, as it comes, and keeps it in the
    /// session's replay; checks the series (`crate::chunk`) and drops it when it breaks a rule.
    fn relay_chunk(&mut self, f: &ClientFrame, raw: &[u8]) -> Result<(), Failure> {
        let Some(stream) = &self.who.stream else {
            return Ok(());
        };
        let limits = self.hub.limits();
        let data = f.data();
        let progress = Chunk::parse(&data).and_then(|chunk| {
            let progress = self.assembly.push(&chunk, limits.max_event_bytes)?;
            Ok((chunk.event == "rrweb", progress))
        });
        let (rrweb, progress) = match progress {
            Ok(p) => p,
            Err(e) => {
                self.chunks_failed(&e);
                return Err((e.id(), e.to_string()));
            }
        };
        match progress {
            Progress::Skipped => return Ok(()),
            Progress::Complete(_) => self.hub.meters.chunked_events.increment(1),
            Progress::Partial { .. } => {}
        }
        let topic = Topic::Stream(stream.session.clone(), Side::Agent);
        let framed = wire::binary(raw);
        if rrweb {
            self.relay_recording(topic, framed, |replay, frame, max| {
                if let Progress::Partial { restarted: true } = progress {
                    replay.abandon();
                }
                let kept = replay.chunk(frame, max);
                match &progress {
                    Progress::Complete(c) => replay.complete(c.rrweb_type, max),
                    _ => kept,
                }
            });
        } else {
            self.hub.relay(topic, framed);
        }
        self.hub.service().touch(&stream.session.id);
        Ok(())
    }

    /// Relays a recording frame of the device's to the agents and, on the replica keeping the
    /// session's replay, records it there with `keep(replay, frame, bound)`: kept and relayed
    /// under one lock, so a newcomer's catch-up and the live frames after it neither overlap nor
    /// leave a gap.
    fn relay_recording(
        &self,
        topic: Topic,
        framed: Bytes,
        keep: impl FnOnce(&mut Replay, &Bytes, usize) -> Kept,
    ) {
        let Some(replay) = &self.replay else {
            return self.hub.relay(topic, framed);
        };
        let mut replay = replay.lock().expect("replay lock");
        let kept = keep(&mut replay, &framed, self.hub.limits().replay_bytes);
        self.hub.relay(topic, framed);
        drop(replay);
        self.kept(kept);
    }

    /// A chunked event was dropped: the agents drop what they have of it and hear why; the
    /// operator sees it in the log and in `/metrics`.
    fn chunks_failed(&self, e: &ChunkError) {
        let Some(stream) = &self.who.stream else {
            return;
        };
        if let Some(replay) = &self.replay {
            replay.lock().expect("replay lock").abandon();
        }
        self.hub.meters.chunk_errors(e.id()).increment(1);
        tracing::warn!(
            socket = self.id,
            account_id = %self.who.account_id,
            session_id = %stream.session.id,
            error = %e,
            "dropped a chunked event"
        );
        let message = match e {
            ChunkError::TooLarge { .. } => "The customer's page is too large to share",
            _ => "Part of the customer's page was lost on the way",
        };
        let topic = Topic::Stream(stream.session.clone(), Side::Agent);
        let notice = frame::event(
            "chunk-aborted",
            &serde_json::json!({"id": e.id(), "message": message}),
        );
        self.hub.relay(topic, wire::binary(&notice));
    }

    /// The customer's page could not send something (a snapshot over the bound on one event,
    /// say): it tells the agents itself (this frame is relayed to them); the operator sees it
    /// here, in the log and in `/metrics`.
    fn page_failed(&self, f: &ClientFrame<'_>) {
        let id = f.data_text("id").unwrap_or("");
        let (id, counter) = self.hub.meters.page_errors(id);
        counter.increment(1);
        tracing::warn!(
            socket = self.id,
            account_id = %self.who.account_id,
            error = id,
            "the customer's page could not send part of the session"
        );
    }

    /// Acts on what the replay did with a recorded event.
    fn kept(&self, kept: Kept) {
        match kept {
            Kept::Yes | Kept::No => {}
            Kept::Overflowed => {
                // Too much since the last snapshot: ask the page for a new one.
                self.hub.meters.replay_overflows.increment(1);
                self.reply(frame::event(
                    "sync",
                    &serde_json::json!({"type": "Sync", "id": "replay"}),
                ));
            }
            Kept::SnapshotTooBig => {
                // A new snapshot would not fit either: agents who join later get one from the
                // page itself.
                self.hub.meters.replay_snapshot_too_big.increment(1);
                tracing::info!(
                    socket = self.id,
                    "a page's snapshot is over session_replay_bytes; late joiners ask the page"
                );
            }
        }
    }

    /// Whether this stream's session is `active`: read from the Store until it is (at most
    /// every `ACTIVE_RECHECK`), then kept.
    async fn stream_active(&mut self) -> bool {
        let Some(stream) = &self.who.stream else {
            return false;
        };
        if self.active {
            return true;
        }
        if self
            .active_checked
            .is_some_and(|t| t.elapsed() < ACTIVE_RECHECK)
        {
            return false;
        }
        self.active_checked = Some(std::time::Instant::now());
        let service = self.hub.service();
        match service
            .stream_session(&self.who.account_id, &stream.session.id)
            .await
        {
            Ok(s) => self.active = s.state == SessionState::Active,
            Err(e) => tracing::warn!(error = %e, "could not read a session's state"),
        }
        self.active
    }

    /// Whether the customer lets this control frame through now (the service decides; a
    /// failure to read keeps control closed).
    async fn control_allowed(&self, session_id: &str) -> bool {
        let service = self.hub.service();
        match service
            .control_allowed(&self.who.account_id, session_id)
            .await
        {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a session's remote control state");
                false
            }
        }
    }

    /// Serves an agent's `sync` from this replica's replay of the session, if it has a complete
    /// one: the snapshot and everything since go to this agent alone, and the customer's page is
    /// not disturbed; nor is it while the page's first snapshot is still to come on a stream
    /// that has just opened. Otherwise the `sync` goes to the device, which sends a new snapshot.
    fn catch_up(&self, stream: &Stream) -> bool {
        let Some(replay) = self.hub.replay(&stream.session) else {
            return false;
        };
        let replay = replay.lock().expect("replay lock");
        let caught_up = match replay.frames() {
            Some(mut frames) => match frames.next() {
                Some(first) => {
                    self.peer.push_backlog(std::iter::once(first).chain(frames));
                    true
                }
                None => false,
            },
            None => false,
        };
        // The page's stream has just opened and its first snapshot is on the way: this agent
        // gets it live.
        caught_up || replay.first_snapshot_pending()
    }

    /// An agent's stream opening or closing goes into the session's history.
    async fn record_agent(&self, joined: bool) {
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
    async fn record_page(&mut self, f: &ClientFrame<'_>) {
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

    async fn subscribe(&mut self, f: &ClientFrame<'_>) -> Result<(), Failure> {
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

    async fn sync_presence(&mut self, f: &ClientFrame<'_>) -> Result<(), Failure> {
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
