//! The harness the API tests and the benchmarks share: a real `tandem` server (in this process on
//! port 0, or the binary in a process of its own) over a database that exists for one run, fresh
//! tenants with keys and tokens, and a socket client that speaks `/sockets/1/ws` as the SDKs do.
//!
//! Helpers panic with a message that says what failed, as test helpers do; a benchmark that
//! cannot set itself up has nothing to measure either.

mod calls;
mod idp;
mod redis;
mod server;
mod smtp;
mod tenant;
pub mod ws;
pub mod zipped;

use std::time::Duration;

pub use calls::read;
pub use idp::{forgeries, Idp};
pub use redis::Redis;
pub use server::{tandem_bin, Server};
pub use smtp::{Received, Smtp};
pub use tandem_core::testing::TestDb;
pub use tenant::Tenant;

/// Polls `check` until it returns `Some`, for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free port on loopback (free when asked; a server started after may still lose a race).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding port 0")
        .port()
}
