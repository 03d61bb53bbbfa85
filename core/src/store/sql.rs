//! The SQL both backends share. Placeholders are `$n` (sqlx maps them for SQLite too).

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

use super::builder::{push_in, Sql};
use super::{
    postgres, rows, sqlite, Backend, NotificationToken, ReaperLease, Saved, SessionEvent, Store,
    StreamToken,
};
use crate::custom_data;
use crate::model::{Account, AccountKey, AccountSettings, Device, Role, Session, User, COLOURS};
use crate::query::{DeviceFilter, SessionFilter};
use crate::secrets;
use crate::time::{self, Micros};
use crate::{Error, Result};

pub struct SqlStore {
    /// The Store's own queries; on PostgreSQL, row-level security applies (see [`Scope`]).
    tenant: AnyPool,
    /// Full rights: migrations, and tools and tests that read past the Store. The same pool
    /// on SQLite.
    owner: AnyPool,
    backend: Backend,
    url: String,
}

/// Whose rows a PostgreSQL transaction may see and write. Row-level security (migration 0008)
/// shows a row of a table with an account only when the transaction names that account, or
/// takes the system scope; a transaction that names neither sees nothing.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope<'a> {
    Account(&'a str),
    System(CrossAccount),
}

/// The only Store paths that read or write across accounts, each in a system-scoped
/// transaction. Keep this list short: anything that knows its account uses `Scope::Account`.
#[derive(Debug, Clone, Copy)]
pub(super) enum CrossAccount {
    /// Authentication finds the account from a JWT's issuer.
    AccountByLicense,
    /// The CLI lists accounts.
    Accounts,
    /// Batched activity from the hub, keyed by session id.
    TouchSessions,
    /// The reaper: idle sessions, live counts, presence lapses, expired tokens.
    Reaper,
    /// A socket credential names its account: looked up by its hash.
    TokenByHash,
    /// Presence leases, batched across accounts.
    Presence,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish()
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>;

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn not_found<T>(what: &'static str) -> impl FnOnce(Option<T>) -> Result<T> {
    move |o| o.ok_or(Error::NotFound(what))
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("JSON values always serialise")
}

impl SqlStore {
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            Error::invalid(
                "invalid_database_url",
                "the database URL must start with sqlite: or postgres://",
            )
        })?;
        let (tenant, owner) = match backend {
            Backend::Sqlite => {
                let pool = sqlite::connect(url).await?;
                (pool.clone(), pool)
            }
            Backend::Postgres => (
                postgres::connect_tenant(url, 20)?,
                postgres::connect_owner(url).await?,
            ),
        };
        Ok(SqlStore {
            tenant,
            owner,
            backend,
            url: url.to_owned(),
        })
    }

    /// The owner's pool, with full rights: for migrations, and for tools and tests that read or
    /// write past the Store.
    #[cfg(feature = "testing")]
    pub fn pool(&self) -> &AnyPool {
        &self.owner
    }

    /// The pool the Store's own queries run on. On PostgreSQL, row-level security applies: a
    /// transaction sees only the rows of the account it names (`tandem.account_id`), and outside
    /// one nothing of any account.
    #[cfg(feature = "testing")]
    pub fn tenant_pool(&self) -> &AnyPool {
        &self.tenant
    }

    /// Runs `work` in one transaction. On PostgreSQL the transaction first takes `scope`
    /// (`set_config(.., true)`: it ends with the transaction, never stays on the connection).
    pub(super) async fn scoped<T>(
        &self,
        scope: Scope<'_>,
        work: impl AsyncFnOnce(&mut AnyConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.tenant.begin().await?;
        if self.backend == Backend::Postgres {
            let set = match scope {
                Scope::Account(id) => {
                    sqlx::query("SELECT set_config('tandem.account_id', $1, true)").bind(id)
                }
                Scope::System(path) => {
                    tracing::trace!(?path, "a system-scoped transaction");
                    sqlx::query("SELECT set_config('tandem.scope', 'system', true)")
                }
            };
            set.execute(&mut *tx).await?;
        }
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs a single statement: scoped as [`SqlStore::scoped`] on PostgreSQL, on its own (as it
    /// always was) on SQLite.
    pub(super) async fn once<T>(
        &self,
        scope: Scope<'_>,
        work: impl AsyncFnOnce(&mut AnyConnection) -> Result<T>,
    ) -> Result<T> {
        match self.backend {
            Backend::Sqlite => work(&mut *self.tenant.acquire().await?).await,
            Backend::Postgres => self.scoped(scope, work).await,
        }
    }

    async fn execute(&self, scope: Scope<'_>, q: Query<'_>) -> Result<AnyQueryResult> {
        self.once(scope, async |c| Ok(q.execute(c).await?)).await
    }

    async fn fetch_optional(&self, scope: Scope<'_>, q: Query<'_>) -> Result<Option<AnyRow>> {
        self.once(scope, async |c| Ok(q.fetch_optional(c).await?))
            .await
    }

    async fn fetch_all(&self, scope: Scope<'_>, q: Query<'_>) -> Result<Vec<AnyRow>> {
        self.once(scope, async |c| Ok(q.fetch_all(c).await?)).await
    }

    pub(super) async fn one(&self, scope: Scope<'_>, sql: &Sql) -> Result<Option<AnyRow>> {
        self.fetch_optional(scope, sql.query()).await
    }

    pub(super) async fn all(&self, scope: Scope<'_>, sql: &Sql) -> Result<Vec<AnyRow>> {
        self.fetch_all(scope, sql.query()).await
    }

    async fn session_where(&self, account_id: &str, col: &str, value: &str) -> Result<Session> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM sessions s WHERE s.account_id = ",
            rows::SESSION_COLUMNS
        ));
        sql.text(account_id)
            .push(&format!(" AND s.{col} = "))
            .text(value);
        let row = not_found("session")(self.one(Scope::Account(account_id), &sql).await?)?;
        rows::session(&row)
    }
}

