//! Signing in to the dashboard: a link by email, redeemed once for a login session held in a
//! cookie, which works in one of the accounts its email belongs to.

use std::time::Duration;

use super::Service;
use crate::email::Email;
use crate::model::{Account, LoginLink, LoginSession, Role, User};
use crate::secrets;
use crate::time::{self, Micros};
use crate::{Error, Result};

/// How long an emailed sign-in link works.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// How long an invitation (and its link) waits to be accepted.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A login session ends after this long without a request...
pub const LOGIN_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
/// ...and this long after it began, whatever happens.
pub const LOGIN_MAX: Duration = Duration::from_secs(30 * 24 * 3600);
/// Sign-in links asked for per address, and per client address, in [`LINK_WINDOW`].
pub const LINKS_PER_EMAIL: i64 = 5;
pub const LINKS_PER_CLIENT: i64 = 30;
pub const LINK_WINDOW: Duration = Duration::from_secs(15 * 60);
/// `last_seen` moves at most this often (a login session is read on every request).
const TOUCH_EVERY: Micros = 60_000_000;

pub(super) fn micros(d: Duration) -> Micros {
    d.as_micros() as Micros
}

/// A login session with what it works on: its email's memberships and, when it has picked
/// one, the account and the member record there.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: LoginSession,
    pub superuser: bool,
    /// The accounts the email is a member of, with the member record in each.
    pub memberships: Vec<(Account, User)>,
    /// The account the session works in, and the caller there.
    pub current: Option<(Account, User)>,
}

impl Service {
    /// Whether an email is one of the instance's superusers.
    pub fn is_superuser(&self, email: &str) -> bool {
        self.config
            .superuser_emails
            .iter()
            .any(|s| s.eq_ignore_ascii_case(email))
    }

    /// Asks for a sign-in link for `email` from `client` (an IP address): within the budget
    /// per address and per client, a link is made when the email may sign in (a member of some
    /// account, or of `account` when one is named, or a superuser); `None` otherwise, so that
    /// the caller replies the same way to known and unknown addresses.
    pub async fn request_login_link(
        &self,
        email: &Email,
        account: Option<&str>,
        client: &str,
    ) -> Result<Option<String>> {
        let now = time::now();
        let window_from = now - micros(LINK_WINDOW);
        let budgets = [
            (
                format!("login:email:{}", secrets::hash_token(email.as_str())),
                LINKS_PER_EMAIL,
            ),
            (format!("login:client:{client}"), LINKS_PER_CLIENT),
        ];
        for (key, max) in &budgets {
            if self.store.take_attempt(key, window_from, now).await? > *max {
                metrics::counter!("tandem_login_links_refused_total", "reason" => "rate_limited")
                    .increment(1);
                return Err(Error::RateLimited);
            }
        }
        let superuser = self.is_superuser(email.as_str());
        // Members of accounts that require single sign-on get no link: it could not sign them in.
        let mut members = Vec::new();
        let mut sso_only = false;
        for user in self.store.users_by_email(email.as_str()).await? {
            if self.requires_sso(&user.account_id).await? {
                sso_only = true;
            } else {
                members.push(user);
            }
        }
        let known = match account {
            Some(id) => superuser || members.iter().any(|u| u.account_id == id),
            None => superuser || !members.is_empty(),
        };
        if !known {
            let reason = if sso_only {
                "sso_required"
            } else {
                "unknown_email"
            };
            metrics::counter!("tandem_login_links_refused_total", "reason" => reason).increment(1);
            return Ok(None);
        }
        let token = self
            .add_link(email.as_str(), account, None, now + micros(LINK_TTL))
            .await?;
        metrics::counter!("tandem_login_links_sent_total", "kind" => "sign_in").increment(1);
        Ok(Some(token))
    }

    /// Redeems a sign-in or invitation link, once: a new login session, and the token its
    /// cookie holds. A wrong, expired or used link is `NotFound("sign-in link")`.
    pub async fn redeem_login_link(
        &self,
        token: &str,
        user_agent: &str,
    ) -> Result<(String, SignedIn)> {
        let gone = Error::NotFound("sign-in link");
        let now = time::now();
        let Some(link) = self
            .store
            .take_login_link(&secrets::hash_token(token))
            .await?
        else {
            return Err(gone);
        };
        if link.expires <= now {
            return Err(gone);
        }
        let email = Email::parse(&link.email).ok_or(Error::NotFound("sign-in link"))?;
        let mut account_id = link.account_id.clone();
        if let Some(invitation_id) = &link.invitation_id {
            let invitation = match self.store.invitation(invitation_id).await {
                Ok(i) if i.email == link.email && i.expires > now => i,
                Ok(_) | Err(Error::NotFound(_)) => return Err(gone),
                Err(e) => return Err(e),
            };
            let account = self.store.account(&invitation.account_id).await?;
            self.join(&account, &email, invitation.role).await?;
            self.store
                .delete_invitation(&invitation.account_id, &invitation.id)
                .await?;
            account_id = Some(invitation.account_id);
        }
        if account_id.is_none() {
            let members = self.store.users_by_email(email.as_str()).await?;
            if let [only] = members.as_slice() {
                account_id = Some(only.account_id.clone());
            }
        }
        let token = secrets::bearer_token();
        let session = LoginSession {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: secrets::hash_token(&token),
            email: email.as_str().to_owned(),
            account_id,
            sso_account: None,
            user_agent: user_agent.chars().take(300).collect(),
            created: now,
            last_seen: now,
            expires: now + micros(LOGIN_IDLE).min(micros(LOGIN_MAX)),
        };
        self.store.add_login_session(&session).await?;
        metrics::counter!("tandem_logins_total").increment(1);
        tracing::info!(login = %session.id, "signed in by email link");
        Ok((token, self.signed_in(session).await?))
    }

