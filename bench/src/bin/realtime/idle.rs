//! Memory per idle authenticated socket: the server's RSS and the kernel's memory before and
//! after opening N agent sockets that then sit idle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tandem_testkit::ws::{try_connect, ws_url, Ws};

use crate::fanout::Target;
use crate::proc::{kernel_kib, rss_kib};
use crate::Bench;

/// Sockets opened at once.
const CONCURRENT_OPENS: usize = 256;

/// Opens `n` agent sockets, prints what they cost, and hands them on (to [`crate::fanout`]).
pub async fn run(bench: &Bench, target: &Target, n: usize) -> Result<Vec<Ws>> {
    let url = ws_url(&bench.server.base, "X-CobrowsePlatform=agent-sdk");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = rss_kib(bench.pid)?;
    let kern0 = kernel_kib()?;
    let opened = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_OPENS));
    let mut pending = Vec::with_capacity(n);
    for _ in 0..n {
        let (url, token, limit) = (
            url.clone(),
            target.notification_token.clone(),
            limit.clone(),
        );
        pending.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            try_connect(&url, Some(&token), None).await.map(|s| s.ws)
        }));
    }
    let mut sockets = Vec::with_capacity(n);
    for p in pending {
        let ws = p.await?;
        sockets.push(ws.map_err(|status| anyhow::anyhow!("a socket was refused: {status}"))?);
    }
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = rss_kib(bench.pid)?;
    let kern1 = kernel_kib()?;
    let server_per = (rss1.saturating_sub(rss0)) as f64 / n as f64;
    let kernel_per = (kern1.saturating_sub(kern0)) as f64 / n as f64;
    println!(
        "memory per idle authenticated socket: server RSS {:.2} KiB, kernel {:.2} KiB for both \
         ends ({:.2} KiB per end); server side total {:.2} KiB = {:.0} sockets per GiB \
         ({} opened in {:.1} s)",
        server_per,
        kernel_per,
        kernel_per / 2.0,
        server_per + kernel_per / 2.0,
        1024.0 * 1024.0 / (server_per + kernel_per / 2.0),
        n,
        open_secs
    );
    Ok(sockets)
}
