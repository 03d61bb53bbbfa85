//! `make bench-realtime`: the socket hub under load, with the `tandem` server in a process of its
//! own (release build, SQLite in a temporary directory) and the load generator in this one.
//!
//! Prints:
//! - memory per idle authenticated socket: the server's RSS delta, and the kernel's (slab plus
//!   TCP buffer pages, both ends of each loopback connection, so also shown halved);
//! - one session update fanned out to N subscribed sockets: delivery latency from the start of the
//!   `PUT` to each socket's receipt (p50/p99/max over every delivery), and deliveries per second
//!   of server CPU during that phase;
//! - a 1→4 relay of 200-byte frames (a customer's stream to four agents) for a few seconds, as
//!   deliveries per second of server CPU, and the same load through `nats-server`'s WebSocket
//!   listener (Debian package `nats-server`), with the ratio. The producer keeps at most a window
//!   of frames in flight, so neither server is asked to buffer without bound.
//!
//! ```text
//! cargo run --release -p tandem-bench --bin tandem-bench-realtime -- \
//!     [--sockets N] [--updates U] [--relay-secs S] [--nats PATH]
//! ```
//! It measures; it asserts nothing about time.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tandem_api::keys::{self, TokenSpec};
use tandem_core::model::AccountSettings;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(about = "Benchmarks the realtime socket hub")]
struct Args {
    /// Sockets to open (each process needs one file descriptor per socket).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Session updates to fan out.
    #[arg(long, default_value_t = 30)]
    updates: usize,
    /// Seconds of 1→4 relay traffic, through Tandem and through nats-server.
    #[arg(long, default_value_t = 5)]
    relay_secs: u64,
    /// The `nats-server` binary for the comparison.
    #[arg(long, default_value = "nats-server")]
    nats: String,
    /// Instead of the phases above, measure relay density: this many co-browsing sessions,
    /// each a device streaming ~6 KB/s to one agent (`make bench-cobrowse`).
    #[arg(long, default_value_t = 0)]
    density: usize,
    /// Seconds the density load runs.
    #[arg(long, default_value_t = 10)]
    density_secs: u64,
    /// With --density: then run sdk-js/bench/latency.mjs (Chromium, customer → viewer latency)
    /// against the same server.
    #[arg(long)]
    chromium: bool,
    /// The `tandem` binary (default: next to this one).
    #[arg(long)]
    tandem: Option<PathBuf>,
}

struct Server {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    field_kib(&status, "VmRSS:")
}

fn field_kib(text: &str, name: &str) -> Result<u64> {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {name}"))
}

/// Kernel memory that grows with sockets: slab plus TCP buffer pages, in KiB.
fn kernel_kib() -> Result<u64> {
    let slab = field_kib(&std::fs::read_to_string("/proc/meminfo")?, "Slab:")?;
    let sockstat = std::fs::read_to_string("/proc/net/sockstat")?;
    let pages: u64 = sockstat
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .and_then(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let i = parts.iter().position(|p| *p == "mem")?;
            parts.get(i + 1)?.parse().ok()
        })
        .unwrap_or(0);
    Ok(slab + pages * 4)
}

/// CPU time (user + system) a process has used, in seconds.
fn cpu_secs(pid: u32) -> Result<f64> {
    let (user, system) = cpu_split(pid)?;
    Ok(user + system)
}

/// User and system CPU seconds of a process.
fn cpu_split(pid: u32) -> Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = &stat[stat.rfind(')').context("stat")? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    Ok((f[11].parse::<f64>()? / 100.0, f[12].parse::<f64>()? / 100.0))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn start_server(tandem: PathBuf) -> Result<(Server, String, String)> {
    let dir = std::env::temp_dir().join(format!("tandem-bench-realtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}/bench.db", dir.display());
    let store = tandem_core::store::open(&db).await?;
    let account = tandem_core::service::new_account("bench", &AccountSettings::default());
    store.create_account(&account).await?;
    let pair = keys::generate(&account.id)?;
    store.add_key(&pair.key).await?;
    let jwt = keys::mint(
        &pair.key.kid,
        &pair.private_pem,
        &TokenSpec {
            license_key: account.license_key.clone(),
            email: "bench@example.com".into(),
            audience: "tandem".into(),
            ttl_secs: 3600,
            display_name: None,
            role: Some("administrator".into()),
            policy: None,
        },
    )?;
    drop(store);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&tandem)
        .arg("serve")
        .env("TANDEM_DATABASE_URL", &db)
        .env("TANDEM_LISTEN", format!("127.0.0.1:{port}"))
        .env("TANDEM_BOOTSTRAP_ACCOUNT", "")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", tandem.display()))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{}/readyz", server.base)).send().await {
            if r.status().is_success() {
                return Ok((server, jwt, account.license_key));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not become ready")
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, token: &str) -> Result<Ws> {
    let mut req = url.into_client_request()?;
    let bearer = base64::engine::general_purpose::STANDARD_NO_PAD.encode(token);
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!(
            "cbor, cbio.http.headers.authorization.bearer.{bearer}"
        ))?,
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    Ok(ws)
}

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("encoding to a Vec");
    out
}

