//! Storage: one trait, two real backends chosen by the database URL.
//!
//! - SQLite (`sqlite://path`, the embedded default) — [`sqlite`]
//! - PostgreSQL (`postgres://…`) — [`postgres`]
//!
//! Both are driven through sqlx's `Any` driver with one set of SQL in [`sql`] (portable SQL with
//! `$n` placeholders, integers, text); each backend owns its connection set-up, its migrations
//! and the reaper lease. Every method takes the account id, so nothing crosses tenants.

mod builder;
mod list;
mod postgres;
mod rows;
mod sql;
mod sqlite;

use async_trait::async_trait;

use crate::model::{Account, AccountKey, AccountSettings, Device, Role, Session, User};
use crate::policy::Policy;
use crate::query::{DeviceFilter, SessionFilter};
use crate::time::Micros;
use crate::Result;

pub use sql::SqlStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A bearer token for one agent on one session's stream socket.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamToken {
    pub token_hash: String,
    pub account_id: String,
    pub session_id: String,
    pub user_id: String,
    pub expires: Micros,
}

/// An agent's socket credential from `/users/me`: bound to the user and to the policy of the JWT
/// that asked for it, kept as a hash only, good until `expires`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationToken {
    pub token_hash: String,
    pub account_id: String,
    pub user_id: String,
    pub policy: Option<Policy>,
    pub expires: Micros,
}

/// Something that happened in a session, kept for its history.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    pub account_id: String,
    pub session_id: String,
    pub at: Micros,
    /// `page` (`{url, title}`), `agent_joined` / `agent_left` (`{user_id}`).
    pub kind: String,
    pub data: crate::model::Json,
}

/// Proof that this process is the one replica reaping idle sessions. Dropping it gives the role up.
pub struct ReaperLease(pub(crate) Option<sqlx::AnyConnection>);

/// The outcome of an optimistic write.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    Yes,
    /// Someone else changed the row first; reload and try again.
    Stale,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;

    async fn create_account(&self, name: &str, settings: &AccountSettings) -> Result<Account>;
    async fn account(&self, id: &str) -> Result<Account>;
    async fn account_by_license(&self, license_key: &str) -> Result<Account>;
    async fn accounts(&self) -> Result<Vec<Account>>;
    async fn update_account_settings(
        &self,
        id: &str,
        settings: &AccountSettings,
    ) -> Result<Account>;
    async fn add_key(&self, key: &AccountKey) -> Result<()>;
    async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>>;

    /// Creates the user on first use; later calls refresh name and role.
    async fn upsert_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        role: Role,
    ) -> Result<User>;
    async fn user(&self, account_id: &str, id: &str) -> Result<User>;

    /// Inserts a new session. A clash of code or access token is `Error::Conflict`.
    async fn insert_session(&self, session: &Session) -> Result<()>;
    async fn session(&self, account_id: &str, id: &str) -> Result<Session>;
    async fn session_by_code(&self, account_id: &str, code: &str) -> Result<Session>;
    async fn session_by_access_token(&self, account_id: &str, token: &str) -> Result<Session>;
    async fn session_by_control_token(&self, account_id: &str, token: &str) -> Result<Session>;
    /// Writes `session` if the stored version is still `session.version`, bumping it.
    async fn save_session(&self, session: &Session) -> Result<Saved>;
    async fn list_sessions(&self, account_id: &str, filter: &SessionFilter)
        -> Result<Vec<Session>>;
    /// Records activity (batched by the caller): `(session id, when)`.
    async fn touch_sessions(&self, batch: &[(String, Micros)]) -> Result<()>;
    /// Live sessions idle since before `idle_before`, or pending with a code expired by `now`.
    async fn idle_sessions(
        &self,
        idle_before: Micros,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<Session>>;
    /// Tries to become the replica that reaps; `None` when another one is.
    async fn reaper_lease(&self) -> Result<Option<ReaperLease>>;
    /// Whether a lease is still held (its connection is alive).
    async fn lease_alive(&self, lease: &mut ReaperLease) -> bool;

    /// Live sessions by state, for the metrics gauge.
    async fn live_counts(&self) -> Result<Vec<(String, i64)>>;
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

    /// Takes one attempt from `key`'s budget, in one step whichever replica asks: the window
    /// that started after `window_from`, or a new one from `now` when it is older. Returns the
    /// attempts taken in the window, this one included.
    async fn take_attempt(&self, key: &str, window_from: Micros, now: Micros) -> Result<i64>;
    /// Gives back an attempt taken with [`Store::take_attempt`].
    async fn refund_attempt(&self, key: &str) -> Result<()>;
    /// Forgets budgets whose window started before `before`; returns how many.
    async fn purge_attempts(&self, before: Micros) -> Result<u64>;

    async fn add_session_event(&self, event: &SessionEvent) -> Result<()>;
    /// A session's events in order (at most `limit`).
    async fn session_events(
        &self,
        account_id: &str,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<SessionEvent>>;

    async fn insert_device(&self, device: &Device) -> Result<()>;
    async fn device(&self, account_id: &str, id: &str) -> Result<Device>;
    async fn device_by_notification_token(&self, account_id: &str, token: &str) -> Result<Device>;
    /// Sets the presence lease of devices `(account id, device id)` and their `last_active`.
    async fn set_presence(
        &self,
        devices: &[(String, String)],
        online_until: Micros,
        now: Micros,
    ) -> Result<()>;
    /// Marks offline up to `limit` devices whose presence lease lapsed before `now`; returns
    /// `(account id, device id, last_active)` of each.
    async fn lapsed_presence(
        &self,
        now: Micros,
        limit: u32,
    ) -> Result<Vec<(String, String, Micros)>>;
    async fn save_device(&self, device: &Device) -> Result<()>;
    async fn list_devices(&self, account_id: &str, filter: &DeviceFilter) -> Result<Vec<Device>>;
}

/// Opens (and migrates) the store for a database URL.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    let store = SqlStore::connect(url).await?;
    store.migrate().await?;
    Ok(std::sync::Arc::new(store))
}
