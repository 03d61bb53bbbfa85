//! What happened in a session, kept for its history.

use async_trait::async_trait;

use super::sql::{json, json_object, Scope, SqlStore};
use super::SessionEvent;
use crate::time::Micros;
use crate::Result;

#[async_trait]
pub trait EventStore: Send + Sync {
    async fn add_session_event(&self, event: &SessionEvent) -> Result<()>;
    /// A session's events in order (at most `limit`).
    async fn session_events(
        &self,
        account_id: &str,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<SessionEvent>>;
}

#[async_trait]
impl EventStore for SqlStore {
    async fn add_session_event(&self, e: &SessionEvent) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO session_events (account_id, session_id, at, kind, data) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&e.account_id)
        .bind(&e.session_id)
        .bind(e.at)
        .bind(&e.kind)
        .bind(json(&e.data));
        self.execute(Scope::Account(&e.account_id), insert).await?;
        Ok(())
    }

    async fn session_events(
        &self,
        account_id: &str,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<SessionEvent>> {
        let q = sqlx::query_as::<_, (Micros, String, String)>(
            "SELECT at, kind, data FROM session_events WHERE account_id = $1 AND session_id = $2 \
             ORDER BY at LIMIT $3",
        )
        .bind(account_id)
        .bind(session_id)
        .bind(i64::from(limit));
        let rows = self.all(Scope::Account(account_id), q).await?;
        rows.into_iter()
            .map(|(at, kind, data)| {
                Ok(SessionEvent {
                    account_id: account_id.to_owned(),
                    session_id: session_id.to_owned(),
                    at,
                    kind,
                    data: json_object(&data)?,
                })
            })
            .collect()
    }
}
