//! The Store on sqlx's `Any` driver: its two pools, the scope every query runs in, and the
//! helpers the resource modules run their SQL through. Placeholders are `$n` (sqlx maps them for
//! SQLite too).

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Execute, FromRow, QueryBuilder};

use super::{postgres, sqlite, Backend, Store};
use crate::{Error, Result};

pub struct SqlStore {
    /// The Store's own queries; on PostgreSQL, row-level security applies (see [`Scope`]).
    pub(super) tenant: AnyPool,
    /// Full rights: migrations, and tools and tests that read past the Store. The same pool
    /// on SQLite.
    owner: AnyPool,
    pub(super) backend: Backend,
    pub(super) url: String,
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
    /// Dashboard sign-in: an email's links, login sessions and memberships span accounts.
    Login,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish()
    }
}

pub(super) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;
pub(super) type QueryAs<'q, R> = sqlx::query::QueryAs<'q, Any, R, AnyArguments<'q>>;

/// A row type the Store reads with `query_as`.
pub(super) trait Record: for<'r> FromRow<'r, AnyRow> + Send + Unpin {}
impl<R: for<'r> FromRow<'r, AnyRow> + Send + Unpin> Record for R {}

pub(super) fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(super) fn not_found<T>(what: &'static str) -> impl FnOnce(Option<T>) -> Result<T> {
    move |o| o.ok_or(Error::NotFound(what))
}

pub(super) fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("JSON values always serialise")
}

/// A stored JSON object.
pub(super) fn json_object(text: &str) -> Result<crate::model::Json> {
    Ok(serde_json::from_str(text)?)
}

/// A stored text value that names something of the model, which it must be.
pub(super) fn parsed<T>(what: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(value).ok_or_else(|| Error::Corrupt(format!("{what} {value:?}")))
}

/// `QueryBuilder<Any>` writes `?` for every bound value, whichever database runs the query
/// (launchbadge/sqlx#3000), and PostgreSQL takes only `$n`: they are numbered here, as the rest
/// of the Store's SQL is written. The Store's SQL never holds a `?` of its own (every value is
/// bound).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for (i, part) in sql.split('?').enumerate() {
        if i > 0 {
            n += 1;
            out.push_str(&format!("${n}"));
        }
        out.push_str(part);
    }
    out
}

/// Appends `AND <col> IN (...)` for a set of ids.
pub(super) fn push_in<'a>(qb: &mut QueryBuilder<'a, Any>, col: &str, ids: &'a [String]) {
    qb.push(format_args!(" AND {col} IN ("));
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    list.push_unseparated(")");
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

    /// Deletes the rows whose `expires` is before `now` from each of `tables` (the reaper's
    /// scope, one transaction); returns how many.
    pub(super) async fn purge_expired(
        &self,
        tables: &[&str],
        now: crate::time::Micros,
    ) -> Result<u64> {
        self.scoped(Scope::System(CrossAccount::Reaper), async |tx| {
            let mut gone = 0;
            for table in tables {
                let done = sqlx::query(&format!("DELETE FROM {table} WHERE expires < $1"))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                gone += done.rows_affected();
            }
            Ok(gone)
        })
        .await
    }

    pub(super) async fn execute(&self, scope: Scope<'_>, q: Query<'_>) -> Result<AnyQueryResult> {
        self.once(scope, async |c| Ok(q.execute(c).await?)).await
    }

    pub(super) async fn optional<R: Record>(
        &self,
        scope: Scope<'_>,
        q: QueryAs<'_, R>,
    ) -> Result<Option<R>> {
        self.once(scope, async |c| Ok(q.fetch_optional(c).await?))
            .await
    }

    pub(super) async fn all<R: Record>(
        &self,
        scope: Scope<'_>,
        q: QueryAs<'_, R>,
    ) -> Result<Vec<R>> {
        self.once(scope, async |c| Ok(q.fetch_all(c).await?)).await
    }

    /// The row that `sql` finds in one account: `$1` is the account, `$2` the value sought.
    pub(super) async fn in_account<R: Record>(
        &self,
        sql: &str,
        account_id: &str,
        value: &str,
        what: &'static str,
    ) -> Result<R> {
        let q = sqlx::query_as::<_, R>(sql).bind(account_id).bind(value);
        not_found(what)(self.optional(Scope::Account(account_id), q).await?)
    }

    /// Runs a query built piece by piece with `QueryBuilder`, planned as `plan` says.
    pub(super) async fn built<R: Record>(
        &self,
        scope: Scope<'_>,
        qb: QueryBuilder<'_, Any>,
        plan: Plan,
    ) -> Result<Vec<R>> {
        self.once(scope, async |c| built_on(c, qb, plan).await)
            .await
    }
}

/// Runs a query built with `QueryBuilder` on a connection already scoped (inside
/// [`SqlStore::once`] or [`SqlStore::scoped`]), planned as `plan` says.
pub(super) async fn built_on<R: Record>(
    c: &mut AnyConnection,
    mut qb: QueryBuilder<'_, Any>,
    plan: Plan,
) -> Result<Vec<R>> {
    let mut built = qb.build();
    let args = built
        .take_arguments()
        .map_err(sqlx::Error::Encode)?
        .unwrap_or_default();
    let sql = numbered(built.sql());
    let q = sqlx::query_as_with::<_, R, _>(&sql, args).persistent(plan == Plan::Cached);
    Ok(q.fetch_all(c).await?)
}

/// How the database plans a query built with `QueryBuilder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// A prepared statement, kept on the connection and reused.
    Cached,
    /// Planned for its arguments on every call: an unnamed statement, never a cached generic
    /// plan. For the list queries: how selective a filter is decides their plan, and
    /// PostgreSQL's generic plan for a prepared statement (used after a few calls) guesses it —
    /// behind row-level security's own conditions it guessed a nested loop that read 16M index
    /// entries for one page.
    PerCall,
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
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
    }
}
