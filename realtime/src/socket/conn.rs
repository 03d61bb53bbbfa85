//! One socket's task: it reads client frames (and answers them), writes what the hub queued
//! for it, and ends it with the right close code.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;

use super::identity::Who;
use super::Refusal;
use crate::chunk::Assembly;
use crate::close;
use crate::frame::{self, ClientFrame};
use crate::hub::Hub;
use crate::peer::{Bulk, Peer};
use crate::replay::Replay;
use crate::topic::Topic;
use crate::trace::Trace;
use crate::wire::{self, Incoming, Reader, WireError};

/// Relayed frames queued for their receivers before they are written: a batch read together
/// is written in one call per receiver, but a long one does not hold its first frames back.
const BATCH_FRAMES: usize = 32;

/// How long a close frame may wait behind unread data before the connection is dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

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

/// An agent's credential, to look up again if a revocation was acted on between its
/// authentication and the socket's joining the user's topic (which a revocation closes).
pub(super) struct Recheck {
    pub token: String,
    /// `Hub::revocations` before the credential was looked up.
    pub epoch: u64,
}

impl Recheck {
    /// Why the socket must close, if its credential was revoked while it was being set up.
    async fn refusal(self, hub: &Hub) -> Option<Refusal> {
        if hub.revocations() == self.epoch {
            return None;
        }
        super::identity::authenticate(hub, Some(&self.token), &[])
            .await
            .err()
    }
}

pub(super) async fn run(
    hub: Arc<Hub>,
    stream: TcpStream,
    prefix: Bytes,
    who: Result<Who, Refusal>,
    recheck: Option<Recheck>,
    catch_up: bool,
) {
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
    // Every write is already a batch of whole frames (`Peer::flush`): Nagle's algorithm would
    // only hold the next one back until the client acknowledges the last.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY on a socket");
    }
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
        stream_joined: None,
        assembly: Assembly::default(),
        active: false,
        active_checked: None,
        read_at: None,
        trace: std::sync::Mutex::new(None),
        batch: std::sync::Mutex::new(Vec::new()),
    };
    let gauge = conn.gauge();
    gauge.increment(1.0);
    conn.attach_stream();
    if let Some(user_id) = conn.who.user_id() {
        // Not a delivery address: the user's revocation closes what follows it.
        let revocable = Topic::User(conn.who.scoped(user_id));
        conn.join(revocable);
    }
    let refused = match recheck {
        Some(recheck) => Box::pin(recheck.refusal(&hub)).await,
        None => None,
    };
    Box::pin(conn.record_agent(true)).await;
    if let Some(device_id) = conn.who.device_id.clone() {
        conn.join(Topic::Inbox(conn.who.scoped(&device_id)));
        Box::pin(hub.device_opened(&conn.who.account_id, &device_id)).await;
    }
    let end = match refused {
        Some((code, reason)) => End::Close(code, reason),
        None => {
            if catch_up {
                Box::pin(conn.sync_on_open()).await;
            }
            Box::pin(conn.serve(&mut reader)).await
        }
    };
    hub.close(conn.id, &conn.topics);
    conn.detach_stream();
    Box::pin(conn.record_agent(false)).await;
    if let End::Close(code, reason) = end {
        Box::pin(finish(&peer, wire::close(code, reason))).await;
    }
    if let Some(device_id) = &conn.who.device_id {
        Box::pin(hub.device_closed(&conn.who.account_id, device_id)).await;
    }
    gauge.decrement(1.0);
}

