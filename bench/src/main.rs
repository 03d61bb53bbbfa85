//! `tandem-bench`: how long does one 50-row page of the session list take?
//!
//! Seeds 1,000,000 sessions over 10 accounts in PostgreSQL (a database of its own, kept for the
//! next run) and 100,000 in a temporary SQLite file, then times `Store::list_sessions` — the
//! code path behind `GET /sessions` — for each case in [`cases`], printing p50 and p99, in
//! `--runs` rounds; then the insert rate of sessions with their filter rows ([`writes`]). Every
//! figure of every round goes to target/bench/list.json ([`tandem_bench::report`]). It measures;
//! it asserts nothing about time.
//!
//! ```text
//! cargo run --release -p tandem-bench --bin tandem-bench -- [--reseed] [--pg-server URL] \
//!     [--iterations N] [--runs R] [--smoke]
//! ```

mod cases;
mod check;
mod data;
mod measure;
mod pg;
mod seed;
mod sqlite;
mod writes;

use anyhow::Result;
use clap::Parser;
use tandem_bench::report::Report;
use tandem_core::store::SqlStore;

use crate::cases::Workload;
use crate::data::Layout;

#[derive(Parser)]
#[command(about = "Benchmarks session list pages on PostgreSQL and SQLite")]
struct Args {
    /// PostgreSQL server URL, without a database name.
    #[arg(
        long,
        env = "TANDEM_BENCH_PG_SERVER",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg_server: String,
    /// The bench's own database on that server; it is dropped and recreated when reseeding.
    #[arg(long, default_value = "tandem_bench")]
    pg_database: String,
    #[arg(long, default_value_t = 1_000_000)]
    pg_sessions: i64,
    #[arg(long, default_value_t = 100_000)]
    sqlite_sessions: i64,
    #[arg(long, default_value_t = 10)]
    accounts: i64,
    /// Timed calls per case.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Untimed calls per case before the timed ones.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Rebuild the PostgreSQL data even when it is already there.
    #[arg(long)]
    reseed: bool,
    /// Run only the cases whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    #[arg(long)]
    skip_postgres: bool,
    #[arg(long)]
    skip_sqlite: bool,
    /// Rounds of every case (the report keeps each round's p50 and p99).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Sessions inserted per round to measure the write rate.
    #[arg(long, default_value_t = 2000)]
    writes: usize,
    /// A run at a tiny size that completes in seconds (what `make test` runs): 2,000 sessions
    /// over 2 accounts on each backend, in a PostgreSQL database of its own that is dropped
    /// afterwards, one round of a few calls.
    #[arg(long)]
    smoke: bool,
}

impl Args {
    fn smoke(mut self) -> Self {
        self.pg_database = "tandem_bench_smoke".into();
        self.pg_sessions = 2000;
        self.sqlite_sessions = 2000;
        self.accounts = 2;
        self.iterations = 5;
        self.warmup = 1;
        self.runs = 1;
        self.writes = 20;
        self.reseed = true;
        self
    }

    fn layout(&self, sessions: i64) -> Result<Layout> {
        const YEAR_US: i64 = 365 * 24 * 3600 * 1_000_000;
        anyhow::ensure!(
            self.accounts > 0 && sessions >= self.accounts * 1000,
            "need at least 1,000 sessions per account"
        );
        Ok(Layout {
            sessions,
            accounts: self.accounts,
            t0: tandem_core::time::now() - YEAR_US,
        })
    }
}

/// Every round of every case on one backend (`prefix` in the report), then its insert rate.
async fn bench(
    store: &SqlStore,
    layout: Layout,
    args: &Args,
    title: &str,
    prefix: &str,
    report: &mut Report,
) -> Result<()> {
    let work = Workload::new(store, layout).await?;
    for round in 1..=args.runs {
        let lines = measure::run(
            store,
            &work,
            args.only.as_deref(),
            args.warmup,
            args.iterations,
        )
        .await?;
        measure::print(&format!("{title}, round {round} of {}", args.runs), &lines);
        for l in &lines {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
            report.add(&format!("{prefix}.{}.p50", l.case.key()), "ms", ms(l.p50));
            report.add(&format!("{prefix}.{}.p99", l.case.key()), "ms", ms(l.p99));
        }
        if args.writes > 0 {
            let rate = writes::insert_rate(store, args.writes).await?;
            println!(
                "inserts: {rate:.0} sessions per second ({} one at a time, each with 5 filter rows)",
                args.writes
            );
            report.add(&format!("{prefix}.inserts"), "per s", rate);
        }
    }
    let worst = report
        .figures_named(&format!("{prefix}."), ".p99")
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((name, p99)) = worst {
        println!("slowest case by median p99 over the rounds: {name} {p99:.2} ms");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args = args.smoke();
    }
    anyhow::ensure!(args.iterations > 0, "--iterations must be at least 1");
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let mut report = Report::new("list");
    report.config("pg_sessions", args.pg_sessions);
    report.config("sqlite_sessions", args.sqlite_sessions);
    report.config("accounts", args.accounts);
    report.config("iterations", args.iterations as u64);
    report.config("writes", args.writes as u64);
    if !args.skip_postgres {
        let layout = args.layout(args.pg_sessions)?;
        println!(
            "PostgreSQL: {} sessions over {} accounts",
            layout.sessions, layout.accounts
        );
        let target = pg::Target {
            server: &args.pg_server,
            database: &args.pg_database,
        };
        let store = pg::prepare(&target, &layout, args.reseed).await?;
        let title = format!(
            "PostgreSQL, {} sessions, {} timed calls per case (after {} warm-up)",
            layout.sessions, args.iterations, args.warmup
        );
        let result = bench(&store, layout, &args, &title, "postgres", &mut report).await;
        store.pool().close().await;
        if args.smoke {
            target.drop().await?;
        }
        result?;
    }
    if !args.skip_sqlite {
        let layout = args.layout(args.sqlite_sessions)?;
        println!(
            "\nSQLite: {} sessions over {} accounts",
            layout.sessions, layout.accounts
        );
        let (store, file) = sqlite::prepare(&layout).await?;
        let title = format!(
            "SQLite, {} sessions, {} timed calls per case (after {} warm-up)",
            layout.sessions, args.iterations, args.warmup
        );
        let result = bench(&store, layout, &args, &title, "sqlite", &mut report).await;
        store.pool().close().await;
        drop(file);
        result?;
    }
    report.write()?;
    Ok(())
}
