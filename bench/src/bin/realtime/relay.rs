//! A 1→4 relay of small frames (a customer's stream to four agents) through Tandem and through
//! nats-server's WebSocket listener, with the same in-flight window: deliveries per second of
//! wall clock and per second of server CPU, and each delivery's latency from the producer's
//! send to the consumer's receipt (the send time travels in the frame). On Tandem, the server's
//! own sampled timestamps (`socket_trace_every`) split the part of a frame's trip spent in the
//! server into stages: read → decoded → routed → queued → written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tandem_testkit::ws::{encode, Socket, Ws};
use tandem_testkit::{Server, Tenant};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use crate::proc::{cpu_secs, nodelay, percentile};
use crate::{nats, Bench};

/// Bytes per frame on the wire (the message the producer sends).
pub const PAYLOAD: usize = 200;

/// How far the producer may run ahead of the slowest consumer, in frames.
pub const WINDOW: u64 = 128;

/// Marks the send time in a frame: `~t` and 16 hex digits of nanoseconds since the run began.
const STAMP: &[u8] = b"~t";
const STAMP_LEN: usize = 18;

pub struct RelayResult {
    pub deliveries: u64,
    pub secs: f64,
    pub cpu: f64,
    /// This process's CPU seconds over the run (the producer and the consumers).
    pub client_cpu: f64,
    /// The share of the run the producer spent waiting for the window to open.
    pub blocked: f64,
    /// Each delivery's latency, send to receipt, in ms, sorted.
    pub latencies: Vec<f64>,
}

impl RelayResult {
    pub fn per_sec(&self) -> f64 {
        self.deliveries as f64 / self.secs
    }
    pub fn per_cpu(&self) -> f64 {
        self.deliveries as f64 / self.cpu.max(0.001)
    }
    pub fn p50(&self) -> f64 {
        percentile(&self.latencies, 0.5)
    }
    pub fn p99(&self) -> f64 {
        percentile(&self.latencies, 0.99)
    }
}

/// An active session joined by a freshly registered device `device_id`: the device's stream
/// socket and `agents` agent stream sockets.
pub async fn joined_streams(
    server: &Server,
    tenant: &Tenant,
    device_id: &str,
    agents: usize,
) -> (Ws, Vec<Ws>) {
    let (session, device) = server.active_session(tenant, device_id).await;
    let id = session["id"].as_str().expect("session id");
    let mut sockets = Vec::with_capacity(agents);
    for _ in 0..agents {
        sockets.push(Socket::agent_stream(server, &tenant.admin, id).await.ws);
    }
    let device = Socket::device_stream(server, tenant, &device, id).await.ws;
    (device, sockets)
}

/// Counts the stamps in what a consumer received (frames may be split or coalesced across
/// messages: `carry` keeps an unfinished stamp), pushing each one's latency in ms.
fn stamps(carry: &mut Vec<u8>, bytes: &[u8], now_ns: u64, latencies: &mut Vec<f64>) -> u64 {
    carry.extend_from_slice(bytes);
    let mut n = 0;
    let mut from = 0;
    loop {
        let Some(at) = carry[from..]
            .windows(STAMP.len())
            .position(|w| w == STAMP)
            .map(|p| from + p)
        else {
            from = from.max(carry.len().saturating_sub(STAMP.len() - 1));
            break;
        };
        if at + STAMP_LEN > carry.len() {
            from = at;
            break;
        }
        let sent = std::str::from_utf8(&carry[at + STAMP.len()..at + STAMP_LEN])
            .ok()
            .and_then(|h| u64::from_str_radix(h, 16).ok());
        if let Some(sent) = sent {
            latencies.push(now_ns.saturating_sub(sent) as f64 / 1e6);
            n += 1;
        }
        from = at + STAMP_LEN;
    }
    carry.drain(..from);
    n
}

