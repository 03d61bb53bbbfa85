//! What the reaper and the hubs ask across accounts: batched activity, idle sessions, live
//! counts, the lease that makes one replica the reaper, and device presence leases.

use async_trait::async_trait;

use super::sessions::{SessionRow, SESSION_COLUMNS};
use super::sql::{CrossAccount, Scope, SqlStore};
use super::{postgres, Backend, ReaperLease};
use crate::model::Session;
use crate::time::Micros;
use crate::Result;

#[async_trait]
pub trait ReaperStore: Send + Sync {
    /// Records activity (batched by the caller): `(session id, when)`.
    async fn touch_sessions(&self, batch: &[(String, Micros)]) -> Result<()>;
    /// Live sessions idle since before `idle_before`, or pending with a code expired by `now`.
    async fn idle_sessions(
        &self,
        idle_before: Micros,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<Session>>;
    /// Tries to become the replica that reaps; `None` when another one is.
    async fn reaper_lease(&self) -> Result<Option<ReaperLease>>;
    /// Whether a lease is still held (its connection is alive).
    async fn lease_alive(&self, lease: &mut ReaperLease) -> bool;
    /// Live sessions by state, for the metrics gauge.
    async fn live_counts(&self) -> Result<Vec<(String, i64)>>;

    /// Sets the presence lease of devices `(account id, device id)` and their `last_active`.
    async fn set_presence(
        &self,
        devices: &[(String, String)],
        online_until: Micros,
        now: Micros,
    ) -> Result<()>;
    /// Marks offline up to `limit` devices whose presence lease lapsed before `now`; returns
    /// `(account id, device id, last_active)` of each.
    async fn lapsed_presence(
        &self,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<(String, String, Micros)>>;
}

#[async_trait]
impl ReaperStore for SqlStore {
    async fn touch_sessions(&self, batch: &[(String, Micros)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.scoped(Scope::System(CrossAccount::TouchSessions), async |tx| {
            for (id, at) in batch {
                sqlx::query(
                    "UPDATE sessions SET last_activity = $1 \
                     WHERE id = $2 AND state <> 'ended' AND last_activity < $1",
                )
                .bind(*at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(())
        })
        .await
    }

    async fn idle_sessions(
        &self,
        idle_before: Micros,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state <> 'ended' \
             AND s.last_activity < $1 \
             UNION SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.code IS NOT NULL \
             AND s.code_expires <= $2 AND s.state = 'pending' LIMIT $3"
        );
        let q = sqlx::query_as::<_, SessionRow>(&sql)
            .bind(idle_before)
            .bind(now)
            .bind(i64::from(limit));
        let rows = self.all(Scope::System(CrossAccount::Reaper), q).await?;
        rows.into_iter().map(Session::try_from).collect()
    }

    async fn reaper_lease(&self) -> Result<Option<ReaperLease>> {
        match self.backend {
            // One process owns an SQLite file; it always reaps.
            Backend::Sqlite => Ok(Some(ReaperLease(None))),
            Backend::Postgres => Ok(postgres::try_lease(&self.url)
                .await?
                .map(|c| ReaperLease(Some(c)))),
        }
    }

    async fn lease_alive(&self, lease: &mut ReaperLease) -> bool {
        match &mut lease.0 {
            None => true,
            Some(conn) => sqlx::query("SELECT 1").execute(conn).await.is_ok(),
        }
    }

    async fn live_counts(&self) -> Result<Vec<(String, i64)>> {
        let q = sqlx::query_as(
            "SELECT state, COUNT(*) FROM sessions WHERE state <> 'ended' GROUP BY state",
        );
        self.all(Scope::System(CrossAccount::Reaper), q).await
    }

    async fn set_presence(
        &self,
        devices: &[(String, String)],
        online_until: Micros,
        now: Micros,
    ) -> Result<()> {
        self.scoped(Scope::System(CrossAccount::Presence), async |tx| {
            for (account_id, id) in devices {
                sqlx::query(
                    "UPDATE devices SET online_until = $1, last_active = $2 \
                     WHERE account_id = $3 AND id = $4",
                )
                .bind(online_until)
                .bind(now)
                .bind(account_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(())
        })
        .await
    }

    async fn lapsed_presence(
        &self,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<(String, String, Micros)>> {
        self.once(Scope::System(CrossAccount::Reaper), async |c| {
            let rows: Vec<(String, String, Micros)> = sqlx::query_as(
                "SELECT account_id, id, last_active FROM devices \
                 WHERE online_until > 0 AND online_until <= $1 LIMIT $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut lapsed = Vec::with_capacity(rows.len());
            for (account_id, id, last_active) in rows {
                // Only if still lapsed: a replica may have renewed it in between.
                let done = sqlx::query(
                    "UPDATE devices SET online_until = 0 \
                     WHERE account_id = $1 AND id = $2 AND online_until > 0 AND online_until <= $3",
                )
                .bind(&account_id)
                .bind(&id)
                .bind(now)
                .execute(&mut *c)
                .await?;
                if done.rows_affected() == 1 {
                    lapsed.push((account_id, id, last_active));
                }
            }
            Ok(lapsed)
        })
        .await
    }
}
