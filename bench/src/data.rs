//! The synthetic data set, written as set-based SQL over session numbers `n` (0-based), so one
//! statement seeds a million sessions. PostgreSQL and SQLite get the same data; only a few
//! functions differ ([`Dialect`]).
//!
//! Session `n` belongs to account `n % accounts` and was created `n * step` after `t0`, spreading
//! every account's history evenly over a year. 90 % of sessions were activated (5–60 s after
//! creation), so `sort_at` is mostly the activation time; the newest 0.2 % are live (a quarter of
//! them still pending with a code), the rest ended. Custom data, every value a string:
//!
//! | key       | values                        | share of an account's sessions |
//! |-----------|-------------------------------|--------------------------------|
//! | `user_id` | `user-<n>`                    | one session (unique)           |
//! | `team`    | `team-0` … `team-499`         | 0.2 %                          |
//! | `plan`    | 10 plan names ([`PLANS`])     | 10 %                           |
//! | `country` | 30 codes ([`COUNTRIES`])      | 3.3 %                          |
//! | `channel` | 4 channels ([`CHANNELS`])     | 25 %                           |
//!
//! Each key's value is picked by a hash of `n` salted per key ([`hash`]), so keys are
//! independent of each other and of the account. Rows are written exactly as `SqlStore::insert_session` writes them:
//! text ids, custom data as compact JSON with sorted keys (serde_json's `Map`), microseconds.

use tandem_core::store::signature::signature_sql;
use tandem_core::store::Backend;
use tandem_core::time::Micros;

pub const TEAMS: i64 = 500;
pub const PLANS: [&str; 10] = [
    "free",
    "trial",
    "starter",
    "basic",
    "plus",
    "pro",
    "business",
    "team",
    "enterprise",
    "partner",
];
pub const COUNTRIES: [&str; 30] = [
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "PT", "IE", "AT",
    "CH", "CZ", "CA", "MX", "BR", "AR", "JP", "KR", "IN", "SG", "AU", "NZ", "ZA", "AE",
];
pub const CHANNELS: [&str; 4] = ["web", "ios", "android", "desktop"];

/// One live session in this many; the newest ones.
const LIVE_ONE_IN: i64 = 500;
const YEAR_US: i64 = 365 * 24 * 3600 * 1_000_000;
const SECOND_US: i64 = 1_000_000;

/// Hash parameters `(multiplier, offset)`, one pair per independent choice.
type Salt = (i64, i64);
const H_TEAM: Salt = (2_654_435_761, 12_345);
const H_PLAN: Salt = (2_246_822_519, 999_331);
const H_COUNTRY: Salt = (3_266_489_917, 77_777);
const H_CHANNEL: Salt = (668_265_263, 4_242);
const H_ACTIVATED: Salt = (374_761_393, 31_337);
const H_PENDING: Salt = (3_301_793_941, 271_828);
const H_WAIT: Salt = (1_181_783_497, 314_159);
const H_LENGTH: Salt = (2_891_336_453, 161_803);
const H_ID: Salt = (1_597_334_677, 141_421);
/// The Mersenne prime 2^31 - 1: squares of residues still fit in 64 bits.
const PRIME: i64 = 2_147_483_647;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// A FROM item yielding `n` = 0 … count-1 as 64-bit integers.
    fn series(self, count: i64) -> String {
        match self {
            Dialect::Postgres => format!("generate_series(0::bigint, {}) AS s(n)", count - 1),
            Dialect::Sqlite => format!(
                "(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {}) \
                 SELECT n FROM c) AS s",
                count - 1
            ),
        }
    }

    /// `expr` in decimal, zero-padded to `width` digits.
    fn decimal(self, expr: &str, width: usize) -> String {
        match self {
            Dialect::Postgres => format!("lpad(({expr})::text, {width}, '0')"),
            Dialect::Sqlite => format!("printf('%0{width}d', {expr})"),
        }
    }

    /// `expr` in lower-case hex, zero-padded to `width` digits.
    fn hex(self, expr: &str, width: usize) -> String {
        match self {
            Dialect::Postgres => format!("lpad(to_hex({expr}), {width}, '0')"),
            Dialect::Sqlite => format!("printf('%0{width}x', {expr})"),
        }
    }

    /// Joined to the sessions (`s`): one filter row per custom data pair, as
    /// `write_session_index` derives them.
    fn filter_pairs(self) -> &'static str {
        match self {
            Dialect::Postgres => " CROSS JOIN LATERAL jsonb_each_text(s.custom_data::jsonb) AS j",
            Dialect::Sqlite => ", json_each(s.custom_data) AS j",
        }
    }
}

/// How many sessions, over how many accounts, from when.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub sessions: i64,
    pub accounts: i64,
    pub t0: Micros,
}

/// The custom data keys every seeded session carries.
pub const KEYS: i64 = 5;

/// The id of bench account `a`, shaped like a UUID.
pub fn account_id(a: i64) -> String {
    format!("00000000-0000-4000-8000-{a:012}")
}

/// The name bench accounts carry; it versions the data layout, so an old seed is not reused.
pub fn account_name(a: i64) -> String {
    format!("bench-v2 {a}")
}

pub const ACCOUNT_NAME_PATTERN: &str = "bench-v2 %";

/// A pseudo-random number in 0..m from `n`: `x = (n * a + b) mod p`, squared mod p. The square
/// keeps different salts from being linear images of each other, so keys come out independent.
fn hash((mult, add): Salt, m: i64) -> String {
    let x = format!("((n * {mult} + {add}) % {PRIME})");
    format!("(({x} * {x}) % {PRIME} / 64 % {m})")
}

