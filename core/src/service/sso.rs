//! Single sign-on: administrators configure their account's SAML IdP; a verified assertion
//! (checked by the API, which speaks SAML) ends here in a login session, as an email link does.
//! The Service enforces what needs the Store: the request a response answers is this browser's
//! and is answered once, an assertion signs in once, unsolicited responses only where allowed,
//! membership (or just-in-time creation) and the role the IdP's groups give.

use std::time::Duration;

use super::login::{micros, SignedIn, LOGIN_IDLE, LOGIN_MAX};
use super::{Caller, Service};
use crate::email::Email;
use crate::model::{Account, LoginSession, SamlRequest, SsoConfig, SsoIdentity, User};
use crate::secrets;
use crate::time::{self, Micros};
use crate::{Error, Result};

/// How long a sign-in request waits for the IdP's answer.
pub const SAML_REQUEST_TTL: Duration = Duration::from_secs(10 * 60);
/// Sign-ins a client address may start per [`SAML_REQUEST_TTL`] (each stores a request).
pub const SAML_STARTS_PER_CLIENT: i64 = 60;

/// Where a sign-in page sends someone: their work email's domain or an account id.
pub enum SsoLookup<'a> {
    Email(&'a Email),
    Account(&'a str),
}

/// A verified assertion, as the API read it from the signed element only.
pub struct SamlSignIn<'a> {
    /// The request this answers (InResponseTo); `None` for IdP-initiated sign-in.
    pub in_response_to: Option<&'a str>,
    /// SHA-256 of the nonce in the browser's SAML cookie, if it has one.
    pub browser_hash: Option<&'a str>,
    pub assertion_id: &'a str,
    /// Until when the assertion could be presented (the replay cache keeps it that long).
    pub valid_until: Micros,
    pub identity: SsoIdentity,
    pub user_agent: &'a str,
}

/// Why a SAML sign-in was refused, in the person's words; `id` names it in metrics and logs.
fn refused(id: &'static str, message: &str) -> Error {
    Error::Refused {
        id,
        message: message.to_owned(),
    }
}

impl Service {
    /// The account's IdP configuration (administrators).
    pub async fn sso_config(&self, caller: &Caller) -> Result<Option<SsoConfig>> {
        let (account, _) = caller.administrator()?;
        self.store.sso_config(&account.id).await
    }

    /// Replaces the account's IdP configuration (administrators). Invalid input, or a domain
    /// another account holds, changes nothing. The certificates must already have been parsed
    /// by the caller (the API does, with the SAML library).
    pub async fn set_sso_config(&self, caller: &Caller, config: SsoConfig) -> Result<SsoConfig> {
        let (account, user) = caller.administrator()?;
        let config = config.normalised();
        config
            .validate()
            .map_err(|m| Error::invalid("invalid_sso", m))?;
        match self
            .store
            .put_sso_config(&account.id, &config, time::now())
            .await
        {
            Err(Error::Conflict(message)) => return Err(refused("domain_taken", &message)),
            other => other?,
        }
        tracing::info!(account = %account.id, by = %user.id, "single sign-on configured");
        Ok(config)
    }

    /// Removes the account's single sign-on (administrators).
    pub async fn remove_sso_config(&self, caller: &Caller) -> Result<()> {
        let (account, user) = caller.administrator()?;
        if !self.store.delete_sso_config(&account.id).await? {
            return Err(Error::NotFound("single sign-on"));
        }
        tracing::info!(account = %account.id, by = %user.id, "single sign-on removed");
        Ok(())
    }

    /// An enabled account with single sign-on, and its configuration (the SP endpoints).
    pub async fn account_sso(&self, account_id: &str) -> Result<(Account, SsoConfig)> {
        let none = Error::NotFound("single sign-on");
        let account = match self.store.account(account_id).await {
            Ok(a) if !a.disabled => a,
            Ok(_) | Err(Error::NotFound(_)) => return Err(none),
            Err(e) => return Err(e),
        };
        let config = self.store.sso_config(&account.id).await?.ok_or(none)?;
        Ok((account, config))
    }

    /// The account whose IdP signs in this email (by its domain) or this account id.
    pub async fn find_sso(&self, lookup: SsoLookup<'_>) -> Result<String> {
        let id = match lookup {
            SsoLookup::Email(email) => {
                let domain = email.as_str().rsplit('@').next().unwrap_or_default();
                self.store
                    .sso_account_by_domain(&domain.to_ascii_lowercase())
                    .await?
                    .ok_or(Error::NotFound("single sign-on"))?
            }
            SsoLookup::Account(id) => id.to_owned(),
        };
        let (account, _) = self.account_sso(&id).await?;
        Ok(account.id)
    }

