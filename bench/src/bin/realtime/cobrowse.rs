//! `make bench-cobrowse`: relay density, co-browsing sessions replaying a recorded trace. Each
//! device sends what the web SDK sends for `bench/data/cobrowse-trace.json.gz` (30 s of a customer
//! on a real page of the corpus whose snapshot is 290 KB of JSON; `sdk-js/bench/trace.mjs`
//! records it): the page's start and snapshot as one compressed `rrweb-z` batch (in chunks), then
//! the trace's events at their own pace, batched as `sdk-js/packages/web/src/zip.ts` batches them
//! (pointer moves in the compact form, `tandem_testkit::zipped::packed`), looping, to one agent. Prints, over `RUNS` runs (default 3) of fresh sessions each:
//! - the server's CPU per session (as sessions per vCPU), its memory per session (RSS) and the
//!   relay's added latency (device send → agent receipt, p50/p99);
//! - bytes per session-minute on the wire for the trace (a full snapshot every two minutes, as
//!   the SDK takes one): ours, the plain CBOR frames the SDK sent before, and stock rrweb's (the
//!   same events as plain JSON), with the ratios.
//!
//! Then, with `--chromium`, runs `sdk-js/bench/latency.mjs` (customer → viewer latency in
//! Chromium) against the same server. Writes `target/bench/cobrowse.json`.

use std::collections::VecDeque;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tandem_bench::report::Report;
use tandem_testkit::ws::{chunk_frames, Ws};
use tandem_testkit::zipped::{self, batch, gunzip, plain};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::proc::{cpu_secs, percentile, rss_kib};
use crate::relay::joined_streams;
use crate::Bench;

/// The recorded trace (rrweb events as rrweb emitted them).
const TRACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cobrowse-trace.json.gz");

/// The recording the server keeps for late joiners, in bytes (a gauge in its `/metrics`).
const REPLAY_BYTES: &str = "tandem_realtime_replay_bytes";

/// The SDK takes a full snapshot every two minutes (`checkoutEveryNms`).
const CHECKOUT: Duration = Duration::from_secs(120);

/// zip.ts: how long pointer moves wait for the next batch, and the least JSON worth compressing
/// (a batch without pointer moves).
const POINTER_WINDOW_MS: i64 = 100;
const MIN_ZIP_BYTES: usize = 256;
/// rrweb's incremental sources for pointer movement: MouseMove, TouchMove, Drag.
const POINTER_SOURCES: [u64; 3] = [1, 6, 12];

/// What a device sends for the trace.
struct Trace {
    /// The page's start and full snapshot: compressed, in chunks.
    page: Vec<Vec<u8>>,
    /// The events after it, as the SDK batches them: (ms after the page's start, frame).
    live: Vec<(u64, Vec<u8>)>,
    /// How long the trace lasts, in ms (it loops).
    length_ms: u64,
    /// Bytes per session-minute: ours, plain CBOR frames (the SDK before), stock rrweb JSON.
    per_minute: PerMinute,
    /// The page's compressed snapshot batch, and the same events as JSON.
    page_bytes: (usize, usize),
}

#[derive(Clone, Copy)]
struct PerMinute {
    ours: f64,
    plain: f64,
    stock: f64,
}

