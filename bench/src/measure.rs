//! Timing: each case checks a few pages ([`check`]), runs its warm-up calls, then `iterations`
//! timed calls of `Store::list_sessions`, one at a time; the table shows the latency
//! percentiles.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tandem_core::store::{SessionStore, SqlStore};

use crate::cases::{Case, Workload};
use crate::check;

/// Requests per case whose page is checked against the reference query before timing.
const CHECKED: usize = 5;

/// One line of the table.
pub struct Line {
    pub case: Case,
    pub rows_min: usize,
    pub rows_max: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Runs every case (or those whose name contains `only`) against `store`.
pub async fn run(
    store: &SqlStore,
    work: &Workload,
    only: Option<&str>,
    warmup: usize,
    iterations: usize,
) -> Result<Vec<Line>> {
    let mut lines = vec![];
    for case in Case::ALL {
        if only.is_some_and(|only| !case.name().contains(only)) {
            continue;
        }
        for i in 0..CHECKED {
            let (account, filter) = work.request(case, i);
            check::same_page(store, case.name(), &account, &filter).await?;
        }
        for i in 0..warmup {
            let (account, filter) = work.request(case, iterations + i);
            store
                .list_sessions(&account, &filter)
                .await
                .with_context(|| format!("warming up {}", case.name()))?;
        }
        let mut times = Vec::with_capacity(iterations);
        let (mut rows_min, mut rows_max) = (usize::MAX, 0);
        for i in 0..iterations {
            let (account, filter) = work.request(case, i);
            let started = Instant::now();
            let page = store
                .list_sessions(&account, &filter)
                .await
                .with_context(|| format!("listing {}", case.name()))?;
            times.push(started.elapsed());
            rows_min = rows_min.min(page.len());
            rows_max = rows_max.max(page.len());
        }
        times.sort();
        lines.push(Line {
            case,
            rows_min,
            rows_max,
            p50: percentile(&times, 50),
            p99: percentile(&times, 99),
            max: times.last().copied().unwrap_or_default(),
        });
    }
    Ok(lines)
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub fn print(title: &str, lines: &[Line]) {
    println!("\n{title}");
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9}",
        "case", "rows", "p50 ms", "p99 ms", "max ms"
    );
    for l in lines {
        let rows = if l.rows_min == l.rows_max {
            l.rows_min.to_string()
        } else {
            format!("{}-{}", l.rows_min, l.rows_max)
        };
        println!(
            "{:<36} {:>9} {:>9} {:>9} {:>9}",
            l.case.name(),
            rows,
            ms(l.p50),
            ms(l.p99),
            ms(l.max)
        );
    }
}