    /// The login session a cookie's token opens, kept alive by this use. Unknown or expired:
    /// `NotFound("login session")`.
    pub async fn login(&self, token: &str) -> Result<SignedIn> {
        if token.is_empty() {
            return Err(Error::NotFound("login session"));
        }
        let mut session = self
            .store
            .login_session(&secrets::hash_token(token))
            .await?;
        let now = time::now();
        if session.expires <= now {
            return Err(Error::NotFound("login session"));
        }
        if now - session.last_seen > TOUCH_EVERY {
            session.last_seen = now;
            session.expires = (now + micros(LOGIN_IDLE)).min(session.created + micros(LOGIN_MAX));
            self.store
                .touch_login_session(&session.id, session.last_seen, session.expires)
                .await?;
        }
        self.signed_in(session).await
    }

    /// Works in `account_id` from now on: one the email is a member of, or any account for a
    /// superuser (who works there as an administrator).
    pub async fn select_login_account(
        &self,
        signed_in: &SignedIn,
        account_id: &str,
    ) -> Result<SignedIn> {
        let member = signed_in
            .memberships
            .iter()
            .any(|(a, _)| a.id == account_id);
        if !member {
            if !signed_in.superuser {
                return Err(Error::NotFound("account"));
            }
            let account = self.store.account(account_id).await?;
            let email = Email::parse(&signed_in.session.email).ok_or(Error::NotFound("account"))?;
            self.join(&account, &email, Role::Administrator).await?;
        }
        self.store
            .select_login_account(&signed_in.session.id, Some(account_id))
            .await?;
        let mut session = signed_in.session.clone();
        session.account_id = Some(account_id.to_owned());
        self.signed_in(session).await
    }

    /// Signs out one of the email's login sessions (its own, or another it lists). The email's
    /// socket credentials are revoked too, so the sockets that browser opened close at once
    /// (4001); the email's other browsers, still signed in, fetch new ones and reconnect.
    pub async fn end_login(&self, email: &str, id: &str) -> Result<()> {
        if !self.store.delete_login_session(email, id).await? {
            return Err(Error::NotFound("login session"));
        }
        for user in self.store.users_by_email(email).await? {
            self.revoke_user_tokens(&user.account_id, &user.id).await?;
        }
        tracing::info!(login = id, "signed out");
        Ok(())
    }

    /// The email's live login sessions, newest first.
    pub async fn login_sessions(&self, email: &str) -> Result<Vec<LoginSession>> {
        self.store.login_sessions(email, time::now()).await
    }

    /// A sign-in link for the operator (the bootstrap administrator at start), outside the
    /// per-address budget; `None` when the email is no member of any account.
    pub async fn operator_login_link(&self, email: &Email) -> Result<Option<String>> {
        if self.store.users_by_email(email.as_str()).await?.is_empty() {
            return Ok(None);
        }
        let token = self
            .add_link(email.as_str(), None, None, time::now() + micros(LINK_TTL))
            .await?;
        Ok(Some(token))
    }

    /// Stores a new link for `email` (naming the account asked for or the invitation it
    /// accepts) as a hash, and returns its token.
    pub(super) async fn add_link(
        &self,
        email: &str,
        account: Option<&str>,
        invitation: Option<&str>,
        expires: Micros,
    ) -> Result<String> {
        let token = secrets::bearer_token();
        self.store
            .add_login_link(&LoginLink {
                token_hash: secrets::hash_token(&token),
                email: email.to_owned(),
                account_id: account.map(str::to_owned),
                invitation_id: invitation.map(str::to_owned),
                expires,
            })
            .await?;
        Ok(token)
    }

    /// Makes `email` a member of `account` with `role`, as the operator (the CLI, first start).
    pub async fn add_member(&self, account: &Account, email: &Email, role: Role) -> Result<User> {
        self.join(account, email, role).await
    }

    /// Makes `email` a member of `account` with `role` (keeping the colour and id of a member
    /// it already is, whose role changes).
    pub(super) async fn join(&self, account: &Account, email: &Email, role: Role) -> Result<User> {
        let existing = self.store.users_by_email(email.as_str()).await?;
        let name = existing
            .iter()
            .find(|u| u.account_id == account.id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| email.local_part().to_owned());
        let user = super::new_agent(&account.id, email, &name, role);
        self.store.upsert_user(&user).await
    }

    pub(super) async fn signed_in(&self, session: LoginSession) -> Result<SignedIn> {
        let superuser = self.is_superuser(&session.email);
        let mut memberships = Vec::new();
        for user in self.store.users_by_email(&session.email).await? {
            let account = self.store.account(&user.account_id).await?;
            // An account that requires single sign-on is out of an email link's reach.
            if self.admits(&session, &account).await? {
                memberships.push((account, user));
            }
        }
        let current = match &session.account_id {
            None => None,
            Some(id) => memberships.iter().find(|(a, _)| &a.id == id).cloned(),
        };
        Ok(SignedIn {
            session,
            superuser,
            memberships,
            current,
        })
    }
}
