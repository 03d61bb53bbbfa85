//! Listing sessions a page at a time: the filter gauge, the choice of the driving index, and the
//! query that walks it in page order.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, FromRow, QueryBuilder, Row};

use super::sessions::{SessionRow, SESSION_COLUMNS};
use super::signature;
use super::sql::{built_on, push_in, Plan, Scope, SqlStore};
use crate::model::{Session, SessionState};
use crate::query::{Page, SessionFilter};
use crate::time::Micros;
use crate::Result;

/// The gauge of each filter, from the one row of [`SqlStore::filter_count`]: its count and
/// reach, column after column.
struct Gauges(Vec<(i64, Option<Micros>)>);

impl FromRow<'_, AnyRow> for Gauges {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        (0..row.len() / 2)
            .map(|i| Ok((row.try_get(2 * i)?, row.try_get(2 * i + 1)?)))
            .collect::<sqlx::Result<_>>()
            .map(Gauges)
    }
}

impl SqlStore {
    /// How common each `key=value` filter is where the page starts, in one round trip: its
    /// newest `cap` entries within the page's bounds, counted, with the `sort_at` of the last
    /// one counted (how far back `cap` entries reach). Each is an index-only scan of at most
    /// `cap` entries of session_filters_page.
    async fn filter_count(
        c: &mut AnyConnection,
        account_id: &str,
        filters: &[&(String, String)],
        page: &Page,
        cap: i64,
    ) -> Result<Vec<(i64, Option<Micros>)>> {
        let mut qb = QueryBuilder::new("SELECT *");
        for (i, (key, value)) in filters.iter().enumerate() {
            qb.push(if i == 0 { " FROM " } else { " CROSS JOIN " })
                .push(
                    "(SELECT COUNT(*) AS n, MIN(t.sort_at) AS reach FROM (SELECT sort_at \
                     FROM session_filters WHERE account_id = ",
                )
                .push_bind(account_id)
                .push(" AND key = ")
                .push_bind(key.as_str())
                .push(" AND value = ")
                .push_bind(value.as_str());
            if let Some(before) = page.before {
                qb.push(" AND sort_at < ").push_bind(before);
            }
            if let Some(after) = page.after {
                qb.push(" AND sort_at > ").push_bind(after);
            }
            qb.push(" ORDER BY sort_at DESC LIMIT ")
                .push_bind(cap)
                .push(format_args!(") t) g{i}"));
        }
        let rows: Vec<Gauges> = built_on(c, qb, Plan::PerCall).await?;
        let row = rows.into_iter().next();
        Ok(row.ok_or(crate::Error::NotFound("filter counts"))?.0)
    }