/// The `chunk` frames the web SDK sends for an event bigger than one socket message: 32 KiB
/// pieces of the CBOR of `data`.
fn chunked(event: &str, data: &Value, series: u64) -> Vec<Vec<u8>> {
    use ciborium::Value as Cbor;
    let body = cbor(data);
    let parts: Vec<&[u8]> = body.chunks(32 * 1024).collect();
    let of = parts.len() as u64;
    let text = |s: &str| Cbor::Text(s.into());
    parts
        .into_iter()
        .enumerate()
        .map(|(seq, bytes)| {
            let frame = Cbor::Map(vec![
                (text("event"), text("chunk")),
                (
                    text("data"),
                    Cbor::Map(vec![
                        (text("event"), text(event)),
                        (text("series"), Cbor::Integer(series.into())),
                        (text("seq"), Cbor::Integer((seq as u64).into())),
                        (text("of"), Cbor::Integer(of.into())),
                        (text("bytes"), Cbor::Bytes(bytes.to_vec())),
                    ]),
                ),
            ]);
            let mut out = Vec::new();
            ciborium::into_writer(&frame, &mut out).expect("encoding to a Vec");
            out
        })
        .collect()
}

/// Finds `seq-NNNNNN` in a raw frame.
fn seq_in(frame: &[u8]) -> Option<usize> {
    let at = frame.windows(4).position(|w| w == b"seq-")?;
    std::str::from_utf8(frame.get(at + 4..at + 10)?)
        .ok()?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tandem = match args.tandem {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("exe dir")?
            .join("tandem"),
    };
    let (server, jwt, license) = start_server(tandem).await?;
    if args.density > 0 {
        density(&server, &jwt, &license, args.density, args.density_secs).await?;
        if args.chromium {
            // Let the density load's sockets close first.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let status = Command::new("node")
                .arg("sdk-js/bench/latency.mjs")
                .env("TANDEM_API", &server.base)
                .env("TANDEM_TOKEN", &jwt)
                .env("TANDEM_LICENSE", &license)
                .status()
                .context("running node sdk-js/bench/latency.mjs")?;
            if !status.success() {
                bail!("the Chromium latency run failed");
            }
        }
        return Ok(());
    }
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let me: Value = http
        .get(format!("{}/api/1/users/me", server.base))
        .bearer_auth(&jwt)
        .send()
        .await?
        .json()
        .await?;
    let token = me["notification_token"]
        .as_str()
        .context("notification_token")?
        .to_owned();
    let session: Value = http
        .post(format!("{}/api/1/sessions", server.base))
        .bearer_auth(&jwt)
        .json(&json!({"custom_data": {"seq": "seq-000000"}}))
        .send()
        .await?
        .json()
        .await?;
    let session_id = session["id"].as_str().context("session id")?.to_owned();
    let control = session["control_token"]
        .as_str()
        .context("control")?
        .to_owned();
    let url = format!(
        "{}/sockets/1/ws?X-CobrowsePlatform=agent-sdk",
        server.base.replacen("http", "ws", 1)
    );

    println!(
        "tandem realtime benchmark: {} sockets, {} updates",
        args.sockets, args.updates
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = rss_kib(pid)?;
    let kern0 = kernel_kib()?;
    let opened = Instant::now();
    let mut sockets = Vec::with_capacity(args.sockets);
    let limit = Arc::new(tokio::sync::Semaphore::new(256));
    let mut pending = Vec::new();
    for _ in 0..args.sockets {
        let (url, token, limit) = (url.clone(), token.clone(), limit.clone());
        pending.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            connect(&url, &token).await
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = rss_kib(pid)?;
    let kern1 = kernel_kib()?;
    let n = args.sockets as f64;
    let server_per = (rss1.saturating_sub(rss0)) as f64 / n;
    let kernel_per = (kern1.saturating_sub(kern0)) as f64 / n;
    println!(
        "memory per idle authenticated socket: server RSS {:.2} KiB, kernel {:.2} KiB for both \
         ends ({:.2} KiB per end); server side total {:.2} KiB = {:.0} sockets per GiB \
         ({} opened in {:.1} s)",
        server_per,
        kernel_per,
        kernel_per / 2.0,
        server_per + kernel_per / 2.0,
        1024.0 * 1024.0 / (server_per + kernel_per / 2.0),
        args.sockets,
        open_secs
    );

    // Subscribe every socket, then read in one task per socket.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let subscribe =
        Message::Binary(cbor(&json!({"event": "subscribe", "id": 1, "data": control})).into());
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let mut sockets_left = Vec::with_capacity(args.sockets);
    for mut ws in sockets.drain(..) {
        let (tx, ready_tx, subscribe) = (tx.clone(), ready_tx.clone(), subscribe.clone());
        sockets_left.push(tokio::spawn(async move {
            if ws.send(subscribe).await.is_err() {
                return;
            }
            let mut acked = false;
            while let Some(Ok(msg)) = ws.next().await {
                let at = Instant::now();
                if let Message::Binary(b) = msg {
                    if !acked && b.windows(3).any(|w| w == b"ack") {
                        acked = true;
                        let _ = ready_tx.send(());
                    } else if let Some(seq) = seq_in(&b) {
                        let _ = tx.send((seq, at));
                    }
                }
            }
        }));
    }
    drop(tx);
    for _ in 0..args.sockets {
        ready_rx
            .recv()
            .await
            .context("a socket failed to subscribe")?;
    }
    // Drain the snapshot each subscription pushed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}

    let mut latencies = Vec::with_capacity(args.sockets * args.updates);
    let mut missing = 0usize;
    let split0 = cpu_split(pid)?;
    let cpu0 = split0.0 + split0.1;
    for k in 1..=args.updates {
        let started = Instant::now();
        let res = http
            .put(format!("{}/api/1/sessions/{session_id}", server.base))
            .bearer_auth(&jwt)
            .json(&json!({"custom_data": {"seq": format!("seq-{k:06}")}}))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("update failed: {}", res.status());
        }
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while got < args.sockets {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((seq, at))) if seq == k => {
                    latencies.push(at.duration_since(started).as_secs_f64() * 1000.0);
                    got += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        missing += args.sockets - got;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let split1 = cpu_split(pid)?;
    let cpu = split1.0 + split1.1 - cpu0;
    latencies.sort_by(f64::total_cmp);
    println!(
        "fan-out of one session update to {} sockets, {} updates: delivery p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms (from the start of the PUT; {} deliveries missing)",
        args.sockets,
        args.updates,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        missing
    );
    println!(
        "server CPU during fan-out: {:.2} s ({:.2} user, {:.2} system) for {} deliveries = {:.0} \
         deliveries per CPU-second",
        cpu,
        split1.0 - split0.0,
        split1.1 - split0.1,
        latencies.len(),
        latencies.len() as f64 / cpu.max(0.01)
    );
    for sock in sockets_left.drain(..) {
        sock.abort();
    }
    // Let the server finish closing them before measuring its CPU again.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let relay = RelayLoad {
        secs: args.relay_secs,
        payload: 200,
    };
    let tandem = tandem_relay(&server, &jwt, &license, &relay).await?;
    drop(server);
    let nats = nats_relay(&args.nats, &relay).await?;
    println!(
        "1→4 relay of {}-byte frames for {} s: Tandem {:.0} deliveries per server CPU-second \
         ({} deliveries, {:.2} CPU-s); nats-server WebSocket {:.0} ({} deliveries, {:.2} CPU-s); \
         Tandem/NATS = {:.2}",
        relay.payload,
        relay.secs,
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

/// A session joined by a freshly registered device (by its code) and accepted by the customer:
/// the device's stream socket and `agents` agent stream sockets.
async fn joined_streams(
    base: &str,
    jwt: &str,
    license: &str,
    device_id: &str,
    agents: usize,
) -> Result<(Ws, Vec<Ws>)> {
    let http = reqwest::Client::new();
    let device: Value = http
        .post(format!("{base}/api/1/devices/{device_id}"))
        .header("X-CobrowseLicense", license)
        .json(&json!({"device": {"platform": "web"}}))
        .send()
        .await?
        .json()
        .await?;
    let device_token = device["device_token"].as_str().context("device token")?;
    let session: Value = http
        .post(format!("{base}/api/1/sessions"))
        .bearer_auth(jwt)
        .json(&json!({"agent": "me"}))
        .send()
        .await?
        .json()
        .await?;
    let id = session["id"].as_str().context("session id")?;
    let code = session["code"].as_str().context("session code")?;
    // The device joins by the code, then accepts: nothing is relayed before the session is active.
    for (handle, body) in [(code, json!({})), (id, json!({"state": "active"}))] {
        let res = http
            .put(format!("{base}/api/1/sessions/{handle}"))
            .header("X-CobrowseLicense", license)
            .header("X-CobrowseDevice", device_id)
            .bearer_auth(device_token)
            .json(&body)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("the device could not join: {}", res.status());
        }
    }
    let ws_base = base.replacen("http", "ws", 1);
    let mut sockets = Vec::new();
    for _ in 0..agents {
        let tokens: Value = http
            .get(format!("{base}/api/1/sessions/{id}/tokens"))
            .bearer_auth(jwt)
            .send()
            .await?
            .json()
            .await?;
        let token = tokens["stream_token"].as_str().context("stream token")?;
        sockets.push(connect(&format!("{ws_base}/sockets/1/ws?"), token).await?);
    }
    let device = connect(
        &format!(
            "{ws_base}/sockets/1/ws?X-CobrowseLicense={license}&X-CobrowseDevice={device_id}\
             &X-CobrowseSession={id}"
        ),
        device_token,
    )
    .await?;
    Ok((device, sockets))
}

/// A page's snapshot as large as the real-page corpus's median (tests/corpus: about 290 KB).
const SNAPSHOT_BYTES: usize = 290_000;

/// Co-browsing sessions at a realistic rate: each device sends a snapshot (in chunks, as the
/// web SDK does with one this size), then ~6 KB/s of recording events (ten 600-byte frames a
/// second) to one agent. Prints server CPU per session (as sessions per vCPU), memory per
/// session and the relay's added latency.
async fn density(server: &Server, jwt: &str, license: &str, n: usize, secs: u64) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let pid = server.child.id();
    let rss0 = rss_kib(pid)?;
    let mut pairs = Vec::with_capacity(n);
    let setup = Instant::now();
    for i in 0..n {
        let (device, mut agents) =
            joined_streams(&server.base, jwt, license, &format!("d{i}"), 1).await?;
        pairs.push((device, agents.remove(0)));
    }
    println!(
        "density: {n} sessions (device + agent stream each) set up in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (lat_tx, mut lat_rx) = mpsc::unbounded_channel::<f64>();
    let snapshot = "s".repeat(SNAPSHOT_BYTES);
    let pad = "p".repeat(520);
    let mut tasks = Vec::new();
    for (mut device, mut agent) in pairs {
        let (stop, lat_tx) = (stop.clone(), lat_tx.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = agent.next().await {
                if let Message::Binary(b) = msg {
                    if let Some(at) = b.windows(3).position(|w| w == b"ts-") {
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
            }
        }));
        let (stop, snapshot, pad) = (stop.clone(), snapshot.clone(), pad.clone());
        tasks.push(tokio::spawn(async move {
            let meta = cbor(&json!({"event": "rrweb", "data": {"type": 4, "data": {"href": "https://shop.example/"}}}));
            let full = chunked("rrweb", &json!({"type": 2, "data": {"node": snapshot}}), 1);
            for frame in std::iter::once(meta).chain(full) {
                if device.send(Message::Binary(frame.into())).await.is_err() {
                    return;
                }
            }
            // Spread the sessions' ticks over the interval.
            tokio::time::sleep(Duration::from_millis(rand_ms(100))).await;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let ts = format!("ts-{}", started.elapsed().as_micros());
                let frame = cbor(&json!({"event": "rrweb", "data": {"type": 3, "data": {"t": ts, "pad": pad}}}));
                if device.send(Message::Binary(frame.into())).await.is_err() {
                    return;
                }
            }
        }));
    }
    drop(lat_tx);
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while lat_rx.try_recv().is_ok() {}
    let cpu0 = cpu_secs(pid)?;
    let measured = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = cpu_secs(pid)? - cpu0;
    let wall = measured.elapsed().as_secs_f64();
    let rss1 = rss_kib(pid)?;
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

/// A pseudo-random number of milliseconds below `max` (spreading start times; no crate needed).
fn rand_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos % max
}

struct RelayLoad {
    secs: u64,
    /// Bytes per frame on the wire (the message the producer sends).
    payload: usize,
}

struct RelayResult {
    deliveries: u64,
    cpu: f64,
}

impl RelayResult {
    fn per_cpu(&self) -> f64 {
        self.deliveries as f64 / self.cpu.max(0.001)
    }
}

/// How far the producer may run ahead of the slowest consumer, in frames.
const WINDOW: u64 = 128;

/// One producer, four consumers: the producer sends `frame` as fast as the slowest consumer
/// allows (a window), consumers count what arrives with `count`. Returns deliveries and the
/// server's CPU seconds over the run.
async fn one_to_four(
    pid: u32,
    mut producer: Ws,
    consumers: Vec<Ws>,
    frame: Message,
    count: fn(&Message, &mut Vec<u8>) -> u64,
    secs: u64,
) -> Result<RelayResult> {
    use std::sync::atomic::{AtomicU64, Ordering};
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
    while started.elapsed() < Duration::from_secs(secs) {
        let slowest = counters
            .iter()
            .zip(&first)
            .map(|(c, f)| c.load(Ordering::Relaxed) - f)
            .min()
            .unwrap_or(0);
        if sent - slowest >= WINDOW {
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        producer.send(frame.clone()).await?;
        sent += 1;
    }
    // Let what is in flight arrive, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = cpu_secs(pid)? - cpu0;
    let deliveries = counters
        .iter()
        .zip(&first)
        .map(|(c, f)| c.load(Ordering::Relaxed) - f)
        .sum();
    for r in readers {
        r.abort();
    }
    Ok(RelayResult { deliveries, cpu })
}

async fn tandem_relay(
    server: &Server,
    jwt: &str,
    license: &str,
    load: &RelayLoad,
) -> Result<RelayResult> {
    let (producer, agents) = joined_streams(&server.base, jwt, license, "bench-device", 4).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A CBOR frame of exactly `payload` bytes: {event: "frame", data: <bytes>}.
    let mut frame = cbor(&json!({"event": "frame", "data": ""}));
    let pad = load.payload.saturating_sub(frame.len() + 1);
    frame = cbor(&json!({"event": "frame", "data": "x".repeat(pad)}));
    fn count(msg: &Message, _: &mut Vec<u8>) -> u64 {
        u64::from(matches!(msg, Message::Binary(b) if b.windows(5).any(|w| w == b"frame")))
    }
    one_to_four(
        server.child.id(),
        producer,
        agents,
        Message::Binary(frame.into()),
        count,
        load.secs,
    )
    .await
}

/// The same load through nats-server's WebSocket listener: one publisher, four subscribers of
/// one subject, payloads sized so the published message is `payload` bytes.
async fn nats_relay(nats: &str, load: &RelayLoad) -> Result<RelayResult> {
    let dir = std::env::temp_dir().join(format!("tandem-bench-nats-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let free = || -> Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    };
    let (port, ws_port) = (free()?, free()?);
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
    let server = Server {
        child,
        base: String::new(),
        dir,
    };
    let url = format!("ws://127.0.0.1:{ws_port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    async fn nats_client(url: &str, sub: bool) -> Result<Ws> {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        ws.next().await.context("INFO")??;
        let mut hello =
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n".to_vec();
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
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(nats_client(&url, true).await?);
    }
    let producer = nats_client(&url, false).await?;
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