/// One producer, four consumers: the producer sends `template` (with its stamp at `stamp_at`
/// filled in) as fast as the slowest consumer allows (a window); consumers count and time what
/// arrives. `pid`'s CPU is measured over the run.
pub async fn one_to_four(
    pid: u32,
    mut producer: Ws,
    consumers: Vec<Ws>,
    template: Vec<u8>,
    secs: u64,
) -> Result<RelayResult> {
    let stamp_at = template
        .windows(STAMP.len())
        .position(|w| w == STAMP)
        .expect("the frame holds a stamp");
    nodelay(&producer);
    let base = Instant::now();
    let progress = Arc::new(Notify::new());
    let (stop, stopped) = watch::channel(false);
    let counters: Vec<Arc<AtomicU64>> = (0..consumers.len())
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let mut readers = Vec::new();
    for (mut ws, counter) in consumers.into_iter().zip(counters.iter().cloned()) {
        nodelay(&ws);
        let (progress, mut stopped) = (progress.clone(), stopped.clone());
        readers.push(tokio::spawn(async move {
            let (mut carry, mut latencies) = (Vec::new(), Vec::new());
            loop {
                let msg = tokio::select! {
                    msg = ws.next() => msg,
                    _ = stopped.wait_for(|s| *s) => break,
                };
                let Some(Ok(msg)) = msg else { break };
                let now = base.elapsed().as_nanos() as u64;
                if let Message::Binary(b) = msg {
                    let n = stamps(&mut carry, &b, now, &mut latencies);
                    counter.fetch_add(n, Ordering::Relaxed);
                    progress.notify_one();
                }
            }
            latencies
        }));
    }
    let cpu0 = cpu_secs(pid)?;
    let client0 = cpu_secs(std::process::id())?;
    let started = Instant::now();
    let mut blocked = Duration::ZERO;
    let mut sent = 0u64;
    let delivered = || counters.iter().map(|c| c.load(Ordering::Relaxed));
    let mut frame = template;
    while started.elapsed() < Duration::from_secs(secs) {
        if sent - delivered().min().unwrap_or(0) >= WINDOW {
            let waited = Instant::now();
            let _ = tokio::time::timeout(Duration::from_millis(50), progress.notified()).await;
            blocked += waited.elapsed();
            continue;
        }
        let now = base.elapsed().as_nanos() as u64;
        frame[stamp_at + STAMP.len()..stamp_at + STAMP_LEN]
            .copy_from_slice(format!("{now:016x}").as_bytes());
        producer.send(Message::Binary(frame.clone().into())).await?;
        sent += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let what is in flight (at most a window) arrive, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = cpu_secs(pid)? - cpu0;
    let client_cpu = cpu_secs(std::process::id())? - client0;
    let deliveries = delivered().sum();
    let _ = stop.send(true);
    let mut latencies = Vec::new();
    for r in readers {
        latencies.extend(r.await?);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(RelayResult {
        deliveries,
        secs: elapsed,
        cpu,
        client_cpu,
        blocked: blocked.as_secs_f64() / elapsed,
        latencies,
    })
}

/// A frame's payload: the stamp, then padding to `len` bytes.
fn stamped(len: usize) -> String {
    let mut s = String::from("~t0000000000000000");
    while s.len() < len {
        s.push('x');
    }
    s
}

/// Through Tandem: a device's stream to four agents' streams of an active session.
pub async fn tandem(bench: &Bench, secs: u64) -> Result<RelayResult> {
    let (producer, agents) = joined_streams(&bench.server, &bench.tenant, "bench-device", 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A CBOR frame of exactly `PAYLOAD` bytes: {event: "frame", data: <text>}.
    let bare = encode(&json!({"event": "frame", "data": ""}));
    let frame = encode(&json!({"event": "frame", "data": stamped(PAYLOAD - bare.len() - 1)}));
    one_to_four(bench.pid, producer, agents, frame, secs).await
}

/// Through nats-server: one publisher and four subscribers of one subject.
pub async fn nats(server: &nats::Nats, secs: u64) -> Result<RelayResult> {
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(nats::client(&server.url, Some("bench")).await?);
    }
    let producer = nats::client(&server.url, None).await?;
    let overhead = nats::publish("bench", &[0; 100]).len() - 100;
    let msg = nats::publish("bench", stamped(PAYLOAD - overhead).as_bytes());
    one_to_four(server.pid(), producer, subs, msg, secs).await
}

/// A frame's stages inside Tandem, from its `/metrics` (`socket_trace_every`): `(stage, p50 µs,
/// p99 µs)` in the order a frame goes through them.
pub async fn stages(bench: &Bench) -> Result<Vec<(&'static str, f64, f64)>> {
    let text = reqwest::get(format!("{}/metrics", bench.server.base))
        .await?
        .text()
        .await?;
    let quantile = |stage: &str, q: &str| -> f64 {
        let labels = [format!("stage=\"{stage}\""), format!("quantile=\"{q}\"")];
        text.lines()
            .filter(|l| l.starts_with("tandem_realtime_frame_stage_seconds{"))
            .find(|l| labels.iter().all(|x| l.contains(x.as_str())))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |s| s * 1e6)
    };
    Ok(["decode", "route", "queue", "write", "total"]
        .into_iter()
        .map(|s| (s, quantile(s, "0.5"), quantile(s, "0.99")))
        .collect())
}

pub fn print(peer: &str, r: &RelayResult) {
    println!(
        "  1→4 relay of {PAYLOAD}-byte frames, window {WINDOW}, {peer}: {:.0} deliveries/s \
         ({} in {:.1} s), {:.0} per server CPU-second ({:.2} CPU-s; the clients {:.2} CPU-s, \
         the producer waited for the window {:.0}% of the time); send → receipt p50 {:.2} ms, \
         p99 {:.2} ms",
        r.per_sec(),
        r.deliveries,
        r.secs,
        r.per_cpu(),
        r.cpu,
        r.client_cpu,
        r.blocked * 100.0,
        r.p50(),
        r.p99()
    );
}

pub fn print_stages(stages: &[(&str, f64, f64)]) {
    let parts: Vec<String> = stages
        .iter()
        .map(|(s, p50, p99)| format!("{s} {p50:.0}/{p99:.0}"))
        .collect();
    println!(
        "  a relayed frame inside Tandem (sampled; p50/p99 µs): {} (read → decoded → routed → \
         queued → written; total = read → written)",
        parts.join(", ")
    );
}
