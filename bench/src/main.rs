//! `tandem-bench`: how long does one 50-row page of the session list take?
//!
//! Seeds 1,000,000 sessions over 10 accounts in PostgreSQL (a database of its own, kept for the
//! next run) and 100,000 in a temporary SQLite file, then times `Store::list_sessions` — the
//! code path behind `GET /sessions` — for each case in [`cases`], printing p50 and p99. It
//! measures; it asserts nothing about time.
//!
//! ```text
//! cargo run --release -p tandem-bench -- [--reseed] [--pg-server URL] [--iterations N]
//! ```

mod cases;
mod check;
mod data;
mod measure;
mod pg;
mod seed;
mod sqlite;

use anyhow::Result;
use clap::Parser;
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
}

impl Args {
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

async fn bench(store: &SqlStore, layout: Layout, args: &Args, title: &str) -> Result<()> {
    let work = Workload::new(store, layout).await?;
    let lines = measure::run(
        store,
        &work,
        args.only.as_deref(),
        args.warmup,
        args.iterations,
    )
    .await?;
    measure::print(title, &lines);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.iterations > 0, "--iterations must be at least 1");
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
        bench(&store, layout, &args, &title).await?;
        store.pool().close().await;
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
        let result = bench(&store, layout, &args, &title).await;
        store.pool().close().await;
        drop(file);
        result?;
    }
    Ok(())
}
