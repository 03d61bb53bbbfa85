//! The PostgreSQL side: a database of the bench's own, created through the `postgres`
//! maintenance database, migrated with the real schema, seeded once and reused while it holds
//! the requested data (and the schema has not changed).

use std::time::Instant;

use anyhow::{bail, Context, Result};
use sqlx::{Connection, PgConnection, Row};
use tandem_core::store::{SqlStore, Store};

use crate::data::{Dialect, Layout};
use crate::seed;

/// The bench database on a server, e.g. `postgres://postgres@127.0.0.1:5432` + `tandem_bench`.
pub struct Target<'a> {
    pub server: &'a str,
    pub database: &'a str,
}

impl Target<'_> {
    fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.server.trim_end_matches('/'))
    }

    async fn admin(&self) -> Result<PgConnection> {
        let url = self.url("postgres");
        PgConnection::connect(&url)
            .await
            .with_context(|| format!("connecting to the maintenance database at {url}"))
    }

    /// Drops the bench database (the smoke run's, which is not kept).
    pub async fn drop(&self) -> Result<()> {
        self.drop_on(&mut self.admin().await?).await
    }

    async fn drop_on(&self, admin: &mut PgConnection) -> Result<()> {
        let db = self.database;
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(admin)
            .await
            .with_context(|| format!("dropping database {db}"))?;
        Ok(())
    }

    async fn recreate(&self) -> Result<()> {
        let mut admin = self.admin().await?;
        self.drop_on(&mut admin).await?;
        let db = self.database;
        sqlx::raw_sql(&format!("CREATE DATABASE {db}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {db}"))?;
        Ok(())
    }

    async fn exists(&self) -> Result<bool> {
        let mut admin = self.admin().await?;
        Ok(sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(self.database)
            .fetch_optional(&mut admin)
            .await
            .context("looking up the bench database")?
            .is_some())
    }

    /// Connects and migrates; `None` when the stored migrations differ from this build's.
    async fn open(&self) -> Result<Option<SqlStore>> {
        let store = SqlStore::connect(&self.url(self.database))
            .await
            .context("connecting to the bench database")?;
        match store.migrate().await {
            Ok(()) => Ok(Some(store)),
            Err(tandem_core::Error::Migration(e)) => {
                println!("  schema changed since the last seed ({e}); reseeding");
                store.pool().close().await;
                Ok(None)
            }
            Err(e) => Err(e).context("migrating the bench database"),
        }
    }
}

/// Opens the bench database holding `layout`'s data, seeding it when needed or asked.
pub async fn prepare(target: &Target<'_>, layout: &Layout, reseed: bool) -> Result<SqlStore> {
    if !valid_name(target.database) {
        bail!("the database name must be lower-case letters, digits and '_'");
    }
    let mut fresh = reseed || !target.exists().await?;
    for _ in 0..2 {
        if fresh {
            target.recreate().await?;
        }
        let Some(store) = target.open().await? else {
            fresh = true;
            continue;
        };
        if !fresh && seed::holds(&store, layout).await? {
            println!(
                "  reusing the seeded database {} (--reseed to rebuild)",
                target.database
            );
            return Ok(store);
        }
        if !fresh && !seed::is_empty(&store).await? {
            println!("  {} holds other data; reseeding", target.database);
            store.pool().close().await;
            fresh = true;
            continue;
        }
        let started = Instant::now();
        fill(&store, layout).await?;
        println!(
            "  seeded {} sessions in {:.1} s",
            layout.sessions,
            started.elapsed().as_secs_f64()
        );
        seed::verify(&store).await?;
        return Ok(store);
    }
    bail!("could not prepare the bench database {}", target.database)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Seeds in one transaction (an interrupted seed leaves nothing behind, not even dropped
/// indexes), with the secondary indexes dropped and rebuilt afterwards (a sorted build is far
/// faster than millions of random inserts) and foreign key triggers off when the role may do
/// that; then `VACUUM (ANALYZE)`, as autovacuum would do after a bulk insert.
async fn fill(store: &SqlStore, layout: &Layout) -> Result<()> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .context("acquiring a connection")?;
    let mut tx = conn.begin().await.context("beginning the seed")?;
    sqlx::raw_sql("SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await
        .context("setting up the seeding transaction")?;
    let superuser: String = sqlx::query_scalar("SELECT current_setting('is_superuser')")
        .fetch_one(&mut *tx)
        .await
        .context("checking the role")?;
    if superuser == "on" {
        sqlx::raw_sql("SET LOCAL session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .context("turning foreign key triggers off")?;
    } else {
        println!("  (not a superuser: foreign keys are checked while seeding, which is slower)");
    }
    let indexes = secondary_indexes(&mut tx).await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(&format!("DROP INDEX {name}"))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("dropping index {name}"))?;
    }
    let started = Instant::now();
    seed::write(&mut tx, layout, Dialect::Postgres).await?;
    println!(
        "    rows written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for (name, definition) in &indexes {
        sqlx::raw_sql(definition)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("rebuilding index {name}"))?;
    }
    tx.commit().await.context("committing the seed")?;
    println!(
        "    {} secondary indexes rebuilt in {:.1} s",
        indexes.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    sqlx::raw_sql("VACUUM (ANALYZE) accounts, sessions, session_filters")
        .execute(&mut *conn)
        .await
        .context("vacuuming and analysing")?;
    println!(
        "    VACUUM (ANALYZE) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Indexes of `sessions` and `session_filters` that back no constraint: `(name, CREATE INDEX …)`.
async fn secondary_indexes(conn: &mut sqlx::AnyConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid \
         WHERE t.relname IN ('sessions', 'session_filters') \
           AND t.relnamespace = current_schema()::regnamespace \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .context("listing the secondary indexes")?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
