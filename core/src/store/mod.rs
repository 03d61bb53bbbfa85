//! Storage: one trait, two real backends chosen by the database URL.
//!
//! - SQLite (`sqlite://path`, the embedded default) — [`sqlite`]
//! - PostgreSQL (`postgres://…`) — [`postgres`]
//!
//! Both are driven through sqlx's `Any` driver with one set of portable SQL (`$n` placeholders,
//! integers, text): [`sql`] holds the pools and the scoping every query runs in, and one module a
//! resource holds that resource's trait, its SQL and its rows (`#[derive(sqlx::FromRow)]`,
//! turned into the model types). Each backend owns its connection set-up, its migrations and the
//! reaper lease. Every method that knows its account takes it, so nothing crosses tenants.

mod accounts;
mod budget;
mod devices;
mod events;
mod list;
mod login;
mod postgres;
mod reaper;
mod sessions;
pub mod signature;
mod sql;
mod sqlite;
mod sso;
mod tokens;

use async_trait::async_trait;

use crate::policy::Policy;
use crate::time::Micros;
use crate::Result;

pub use accounts::AccountStore;
pub use budget::BudgetStore;
pub use devices::DeviceStore;
pub use events::EventStore;
pub use login::LoginStore;
pub use reaper::ReaperStore;
pub use sessions::SessionStore;
pub use sql::SqlStore;
pub use sso::SsoStore;
pub use tokens::TokenStore;

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
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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

/// The whole Store: one trait per resource, each implemented in its own module. Callers hold an
/// `Arc<dyn Store>` and call any resource's methods on it.
#[async_trait]
pub trait Store:
    AccountStore
    + SessionStore
    + DeviceStore
    + TokenStore
    + BudgetStore
    + EventStore
    + LoginStore
    + SsoStore
    + ReaperStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;
}

/// Opens (and migrates) the store for a database URL.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    let store = SqlStore::connect(url).await?;
    store.migrate().await?;
    Ok(std::sync::Arc::new(store))
}
