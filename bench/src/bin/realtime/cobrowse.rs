//! `make bench-cobrowse`: relay density, co-browsing sessions at a realistic rate. Each device
//! sends a snapshot (in chunks, as the web SDK does with one this size), then ~6 KB/s of
//! recording events (ten 600-byte frames a second) to one agent. Prints server CPU per session
//! (as sessions per vCPU), memory per session and the relay's added latency; then, with
//! `--chromium`, runs `sdk-js/bench/latency.mjs` (customer → viewer latency in Chromium)
//! against the same server.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tandem_testkit::ws::{chunk_frames, encode, Ws};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::proc::{cpu_secs, percentile, rss_kib};
use crate::relay::joined_streams;
use crate::Bench;

/// A page's snapshot as large as the real-page corpus's median (tests/corpus: about 290 KB).
const SNAPSHOT_BYTES: usize = 290_000;

/// The density load with `n` sessions for `secs` seconds, then the Chromium run if asked.
pub async fn run(bench: &Bench, n: usize, secs: u64, chromium: bool) -> Result<()> {
    density(bench, n, secs).await?;
    if chromium {
        // Let the density load's sockets close first.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let status = Command::new("node")
            .arg("sdk-js/bench/latency.mjs")
            .env("TANDEM_API", &bench.server.base)
            .env("TANDEM_TOKEN", &bench.jwt)
            .env("TANDEM_LICENSE", bench.license())
            .status()
            .context("running node sdk-js/bench/latency.mjs")?;
        if !status.success() {
            bail!("the Chromium latency run failed");
        }
    }
    Ok(())
}

async fn density(bench: &Bench, n: usize, secs: u64) -> Result<()> {
    let rss0 = rss_kib(bench.pid)?;
    let mut pairs = Vec::with_capacity(n);
    let setup = Instant::now();
    for i in 0..n {
        let (device, mut agents) =
            joined_streams(&bench.server, &bench.tenant, &format!("d{i}"), 1).await;
        pairs.push((device, agents.remove(0)));
    }
    println!(
        "density: {n} sessions (device + agent stream each) set up in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (lat_tx, mut lat_rx) = mpsc::unbounded_channel::<f64>();
    let mut tasks = Vec::new();
    for (device, agent) in pairs {
        tasks.push(tokio::spawn(agent_reader(agent, started, lat_tx.clone())));
        tasks.push(tokio::spawn(device_writer(device, started, stop.clone())));
    }
    drop(lat_tx);
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while lat_rx.try_recv().is_ok() {}
    let cpu0 = cpu_secs(bench.pid)?;
    let measured = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = cpu_secs(bench.pid)? - cpu0;
    let wall = measured.elapsed().as_secs_f64();
    let rss1 = rss_kib(bench.pid)?;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    while let Ok(l) = lat_rx.try_recv() {
        lat.push(l);
    }
    lat.sort_by(f64::total_cmp);
    let cores = cpu / wall;
    println!(
        "density: {n} sessions at ~6 KB/s each for {secs} s: server used {:.3} vCPU = {:.0} sessions \
         per vCPU; memory {:.0} KiB per session (RSS, incl. a {} KB snapshot replay) = {:.0} sessions \
         per GiB; relay latency device→agent p50 {:.2} ms, p99 {:.2} ms over {} frames",
        cores,
        n as f64 / cores.max(1e-6),
        rss1.saturating_sub(rss0) as f64 / n as f64,
        SNAPSHOT_BYTES / 1000,
        1024.0 * 1024.0 / (rss1.saturating_sub(rss0) as f64 / n as f64).max(1e-6),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len()
    );
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// Reads the agent's stream; for each frame stamped `ts-<µs since started>`, sends how many
/// milliseconds it took to arrive.
async fn agent_reader(mut agent: Ws, started: Instant, lat_tx: mpsc::UnboundedSender<f64>) {
    while let Some(Ok(msg)) = agent.next().await {
        let Message::Binary(b) = msg else { continue };
        let Some(at) = b.windows(3).position(|w| w == b"ts-") else {
            continue;
        };
        let digits = &b[at + 3..(at + 23).min(b.len())];
        let end = digits
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if let Ok(sent) = std::str::from_utf8(&digits[..end])
            .unwrap_or("")
            .parse::<u128>()
        {
            let now = started.elapsed().as_micros();
            let _ = lat_tx.send(now.saturating_sub(sent) as f64 / 1000.0);
        }
    }
}

/// The customer's page: its snapshot, then a stamped 600-byte event every 100 ms until `stop`.
async fn device_writer(mut device: Ws, started: Instant, stop: Arc<AtomicBool>) {
    let meta = encode(
        &json!({"event": "rrweb", "data": {"type": 4, "data": {"href": "https://shop.example/"}}}),
    );
    let snapshot = json!({"type": 2, "data": {"node": "s".repeat(SNAPSHOT_BYTES)}});
    let full = chunk_frames("rrweb", 1, &snapshot, None);
    for frame in std::iter::once(meta).chain(full) {
        if device.send(Message::Binary(frame.into())).await.is_err() {
            return;
        }
    }
    // Spread the sessions' ticks over the interval.
    tokio::time::sleep(Duration::from_millis(rand_ms(100))).await;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let pad = "p".repeat(520);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let ts = format!("ts-{}", started.elapsed().as_micros());
        let frame =
            encode(&json!({"event": "rrweb", "data": {"type": 3, "data": {"t": ts, "pad": pad}}}));
        if device.send(Message::Binary(frame.into())).await.is_err() {
            return;
        }
    }
}

/// A pseudo-random number of milliseconds below `max` (spreading start times; no crate needed).
fn rand_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos % max
}
