//! The list pages measured, and the arguments each iteration passes: the account and the filter
//! values rotate so that no two consecutive calls ask for the same page.

use anyhow::{Context, Result};
use tandem_core::query::{Page, SessionFilter};
use tandem_core::store::SqlStore;
use tandem_core::time::Micros;

use crate::data::{self, Layout, CHANNELS, COUNTRIES, PLANS, TEAMS};

/// How far into an account's history deep pages start, in thousandths of its sessions.
const DEEP_PER_MILLE: [i64; 5] = [880, 890, 900, 910, 920];

#[derive(Debug, Clone, Copy)]
pub enum Case {
    FirstPage,
    Unique,
    Team,
    Plan,
    TwoKeys,
    ThreeKeys,
    RareAndCommon,
    UniqueAndCommon,
    Nothing,
    DeepPage,
    DeepFiltered,
}

impl Case {
    pub const ALL: [Case; 11] = [
        Case::FirstPage,
        Case::Unique,
        Case::Team,
        Case::Plan,
        Case::TwoKeys,
        Case::ThreeKeys,
        Case::RareAndCommon,
        Case::UniqueAndCommon,
        Case::Nothing,
        Case::DeepPage,
        Case::DeepFiltered,
    ];

    /// The case's key in target/bench/list.json.
    pub fn key(self) -> &'static str {
        match self {
            Case::FirstPage => "first_page",
            Case::Unique => "unique",
            Case::Team => "team",
            Case::Plan => "plan",
            Case::TwoKeys => "two_keys",
            Case::ThreeKeys => "three_keys",
            Case::RareAndCommon => "team_channel",
            Case::UniqueAndCommon => "user_plan",
            Case::Nothing => "nothing",
            Case::DeepPage => "deep_page",
            Case::DeepFiltered => "deep_plan",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Case::FirstPage => "no filter, first page",
            Case::Unique => "unique key (user_id)",
            Case::Team => "0.2% filter (team)",
            Case::Plan => "10% filter (plan)",
            Case::TwoKeys => "two keys (plan+country)",
            Case::ThreeKeys => "three keys (plan+country+channel)",
            Case::RareAndCommon => "extra: team+channel",
            Case::UniqueAndCommon => "extra: user_id+plan",
            Case::Nothing => "filter matching nothing",
            Case::DeepPage => "deep page (90%), no filter",
            Case::DeepFiltered => "deep page (90%), plan filter",
        }
    }
}

/// Everything an iteration needs to build its request.
pub struct Workload {
    layout: Layout,
    /// Per account, `before` cursors about 90 % of the way into its history.
    deep: Vec<Vec<Micros>>,
}

/// A number in 0..m that jumps around as `i` counts up.
fn spread(i: usize, salt: u64, m: usize) -> usize {
    let x = (i as u64 + salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 33) % m as u64) as usize
}

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

impl Workload {
    /// Looks up the deep-page cursors (set-up; not measured).
    pub async fn new(store: &SqlStore, layout: Layout) -> Result<Self> {
        let mut deep = vec![];
        for a in 0..layout.accounts {
            let mut cursors = vec![];
            for per_mille in DEEP_PER_MILLE {
                let at: Micros = sqlx::query_scalar(
                    "SELECT sort_at FROM sessions WHERE account_id = $1 \
                     ORDER BY sort_at DESC, id DESC LIMIT 1 OFFSET $2",
                )
                .bind(data::account_id(a))
                .bind(layout.per_account() * per_mille / 1000)
                .fetch_one(store.pool())
                .await
                .context("finding a deep page cursor")?;
                cursors.push(at);
            }
            deep.push(cursors);
        }
        Ok(Workload { layout, deep })
    }

    /// The account and filter of iteration `i` of `case`.
    pub fn request(&self, case: Case, i: usize) -> (String, SessionFilter) {
        let accounts = self.layout.accounts as usize;
        let a = i % accounts;
        let plan = || pair("plan", PLANS[spread(i, 1, PLANS.len())]);
        let country = || pair("country", COUNTRIES[spread(i, 2, COUNTRIES.len())]);
        let channel = || pair("channel", CHANNELS[spread(i, 5, CHANNELS.len())]);
        let team = || pair("team", format!("team-{}", spread(i, 4, TEAMS as usize)));
        let user = || {
            let k = spread(i, 3, self.layout.per_account() as usize);
            pair("user_id", format!("user-{}", k * accounts + a))
        };
        let mut filters = match case {
            Case::FirstPage | Case::DeepPage => vec![],
            Case::Unique => vec![user()],
            Case::Team => vec![team()],
            Case::Plan | Case::DeepFiltered => vec![plan()],
            Case::TwoKeys => vec![plan(), country()],
            Case::ThreeKeys => vec![plan(), country(), channel()],
            Case::RareAndCommon => vec![team(), channel()],
            Case::UniqueAndCommon => vec![user(), plan()],
            Case::Nothing => vec![pair("team", format!("team-none-{i}"))],
        };
        // Callers name filters in any order; the store must not depend on it.
        let turn = spread(i, 7, filters.len().max(1));
        filters.rotate_left(turn);
        let before = matches!(case, Case::DeepPage | Case::DeepFiltered).then(|| {
            let cursors = &self.deep[a];
            cursors[spread(i, 6, cursors.len())]
        });
        let filter = SessionFilter {
            filters,
            states: vec![],
            agent_id: None,
            ids: None,
            page: Page {
                limit: 50,
                before,
                after: None,
            },
        };
        (data::account_id(a as i64), filter)
    }
}
