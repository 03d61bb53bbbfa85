//! Memory per idle authenticated socket: a server's RSS and the kernel's memory before and after
//! opening N sockets that then sit idle, on Tandem (agent sockets) and on nats-server (clients
//! that have said CONNECT).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tandem_testkit::ws::{try_connect, ws_url, Ws};

use crate::fanout::Target;
use crate::proc::{kernel_kib, nodelay, rss_kib};
use crate::{nats, Bench};

/// Sockets opened at once.
const CONCURRENT_OPENS: usize = 256;

/// What N idle sockets cost, per socket.
pub struct IdleCost {
    /// The server process's resident memory.
    pub server_kib: f64,
    /// The kernel's, for one end of each loopback connection (half of what both ends took).
    pub kernel_kib: f64,
    pub open_secs: f64,
}

impl IdleCost {
    /// What one socket costs on the server's machine: the process and its end in the kernel.
    pub fn total_kib(&self) -> f64 {
        self.server_kib + self.kernel_kib
    }
}

/// Opens `n` sockets with `open`, `CONCURRENT_OPENS` at a time, and measures what `pid` and the
/// kernel took for them once they have sat for two seconds.
async fn measure<F>(pid: u32, n: usize, open: impl Fn() -> F) -> Result<(IdleCost, Vec<Ws>)>
where
    F: Future<Output = Result<Ws>> + Send + 'static,
{
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = rss_kib(pid)?;
    let kern0 = kernel_kib()?;
    let opened = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_OPENS));
    let mut pending = Vec::with_capacity(n);
    for _ in 0..n {
        let (limit, socket) = (limit.clone(), open());
        pending.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            socket.await
        }));
    }
    let mut sockets = Vec::with_capacity(n);
    for p in pending {
        let ws = p.await??;
        nodelay(&ws);
        sockets.push(ws);
    }
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server = rss_kib(pid)?.saturating_sub(rss0) as f64 / n as f64;
    let kernel = kernel_kib()?.saturating_sub(kern0) as f64 / n as f64;
    let cost = IdleCost {
        server_kib: server,
        kernel_kib: kernel / 2.0,
        open_secs,
    };
    Ok((cost, sockets))
}

/// `n` idle agent sockets on Tandem, handed on to [`crate::fanout`].
pub async fn tandem(bench: &Bench, target: &Target, n: usize) -> Result<(IdleCost, Vec<Ws>)> {
    let url = ws_url(&bench.server.base, "X-CobrowsePlatform=agent-sdk");
    let token = target.notification_token.clone();
    measure(bench.pid, n, || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            try_connect(&url, Some(&token), None)
                .await
                .map(|s| s.ws)
                .map_err(|status| anyhow::anyhow!("a socket was refused: {status}"))
        }
    })
    .await
}

/// `n` idle clients on nats-server, handed on to [`crate::fanout`].
pub async fn nats(server: &nats::Nats, n: usize) -> Result<(IdleCost, Vec<Ws>)> {
    let url = server.url.clone();
    measure(server.pid(), n, || {
        let url = url.clone();
        async move { nats::client(&url, None).await }
    })
    .await
}

pub fn print(peer: &str, n: usize, cost: &IdleCost) {
    println!(
        "  memory per idle socket, {peer}: server RSS {:.2} KiB + kernel {:.2} KiB (its end) = \
         {:.2} KiB = {:.0} sockets per GiB ({n} opened in {:.1} s)",
        cost.server_kib,
        cost.kernel_kib,
        cost.total_kib(),
        1024.0 * 1024.0 / cost.total_kib(),
        cost.open_secs
    );
}