    /// Starts a sign-in at the account's IdP for the browser whose cookie nonce hashes to
    /// `browser_hash`, asked from `client` (an IP address, limited to
    /// [`SAML_STARTS_PER_CLIENT`] per [`SAML_REQUEST_TTL`]): the new AuthnRequest's ID (128
    /// random bits).
    pub async fn begin_saml(
        &self,
        account_id: &str,
        browser_hash: &str,
        next: &str,
        client: &str,
    ) -> Result<String> {
        let now = time::now();
        let key = format!("saml:client:{client}");
        let window_from = now - micros(SAML_REQUEST_TTL);
        if self.store.take_attempt(&key, window_from, now).await? > SAML_STARTS_PER_CLIENT {
            return Err(Error::RateLimited);
        }
        let id = format!("_{}", secrets::random_hex(16));
        self.store
            .add_saml_request(&SamlRequest {
                id: id.clone(),
                account_id: account_id.to_owned(),
                browser_hash: browser_hash.to_owned(),
                next: next.to_owned(),
                expires: now + micros(SAML_REQUEST_TTL),
            })
            .await?;
        Ok(id)
    }

    /// Ends a verified sign-in in a login session: the token for the cookie, the signed-in
    /// view, and where the browser goes (the request's `next`, or `unsolicited_next`).
    pub async fn finish_saml(
        &self,
        account: &Account,
        config: &SsoConfig,
        sign_in: SamlSignIn<'_>,
        unsolicited_next: &str,
    ) -> Result<(String, SignedIn, String)> {
        let now = time::now();
        let next = match sign_in.in_response_to {
            Some(id) => {
                let Some(request) = self.store.take_saml_request(&account.id, id).await? else {
                    return Err(refused(
                        "saml_unknown_request",
                        "this answer from your identity provider is for a sign-in that was not \
                         started here, or was already used",
                    ));
                };
                if request.expires <= now {
                    return Err(refused(
                        "saml_request_expired",
                        "the sign-in took too long; start again",
                    ));
                }
                if sign_in.browser_hash != Some(request.browser_hash.as_str()) {
                    return Err(refused(
                        "saml_other_browser",
                        "this sign-in was started in another browser; start again here",
                    ));
                }
                request.next
            }
            None if config.idp_initiated => unsolicited_next.to_owned(),
            None => {
                return Err(refused(
                    "saml_unsolicited",
                    "this account accepts only sign-ins started from Tandem's sign-in page \
                     (IdP-initiated sign-in is off)",
                ))
            }
        };
        let fresh = self
            .store
            .remember_assertion(&account.id, sign_in.assertion_id, sign_in.valid_until)
            .await?;
        if !fresh {
            return Err(refused(
                "saml_replay",
                "this answer from your identity provider was already used",
            ));
        }
        let identity = &sign_in.identity;
        let email = Email::parse(&identity.email).ok_or_else(|| {
            refused(
                "saml_no_email",
                "your identity provider did not send an email address Tandem can use",
            )
        })?;
        let user = self.sso_member(account, config, &email, identity).await?;
        let token = secrets::bearer_token();
        let session = LoginSession {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: secrets::hash_token(&token),
            email: email.as_str().to_owned(),
            account_id: Some(account.id.clone()),
            sso_account: Some(account.id.clone()),
            user_agent: sign_in.user_agent.chars().take(300).collect(),
            created: now,
            last_seen: now,
            expires: now + micros(LOGIN_IDLE).min(micros(LOGIN_MAX)),
        };
        self.store.add_login_session(&session).await?;
        metrics::counter!("tandem_logins_total").increment(1);
        tracing::info!(login = %session.id, account = %account.id, user = %user.id, "signed in by SAML");
        Ok((token, self.signed_in(session).await?, next))
    }

    /// The member an assertion signs in: an existing one (whose role follows the IdP's groups
    /// when a mapping names one of them, and whose name follows the IdP's), or a new one when
    /// just-in-time creation is on.
    async fn sso_member(
        &self,
        account: &Account,
        config: &SsoConfig,
        email: &Email,
        identity: &SsoIdentity,
    ) -> Result<User> {
        let mapped = config.role_for(&identity.groups);
        let existing = self
            .store
            .users_by_email(email.as_str())
            .await?
            .into_iter()
            .find(|u| u.account_id == account.id);
        let name = identity.name.as_deref().map(str::trim).filter(|n| {
            !n.is_empty() && n.chars().count() <= 100 && !n.chars().any(char::is_control)
        });
        let user = match existing {
            Some(mut user) => {
                user.role = mapped.unwrap_or(user.role);
                if let Some(name) = name {
                    user.name = name.to_owned();
                }
                user
            }
            None if config.jit => super::new_agent(
                &account.id,
                email,
                name.unwrap_or(email.local_part()),
                mapped.unwrap_or(config.default_role),
            ),
            None => {
                return Err(refused(
                    "saml_not_a_member",
                    "you are not a member of this account yet; ask one of its administrators \
                     to invite you",
                ))
            }
        };
        self.store.upsert_user(&user).await
    }

    /// Whether a login session may work in `account`: an account that requires single sign-on
    /// admits only browsers its own IdP signed in (and the instance's superusers).
    pub(super) async fn admits(&self, session: &LoginSession, account: &Account) -> Result<bool> {
        if session.sso_account.as_deref() == Some(account.id.as_str())
            || self.is_superuser(&session.email)
        {
            return Ok(true);
        }
        Ok(!self.requires_sso(&account.id).await?)
    }

    /// Whether the account's members must sign in through its IdP.
    pub(super) async fn requires_sso(&self, account_id: &str) -> Result<bool> {
        let config = self.store.sso_config(account_id).await?;
        Ok(config.is_some_and(|c| c.require_sso))
    }
}
