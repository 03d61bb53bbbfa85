//! One session update fanned out to every subscribed socket: delivery latency from the start of
//! the `PUT` to each socket's receipt, and deliveries per second of server CPU.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tandem_testkit::ws::{encode, Ws};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::proc::{cpu_split, percentile};
use crate::Bench;

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

/// Finds `seq-NNNNNN` in a raw frame.
fn seq_in(frame: &[u8]) -> Option<usize> {
    let at = frame.windows(4).position(|w| w == b"seq-")?;
    std::str::from_utf8(frame.get(at + 4..at + 10)?)
        .ok()?
        .parse()
        .ok()
}

/// Subscribes every socket to the session, then sends `updates` session updates one after
/// another, each waited for on every socket (up to 10 s).
pub async fn run(bench: &Bench, target: &Target, sockets: Vec<Ws>, updates: usize) -> Result<()> {
    let n = sockets.len();
    // Subscribe every socket, then read in one task per socket.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let subscribe = Message::Binary(
        encode(&json!({"event": "subscribe", "id": 1, "data": target.control_token})).into(),
    );
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let mut readers = Vec::with_capacity(n);
    for mut ws in sockets {
        let (tx, ready_tx, subscribe) = (tx.clone(), ready_tx.clone(), subscribe.clone());
        readers.push(tokio::spawn(async move {
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
    for _ in 0..n {
        ready_rx
            .recv()
            .await
            .context("a socket failed to subscribe")?;
    }
    // Drain the snapshot each subscription pushed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}

    let path = format!("/api/1/sessions/{}", target.session_id);
    let mut latencies = Vec::with_capacity(n * updates);
    let mut missing = 0usize;
    let split0 = cpu_split(bench.pid)?;
    let cpu0 = split0.0 + split0.1;
    for k in 1..=updates {
        let started = Instant::now();
        let body = json!({"custom_data": {"seq": format!("seq-{k:06}")}});
        let (status, _) = bench.server.put(&path, &bench.jwt, body).await;
        if !status.is_success() {
            bail!("update failed: {status}");
        }
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while got < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((seq, at))) if seq == k => {
                    latencies.push(at.duration_since(started).as_secs_f64() * 1000.0);
                    got += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        missing += n - got;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let split1 = cpu_split(bench.pid)?;
    let cpu = split1.0 + split1.1 - cpu0;
    latencies.sort_by(f64::total_cmp);
    println!(
        "fan-out of one session update to {} sockets, {} updates: delivery p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms (from the start of the PUT; {} deliveries missing)",
        n,
        updates,
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
    for reader in readers {
        reader.abort();
    }
    // Let the server finish closing them before measuring its CPU again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}