/// `CASE <hash> WHEN 0 THEN 'a' …`: one of `values`, picked by a hash of `n`.
fn pick(salt: Salt, values: &[&str]) -> String {
    let arms: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" WHEN {i} THEN '{v}'"))
        .collect();
    format!("CASE {}{arms} END", hash(salt, values.len() as i64))
}

impl Layout {
    pub fn per_account(&self) -> i64 {
        self.sessions / self.accounts
    }

    /// `INSERT … SELECT` of every session.
    pub fn sessions_sql(&self, d: Dialect) -> String {
        let step = YEAR_US / self.sessions;
        let live_from = self.sessions - self.sessions / LIVE_ONE_IN;
        let custom_data = format!(
            "'{{\"channel\":\"' || {} || '\",\"country\":\"' || {} || '\",\"plan\":\"' || {} \
             || '\",\"team\":\"team-' || {} || '\",\"user_id\":\"user-' || n || '\"}}'",
            pick(H_CHANNEL, &CHANNELS),
            pick(H_COUNTRY, &COUNTRIES),
            pick(H_PLAN, &PLANS),
            hash(H_TEAM, TEAMS),
        );
        let id = format!(
            "{} || '-' || {} || '-4000-8000-' || {}",
            d.hex(&hash(H_ID, 1 << 24), 8),
            d.hex(&hash(H_PLAN, 1 << 16), 4),
            d.hex("n", 12)
        );
        // Layer by layer: g0 decides the lifecycle, g1 adds the activation, g2 the end.
        let g0 = format!(
            "SELECT n, {t0} + n * {step} AS created, \
                    CASE WHEN n >= {live_from} THEN 1 ELSE 0 END AS live, \
                    CASE WHEN n >= {live_from} AND {pend} = 0 THEN 1 ELSE 0 END AS pend, \
                    CASE WHEN n >= {live_from} THEN CASE WHEN {pend} = 0 THEN 0 ELSE 1 END \
                         WHEN {act} = 0 THEN 0 ELSE 1 END AS act \
             FROM {series}",
            t0 = self.t0,
            pend = hash(H_PENDING, 4),
            act = hash(H_ACTIVATED, 10),
            series = d.series(self.sessions),
        );
        let g1 = format!(
            "SELECT g0.*, CASE WHEN act = 1 THEN created + (5 + {wait}) * {SECOND_US} END \
             AS activated FROM ({g0}) AS g0",
            wait = hash(H_WAIT, 55)
        );
        let g2 = format!(
            "SELECT g1.*, CASE WHEN live = 0 THEN COALESCE(activated, created) \
             + (60 + {length}) * {SECOND_US} END AS ended FROM ({g1}) AS g1",
            length = hash(H_LENGTH, 3600)
        );
        format!(
            "INSERT INTO sessions (id, account_id, state, code, code_expires, access_token, \
             control_token, custom_data, device_id, device, agents, full_device, remote_control, \
             ended_reason, region, created, updated, activated, ended, last_activity, sort_at, \
             version) \
             SELECT {id}, '00000000-0000-4000-8000-' || {account}, \
                    CASE WHEN live = 0 THEN 'ended' WHEN pend = 1 THEN 'pending' ELSE 'active' END, \
                    CASE WHEN pend = 1 THEN {code} END, \
                    CASE WHEN pend = 1 THEN created + 1200 * {SECOND_US} END, \
                    CASE WHEN live = 1 THEN {token} END, \
                    'ctl-' || {id}, \
                    {custom_data}, \
                    'device-' || (n / 3), \
                    '{{\"browser\":\"' || {browser} || '\",\"os\":\"' || {os} || '\"}}', \
                    '[]', 'off', 'off', \
                    CASE WHEN live = 1 THEN NULL WHEN act = 1 THEN 'agent_ended' \
                         ELSE 'pending_timeout' END, \
                    {region}, \
                    created, COALESCE(ended, activated, created), activated, ended, \
                    COALESCE(ended, activated, created), COALESCE(activated, created), 0 \
             FROM ({g2}) AS g2",
            account = d.decimal(&format!("n % {}", self.accounts), 12),
            code = d.decimal("n % 1000000", 6),
            token = d.decimal("n % 1000000000", 9),
            browser = pick(H_WAIT, &["Chrome", "Safari", "Firefox", "Edge"]),
            os = pick(H_LENGTH, &["Windows", "macOS", "iOS", "Android", "Linux"]),
            region = pick(H_ACTIVATED, &["eu", "us", "ap"]),
        )
    }

    /// `INSERT … SELECT` of every session's filter rows, each with the session's filter
    /// signature computed as the store computes it (tandem_core::store::signature), once per
    /// session: the fence keeps the planner from folding the per-session subquery into the join,
    /// where it would run once per filter row.
    pub fn filters_sql(&self, d: Dialect) -> String {
        let (backend, pairs, fence) = match d {
            Dialect::Postgres => (
                Backend::Postgres,
                "jsonb_each_text(custom_data::jsonb)",
                "OFFSET 0",
            ),
            Dialect::Sqlite => (Backend::Sqlite, "json_each(custom_data)", "LIMIT -1"),
        };
        format!(
            "INSERT INTO session_filters (session_id, key, value, account_id, sort_at, sig) \
             SELECT s.id, j.key, j.value, s.account_id, s.sort_at, s.sig \
             FROM (SELECT id, account_id, sort_at, custom_data, \
                          (SELECT {} FROM {pairs} AS f) AS sig \
                   FROM sessions {fence}) AS s{}",
            signature_sql(backend, "f.key", "f.value"),
            d.filter_pairs()
        )
    }
}