    pub(super) async fn session_page(
        &self,
        account_id: &str,
        f: &SessionFilter,
    ) -> Result<Vec<Session>> {
        /// Filter entries counted to rank a filter; a driver with fewer is rare.
        const GAUGE: i64 = 1000;
        /// `AND <col> = <state>` or `AND <col> IN (...)`.
        fn push_states(qb: &mut QueryBuilder<'_, Any>, col: &str, states: &[SessionState]) {
            match states {
                [] => {}
                [one] => {
                    qb.push(format_args!(" AND {col} = "))
                        .push_bind(one.as_str());
                }
                many => {
                    qb.push(format_args!(" AND {col} IN ("));
                    let mut list = qb.separated(", ");
                    for state in many {
                        list.push_bind(state.as_str());
                    }
                    list.push_unseparated(")");
                }
            }
        }
        /// The strict `before`/`after` bounds, newest first, and the limit.
        fn push_page(qb: &mut QueryBuilder<'_, Any>, sort: &str, key: &str, page: &Page) {
            if let Some(before) = page.before {
                qb.push(format_args!(" AND {sort} < ")).push_bind(before);
            }
            if let Some(after) = page.after {
                qb.push(format_args!(" AND {sort} > ")).push_bind(after);
            }
            qb.push(format_args!(" ORDER BY {sort} DESC, {key} DESC LIMIT "))
                .push_bind(i64::from(page.limit));
        }

        if f.ids.as_ref().is_some_and(|ids| ids.is_empty()) {
            return Ok(vec![]);
        }
        // The gauge and the page run in one transaction: one scope, one set of round trips.
        self.once(Scope::Account(account_id), async |c| {
            // With several filters, gauge each where the page starts and put the most selective
            // first: it drives the scan, the others are checked in order. Fewer matches ranks
            // first; among filters with at least GAUGE, the sparser one (its GAUGE newest
            // matches reach further back) does.
            let mut filters: Vec<&(String, String)> = f.filters.iter().collect();
            if filters.len() > 1 {
                let gauges = Self::filter_count(c, account_id, &filters, &f.page, GAUGE).await?;
                if gauges.iter().any(|(n, _)| *n == 0) {
                    return Ok(vec![]);
                }
                let mut ranked: Vec<_> = gauges.into_iter().zip(filters).collect();
                ranked.sort_by_key(|(gauge, _)| *gauge);
                filters = ranked.into_iter().map(|(_, kv)| kv).collect();
            }

            /// The index walked in page order to find the page.
            enum Driver<'a> {
                Filter(&'a str, &'a str),
                Agent(&'a str),
            }
            let mut qb = QueryBuilder::new(format!("SELECT {SESSION_COLUMNS} FROM "));
            let (driver, others) = match (filters.split_first(), &f.agent_id) {
                (Some(((k, v), others)), _) => (Driver::Filter(k, v), others),
                (None, Some(agent)) => (Driver::Agent(agent), &[][..]),
                (None, None) => {
                    // Straight from sessions_page (or sessions_state_page), in page order.
                    qb.push("sessions s WHERE s.account_id = ")
                        .push_bind(account_id);
                    push_states(&mut qb, "s.state", &f.states);
                    if let Some(ids) = &f.ids {
                        push_in(&mut qb, "s.id", ids);
                    }
                    push_page(&mut qb, "s.sort_at", "s.id", &f.page);
                    // No filter to be selective about: a prepared plan serves.
                    return sessions_on(c, qb, Plan::Cached).await;
                }
            };

            // Otherwise find the page's ids first, walking the driver's index entries in page order
            // and checking each against other index entries, then read only the page's sessions.
            // A page costs about `limit / selectivity` index entries.
            let table = match driver {
                Driver::Filter(..) => "session_filters",
                Driver::Agent(_) => "session_agents",
            };
            qb.push(format_args!(
                "(SELECT d.session_id, d.sort_at FROM {table} d"
            ));
            if !f.states.is_empty() {
                qb.push(" JOIN sessions x ON x.id = d.session_id");
            }
            qb.push(" WHERE d.account_id = ").push_bind(account_id);
            match driver {
                Driver::Filter(k, v) => qb
                    .push(" AND d.key = ")
                    .push_bind(k)
                    .push(" AND d.value = ")
                    .push_bind(v),
                Driver::Agent(agent) => qb.push(" AND d.user_id = ").push_bind(agent),
            };
            if !others.is_empty() {
                // The driver's rows carry their session's filter signature (store::signature):
                // one that lacks a bit of the other filters cannot match them and is passed over
                // in the index itself; 0 (not known) is probed.
                let mask = signature::signature(others.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                qb.push(" AND (d.sig = 0 OR (d.sig & ")
                    .push_bind(mask)
                    .push(") = ")
                    .push_bind(mask)
                    .push(")");
            }
            for (k, v) in others {
                // A session's filter rows all carry its account and sort_at (write_session_index
                // keeps them in step), so each check is an exact, index-only probe of
                // session_filters_page. OFFSET 0 keeps it a per-entry probe (a plan fence): the
                // signature leaves few entries to probe, where merging would read the other
                // filter's entries as deep as the driver's.
                qb.push(
                    " AND EXISTS (SELECT 1 FROM session_filters f WHERE f.account_id = d.account_id \
                     AND f.key = ",
                )
                .push_bind(k.as_str())
                .push(" AND f.value = ")
                .push_bind(v.as_str())
                .push(" AND f.sort_at = d.sort_at AND f.session_id = d.session_id LIMIT 1 OFFSET 0)");
            }
            if let (Some(agent), Driver::Filter(..)) = (&f.agent_id, &driver) {
                qb.push(
                    " AND EXISTS (SELECT 1 FROM session_agents a WHERE a.session_id = d.session_id \
                     AND a.user_id = ",
                )
                .push_bind(agent.as_str())
                .push(")");
            }
            push_states(&mut qb, "x.state", &f.states);
            if let Some(ids) = &f.ids {
                push_in(&mut qb, "d.session_id", ids);
            }
            push_page(&mut qb, "d.sort_at", "d.session_id", &f.page);
            qb.push(") p JOIN sessions s ON s.id = p.session_id WHERE s.account_id = ")
                .push_bind(account_id)
                .push(" ORDER BY p.sort_at DESC, p.session_id DESC");
            sessions_on(c, qb, Plan::PerCall).await
        })
        .await
    }
}

/// The sessions a built query reads, on a connection already scoped.
async fn sessions_on(
    c: &mut AnyConnection,
    qb: QueryBuilder<'_, Any>,
    plan: Plan,
) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = built_on(c, qb, plan).await?;
    rows.into_iter().map(Session::try_from).collect()
}