/// Writes the filter rows and agent rows that index a session for lists.
async fn write_session_index(
    tx: &mut AnyConnection,
    s: &Session,
    rewrite_filters: bool,
) -> Result<()> {
    if rewrite_filters {
        sqlx::query("DELETE FROM session_filters WHERE session_id = $1")
            .bind(&s.id)
            .execute(&mut *tx)
            .await?;
        for (k, v) in custom_data::filter_pairs(&s.custom_data) {
            sqlx::query(
                "INSERT INTO session_filters (session_id, key, value, account_id, sort_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&s.id)
            .bind(k)
            .bind(v)
            .bind(&s.account_id)
            .bind(s.sort_at())
            .execute(&mut *tx)
            .await?;
        }
    } else {
        sqlx::query(
            "UPDATE session_filters SET sort_at = $1 WHERE session_id = $2 AND sort_at <> $1",
        )
        .bind(s.sort_at())
        .bind(&s.id)
        .execute(&mut *tx)
        .await?;
    }
    for agent in &s.agents {
        sqlx::query(
            "INSERT INTO session_agents (session_id, user_id, account_id, sort_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (session_id, user_id) DO UPDATE SET sort_at = $4",
        )
        .bind(&s.id)
        .bind(&agent.id)
        .bind(&s.account_id)
        .bind(s.sort_at())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_device_filters(tx: &mut AnyConnection, d: &Device) -> Result<()> {
    sqlx::query("DELETE FROM device_filters WHERE account_id = $1 AND device_id = $2")
        .bind(&d.account_id)
        .bind(&d.id)
        .execute(&mut *tx)
        .await?;
    for (k, v) in custom_data::filter_pairs(&d.custom_data) {
        sqlx::query(
            "INSERT INTO device_filters (account_id, device_id, key, value) VALUES ($1, $2, $3, $4)",
        )
        .bind(&d.account_id)
        .bind(&d.id)
        .bind(k)
        .bind(v)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlite::MIGRATOR.run(&self.owner).await?,
            Backend::Postgres => postgres::MIGRATOR.run(&self.owner).await?,
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.tenant).await?;
        Ok(())
    }

    async fn create_account(&self, name: &str, settings: &AccountSettings) -> Result<Account> {
        let account = Account {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            license_key: secrets::bearer_token()[..24].to_owned(),
            settings: settings.clone(),
            created: time::now(),
        };
        let insert = sqlx::query(
            "INSERT INTO accounts (id, name, license_key, settings, created) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(&account.license_key)
        .bind(json(&account.settings))
        .bind(account.created);
        self.once(Scope::Account(&account.id), async |c| {
            Ok(insert.execute(c).await?)
        })
        .await?;
        Ok(account)
    }

    async fn account(&self, id: &str) -> Result<Account> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM accounts WHERE id = ",
            rows::ACCOUNT_COLUMNS
        ));
        sql.text(id);
        rows::account(&not_found("account")(
            self.one(Scope::Account(id), &sql).await?,
        )?)
    }

    async fn account_by_license(&self, license_key: &str) -> Result<Account> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM accounts WHERE license_key = ",
            rows::ACCOUNT_COLUMNS
        ));
        sql.text(license_key);
        let scope = Scope::System(CrossAccount::AccountByLicense);
        rows::account(&not_found("account")(self.one(scope, &sql).await?)?)
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let sql = Sql::new(&format!(
            "SELECT {} FROM accounts ORDER BY created, id",
            rows::ACCOUNT_COLUMNS
        ));
        let scope = Scope::System(CrossAccount::Accounts);
        self.all(scope, &sql)
            .await?
            .iter()
            .map(rows::account)
            .collect()
    }

    async fn update_account_settings(
        &self,
        id: &str,
        settings: &AccountSettings,
    ) -> Result<Account> {
        let update = sqlx::query("UPDATE accounts SET settings = $1 WHERE id = $2")
            .bind(json(settings))
            .bind(id);
        let done = self
            .once(Scope::Account(id), async |c| Ok(update.execute(c).await?))
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("account"));
        }
        self.account(id).await
    }

    async fn add_key(&self, key: &AccountKey) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO account_keys (account_id, kid, algorithm, public_pem, private_pem, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.account_id)
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_pem)
        .bind(key.private_pem.as_deref())
        .bind(key.created);
        self.once(Scope::Account(&key.account_id), async |c| {
            insert.execute(c).await.map_err(|e| {
                if unique_violation(&e) {
                    Error::Conflict(format!(
                        "the account already has a key with kid {:?}",
                        key.kid
                    ))
                } else {
                    e.into()
                }
            })
        })
        .await?;
        Ok(())
    }

    async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM account_keys WHERE account_id = ",
            rows::KEY_COLUMNS
        ));
        sql.text(account_id).push(" ORDER BY created DESC, kid");
        let rows = self.all(Scope::Account(account_id), &sql).await?;
        rows.iter().map(rows::key).collect()
    }

    async fn upsert_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        role: Role,
    ) -> Result<User> {
        let now = time::now();
        let id = uuid::Uuid::new_v4().to_string();
        let colour = COLOURS[email.bytes().map(usize::from).sum::<usize>() % COLOURS.len()];
        let sql = format!(
            "INSERT INTO users (id, account_id, email, name, role, colour, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (account_id, email) DO UPDATE SET name = $4, role = $5, updated = $7 \
             RETURNING {}",
            rows::USER_COLUMNS
        );
        let upsert = sqlx::query(&sql)
            .bind(&id)
            .bind(account_id)
            .bind(email)
            .bind(name)
            .bind(role.as_str())
            .bind(colour)
            .bind(now);
        let row = self
            .once(Scope::Account(account_id), async |c| {
                Ok(upsert.fetch_one(c).await?)
            })
            .await?;
        rows::user(&row)
    }

    async fn user(&self, account_id: &str, id: &str) -> Result<User> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM users WHERE account_id = ",
            rows::USER_COLUMNS
        ));
        sql.text(account_id).push(" AND id = ").text(id);
        let row = self.one(Scope::Account(account_id), &sql).await?;
        rows::user(&not_found("user")(row)?)
    }

    async fn insert_session(&self, s: &Session) -> Result<()> {
        self.scoped(Scope::Account(&s.account_id), async |tx| {
        let inserted = sqlx::query(
            "INSERT INTO sessions (id, account_id, state, code, code_expires, access_token, \
             control_token, custom_data, device_id, device, agents, full_device, remote_control, \
             ended_reason, region, created, updated, activated, ended, last_activity, sort_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22)",
        )
        .bind(&s.id)
        .bind(&s.account_id)
        .bind(s.state.as_str())
        .bind(s.code.as_deref())
        .bind(s.expires)
        .bind(s.access_token.as_deref())
        .bind(&s.control_token)
        .bind(json(&s.custom_data))
        .bind(s.device_id.as_deref())
        .bind(s.device.as_ref().map(json))
        .bind(json(&s.agents))
        .bind(s.full_device.as_str())
        .bind(s.remote_control.as_str())
        .bind(s.ended_reason.map(|r| r.as_str()))
        .bind(s.region.as_deref())
        .bind(s.created)
        .bind(s.updated)
        .bind(s.activated)
        .bind(s.ended)
        .bind(s.last_activity)
        .bind(s.sort_at())
        .bind(s.version)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if unique_violation(&e) => {
                return Err(Error::Conflict(
                    "session code or token already in use".into(),
                ))
            }
            other => other?,
        };
        write_session_index(tx, s, true).await?;
        Ok(())
})
.await
    }

    async fn session(&self, account_id: &str, id: &str) -> Result<Session> {
        self.session_where(account_id, "id", id).await
    }

    async fn session_by_code(&self, account_id: &str, code: &str) -> Result<Session> {
        self.session_where(account_id, "code", code).await
    }

    async fn session_by_access_token(&self, account_id: &str, token: &str) -> Result<Session> {
        self.session_where(account_id, "access_token", token).await
    }

    async fn session_by_control_token(&self, account_id: &str, token: &str) -> Result<Session> {
        self.session_where(account_id, "control_token", token).await
    }

    async fn save_session(&self, s: &Session) -> Result<Saved> {
        self.scoped(Scope::Account(&s.account_id), async |tx| {
            let old: Option<String> = sqlx::query_scalar(
                "UPDATE sessions SET version = version + 1 \
             WHERE id = $1 AND account_id = $2 AND version = $3 RETURNING custom_data",
            )
            .bind(&s.id)
            .bind(&s.account_id)
            .bind(s.version)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(old_custom_data) = old else {
                return Ok(Saved::Stale);
            };
            sqlx::query(
                "UPDATE sessions SET state = $1, code = $2, code_expires = $3, access_token = $4, \
             custom_data = $5, device_id = $6, device = $7, agents = $8, full_device = $9, \
             remote_control = $10, ended_reason = $11, region = $12, updated = $13, \
             activated = $14, ended = $15, last_activity = $16, sort_at = $17 WHERE id = $18",
            )
            .bind(s.state.as_str())
            .bind(s.code.as_deref())
            .bind(s.expires)
            .bind(s.access_token.as_deref())
            .bind(json(&s.custom_data))
            .bind(s.device_id.as_deref())
            .bind(s.device.as_ref().map(json))
            .bind(json(&s.agents))
            .bind(s.full_device.as_str())
            .bind(s.remote_control.as_str())
            .bind(s.ended_reason.map(|r| r.as_str()))
            .bind(s.region.as_deref())
            .bind(s.updated)
            .bind(s.activated)
            .bind(s.ended)
            .bind(s.last_activity)
            .bind(s.sort_at())
            .bind(&s.id)
            .execute(&mut *tx)
            .await?;
            let rewrite = old_custom_data != json(&s.custom_data);
            write_session_index(tx, s, rewrite).await?;
            Ok(Saved::Yes)
        })
        .await
    }

    async fn list_sessions(&self, account_id: &str, f: &SessionFilter) -> Result<Vec<Session>> {
        self.session_page(account_id, f).await
    }

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
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM sessions s WHERE s.state <> 'ended' AND s.last_activity < ",
            rows::SESSION_COLUMNS
        ));
        sql.int(idle_before)
            .push(&format!(
                " UNION SELECT {} FROM sessions s WHERE s.code IS NOT NULL AND s.code_expires <= ",
                rows::SESSION_COLUMNS
            ))
            .int(now)
            .push(" AND s.state = 'pending' LIMIT ")
            .int(i64::from(limit));
        let rows = self.all(Scope::System(CrossAccount::Reaper), &sql).await?;
        rows.iter().map(rows::session).collect()
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
        let rows = self
            .fetch_all(
                Scope::System(CrossAccount::Reaper),
                sqlx::query(
                    "SELECT state, COUNT(*) FROM sessions WHERE state <> 'ended' GROUP BY state",
                ),
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn add_stream_token(&self, t: &StreamToken) -> Result<()> {
        self.execute(
            Scope::Account(&t.account_id),
            sqlx::query(
                "INSERT INTO stream_tokens (token_hash, account_id, session_id, user_id, expires) \
             VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&t.token_hash)
            .bind(&t.account_id)
            .bind(&t.session_id)
            .bind(&t.user_id)
            .bind(t.expires),
        )
        .await?;
        Ok(())
    }

    async fn stream_token(&self, token_hash: &str) -> Result<StreamToken> {
        let row = self.fetch_optional(Scope::System(CrossAccount::TokenByHash), sqlx::query(
            "SELECT token_hash, account_id, session_id, user_id, expires FROM stream_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        )
        .await?;
        let row = not_found("stream token")(row)?;
        Ok(StreamToken {
            token_hash: row.try_get(0)?,
            account_id: row.try_get(1)?,
            session_id: row.try_get(2)?,
            user_id: row.try_get(3)?,
            expires: row.try_get(4)?,
        })
    }

    async fn purge_stream_tokens(&self, now: Micros) -> Result<u64> {
        let done = self
            .execute(
                Scope::System(CrossAccount::Reaper),
                sqlx::query("DELETE FROM stream_tokens WHERE expires < $1").bind(now),
            )
            .await?;
        Ok(done.rows_affected())
    }

    async fn add_notification_token(&self, t: &NotificationToken, keep: u32) -> Result<()> {
        self.scoped(Scope::Account(&t.account_id), async |tx| {
            sqlx::query(
            "INSERT INTO notification_tokens (token_hash, account_id, user_id, policy, expires) \
             VALUES ($1, $2, $3, $4, $5)",
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
        let row = self.fetch_optional(Scope::System(CrossAccount::TokenByHash), sqlx::query(
            "SELECT token_hash, account_id, user_id, policy, expires FROM notification_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        )
        .await?;
        let row = not_found("notification token")(row)?;
        let policy: Option<String> = row.try_get(3)?;
        let policy = match policy {
            None => None,
            Some(text) => Some(
                crate::policy::Policy::parse(&serde_json::from_str(&text)?)
                    .map_err(|e| Error::Corrupt(format!("a stored policy: {e}")))?,
            ),
        };
        Ok(NotificationToken {
            token_hash: row.try_get(0)?,
            account_id: row.try_get(1)?,
            user_id: row.try_get(2)?,
            policy,
            expires: row.try_get(4)?,
        })
    }

    async fn purge_notification_tokens(&self, now: Micros) -> Result<u64> {
        let done = self
            .execute(
                Scope::System(CrossAccount::Reaper),
                sqlx::query("DELETE FROM notification_tokens WHERE expires < $1").bind(now),
            )
            .await?;
        Ok(done.rows_affected())
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

    async fn take_attempt(&self, key: &str, window_from: Micros, now: Micros) -> Result<i64> {
        let used = sqlx::query(
            "INSERT INTO redeem_budget (key, window_start, used) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               used = CASE WHEN redeem_budget.window_start < $3 THEN 1 \
                      ELSE redeem_budget.used + 1 END, \
               window_start = CASE WHEN redeem_budget.window_start < $3 THEN $2 \
                              ELSE redeem_budget.window_start END \
             RETURNING used",
        )
        .bind(key)
        .bind(now)
        .bind(window_from)
        .fetch_one(&self.tenant)
        .await?
        .try_get(0)?;
        Ok(used)
    }

    async fn refund_attempt(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE redeem_budget SET used = used - 1 WHERE key = $1 AND used > 0")
            .bind(key)
            .execute(&self.tenant)
            .await?;
        Ok(())
    }

    async fn purge_attempts(&self, before: Micros) -> Result<u64> {
        let done = sqlx::query("DELETE FROM redeem_budget WHERE window_start < $1")
            .bind(before)
            .execute(&self.tenant)
            .await?;
        Ok(done.rows_affected())
    }

    async fn add_session_event(&self, e: &SessionEvent) -> Result<()> {
        self.execute(
            Scope::Account(&e.account_id),
            sqlx::query(
                "INSERT INTO session_events (account_id, session_id, at, kind, data) \
             VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&e.account_id)
            .bind(&e.session_id)
            .bind(e.at)
            .bind(&e.kind)
            .bind(json(&e.data)),
        )
        .await?;
        Ok(())
    }

    async fn session_events(
        &self,
        account_id: &str,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<SessionEvent>> {
        let rows = self.fetch_all(Scope::Account(account_id), sqlx::query(
            "SELECT at, kind, data FROM session_events WHERE account_id = $1 AND session_id = $2 \
             ORDER BY at LIMIT $3",
        )
        .bind(account_id)
        .bind(session_id)
        .bind(i64::from(limit))
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionEvent {
                    account_id: account_id.to_owned(),
                    session_id: session_id.to_owned(),
                    at: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    data: serde_json::from_str(row.try_get::<&str, _>(2)?)?,
                })
            })
            .collect()
    }

    async fn insert_device(&self, d: &Device) -> Result<()> {
        self.scoped(Scope::Account(&d.account_id), async |tx| {
        let inserted = sqlx::query(
            "INSERT INTO devices (account_id, id, info, custom_data, token_hash, notification_token, \
             connectable, last_active, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&d.account_id)
        .bind(&d.id)
        .bind(json(&d.device))
        .bind(json(&d.custom_data))
        .bind(&d.token_hash)
        .bind(&d.notification_token)
        .bind(i64::from(d.connectable))
        .bind(d.last_active)
        .bind(d.created)
        .bind(d.updated)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "device {} is already registered",
                    d.id
                )))
            }
            other => other?,
        };
        write_device_filters(tx, d).await?;
        Ok(())
})
.await
    }

    async fn device(&self, account_id: &str, id: &str) -> Result<Device> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM devices d WHERE d.account_id = ",
            rows::DEVICE_COLUMNS
        ));
        sql.text(account_id).push(" AND d.id = ").text(id);
        let row = self.one(Scope::Account(account_id), &sql).await?;
        rows::device(&not_found("device")(row)?)
    }

    async fn device_by_notification_token(&self, account_id: &str, token: &str) -> Result<Device> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM devices d WHERE d.account_id = ",
            rows::DEVICE_COLUMNS
        ));
        sql.text(account_id)
            .push(" AND d.notification_token = ")
            .text(token);
        let row = self.one(Scope::Account(account_id), &sql).await?;
        rows::device(&not_found("device")(row)?)
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
            let rows = sqlx::query(
                "SELECT account_id, id, last_active FROM devices \
                 WHERE online_until > 0 AND online_until <= $1 LIMIT $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut lapsed = Vec::with_capacity(rows.len());
            for row in rows {
                let (account_id, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
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
                    lapsed.push((account_id, id, row.try_get(2)?));
                }
            }
            Ok(lapsed)
        })
        .await
    }

    async fn save_device(&self, d: &Device) -> Result<()> {
        self.scoped(Scope::Account(&d.account_id), async |tx| {
            let done = sqlx::query(
            "UPDATE devices SET info = $1, custom_data = $2, connectable = $3, last_active = $4, \
             updated = $5 WHERE account_id = $6 AND id = $7",
        )
        .bind(json(&d.device))
        .bind(json(&d.custom_data))
        .bind(i64::from(d.connectable))
        .bind(d.last_active)
        .bind(d.updated)
        .bind(&d.account_id)
        .bind(&d.id)
        .execute(&mut *tx)
        .await?;
            if done.rows_affected() == 0 {
                return Err(Error::NotFound("device"));
            }
            write_device_filters(tx, d).await?;
            Ok(())
        })
        .await
    }

    async fn list_devices(&self, account_id: &str, f: &DeviceFilter) -> Result<Vec<Device>> {
        if f.ids.as_ref().is_some_and(|ids| ids.is_empty()) {
            return Ok(vec![]);
        }
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM devices d WHERE d.account_id = ",
            rows::DEVICE_COLUMNS
        ));
        sql.text(account_id);
        for (k, v) in &f.filters {
            sql.push(
                " AND EXISTS (SELECT 1 FROM device_filters f WHERE f.account_id = d.account_id \
                      AND f.device_id = d.id AND f.key = ",
            )
            .text(k)
            .push(" AND f.value = ")
            .text(v)
            .push(")");
        }
        if let Some(ids) = &f.ids {
            push_in(&mut sql, "d.id", ids);
        }
        if let Some(before) = f.page.before {
            sql.push(" AND d.last_active < ").int(before);
        }
        if let Some(after) = f.page.after {
            sql.push(" AND d.last_active > ").int(after);
        }
        sql.push(" ORDER BY d.last_active DESC, d.id DESC LIMIT ")
            .int(i64::from(f.page.limit))
            .planned_per_call();
        let rows = self.all(Scope::Account(account_id), &sql).await?;
        rows.iter().map(rows::device).collect()
    }
}
