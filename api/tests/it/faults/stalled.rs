//! A stalled agent on a busy session stream is closed with 4008; everyone else gets every frame.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::{active_session, agent_stream, probe, stream_token};
use crate::common::Server;
use crate::ws::{encode, Socket};

/// A WebSocket client on a bare TCP socket with a tiny receive buffer, that reads only when
/// told to: a browser tab frozen by the debugger, a phone gone into a tunnel.
struct RawSocket {
    tcp: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawSocket {
    async fn connect(base: &str, token: &str) -> RawSocket {
        let addr = base.trim_start_matches("http://");
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let mut tcp = sock.connect(addr.parse().unwrap()).await.unwrap();
        let bearer = base64::engine::general_purpose::STANDARD_NO_PAD.encode(token);
        let req = format!(
            "GET /sockets/1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: cbor, cbio.http.headers.authorization.bearer.{bearer}\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut raw = RawSocket {
            tcp,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(at) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(raw.fill().await, "the server closed during the handshake");
        };
        let head = String::from_utf8_lossy(&raw.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.buf.drain(..end + 4);
        raw
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn send(&mut self, frame: &Value) {
        let payload = encode(frame);
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut out = vec![0x82];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&out).await.unwrap();
    }

    /// The next frame's opcode and payload, or `None` when the connection ends.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Some((op, payload, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some((op, payload));
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads until an `alive` answers a probe (the socket is on the stream and serving).
    async fn probe(&mut self) {
        self.send(&json!({"event": "probe", "id": 1, "data": {"timestamp": 1}}))
            .await;
        loop {
            let (op, payload) = self.frame().await.expect("the socket is open");
            if op == 2 {
                let v: ciborium::Value = ciborium::from_reader(&payload[..]).unwrap();
                if serde_json::to_value(v).unwrap()["event"] == "alive" {
                    return;
                }
            }
        }
    }

    /// Reads everything left; the close code the server sent, if it sent one.
    async fn close_code(&mut self) -> Option<u16> {
        while let Some((op, payload)) = self.frame().await {
            if op == 8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
        None
    }
}

/// One server frame (unmasked) from the front of `buf`: opcode, payload, bytes used.
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?;
    Some((b0 & 0x0f, payload.to_vec(), at + len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_agent_on_a_busy_stream_is_closed_alone() {
    // A process of its own, so that its metrics count only this test's sockets.
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::spawn(&db.url, &[], &[]).await;
    let t = server.tenant().await;
    let (id, device) = active_session(&server, &t, "dev-busy").await;
    let mut stalled =
        RawSocket::connect(&server.base, &stream_token(&server, &t.admin, &id).await).await;
    stalled.probe().await;
    // From here on it reads nothing.
    let mut stalled = Some(stalled);
    let mut fast = agent_stream(&server, &stream_token(&server, &t.admin, &id).await).await;
    let mut dev = Socket::device_stream(&server, &t, &device, &id).await;
    probe(&mut fast).await;
    probe(&mut dev).await;

    // The other agent reads every frame, in order, until the last.
    let (seen_tx, mut seen) = tokio::sync::watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut next = 0u64;
        loop {
            let f = match fast.next(30).await {
                Ok(f) => f,
                Err(e) => panic!("the reading agent's socket ended after {next} frames: {e:?}"),
            };
            if f["event"] != "frame" {
                continue;
            }
            assert_eq!(f["data"]["n"], next, "a frame was lost or reordered");
            next += 1;
            seen_tx.send_replace(next);
            if f["data"]["last"] == true {
                return (fast, next);
            }
        }
    });
    // The customer's page sends 4 KB frames, 64 at a time, each batch once the reader has
    // the last: the reader never lags, the stalled socket's buffers and queue fill up.
    let pad = "x".repeat(4000);
    let frame = |n: u64, last: bool| {
        let frame = json!({"event": "frame", "data": {"n": n, "pad": pad, "last": last}});
        Message::Binary(encode(&frame).into())
    };
    let mut sent = 0u64;
    let slow_closes = "tandem_websocket_slow_consumer_closes_total";
    let mut closed_after = None;
    let mut drain = None;
    while sent < 6000 {
        for _ in 0..64 {
            dev.send_raw(frame(sent, false)).await;
            sent += 1;
        }
        let target = sent;
        tokio::time::timeout(Duration::from_secs(30), seen.wait_for(|n| *n >= target))
            .await
            .expect("the reading agent fell behind")
            .unwrap();
        if closed_after.is_none() && server.metric(slow_closes).await > 0.0 {
            closed_after = Some(sent);
            // Its close frame waits behind what it never read: read it all now.
            let mut stalled = stalled.take().unwrap();
            drain = Some(tokio::spawn(async move { stalled.close_code().await }));
        }
        // The burst goes on a while after the close.
        if closed_after.is_some_and(|c| sent >= c + 512) {
            break;
        }
    }
    let closed_after = closed_after.expect("the stalled socket was never closed");
    dev.send_raw(frame(sent, true)).await;
    sent += 1;
    let (mut fast, received) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reading agent did not get the last frame")
        .unwrap();
    assert_eq!(received, sent, "the reading agent got every frame");
    let code = drain.unwrap().await.unwrap();
    assert_eq!(code, Some(4008), "the stalled socket is closed as too slow");
    assert_eq!(
        server.metric(slow_closes).await,
        1.0,
        "only the stalled socket was closed"
    );
    probe(&mut fast).await;
    probe(&mut dev).await;
    println!(
        "faults: stalled agent closed with 4008 after {closed_after} frames of 4 KB; \
         the other agent received all {received}, the customer stayed connected"
    );
    server.stop().await;
}
