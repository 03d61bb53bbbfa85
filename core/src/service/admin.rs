//! Accounts, their signing keys and their agents, and what operators ask of the database: the
//! paths the CLI, authentication and the health endpoints take instead of reaching the Store.

use tokio::sync::broadcast;

use super::{Caller, Service};
use crate::bus::Event;
use crate::email::Email;
use crate::model::{Account, AccountKey, AccountSettings, Role, User, COLOURS};
use crate::secrets;
use crate::store::Backend;
use crate::time;
use crate::{Error, Result};

/// A new account: its id and its license key (24 characters of a bearer token) are drawn here.
pub fn new_account(name: &str, settings: &AccountSettings) -> Account {
    Account {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        license_key: secrets::bearer_token()[..24].to_owned(),
        settings: settings.clone(),
        created: time::now(),
        disabled: false,
    }
}

/// An agent as their first verified JWT makes them: a new id, and the drawing colour their email
/// picks (the same one on every replica).
pub fn new_agent(account_id: &str, email: &Email, name: &str, role: Role) -> User {
    let colour = COLOURS[email.as_str().bytes().map(usize::from).sum::<usize>() % COLOURS.len()];
    User {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        email: email.as_str().to_owned(),
        name: name.to_owned(),
        role,
        colour: colour.to_owned(),
        created: time::now(),
    }
}

impl Service {
    /// Which database this service runs on.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Live sessions by state, for the metrics gauge.
    pub async fn live_counts(&self) -> Result<Vec<(String, i64)>> {
        self.store.live_counts().await
    }

    /// Every change published after it is stored, from now on (the realtime hub listens here).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.bus.subscribe()
    }

    pub async fn create_account(&self, name: &str, settings: &AccountSettings) -> Result<Account> {
        let account = new_account(name, settings);
        self.store.create_account(&account).await?;
        Ok(account)
    }

    /// Every account (the operator's CLI; no caller is inside one account).
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.store.accounts().await
    }

    pub async fn account(&self, id: &str) -> Result<Account> {
        self.store.account(id).await
    }

    /// The account a license key (a JWT's issuer, a device's header) names.
    /// Disabled accounts are refused (`account_disabled`).
    pub async fn account_by_license(&self, license_key: &str) -> Result<Account> {
        Self::usable(self.store.account_by_license(license_key).await?)
    }

    /// An account by its id or its license key, as operators type either.
    pub async fn find_account(&self, id_or_license: &str) -> Result<Account> {
        match self.store.account(id_or_license).await {
            Err(Error::NotFound(_)) => self.store.account_by_license(id_or_license).await,
            found => found,
        }
    }

    /// Replaces an account's settings (the CLI's `account update`), checked as the REST API
    /// checks them: a bad value is refused and nothing changes.
    pub async fn update_account_settings(
        &self,
        account_id: &str,
        settings: &AccountSettings,
    ) -> Result<Account> {
        settings
            .validate()
            .map_err(|m| Error::invalid("invalid_settings", m))?;
        self.store
            .update_account_settings(account_id, settings)
            .await
    }

    /// Registers a signing key for the account the key names.
    pub async fn add_key(&self, key: &AccountKey) -> Result<()> {
        self.store.add_key(key).await
    }

    /// The account's signing keys, newest first.
    pub async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>> {
        self.store.keys(account_id).await
    }

    /// The agent a verified JWT names: created on first use, name and role refreshed after.
    pub async fn upsert_agent(
        &self,
        account: &Account,
        email: &Email,
        name: &str,
        role: Role,
    ) -> Result<User> {
        let agent = new_agent(&account.id, email, name, role);
        self.store.upsert_user(&agent).await
    }

    /// A user of the caller's account.
    pub async fn user(&self, caller: &Caller, id: &str) -> Result<User> {
        self.store.user(&caller.account().id, id).await
    }
}
