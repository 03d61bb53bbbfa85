//! The PostgreSQL backend: the cluster store. The reaper lease is a session-level advisory lock
//! held on a connection of its own, so exactly one replica reaps and a crashed replica's lease
//! dies with its connection.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Row};

use crate::Result;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `pg_try_advisory_lock` key for the reaper ("tandem reaper").
const REAPER_LOCK: i64 = 0x7461_6e64_656d_7270;

pub(super) async fn connect(url: &str, max_connections: u32) -> Result<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max_connections)
        .connect(url)
        .await?)
}

pub(super) async fn try_lease(url: &str) -> Result<Option<AnyConnection>> {
    let mut conn = AnyConnection::connect(url).await?;
    let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
        .bind(REAPER_LOCK)
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    if got {
        Ok(Some(conn))
    } else {
        conn.close().await.ok();
        Ok(None)
    }
}
