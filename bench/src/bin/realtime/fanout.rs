//! One update fanned out to N subscribed sockets, on Tandem and on nats-server: delivery latency
//! from the moment the update is sent to each socket's receipt, and the server's CPU per
//! delivery. On Tandem the update is a `PUT /api/1/sessions/:id` (so its time includes the HTTP
//! request and the write to the Store) that every socket subscribed to the session receives; on
//! nats-server it is a PUB, of the same size as Tandem's frame, to a subject every client
//! subscribed to.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tandem_testkit::ws::{encode, Ws};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::proc::{cpu_secs, percentile};
use crate::{nats, Bench};

/// The session every socket subscribes to, and the agent's credentials for the sockets.
pub struct Target {
    pub session_id: String,
    pub control_token: String,
    pub notification_token: String,
}

impl Target {
    pub async fn create(bench: &Bench) -> Result<Target> {
        let (_, me) = bench.server.get("/api/1/users/me", &bench.jwt).await;
        let session = bench
            .server
            .create_session(&bench.jwt, json!({"custom_data": {"seq": "seq-000000"}}))
            .await;
        let text = |v: &serde_json::Value, what: &str| -> Result<String> {
            Ok(v[what].as_str().context(what.to_owned())?.to_owned())
        };
        Ok(Target {
            session_id: text(&session, "id")?,
            control_token: text(&session, "control_token")?,
            notification_token: text(&me, "notification_token")?,
        })
    }
}

/// One peer's fan-out over all its updates.
pub struct Fanout {
    /// Every delivery's latency, in ms, sorted.
    pub latencies: Vec<f64>,
    pub missing: usize,
    /// Server CPU seconds over the updates.
    pub cpu: f64,
    /// This process's (the subscribers' and the publisher's) CPU seconds over the updates.
    pub client_cpu: f64,
    pub updates: usize,
    /// Bytes of the update as a socket received it (the WebSocket message).
    pub message_bytes: usize,
    /// How long sending each update took (Tandem: the PUT's response), ms, sorted.
    pub publish_ms: Vec<f64>,
}

impl Fanout {
    pub fn p50(&self) -> f64 {
        percentile(&self.latencies, 0.5)
    }
    pub fn p99(&self) -> f64 {
        percentile(&self.latencies, 0.99)
    }
    pub fn max(&self) -> f64 {
        self.latencies.last().copied().unwrap_or(f64::NAN)
    }
    /// Server CPU per delivery, in µs.
    pub fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / self.latencies.len().max(1) as f64
    }
    /// The subscribers' CPU per delivery, in µs.
    pub fn client_cpu_us(&self) -> f64 {
        self.client_cpu * 1e6 / self.latencies.len().max(1) as f64
    }
    /// The least time, in ms, an update's last delivery can take on this machine: the CPU the
    /// server and the subscribers spent on one update, spread over every core. Server and
    /// subscribers share the cores here, so a p99 near this floor is bound by the machine.
    pub fn floor_ms(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        (self.cpu + self.client_cpu) * 1000.0 / self.updates.max(1) as f64 / cores
    }
}

/// Finds `seq-NNNNNN` in a raw frame.
fn seq_in(frame: &[u8]) -> Option<usize> {
    let at = frame.windows(4).position(|w| w == b"seq-")?;
    std::str::from_utf8(frame.get(at + 4..at + 10)?)
        .ok()?
        .parse()
        .ok()
}

/// How an update is sent.
pub enum Publisher<'a> {
    Tandem(&'a Bench, &'a Target),
    /// A client of nats-server, and the size of the payload to publish.
    Nats(Box<Ws>, usize),
}

impl Publisher<'_> {
    async fn publish(&mut self, k: usize) -> Result<()> {
        let seq = format!("seq-{k:06}");
        match self {
            Publisher::Tandem(bench, target) => {
                let path = format!("/api/1/sessions/{}", target.session_id);
                let body = json!({"custom_data": {"seq": seq}});
                let (status, _) = bench.server.put(&path, &bench.jwt, body).await;
                if !status.is_success() {
                    bail!("update failed: {status}");
                }
            }
            Publisher::Nats(ws, size) => {
                let mut payload = seq.into_bytes();
                payload.resize((*size).max(payload.len()), b'x');
                let msg = nats::publish("fanout", &payload);
                ws.send(Message::Binary(msg.into())).await?;
            }
        }
        Ok(())
    }
}