impl Trace {
    fn load() -> Result<Trace> {
        let raw = std::fs::read(TRACE).with_context(|| format!("reading {TRACE}"))?;
        let events: Vec<Value> = serde_json::from_slice(&gunzip(&raw)).context("the trace")?;
        let at = |e: &Value| e["timestamp"].as_i64().unwrap_or(0);
        let start = events
            .iter()
            .position(|e| e["type"] == 4)
            .context("a Meta")?;
        let snapshot = events[start + 1..]
            .iter()
            .position(|e| e["type"] == 2)
            .context("a full snapshot")?
            + start
            + 1;
        let t0 = at(&events[start]);
        let page_events = &events[start..=snapshot];
        let rest = &events[snapshot + 1..];
        let length_ms = (at(events.last().expect("events")) - t0).max(1) as u64;

        let page = zipped::frames(&batch(page_events), 1, None);
        let plain_page: Vec<Vec<u8>> = page_events
            .iter()
            .enumerate()
            .flat_map(|(i, e)| chunk_or_frame(e, i as u64 + 1))
            .collect();
        let mut live = Vec::new();
        for (t, events) in batches(rest, at) {
            let json = serde_json::to_vec(&events).expect("JSON");
            // A batch with pointer moves goes compressed in the compact form, whatever its size.
            let frames = if events.iter().all(is_pointer) {
                // Pointer moves alone: `rrweb-p`, of which the relay keeps only the latest.
                vec![zipped::frame_as(
                    zipped::MOVES,
                    &zipped::packed_batch(&events),
                    None,
                )]
            } else if zipped::has_pointer_moves(&events) {
                zipped::frames(&zipped::packed_batch(&events), 1000 + t as u64, None)
            } else if json.len() < MIN_ZIP_BYTES {
                events.iter().map(plain).collect()
            } else {
                zipped::frames(&batch(&events), 1000 + t as u64, None)
            };
            for frame in frames {
                live.push(((t - t0).max(0) as u64, frame));
            }
        }
        let json_len = |events: &[Value]| {
            events
                .iter()
                .map(|e| serde_json::to_vec(e).expect("JSON").len())
                .sum::<usize>()
        };
        // Over one checkout period: one snapshot, and the trace's events for two minutes.
        let loops = CHECKOUT.as_millis() as f64 / length_ms as f64;
        let minutes = CHECKOUT.as_secs_f64() / 60.0;
        let per_minute = |page: usize, live: usize| (page as f64 + live as f64 * loops) / minutes;
        let per_minute = PerMinute {
            ours: per_minute(total(&page), live.iter().map(|(_, f)| f.len()).sum()),
            plain: per_minute(
                total(&plain_page),
                rest.iter().map(|e| plain(e).len()).sum(),
            ),
            stock: per_minute(json_len(page_events), json_len(rest)),
        };
        Ok(Trace {
            page_bytes: (total(&page), json_len(page_events)),
            page,
            live,
            length_ms,
            per_minute,
        })
    }
}

fn total(frames: &[Vec<u8>]) -> usize {
    frames.iter().map(Vec::len).sum()
}

/// A plain event in one frame, or in chunks when it is bigger than one message.
fn chunk_or_frame(e: &Value, series: u64) -> Vec<Vec<u8>> {
    let frame = plain(e);
    if frame.len() <= tandem_testkit::ws::CHUNK {
        return vec![frame];
    }
    chunk_frames("rrweb", series, e, None)
}

fn is_pointer(e: &Value) -> bool {
    e["type"] == 3
        && e["data"]["source"]
            .as_u64()
            .is_some_and(|s| POINTER_SOURCES.contains(&s))
}

/// The events as zip.ts batches them, each batch with when it is sent: pointer moves wait up to
/// `POINTER_WINDOW_MS` for the next batch; any other event goes at once with what is held, and
/// with the events recorded at the same moment (the same task, in the browser).
fn batches(events: &[Value], at: impl Fn(&Value) -> i64) -> Vec<(i64, Vec<Value>)> {
    let mut out = Vec::new();
    let mut held: Vec<Value> = Vec::new();
    let mut since = 0;
    for (i, e) in events.iter().enumerate() {
        let t = at(e);
        if !held.is_empty() && t >= since + POINTER_WINDOW_MS {
            out.push((since + POINTER_WINDOW_MS, std::mem::take(&mut held)));
        }
        if held.is_empty() {
            since = t;
        }
        held.push(e.clone());
        let same_task = events.get(i + 1).is_some_and(|next| at(next) == t);
        if !is_pointer(e) && !same_task {
            out.push((t, std::mem::take(&mut held)));
        }
    }
    if !held.is_empty() {
        out.push((since + POINTER_WINDOW_MS, held));
    }
    out
}

