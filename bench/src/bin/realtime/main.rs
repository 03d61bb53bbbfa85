//! `make bench-realtime`: the socket hub under load, with the `tandem` server in a process of its
//! own (release build, SQLite in a temporary directory) and the load generator in this one.
//!
//! Prints:
//! - memory per idle authenticated socket: the server's RSS delta, and the kernel's (slab plus
//!   TCP buffer pages, both ends of each loopback connection, so also shown halved) ([`idle`]);
//! - one session update fanned out to N subscribed sockets: delivery latency from the start of the
//!   `PUT` to each socket's receipt (p50/p99/max over every delivery), and deliveries per second
//!   of server CPU during that phase ([`fanout`]);
//! - a 1→4 relay of 200-byte frames (a customer's stream to four agents) for a few seconds, as
//!   deliveries per second of server CPU, and the same load through `nats-server`'s WebSocket
//!   listener (Debian package `nats-server`), with the ratio. The producer keeps at most a window
//!   of frames in flight, so neither server is asked to buffer without bound ([`relay`]).
//!
//! With `--density N` (`make bench-cobrowse`) it measures co-browsing sessions instead
//! ([`cobrowse`]).
//!
//! ```text
//! cargo run --release -p tandem-bench --bin tandem-bench-realtime -- \
//!     [--sockets N] [--updates U] [--relay-secs S] [--nats PATH]
//! ```
//! It measures; it asserts nothing about time.

mod cobrowse;
mod fanout;
mod idle;
mod nats;
mod proc;
mod relay;

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Result;
use clap::Parser;
use tandem_api::keys::TokenSpec;
use tandem_core::store::Backend;
use tandem_testkit::{tandem_bin, Server, Tenant, TestDb};

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

/// The server under load, in a process of its own, and the tenant the load runs as.
pub struct Bench {
    pub server: Server,
    /// The server's process id, whose memory and CPU time are measured.
    pub pid: u32,
    pub tenant: Tenant,
    /// An administrator's token, valid for the whole run.
    pub jwt: String,
}

impl Bench {
    async fn start(tandem: PathBuf) -> Bench {
        let db = TestDb::new(Backend::Sqlite).await;
        let server = Server::spawn_bin(&tandem, &db.url, &[], &[], Stdio::null())
            .await
            .owning(db);
        let pid = server.pid().expect("a spawned server has a process");
        let tenant = server.tenant().await;
        let jwt = tenant.token_with(&TokenSpec {
            ttl_secs: 3600,
            ..tenant.spec("bench@example.com", Some("administrator"))
        });
        Bench {
            server,
            pid,
            tenant,
            jwt,
        }
    }

    pub fn license(&self) -> &str {
        &self.tenant.account.license_key
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bench = Bench::start(args.tandem.unwrap_or_else(tandem_bin)).await;
    if args.density > 0 {
        return cobrowse::run(&bench, args.density, args.density_secs, args.chromium).await;
    }
    let session = fanout::Target::create(&bench).await?;
    println!(
        "tandem realtime benchmark: {} sockets, {} updates",
        args.sockets, args.updates
    );
    let sockets = idle::run(&bench, &session, args.sockets).await?;
    fanout::run(&bench, &session, sockets, args.updates).await?;
    relay::run(bench, args.relay_secs, &args.nats).await
}
