//! `make bench-realtime`: the socket hub under load, side by side with `nats-server` (Debian
//! package `nats-server`, its WebSocket listener) in the same run. The `tandem` server runs in a
//! process of its own (release build, SQLite in a temporary directory), nats-server in another,
//! the load generator in this one. Each run starts both afresh and measures, on each:
//! - memory per idle socket: the server's RSS delta and its end of the kernel's memory ([`idle`]);
//! - one update fanned out to N subscribed sockets: delivery latency p50/p99 from the moment the
//!   update is sent, and server CPU per delivery ([`fanout`]);
//! - a 1→4 relay of 200-byte frames with the same in-flight window: deliveries per second of
//!   wall clock and of server CPU, send → receipt latency, and on Tandem where a frame spends its
//!   time inside the server (sampled stage timestamps, `socket_trace_every`) ([`relay`]).
//!
//! Every figure goes, run by run, into `target/bench/realtime.json` (`tandem_bench::report`);
//! the summary prints each one's median and spread, with Tandem/nats ratios next to them.
//!
//! With `--density N` (`make bench-cobrowse`) it measures co-browsing sessions instead
//! ([`cobrowse`]).
//!
//! ```text
//! cargo run --release -p tandem-bench --bin tandem-bench-realtime -- \
//!     [--sockets N] [--updates U] [--relay-secs S] [--runs R] [--nats PATH]
//! ```
//! The smoke size `--sockets 50 --updates 3 --relay-secs 1 --runs 1` completes in seconds. It
//! measures; it asserts nothing about time.

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
use tandem_bench::report::Report;
use tandem_core::store::Backend;
use tandem_testkit::{tandem_bin, Server, Tenant, TestDb};

