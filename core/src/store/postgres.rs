//! The PostgreSQL backend: the cluster store. The reaper lease is a session-level advisory lock
//! held on a connection of its own, so exactly one replica reaps and a crashed replica's lease
//! dies with its connection.
//!
//! Two pools. The Store's own queries run on the tenant pool, where row-level security
//! (migration 0008) applies: a connecting role that would bypass it (a superuser, or a role with
//! BYPASSRLS) switches to the `tandem_app` role on every new connection, and each transaction
//! names the account it may see (see `Scope` in `sql.rs`). Migrations and tools that read past
//! the Store use the owner pool, which has the connecting role's full rights.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use crate::Result;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `pg_try_advisory_lock` key for the reaper ("tandem reaper").
const REAPER_LOCK: i64 = 0x7461_6e64_656d_7270;

/// How long a query of the tenant pool waits for a connection (retrying refused connects) before
/// giving up with `PoolTimedOut`: short, so that while the database is away requests are
/// answered 503 at once rather than left hanging. (The owner pool keeps sqlx's patient default:
/// it serves start-up, which may well wait for a database that is still starting.)
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The tenant pool. Its connections switch role once the schema has the layer (a Store used
/// before migrating, as a test of an old schema does, keeps the owner's rights on the
/// connections it opened until they are recycled); lazy, so [`super::open`] opens none before
/// migrating.
pub(super) fn connect_tenant(url: &str, max_connections: u32) -> Result<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Fails, refusing the connection, if the role is missing: closed, not open.
                conn.execute(
                    "SELECT set_config('role', 'tandem_app', false) FROM pg_roles \
                     WHERE rolname = current_user AND (rolsuper OR rolbypassrls) \
                     AND EXISTS (SELECT 1 FROM pg_class \
                       WHERE oid = to_regclass('accounts') AND relforcerowsecurity)",
                )
                .await?;
                Ok(())
            })
        })
        .connect_lazy(url)?)
}

/// The owner pool: migrations, seeding and tests that read what the Store wrote. Its sessions
/// take the system scope, so a non-superuser owner (whom FORCE ROW LEVEL SECURITY binds too)
/// still sees every row, e.g. in a migration that rewrites data.
pub(super) async fn connect_owner(url: &str) -> Result<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(2)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SELECT set_config('tandem.scope', 'system', false)")
                    .await?;
                Ok(())
            })
        })
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