/// The density load with `n` sessions for `secs` seconds, `RUNS` times, then the Chromium run
/// if asked.
pub async fn run(bench: &Bench, n: usize, secs: u64, chromium: bool) -> Result<()> {
    let trace = Arc::new(Trace::load()?);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut report = Report::new("cobrowse");
    report.config("sessions", n as u64);
    report.config("seconds", secs);
    report.config("trace", "bench/data/cobrowse-trace.json.gz");
    let PerMinute { ours, plain, stock } = trace.per_minute;
    println!(
        "trace: {:.1} s, {} live frames a loop; the page's start and snapshot: {} KB of JSON, {} KB \
         compressed ({} frames)",
        trace.length_ms as f64 / 1000.0,
        trace.live.len(),
        trace.page_bytes.1 / 1000,
        trace.page_bytes.0 / 1000,
        trace.page.len()
    );
    println!(
        "wire: bytes per session-minute (a snapshot every 2 min): ours {:.1} KiB, plain CBOR frames \
         (before) {:.1} KiB, stock rrweb JSON {:.1} KiB: {:.3}x stock's ({:.2}x lighter), {:.3}x before's",
        ours / 1024.0,
        plain / 1024.0,
        stock / 1024.0,
        ours / stock,
        stock / ours,
        ours / plain
    );
    // Sessions of earlier runs stay open, idle, so that each run's memory is its own sessions'.
    let mut kept = Vec::new();
    for r in 0..runs {
        let (figures, sockets) = density(bench, &trace, r, n, secs).await?;
        kept.push(sockets);
        println!(
            "density run {}/{runs}: {n} sessions for {secs} s: server used {:.3} vCPU = {:.0} sessions \
             per vCPU; memory {:.1} KiB per session (RSS; {:.1} KiB of it the recording kept \
             for late joiners) = {:.0} sessions per GiB; relay latency device→agent p50 {:.2} ms, \
             p99 {:.2} ms over {} frames",
            r + 1,
            figures.cores,
            figures.per_vcpu,
            figures.kib,
            figures.replay_kib,
            1024.0 * 1024.0 / figures.kib.max(1e-6),
            figures.p50,
            figures.p99,
            figures.frames
        );
        report.add(
            "density.tandem.sessions_per_vcpu",
            "sessions",
            figures.per_vcpu,
        );
        report.add("density.tandem.memory_per_session", "KiB", figures.kib);
        report.add(
            "density.tandem.replay_per_session",
            "KiB",
            figures.replay_kib,
        );
        report.add(
            "density.tandem.memory_per_session_before_recording",
            "KiB",
            figures.setup_kib,
        );
        report.add("density.tandem.relay_p50", "ms", figures.p50);
        report.add("density.tandem.relay_p99", "ms", figures.p99);
        // The same every run (one trace), so that the file has every figure with its runs.
        report.add("wire.tandem.bytes_per_session_minute", "KiB", ours / 1024.0);
        report.add("wire.plain.bytes_per_session_minute", "KiB", plain / 1024.0);
        report.add("wire.stock.bytes_per_session_minute", "KiB", stock / 1024.0);
        report.add("wire.bytes_per_session_minute.ratio", "x", ours / stock);
    }
    for (name, unit) in [
        ("density.tandem.sessions_per_vcpu", "sessions per vCPU"),
        ("density.tandem.memory_per_session", "KiB per session"),
        ("density.tandem.relay_p99", "ms relay p99"),
    ] {
        if let Some(s) = report.figure(name).and_then(|f| f.spread()) {
            println!(
                "density: {unit}: median {:.2} (min {:.2}, max {:.2}) over {runs} runs",
                s.median, s.min, s.max
            );
        }
    }
    report.write()?;
    for task in kept.into_iter().flatten() {
        task.abort();
    }
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

struct Figures {
    cores: f64,
    per_vcpu: f64,
    kib: f64,
    /// Of `kib`, what the session and its two open streams took before any recording.
    setup_kib: f64,
    /// The recording the relay keeps for late joiners (its gauge), per session.
    replay_kib: f64,
    p50: f64,
    p99: f64,
    frames: usize,
}

/// When each frame a device sent left it, oldest first; its agent takes them off as they arrive
/// (the relay keeps a session's frames in order).
type Sent = Arc<Mutex<VecDeque<Instant>>>;

async fn density(
    bench: &Bench,
    trace: &Arc<Trace>,
    run: usize,
    n: usize,
    secs: u64,
) -> Result<(Figures, Vec<tokio::task::JoinHandle<()>>)> {
    let rss0 = rss_kib(bench.pid)?;
    let kept0 = bench.server.metric(REPLAY_BYTES).await;
    let mut pairs = Vec::with_capacity(n);
    let setup = Instant::now();
    for i in 0..n {
        let (device, mut agents) =
            joined_streams(&bench.server, &bench.tenant, &format!("r{run}d{i}"), 1).await;
        pairs.push((device, agents.remove(0)));
    }
    let rss_setup = rss_kib(bench.pid)?;
    println!(
        "density: {n} sessions (device + agent stream each) set up in {:.1} s, {:.1} KiB each \
         before anything is recorded (RSS)",
        setup.elapsed().as_secs_f64(),
        rss_setup.saturating_sub(rss0) as f64 / n as f64
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (lat_tx, mut lat_rx) = mpsc::unbounded_channel::<f64>();
    let mut tasks = Vec::new();
    for (device, agent) in pairs {
        let sent = Sent::default();
        tasks.push(tokio::spawn(agent_reader(
            agent,
            sent.clone(),
            lat_tx.clone(),
        )));
        tasks.push(tokio::spawn(device_writer(
            device,
            trace.clone(),
            sent,
            stop.clone(),
        )));
    }
    drop(lat_tx);
    // Warm up (every page's snapshot sent), then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while lat_rx.try_recv().is_ok() {}
    let cpu0 = cpu_secs(bench.pid)?;
    let measured = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = cpu_secs(bench.pid)? - cpu0;
    let wall = measured.elapsed().as_secs_f64();
    let rss1 = rss_kib(bench.pid)?;
    let kept = bench.server.metric(REPLAY_BYTES).await - kept0;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    while let Ok(l) = lat_rx.try_recv() {
        lat.push(l);
    }
    lat.sort_by(f64::total_cmp);
    let cores = cpu / wall;
    let figures = Figures {
        cores,
        per_vcpu: n as f64 / cores.max(1e-6),
        kib: rss1.saturating_sub(rss0) as f64 / n as f64,
        setup_kib: rss_setup.saturating_sub(rss0) as f64 / n as f64,
        replay_kib: kept / 1024.0 / n as f64,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        frames: lat.len(),
    };
    Ok((figures, tasks))
}

/// Reads the agent's stream; for each recording frame, sends how many milliseconds it took to
/// arrive from its device.
async fn agent_reader(mut agent: Ws, sent: Sent, lat_tx: mpsc::UnboundedSender<f64>) {
    while let Some(Ok(msg)) = agent.next().await {
        let Message::Binary(b) = msg else { continue };
        if !matches!(
            event_name(&b),
            Some("rrweb" | "rrweb-z" | "rrweb-p" | "chunk")
        ) {
            continue;
        }
        let Some(at) = sent.lock().expect("sent").pop_front() else {
            continue;
        };
        let _ = lat_tx.send(at.elapsed().as_secs_f64() * 1000.0);
    }
}

/// The `event` of a frame whose first entry it is (as every frame here is written).
fn event_name(frame: &[u8]) -> Option<&str> {
    let rest = frame.get(1..)?.strip_prefix(b"\x65event")?;
    let len = usize::from(rest.first()?.checked_sub(0x60).filter(|l| *l < 24)?);
    std::str::from_utf8(rest.get(1..1 + len)?).ok()
}

/// The customer's page: the page's start and snapshot, then the trace's frames at their pace,
/// looping, with a new snapshot every `CHECKOUT`, until `stop`; then it stays connected, idle,
/// until the task is aborted.
async fn device_writer(mut device: Ws, trace: Arc<Trace>, sent: Sent, stop: Arc<AtomicBool>) {
    // Spread the sessions' starts over a second.
    tokio::time::sleep(Duration::from_millis(rand_ms(1000))).await;
    if stream(&mut device, &trace, &sent, &stop).await {
        std::future::pending::<()>().await;
    }
}

/// Sends the trace until `stop`; false when the socket failed.
async fn stream(device: &mut Ws, trace: &Trace, sent: &Sent, stop: &AtomicBool) -> bool {
    let mut page_at = Instant::now();
    for frame in &trace.page {
        if !send(device, frame, sent).await {
            return false;
        }
    }
    let mut loop_at = page_at;
    loop {
        for (offset, frame) in &trace.live {
            tokio::time::sleep_until((loop_at + Duration::from_millis(*offset)).into()).await;
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            if !send(device, frame, sent).await {
                return false;
            }
        }
        loop_at += Duration::from_millis(trace.length_ms);
        tokio::time::sleep_until(loop_at.into()).await;
        if page_at.elapsed() >= CHECKOUT {
            page_at = Instant::now();
            for frame in &trace.page {
                if !send(device, frame, sent).await {
                    return false;
                }
            }
        }
    }
}

async fn send(device: &mut Ws, frame: &[u8], sent: &Sent) -> bool {
    sent.lock().expect("sent").push_back(Instant::now());
    device
        .send(Message::Binary(frame.to_vec().into()))
        .await
        .is_ok()
}

/// A pseudo-random number below `max` (spreading start times; no crate needed).
fn rand_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos % max
}
