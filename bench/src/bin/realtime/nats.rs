//! The peer measured in the same run: `nats-server` (Debian package `nats-server`) with a
//! WebSocket listener on loopback, and its clients (CONNECT, SUB, PUB over WebSocket frames).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tandem_testkit::free_port;
use tandem_testkit::ws::Ws;
use tokio_tungstenite::tungstenite::Message;

/// A `nats-server` process on free ports and its configuration folder, both gone when dropped.
pub struct Nats {
    child: Child,
    dir: PathBuf,
    /// The WebSocket listener, `ws://127.0.0.1:<port>`.
    pub url: String,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nats {
    /// Starts `bin` with a WebSocket listener on loopback (and its client port on another free
    /// port: a NATS server of the machine's own may hold 4222).
    pub async fn start(bin: &str, run: usize) -> Result<Nats> {
        let dir =
            std::env::temp_dir().join(format!("tandem-bench-nats-{}-{run}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (port, ws_port) = (free_port(), free_port());
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nwebsocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"
            ),
        )?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {bin} (Debian package nats-server)"))?;
        let nats = Nats {
            child,
            dir,
            url: format!("ws://127.0.0.1:{ws_port}"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_ok() {
                return Ok(nats);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("nats-server did not open its WebSocket listener")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A connected client (Nagle off, as browsers have it) that has said CONNECT, subscribed to
/// `subject` if given, and had its PING answered.
pub async fn client(url: &str, subject: Option<&str>) -> Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    ws.next().await.context("INFO")??;
    let mut hello = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n".to_vec();
    if let Some(subject) = subject {
        hello.extend_from_slice(&subscription(subject));
    } else {
        hello.extend_from_slice(b"PING\r\n");
    }
    ws.send(Message::Binary(hello.into())).await?;
    loop {
        let m = ws.next().await.context("PONG")??;
        if m.into_data().windows(4).any(|w| w == b"PONG") {
            return Ok(ws);
        }
    }
}

/// What subscribes a client to `subject`, with a PING whose PONG says it is in place.
pub fn subscription(subject: &str) -> Vec<u8> {
    format!("SUB {subject} 1\r\nPING\r\n").into_bytes()
}

/// A PUB of `payload` to `subject`.
pub fn publish(subject: &str, payload: &[u8]) -> Vec<u8> {
    let mut msg = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
    msg.extend_from_slice(payload);
    msg.extend_from_slice(b"\r\n");
    msg
}
