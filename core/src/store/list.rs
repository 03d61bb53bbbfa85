//! Listing sessions a page at a time: the filter gauge, the choice of the driving index, and the
//! query that walks it in page order.

use sqlx::Row;

use super::builder::{push_in, Sql};
use super::rows;
use super::sql::{Scope, SqlStore};
use crate::model::Session;
use crate::query::SessionFilter;
use crate::time::Micros;
use crate::Result;

impl SqlStore {
    /// How common each `key=value` filter is where the page starts, in one round trip: its
    /// newest `cap` entries within the page's bounds, counted, with the `sort_at` of the last
    /// one counted (how far back `cap` entries reach). Each is an index-only scan of at most
    /// `cap` entries of session_filters_page.
    async fn filter_count(
        &self,
        account_id: &str,
        filters: &[&(String, String)],
        page: &crate::query::Page,
        cap: i64,
    ) -> Result<Vec<(i64, Option<Micros>)>> {
        let mut sql = Sql::new("SELECT *");
        for (i, (key, value)) in filters.iter().enumerate() {
            sql.push(if i == 0 { " FROM " } else { " CROSS JOIN " })
                .push(
                    "(SELECT COUNT(*) AS n, MIN(t.sort_at) AS reach FROM (SELECT sort_at \
                     FROM session_filters WHERE account_id = ",
                )
                .text(account_id)
                .push(" AND key = ")
                .text(key)
                .push(" AND value = ")
                .text(value);
            if let Some(before) = page.before {
                sql.push(" AND sort_at < ").int(before);
            }
            if let Some(after) = page.after {
                sql.push(" AND sort_at > ").int(after);
            }
            sql.push(" ORDER BY sort_at DESC LIMIT ")
                .int(cap)
                .push(&format!(") t) g{i}"));
        }
        sql.planned_per_call();
        let row = self.one(Scope::Account(account_id), &sql).await?;
        let row = row.ok_or(crate::Error::NotFound("filter counts"))?;
        (0..filters.len())
            .map(|i| Ok((row.try_get(2 * i)?, row.try_get(2 * i + 1)?)))
            .collect()
    }