/// Subscribes every socket with `subscribe` (each waits for a message holding `ready`), then
/// sends `updates` updates one after another, each waited for on every socket (up to 10 s), and
/// measures `pid`'s CPU over them.
pub async fn run(
    pid: u32,
    sockets: Vec<Ws>,
    subscribe: Message,
    ready: &'static [u8],
    mut publisher: Publisher<'_>,
    updates: usize,
) -> Result<Fanout> {
    let n = sockets.len();
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant, usize)>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let mut readers = Vec::with_capacity(n);
    for mut ws in sockets {
        let (tx, ready_tx, subscribe) = (tx.clone(), ready_tx.clone(), subscribe.clone());
        readers.push(tokio::spawn(async move {
            if ws.send(subscribe).await.is_err() {
                return;
            }
            let mut subscribed = false;
            while let Some(Ok(msg)) = ws.next().await {
                let at = Instant::now();
                if let Message::Binary(b) = msg {
                    if !subscribed && b.windows(ready.len()).any(|w| w == ready) {
                        subscribed = true;
                        let _ = ready_tx.send(());
                    } else if let Some(seq) = seq_in(&b) {
                        let _ = tx.send((seq, at, b.len()));
                    }
                }
            }
        }));
    }
    drop(tx);
    for _ in 0..n {
        ready_rx
            .recv()
            .await
            .context("a socket failed to subscribe")?;
    }
    // Drain what subscribing pushed (Tandem sends the session as it is).
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}

    let mut fanout = Fanout {
        latencies: Vec::with_capacity(n * updates),
        missing: 0,
        cpu: 0.0,
        client_cpu: 0.0,
        updates,
        message_bytes: 0,
        publish_ms: Vec::with_capacity(updates),
    };
    let cpu0 = cpu_secs(pid)?;
    let client0 = cpu_secs(std::process::id())?;
    for k in 1..=updates {
        let started = Instant::now();
        publisher.publish(k).await?;
        fanout
            .publish_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while got < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((seq, at, len))) if seq == k => {
                    fanout
                        .latencies
                        .push(at.duration_since(started).as_secs_f64() * 1000.0);
                    fanout.message_bytes = len;
                    got += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        fanout.missing += n - got;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fanout.cpu = cpu_secs(pid)? - cpu0;
    fanout.client_cpu = cpu_secs(std::process::id())? - client0;
    fanout.latencies.sort_by(f64::total_cmp);
    fanout.publish_ms.sort_by(f64::total_cmp);
    for reader in readers {
        reader.abort();
    }
    // Let the server finish closing them before anything else is measured.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(fanout)
}

/// Tandem: agent sockets subscribed to the session (by its `control_token`), updated by PUT.
pub async fn tandem(
    bench: &Bench,
    target: &Target,
    sockets: Vec<Ws>,
    updates: usize,
) -> Result<Fanout> {
    let subscribe = Message::Binary(
        encode(&json!({"event": "subscribe", "id": 1, "data": target.control_token})).into(),
    );
    let publisher = Publisher::Tandem(bench, target);
    run(bench.pid, sockets, subscribe, b"ack", publisher, updates).await
}

/// nats-server: clients subscribed to one subject, and a PUB of `payload` bytes to it.
pub async fn nats(
    server: &nats::Nats,
    sockets: Vec<Ws>,
    updates: usize,
    payload: usize,
) -> Result<Fanout> {
    let subscribe = Message::Binary(nats::subscription("fanout").into());
    let publisher = Publisher::Nats(Box::new(nats::client(&server.url, None).await?), payload);
    run(
        server.pid(),
        sockets,
        subscribe,
        b"PONG",
        publisher,
        updates,
    )
    .await
}

pub fn print(peer: &str, n: usize, f: &Fanout) {
    println!(
        "  fan-out to {n} sockets, {peer}: delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         ({} deliveries missing; {}-byte messages; sending one took {:.1} ms at the median); \
         server CPU {:.2} s = {:.1} µs per delivery, subscribers' {:.1} µs; the machine's \
         floor for an update's last delivery (both CPUs over all cores) {:.1} ms",
        f.p50(),
        f.p99(),
        f.max(),
        f.missing,
        f.message_bytes,
        percentile(&f.publish_ms, 0.5),
        f.cpu,
        f.cpu_us(),
        f.client_cpu_us(),
        f.floor_ms()
    );
}
