//! The SQLite side: a fresh database file in the temp directory, seeded in one transaction,
//! `ANALYZE`d, and deleted (with its WAL files) when the bench is done with it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::Connection;
use tandem_core::store::{SqlStore, Store};

use crate::data::{Dialect, Layout};
use crate::seed;

/// A database file removed on drop; close the store first.
pub struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("tandem-bench-{}-{nanos}.db", std::process::id());
        TempDb {
            path: std::env::temp_dir().join(name),
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates, migrates and seeds a temporary SQLite database holding `layout`'s data.
pub async fn prepare(layout: &Layout) -> Result<(SqlStore, TempDb)> {
    let file = TempDb::new();
    let url = format!("sqlite://{}", file.path.display());
    let store = SqlStore::connect(&url)
        .await
        .with_context(|| format!("opening {url}"))?;
    store
        .migrate()
        .await
        .context("migrating the SQLite database")?;
    let started = Instant::now();
    let mut conn = store
        .pool()
        .acquire()
        .await
        .context("acquiring a connection")?;
    let mut tx = conn.begin().await.context("beginning the seed")?;
    seed::write(&mut tx, layout, Dialect::Sqlite).await?;
    tx.commit().await.context("committing the seed")?;
    sqlx::raw_sql("ANALYZE")
        .execute(&mut *conn)
        .await
        .context("analysing")?;
    drop(conn);
    println!(
        "  seeded {} sessions in {:.1} s ({})",
        layout.sessions,
        started.elapsed().as_secs_f64(),
        file.path.display()
    );
    seed::verify(&store).await?;
    Ok((store, file))
}
