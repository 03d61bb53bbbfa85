//! Single sign-on: an account's IdP configuration and its email domains, the sign-in requests
//! waiting for the IdP's answer, and the replay cache of accepted assertions.

use async_trait::async_trait;

use super::sql::{json, unique_violation, CrossAccount, Scope, SqlStore};
use crate::model::{SamlRequest, SsoConfig};
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait SsoStore: Send + Sync {
    /// The account's IdP configuration, if it has one.
    async fn sso_config(&self, account_id: &str) -> Result<Option<SsoConfig>>;
    /// Stores the configuration and makes its `email_domains` the account's, all at once. A
    /// domain another account holds is a `Conflict`, and nothing changes.
    async fn put_sso_config(&self, account_id: &str, config: &SsoConfig, now: Micros)
        -> Result<()>;
    /// Removes the configuration and the domains; whether there was one.
    async fn delete_sso_config(&self, account_id: &str) -> Result<bool>;
    /// The account whose IdP an email domain leads to.
    async fn sso_account_by_domain(&self, domain: &str) -> Result<Option<String>>;

    async fn add_saml_request(&self, request: &SamlRequest) -> Result<()>;
    /// Takes the account's request with this id out of the Store: a response answers it once.
    async fn take_saml_request(&self, account_id: &str, id: &str) -> Result<Option<SamlRequest>>;
    /// Records an assertion id until `expires`; false when it was already recorded (a replay).
    async fn remember_assertion(
        &self,
        account_id: &str,
        assertion_id: &str,
        expires: Micros,
    ) -> Result<bool>;
    /// Forgets expired requests and assertions; returns how many.
    async fn purge_saml(&self, now: Micros) -> Result<u64>;
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    account_id: String,
    browser_hash: String,
    next: String,
    expires: Micros,
}

#[async_trait]
impl SsoStore for SqlStore {
    async fn sso_config(&self, account_id: &str) -> Result<Option<SsoConfig>> {
        let q =
            sqlx::query_as::<_, (String,)>("SELECT config FROM account_sso WHERE account_id = $1")
                .bind(account_id);
        match self.optional(Scope::Account(account_id), q).await? {
            Some((text,)) => Ok(Some(serde_json::from_str(&text).map_err(|e| {
                Error::Corrupt(format!("single sign-on of {account_id}: {e}"))
            })?)),
            None => Ok(None),
        }
    }

    async fn put_sso_config(
        &self,
        account_id: &str,
        config: &SsoConfig,
        now: Micros,
    ) -> Result<()> {
        let text = json(config);
        self.scoped(Scope::Account(account_id), async |tx| {
            sqlx::query(
                "INSERT INTO account_sso (account_id, config, updated) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id) DO UPDATE SET config = $2, updated = $3",
            )
            .bind(account_id)
            .bind(&text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM sso_domains WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            for domain in &config.email_domains {
                sqlx::query("INSERT INTO sso_domains (domain, account_id) VALUES ($1, $2)")
                    .bind(domain)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        if unique_violation(&e) {
                            Error::Conflict(format!(
                                "email_domains: {domain} signs in through another account's IdP"
                            ))
                        } else {
                            e.into()
                        }
                    })?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_sso_config(&self, account_id: &str) -> Result<bool> {
        self.scoped(Scope::Account(account_id), async |tx| {
            sqlx::query("DELETE FROM sso_domains WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM account_sso WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn sso_account_by_domain(&self, domain: &str) -> Result<Option<String>> {
        let q =
            sqlx::query_as::<_, (String,)>("SELECT account_id FROM sso_domains WHERE domain = $1")
                .bind(domain);
        let row = self.optional(Scope::System(CrossAccount::Login), q).await?;
        Ok(row.map(|(id,)| id))
    }

    async fn add_saml_request(&self, r: &SamlRequest) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO saml_requests (id, account_id, browser_hash, next, expires) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&r.id)
        .bind(&r.account_id)
        .bind(&r.browser_hash)
        .bind(&r.next)
        .bind(r.expires);
        self.execute(Scope::Account(&r.account_id), insert).await?;
        Ok(())
    }

    async fn take_saml_request(&self, account_id: &str, id: &str) -> Result<Option<SamlRequest>> {
        let take = sqlx::query_as::<_, RequestRow>(
            "DELETE FROM saml_requests WHERE account_id = $1 AND id = $2 \
             RETURNING id, account_id, browser_hash, next, expires",
        )
        .bind(account_id)
        .bind(id);
        let row = self.optional(Scope::Account(account_id), take).await?;
        Ok(row.map(|r| SamlRequest {
            id: r.id,
            account_id: r.account_id,
            browser_hash: r.browser_hash,
            next: r.next,
            expires: r.expires,
        }))
    }

    async fn remember_assertion(
        &self,
        account_id: &str,
        assertion_id: &str,
        expires: Micros,
    ) -> Result<bool> {
        let insert = sqlx::query(
            "INSERT INTO saml_assertions (account_id, assertion_id, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, assertion_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(assertion_id)
        .bind(expires);
        let done = self.execute(Scope::Account(account_id), insert).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_saml(&self, now: Micros) -> Result<u64> {
        self.purge_expired(&["saml_requests", "saml_assertions"], now)
            .await
    }
}
