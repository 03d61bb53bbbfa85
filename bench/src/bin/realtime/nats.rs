//! The relay load through nats-server's WebSocket listener (Debian package `nats-server`), for
//! comparison: one publisher, four subscribers of one subject.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use tandem_testkit::free_port;
use tandem_testkit::ws::Ws;
use tokio_tungstenite::tungstenite::Message;

use crate::relay::{one_to_four, RelayLoad, RelayResult};

/// A `nats-server` process and its configuration folder, both gone when dropped.
struct Nats {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `nats` with a WebSocket listener on loopback; returns it and the listener's URL.
async fn start(nats: &str) -> Result<(Nats, String)> {
    let dir = std::env::temp_dir().join(format!("tandem-bench-nats-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (port, ws_port) = (free_port(), free_port());
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\nwebsocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"
        ),
    )?;
    let child = Command::new(nats)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {nats} (Debian package nats-server)"))?;
    let server = Nats { child, dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((server, format!("ws://127.0.0.1:{ws_port}")))
}

/// A connected client, subscribed to `bench` when `sub`.
async fn client(url: &str, sub: bool) -> Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.next().await.context("INFO")??;
    let mut hello = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n".to_vec();
    if sub {
        hello.extend_from_slice(b"SUB bench 1\r\n");
    }
    hello.extend_from_slice(b"PING\r\n");
    ws.send(Message::Binary(hello.into())).await?;
    loop {
        let m = ws.next().await.context("PONG")??;
        if m.into_data().windows(4).any(|w| w == b"PONG") {
            return Ok(ws);
        }
    }
}

/// The load through `nats`, payloads sized so the published message is `payload` bytes.
pub async fn relay(nats: &str, load: &RelayLoad) -> Result<RelayResult> {
    let (server, url) = start(nats).await?;
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(client(&url, true).await?);
    }
    let producer = client(&url, false).await?;
    let header = b"PUB bench ";
    let body_len = load.payload.saturating_sub(header.len() + 4 + 4);
    let mut msg = format!("PUB bench {body_len}\r\n").into_bytes();
    msg.extend(std::iter::repeat_n(b'x', body_len));
    msg.extend_from_slice(b"\r\n");
    fn count(msg: &Message, carry: &mut Vec<u8>) -> u64 {
        // Messages may be split or coalesced across frames: count "MSG " across boundaries.
        let Message::Binary(b) = msg else { return 0 };
        carry.extend_from_slice(b);
        let n = carry.windows(4).filter(|w| *w == b"MSG ").count() as u64;
        let keep = carry.len().min(3);
        carry.drain(..carry.len() - keep);
        n
    }
    one_to_four(
        server.child.id(),
        producer,
        subs,
        Message::Binary(msg.into()),
        count,
        load.secs,
    )
    .await
}