pub(super) struct Conn {
    pub hub: Arc<Hub>,
    pub id: u64,
    pub peer: Arc<Peer>,
    pub who: Who,
    pub topics: Vec<Topic>,
    /// When the device last announced a page (history entries are rate-limited).
    pub last_page: Option<std::time::Instant>,
    /// On a device's stream: the session's replay, kept on this replica.
    pub replay: Option<Arc<std::sync::Mutex<Replay>>>,
    /// On an agent's stream, until its first `sync`: when it began to follow the stream.
    pub stream_joined: Option<std::time::Instant>,
    /// The chunked event this socket is sending, while it is incomplete.
    pub assembly: Assembly,
    /// On a stream: whether its session has been seen `active` (it stays so until it ends,
    /// and an ended session's sockets are closed), and when it was last read while not.
    pub active: bool,
    pub active_checked: Option<std::time::Instant>,
    /// With tracing on (`crate::trace`): when the last read returned, and the timestamps of the
    /// sampled frame being handled.
    pub read_at: Option<std::time::Instant>,
    pub trace: std::sync::Mutex<Option<Box<Trace>>>,
    /// The sockets this one has relayed frames to since it last flushed them: they are written
    /// once per batch of frames read together, from this task (`Conn::flush_batch`).
    pub batch: std::sync::Mutex<Vec<Arc<Peer>>>,
}

enum Step {
    Stop,
    Write,
    Read,
}

impl Conn {
    pub(super) fn join(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.hub.join(self.id, topic.clone(), &self.peer);
            self.topics.push(topic);
        }
    }

    /// The timestamps of the frame being handled, if it is sampled (once: the frame is relayed
    /// once).
    pub(super) fn take_trace(&self) -> Option<Trace> {
        if !self.hub.trace.on() {
            return None;
        }
        self.trace.lock().expect("trace lock").take().map(|t| *t)
    }

    /// Relays a frame of this socket's session stream to `topic`: queued now, written when this
    /// batch of frames is (`flush_batch`).
    pub(super) fn forward(&self, topic: Topic, framed: Bytes) {
        let trace = self.take_trace();
        let mut batch = self.batch.lock().expect("batch lock");
        self.hub.relay_batched(topic, framed, trace, &mut batch);
    }

    /// Writes what this socket relayed since the last call to each receiver, one call per
    /// receiver, from this task: no task of theirs wakes up for it unless the kernel is full.
    pub(super) fn flush_batch(&self) {
        let mut batch = self.batch.lock().expect("batch lock");
        for peer in batch.drain(..) {
            peer.flush_or_wake();
        }
    }

    /// Sends a CBOR reply behind anything already queued for this socket.
    pub(super) fn reply(&self, cbor: Bytes) {
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
            // Everything already read, first; what it relays leaves in batches of at most
            // `BATCH_FRAMES`, written once per receiver.
            let mut handled = 0usize;
            let ended = loop {
                match reader.next(max) {
                    Ok(Some(msg)) => {
                        // Boxed: an idle socket's task should not carry the size of the
                        // deepest request it might handle.
                        if let Some(end) = Box::pin(self.receive(msg)).await {
                            break Some(end);
                        }
                        handled += 1;
                        if handled.is_multiple_of(BATCH_FRAMES) {
                            self.flush_batch();
                        }
                    }
                    Ok(None) => break None,
                    Err(WireError::TooBig) => {
                        hub.meters.bad_frames.increment(1);
                        hub.meters.oversized_closes.increment(1);
                        tracing::warn!(
                            socket = self.id,
                            account_id = %self.who.account_id,
                            limit = max,
                            "closing a socket that sent a message over socket_max_message_bytes"
                        );
                        break Some(End::Close(close::TOO_BIG, "message too big"));
                    }
                    Err(WireError::Protocol(why)) => {
                        hub.meters.bad_frames.increment(1);
                        break Some(End::Close(close::PROTOCOL, why));
                    }
                }
            };
            self.flush_batch();
            if let Some(end) = ended {
                return end;
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
                    Ok(true) => {
                        if hub.trace.on() {
                            self.read_at = Some(std::time::Instant::now());
                        }
                    }
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
                    Ok(f) => {
                        if let Some(read) = self.read_at.filter(|_| self.hub.trace.sample()) {
                            let decoded = std::time::Instant::now();
                            *self.trace.lock().expect("trace lock") = Some(Box::new(Trace {
                                read,
                                decoded,
                                routed: None,
                            }));
                        }
                        self.handle(f, &bytes).await;
                        if self.hub.trace.on() {
                            self.trace.lock().expect("trace lock").take();
                        }
                    }
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
}
