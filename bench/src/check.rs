//! A timing is only worth something if the page is right: before timing a case, its first
//! request is compared with a plain query (an INTERSECT of the filters' rows, sorted) that
//! shares none of `list_sessions`' planning.

use anyhow::{ensure, Context, Result};
use tandem_core::query::SessionFilter;
use tandem_core::store::{SessionStore, SqlStore};

/// The ids of the page `filter` should return, newest first.
async fn expected(store: &SqlStore, account: &str, filter: &SessionFilter) -> Result<Vec<String>> {
    let mut sql = String::from("SELECT s.id FROM sessions s WHERE s.account_id = $1");
    let mut args = vec![account];
    if !filter.filters.is_empty() {
        let sets: Vec<String> = filter
            .filters
            .iter()
            .map(|(key, value)| {
                args.push(key);
                args.push(value);
                format!(
                    "SELECT session_id FROM session_filters WHERE account_id = $1 \
                     AND key = ${} AND value = ${}",
                    args.len() - 1,
                    args.len()
                )
            })
            .collect();
        sql.push_str(&format!(" AND s.id IN ({})", sets.join(" INTERSECT ")));
    }
    if let Some(before) = filter.page.before {
        sql.push_str(&format!(" AND s.sort_at < {before}"));
    }
    if let Some(after) = filter.page.after {
        sql.push_str(&format!(" AND s.sort_at > {after}"));
    }
    sql.push_str(&format!(
        " ORDER BY s.sort_at DESC, s.id DESC LIMIT {}",
        filter.page.limit
    ));
    let mut query = sqlx::query_scalar(&sql);
    for arg in args {
        query = query.bind(arg);
    }
    query
        .fetch_all(store.pool())
        .await
        .context("running the reference query")
}

/// Fails unless `list_sessions` returns exactly the reference page.
pub async fn same_page(
    store: &SqlStore,
    case: &str,
    account: &str,
    filter: &SessionFilter,
) -> Result<()> {
    let want = expected(store, account, filter).await?;
    let got: Vec<String> = store
        .list_sessions(account, filter)
        .await
        .with_context(|| format!("listing {case}"))?
        .into_iter()
        .map(|s| s.id)
        .collect();
    ensure!(
        got == want,
        "{case}: list_sessions returned {} sessions, the reference query {} (or a different order)",
        got.len(),
        want.len()
    );
    Ok(())
}