    pub(super) async fn session_page(
        &self,
        account_id: &str,
        f: &SessionFilter,
    ) -> Result<Vec<Session>> {
        /// Filter entries counted to rank a filter; a driver with fewer is rare.
        const GAUGE: i64 = 1000;
        /// `AND <col> = <state>` or `AND <col> IN (...)`.
        fn push_states(sql: &mut Sql, col: &str, states: &[crate::model::SessionState]) {
            match states {
                [] => {}
                [one] => {
                    sql.push(&format!(" AND {col} = ")).text(one.as_str());
                }
                many => {
                    let states: Vec<String> = many.iter().map(|s| s.as_str().to_owned()).collect();
                    push_in(sql, col, &states);
                }
            }
        }
        /// The strict `before`/`after` bounds, newest first, and the limit.
        fn push_page(sql: &mut Sql, sort: &str, key: &str, page: &crate::query::Page) {
            if let Some(before) = page.before {
                sql.push(&format!(" AND {sort} < ")).int(before);
            }
            if let Some(after) = page.after {
                sql.push(&format!(" AND {sort} > ")).int(after);
            }
            sql.push(&format!(" ORDER BY {sort} DESC, {key} DESC LIMIT "))
                .int(i64::from(page.limit));
        }

        if f.ids.as_ref().is_some_and(|ids| ids.is_empty()) {
            return Ok(vec![]);
        }
        // With several filters, gauge each where the page starts and put the most selective
        // first: it drives the scan, the others are checked in order. Fewer matches ranks first;
        // among filters with at least GAUGE, the sparser one (its GAUGE newest matches reach
        // further back) does.
        let mut filters: Vec<&(String, String)> = f.filters.iter().collect();
        let mut rare_driver = false;
        if filters.len() > 1 {
            let gauges = self
                .filter_count(account_id, &filters, &f.page, GAUGE)
                .await?;
            if gauges.iter().any(|(n, _)| *n == 0) {
                return Ok(vec![]);
            }
            let mut ranked: Vec<_> = gauges.into_iter().zip(filters).collect();
            ranked.sort_by_key(|(gauge, _)| *gauge);
            rare_driver = ranked[0].0 .0 < GAUGE;
            filters = ranked.into_iter().map(|(_, kv)| kv).collect();
        }

        /// The index walked in page order to find the page.
        enum Driver<'a> {
            Filter(&'a str, &'a str),
            Agent(&'a str),
        }
        let mut sql = Sql::new(&format!("SELECT {} FROM ", rows::SESSION_COLUMNS));
        let (driver, others) = match (filters.split_first(), &f.agent_id) {
            (Some(((k, v), others)), _) => (Driver::Filter(k, v), others),
            (None, Some(agent)) => (Driver::Agent(agent), &[][..]),
            (None, None) => {
                // Straight from sessions_page (or sessions_state_page), in page order.
                sql.push("sessions s WHERE s.account_id = ")
                    .text(account_id);
                push_states(&mut sql, "s.state", &f.states);
                if let Some(ids) = &f.ids {
                    push_in(&mut sql, "s.id", ids);
                }
                push_page(&mut sql, "s.sort_at", "s.id", &f.page);
                return self
                    .all(Scope::Account(account_id), &sql)
                    .await?
                    .iter()
                    .map(rows::session)
                    .collect();
            }
        };

        // Otherwise find the page's ids first, walking the driver's index entries in page order
        // and checking each against other index entries, then read only the page's sessions.
        // A page costs about `limit / selectivity` index entries.
        let table = match driver {
            Driver::Filter(..) => "session_filters",
            Driver::Agent(_) => "session_agents",
        };
        sql.push(&format!("(SELECT d.session_id, d.sort_at FROM {table} d"));
        if !f.states.is_empty() {
            sql.push(" JOIN sessions x ON x.id = d.session_id");
        }
        sql.push(" WHERE d.account_id = ").text(account_id);
        match driver {
            Driver::Filter(k, v) => sql
                .push(" AND d.key = ")
                .text(k)
                .push(" AND d.value = ")
                .text(v),
            Driver::Agent(agent) => sql.push(" AND d.user_id = ").text(agent),
        };
        for (k, v) in others {
            // A session's filter rows all carry its account and sort_at (write_session_index
            // keeps them in step), so each check is an exact, index-only probe of
            // session_filters_page, which PostgreSQL can also merge with the driver in page
            // order. Behind a rare driver, OFFSET 0 keeps the check a per-entry probe (a plan
            // fence): merging would read the common filter's entries as deep as the driver's.
            sql.push(
                " AND EXISTS (SELECT 1 FROM session_filters f WHERE f.account_id = d.account_id \
                 AND f.key = ",
            )
            .text(k)
            .push(" AND f.value = ")
            .text(v)
            .push(" AND f.sort_at = d.sort_at AND f.session_id = d.session_id");
            sql.push(if rare_driver {
                " LIMIT 1 OFFSET 0)"
            } else {
                ")"
            });
        }
        if let (Some(agent), Driver::Filter(..)) = (&f.agent_id, &driver) {
            sql.push(
                " AND EXISTS (SELECT 1 FROM session_agents a WHERE a.session_id = d.session_id \
                 AND a.user_id = ",
            )
            .text(agent)
            .push(")");
        }
        push_states(&mut sql, "x.state", &f.states);
        if let Some(ids) = &f.ids {
            push_in(&mut sql, "d.session_id", ids);
        }
        push_page(&mut sql, "d.sort_at", "d.session_id", &f.page);
        sql.push(") p JOIN sessions s ON s.id = p.session_id WHERE s.account_id = ")
            .text(account_id)
            .push(" ORDER BY p.sort_at DESC, p.session_id DESC")
            .planned_per_call();
        self.all(Scope::Account(account_id), &sql)
            .await?
            .iter()
            .map(rows::session)
            .collect()
    }
}
