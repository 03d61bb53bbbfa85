//! Socket credentials, kept as hashes: stream tokens (an agent on one session's stream) and
//! notification tokens (an agent's socket from `/users/me`).

use async_trait::async_trait;

use super::sql::{json, not_found, CrossAccount, Record, Scope, SqlStore};
use super::{NotificationToken, StreamToken};
use crate::policy::Policy;
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores (the hash of) a session stream token for an agent.
    async fn add_stream_token(&self, token: &StreamToken) -> Result<()>;
    async fn stream_token(&self, token_hash: &str) -> Result<StreamToken>;
    /// Forgets stream tokens that expired before `now`; returns how many.
    async fn purge_stream_tokens(&self, now: Micros) -> Result<u64>;
    /// Stores (the hash of) an agent's notification token; of the user's tokens, only the
    /// `keep` that expire last are kept.
    async fn add_notification_token(&self, token: &NotificationToken, keep: u32) -> Result<()>;
    /// The notification token with this hash (any account: the token chooses it).
    async fn notification_token(&self, token_hash: &str) -> Result<NotificationToken>;
    /// Forgets notification tokens that expired before `now`; returns how many.
    async fn purge_notification_tokens(&self, now: Micros) -> Result<u64>;
    /// Forgets every notification and stream token of a user; returns how many.
    async fn revoke_user_tokens(&self, account_id: &str, user_id: &str) -> Result<u64>;
}

#[derive(sqlx::FromRow)]
struct NotificationTokenRow {
    token_hash: String,
    account_id: String,
    user_id: String,
    policy: Option<String>,
    expires: Micros,
}

impl TryFrom<NotificationTokenRow> for NotificationToken {
    type Error = Error;
    fn try_from(r: NotificationTokenRow) -> Result<Self> {
        let policy = match r.policy {
            None => None,
            Some(text) => Some(
                Policy::parse(&serde_json::from_str(&text)?)
                    .map_err(|e| Error::Corrupt(format!("a stored policy: {e}")))?,
            ),
        };
        Ok(NotificationToken {
            token_hash: r.token_hash,
            account_id: r.account_id,
            user_id: r.user_id,
            policy,
            expires: r.expires,
        })
    }
}

impl SqlStore {
    /// The token whose hash is `$1` in `sql` (any account: the token chooses it).
    async fn by_hash<R: Record>(
        &self,
        sql: &str,
        token_hash: &str,
        what: &'static str,
    ) -> Result<R> {
        let q = sqlx::query_as::<_, R>(sql).bind(token_hash);
        let scope = Scope::System(CrossAccount::TokenByHash);
        not_found(what)(self.optional(scope, q).await?)
    }
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn add_stream_token(&self, t: &StreamToken) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO stream_tokens (token_hash, account_id, session_id, user_id, expires) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.account_id)
        .bind(&t.session_id)
        .bind(&t.user_id)
        .bind(t.expires);
        self.execute(Scope::Account(&t.account_id), insert).await?;
        Ok(())
    }

    async fn stream_token(&self, token_hash: &str) -> Result<StreamToken> {
        let sql = "SELECT token_hash, account_id, session_id, user_id, expires \
                   FROM stream_tokens WHERE token_hash = $1";
        self.by_hash(sql, token_hash, "stream token").await
    }

    async fn purge_stream_tokens(&self, now: Micros) -> Result<u64> {
        self.purge_expired(&["stream_tokens"], now).await
    }

    async fn add_notification_token(&self, t: &NotificationToken, keep: u32) -> Result<()> {
        self.scoped(Scope::Account(&t.account_id), async |tx| {
            sqlx::query(
                "INSERT INTO notification_tokens (token_hash, account_id, user_id, policy, \
                 expires) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&t.token_hash)
            .bind(&t.account_id)
            .bind(&t.user_id)
            .bind(t.policy.as_ref().map(json))
            .bind(t.expires)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM notification_tokens WHERE account_id = $1 AND user_id = $2 \
                 AND token_hash NOT IN (SELECT token_hash FROM notification_tokens \
                 WHERE account_id = $1 AND user_id = $2 ORDER BY expires DESC LIMIT $3)",
            )
            .bind(&t.account_id)
            .bind(&t.user_id)
            .bind(i64::from(keep))
            .execute(&mut *tx)
            .await?;
            Ok(())
        })
        .await
    }

    async fn notification_token(&self, token_hash: &str) -> Result<NotificationToken> {
        let sql = "SELECT token_hash, account_id, user_id, policy, expires \
                   FROM notification_tokens WHERE token_hash = $1";
        let row: NotificationTokenRow = self.by_hash(sql, token_hash, "notification token").await?;
        row.try_into()
    }

    async fn purge_notification_tokens(&self, now: Micros) -> Result<u64> {
        self.purge_expired(&["notification_tokens"], now).await
    }

    async fn revoke_user_tokens(&self, account_id: &str, user_id: &str) -> Result<u64> {
        self.scoped(Scope::Account(account_id), async |tx| {
            let mut gone = 0;
            for table in ["notification_tokens", "stream_tokens"] {
                let done = sqlx::query(&format!(
                    "DELETE FROM {table} WHERE account_id = $1 AND user_id = $2"
                ))
                .bind(account_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                gone += done.rows_affected();
            }
            Ok(gone)
        })
        .await
    }
}