#[derive(Parser)]
#[command(about = "Benchmarks the realtime socket hub against nats-server")]
struct Args {
    /// Sockets to open on each server (one file descriptor each in this process; the two
    /// servers' sockets are open one after the other).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Updates to fan out, per server and run.
    #[arg(long, default_value_t = 30)]
    updates: usize,
    /// Seconds of 1→4 relay traffic, through each server per run.
    #[arg(long, default_value_t = 5)]
    relay_secs: u64,
    /// Runs, each on freshly started servers (figures are reported over them).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// One relayed frame in this many is timed inside Tandem (`socket_trace_every`); 0: none.
    #[arg(long, default_value_t = 64)]
    trace_every: u64,
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
    async fn start(tandem: &std::path::Path, env: &[(&str, String)]) -> Bench {
        let db = TestDb::new(Backend::Sqlite).await;
        let server = Server::spawn_bin(tandem, &db.url, env, &[], Stdio::null())
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

/// Figures in the order they are printed, with how each reads.
struct Figures {
    report: Report,
    order: Vec<(String, String)>,
}

impl Figures {
    fn add(&mut self, name: &str, unit: &str, value: f64) {
        if self.report.figure(name).is_none() {
            self.order.push((name.to_owned(), unit.to_owned()));
        }
        self.report.add(name, unit, value);
    }

    /// Adds `tandem` and `nats` values of `part.{peer}.measure` and their ratio.
    fn pair(&mut self, part: &str, measure: &str, unit: &str, tandem: f64, nats: f64) {
        self.add(&format!("{part}.tandem.{measure}"), unit, tandem);
        self.add(&format!("{part}.nats.{measure}"), unit, nats);
        self.add(&format!("{part}.{measure}.ratio"), "x", tandem / nats);
    }

    fn print(&self) {
        println!("summary over the runs: median [min – max]");
        for (name, unit) in &self.order {
            let Some(s) = self.report.figure(name).and_then(|f| f.spread()) else {
                println!("  {name:<40} (no value)");
                continue;
            };
            let digits = if s.median.abs() >= 100.0 { 0 } else { 2 };
            println!(
                "  {name:<40} {:>12.digits$} {unit:<6} [{:.digits$} – {:.digits$}]",
                s.median, s.min, s.max
            );
        }
    }
}

/// One run: both servers started afresh, every phase on each.
async fn run(args: &Args, tandem: &std::path::Path, k: usize, figures: &mut Figures) -> Result<()> {
    println!("run {k} of {}:", args.runs);
    let n = args.sockets;
    let env = [("TANDEM_SOCKET_TRACE_EVERY", args.trace_every.to_string())];
    let bench = Bench::start(tandem, &env).await;
    let nats_server = nats::Nats::start(&args.nats, k).await?;

    let target = fanout::Target::create(&bench).await?;
    let (idle_t, sockets) = idle::tandem(&bench, &target, n).await?;
    idle::print("Tandem", n, &idle_t);
    let fan_t = fanout::tandem(&bench, &target, sockets, args.updates).await?;
    fanout::print("Tandem", n, &fan_t);

    let (idle_n, sockets) = idle::nats(&nats_server, n).await?;
    idle::print("nats-server", n, &idle_n);
    // The same message size on the wire: Tandem's frame, less NATS's MSG line and CRLF.
    let payload = fan_t.message_bytes.saturating_sub(20).max(16);
    let fan_n = fanout::nats(&nats_server, sockets, args.updates, payload).await?;
    fanout::print("nats-server", n, &fan_n);

    let relay_t = relay::tandem(&bench, args.relay_secs).await?;
    relay::print("Tandem", &relay_t);
    let stages = relay::stages(&bench).await?;
    if args.trace_every > 0 {
        relay::print_stages(&stages);
    }
    let relay_n = relay::nats(&nats_server, args.relay_secs).await?;
    relay::print("nats-server", &relay_n);

    figures.add("idle.tandem.server_kib", "KiB", idle_t.server_kib);
    figures.add("idle.tandem.kernel_kib", "KiB", idle_t.kernel_kib);
    figures.pair(
        "idle",
        "total_kib",
        "KiB",
        idle_t.total_kib(),
        idle_n.total_kib(),
    );
    figures.pair("fanout", "p50", "ms", fan_t.p50(), fan_n.p50());
    figures.pair("fanout", "p99", "ms", fan_t.p99(), fan_n.p99());
    figures.pair(
        "fanout",
        "cpu_per_delivery",
        "µs",
        fan_t.cpu_us(),
        fan_n.cpu_us(),
    );
    figures.pair(
        "fanout",
        "client_cpu_per_delivery",
        "µs",
        fan_t.client_cpu_us(),
        fan_n.client_cpu_us(),
    );
    figures.pair("fanout", "floor", "ms", fan_t.floor_ms(), fan_n.floor_ms());
    figures.add(
        "fanout.tandem.put",
        "ms",
        proc::percentile(&fan_t.publish_ms, 0.5),
    );
    figures.add("fanout.tandem.missing", "", fan_t.missing as f64);
    figures.add("fanout.nats.missing", "", fan_n.missing as f64);
    figures.pair(
        "relay",
        "per_sec",
        "/s",
        relay_t.per_sec(),
        relay_n.per_sec(),
    );
    figures.pair(
        "relay",
        "per_cpu_sec",
        "/CPU-s",
        relay_t.per_cpu(),
        relay_n.per_cpu(),
    );
    figures.pair("relay", "p50", "ms", relay_t.p50(), relay_n.p50());
    figures.pair("relay", "p99", "ms", relay_t.p99(), relay_n.p99());
    if args.trace_every > 0 {
        for (stage, p50, p99) in &stages {
            figures.add(&format!("relay.tandem.stage.{stage}.p50"), "µs", *p50);
            figures.add(&format!("relay.tandem.stage.{stage}.p99"), "µs", *p99);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tandem = args.tandem.clone().unwrap_or_else(tandem_bin);
    if args.density > 0 {
        let bench = Bench::start(&tandem, &[]).await;
        return cobrowse::run(&bench, args.density, args.density_secs, args.chromium).await;
    }
    println!(
        "tandem realtime benchmark against nats-server: {} sockets, {} updates, {} s of relay, \
         {} runs",
        args.sockets, args.updates, args.relay_secs, args.runs
    );
    let mut figures = Figures {
        report: Report::new("realtime"),
        order: Vec::new(),
    };
    let report = &mut figures.report;
    report.config("sockets", args.sockets);
    report.config("updates", args.updates);
    report.config("relay_secs", args.relay_secs);
    report.config("relay_payload_bytes", relay::PAYLOAD);
    report.config("relay_window", relay::WINDOW);
    report.config("trace_every", args.trace_every);
    report.config("runs", args.runs);
    for k in 1..=args.runs {
        run(&args, &tandem, k, &mut figures).await?;
    }
    figures.print();
    figures.report.write()?;
    Ok(())
}
