//! A 1→4 relay of small frames (a customer's stream to four agents) through Tandem and through
//! nats-server's WebSocket listener, as deliveries per second of server CPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tandem_testkit::ws::{encode, Socket, Ws};
use tandem_testkit::{Server, Tenant};
use tokio_tungstenite::tungstenite::Message;

use crate::proc::cpu_secs;
use crate::{nats, Bench};

pub struct RelayLoad {
    pub secs: u64,
    /// Bytes per frame on the wire (the message the producer sends).
    pub payload: usize,
}

pub struct RelayResult {
    pub deliveries: u64,
    pub cpu: f64,
}

impl RelayResult {
    fn per_cpu(&self) -> f64 {
        self.deliveries as f64 / self.cpu.max(0.001)
    }
}

/// How far the producer may run ahead of the slowest consumer, in frames.
const WINDOW: u64 = 128;

/// Relays through Tandem, stops it, relays through nats-server, and prints both.
pub async fn run(bench: Bench, secs: u64, nats_bin: &str) -> Result<()> {
    let load = RelayLoad { secs, payload: 200 };
    let tandem = tandem_relay(&bench, &load).await?;
    drop(bench);
    let nats = nats::relay(nats_bin, &load).await?;
    println!(
        "1→4 relay of {}-byte frames for {} s: Tandem {:.0} deliveries per server CPU-second \
         ({} deliveries, {:.2} CPU-s); nats-server WebSocket {:.0} ({} deliveries, {:.2} CPU-s); \
         Tandem/NATS = {:.2}",
        load.payload,
        load.secs,
        tandem.per_cpu(),
        tandem.deliveries,
        tandem.cpu,
        nats.per_cpu(),
        nats.deliveries,
        nats.cpu,
        tandem.per_cpu() / nats.per_cpu()
    );
    Ok(())
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

/// One producer, four consumers: the producer sends `frame` as fast as the slowest consumer
/// allows (a window), consumers count what arrives with `count`. Returns deliveries and the
/// server's CPU seconds over the run.
pub async fn one_to_four(
    pid: u32,
    mut producer: Ws,
    consumers: Vec<Ws>,
    frame: Message,
    count: fn(&Message, &mut Vec<u8>) -> u64,
    secs: u64,
) -> Result<RelayResult> {
    let counters: Vec<Arc<AtomicU64>> = (0..consumers.len())
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let mut readers = Vec::new();
    for (mut ws, counter) in consumers.into_iter().zip(counters.iter().cloned()) {
        readers.push(tokio::spawn(async move {
            let mut carry = Vec::new();
            while let Some(Ok(msg)) = ws.next().await {
                counter.fetch_add(count(&msg, &mut carry), Ordering::Relaxed);
            }
        }));
    }
    let cpu0 = cpu_secs(pid)?;
    let started = Instant::now();
    let mut sent = 0u64;
    let first: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let delivered = || {
        counters
            .iter()
            .zip(&first)
            .map(|(c, f)| c.load(Ordering::Relaxed) - f)
    };
    while started.elapsed() < Duration::from_secs(secs) {
        if sent - delivered().min().unwrap_or(0) >= WINDOW {
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        producer.send(frame.clone()).await?;
        sent += 1;
    }
    // Let what is in flight arrive, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = cpu_secs(pid)? - cpu0;
    let deliveries = delivered().sum();
    for r in readers {
        r.abort();
    }
    Ok(RelayResult { deliveries, cpu })
}

async fn tandem_relay(bench: &Bench, load: &RelayLoad) -> Result<RelayResult> {
    let (producer, agents) = joined_streams(&bench.server, &bench.tenant, "bench-device", 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A CBOR frame of exactly `payload` bytes: {event: "frame", data: <bytes>}.
    let mut frame = encode(&json!({"event": "frame", "data": ""}));
    let pad = load.payload.saturating_sub(frame.len() + 1);
    frame = encode(&json!({"event": "frame", "data": "x".repeat(pad)}));
    fn count(msg: &Message, _: &mut Vec<u8>) -> u64 {
        u64::from(matches!(msg, Message::Binary(b) if b.windows(5).any(|w| w == b"frame")))
    }
    one_to_four(
        bench.pid,
        producer,
        agents,
        Message::Binary(frame.into()),
        count,
        load.secs,
    )
    .await
}
