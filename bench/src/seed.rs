//! Seeding shared by both backends: the accounts, then sessions and their filter rows with one
//! set-based statement each (see [`crate::data`]), then a check that the rows read back.

use anyhow::{ensure, Context, Result};
use sqlx::AnyConnection;
use tandem_core::model::AccountSettings;
use tandem_core::query::{Page, SessionFilter};
use tandem_core::store::{SessionStore, SqlStore};

use crate::data::{self, Dialect, Layout};

/// Writes accounts, sessions and filter rows on `conn`; the caller owns the transaction.
pub async fn write(conn: &mut AnyConnection, layout: &Layout, dialect: Dialect) -> Result<()> {
    let settings = serde_json::to_string(&AccountSettings::default())?;
    for a in 0..layout.accounts {
        sqlx::query(
            "INSERT INTO accounts (id, name, license_key, settings, created) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(data::account_id(a))
        .bind(data::account_name(a))
        .bind(format!("benchlicense{a:012}"))
        .bind(&settings)
        .bind(layout.t0)
        .execute(&mut *conn)
        .await
        .context("inserting the bench accounts")?;
    }
    sqlx::raw_sql(&layout.sessions_sql(dialect))
        .execute(&mut *conn)
        .await
        .context("inserting the sessions")?;
    sqlx::raw_sql(&layout.filters_sql(dialect))
        .execute(&mut *conn)
        .await
        .context("inserting the session filters")?;
    Ok(())
}

/// Whether the store already holds exactly this layout's data.
pub async fn holds(store: &SqlStore, layout: &Layout) -> Result<bool> {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(store.pool())
            .await
            .with_context(|| format!("counting: {sql}"))
    };
    let accounts = count("SELECT COUNT(*) FROM accounts").await?;
    let bench_accounts = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT COUNT(*) FROM accounts WHERE name LIKE '{}'",
        data::ACCOUNT_NAME_PATTERN
    ))
    .fetch_one(store.pool())
    .await
    .context("counting the bench accounts")?;
    let sessions = count("SELECT COUNT(*) FROM sessions").await?;
    let filters = count("SELECT COUNT(*) FROM session_filters").await?;
    Ok(accounts == layout.accounts
        && bench_accounts == layout.accounts
        && sessions == layout.sessions
        && filters == layout.sessions * data::KEYS)
}

/// Whether the store holds no sessions or accounts at all.
pub async fn is_empty(store: &SqlStore) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM sessions)",
    )
    .fetch_one(store.pool())
    .await
    .context("checking whether the database is empty")?;
    Ok(n == 0)
}

/// Reads a page back through the store and checks the stored JSON is byte for byte what
/// serde_json writes, so the seeded rows are the rows the server would have written.
pub async fn verify(store: &SqlStore) -> Result<()> {
    let filter = SessionFilter {
        filters: vec![],
        states: vec![],
        agent_id: None,
        ids: None,
        page: Page {
            limit: 50,
            before: None,
            after: None,
        },
    };
    let page = store
        .list_sessions(&data::account_id(0), &filter)
        .await
        .context("listing seeded sessions")?;
    ensure!(page.len() == 50, "expected a full page of seeded sessions");
    for s in &page {
        let stored: String = sqlx::query_scalar("SELECT custom_data FROM sessions WHERE id = $1")
            .bind(&s.id)
            .fetch_one(store.pool())
            .await
            .context("reading seeded custom data")?;
        ensure!(
            stored == serde_json::to_string(&s.custom_data)?,
            "seeded custom_data {stored} is not in serde_json's form"
        );
    }
    Ok(())
}
