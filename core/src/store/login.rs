//! Dashboard sign-in: emailed links, login sessions and invitations. Links and login sessions
//! belong to an email, which may be a member of several accounts, so they are read in the
//! system scope; invitations belong to one account.

use async_trait::async_trait;

use super::sql::{not_found, parsed, CrossAccount, Scope, SqlStore};
use crate::model::{Invitation, LoginLink, LoginSession, Role};
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn add_login_link(&self, link: &LoginLink) -> Result<()>;
    /// Takes the link with this hash out of the Store, so it can be used once only.
    async fn take_login_link(&self, token_hash: &str) -> Result<Option<LoginLink>>;

    async fn add_login_session(&self, session: &LoginSession) -> Result<()>;
    /// The login session a cookie's token hash names (any account: the token chooses it).
    async fn login_session(&self, token_hash: &str) -> Result<LoginSession>;
    /// Moves `last_seen` and `expires` forward.
    async fn touch_login_session(&self, id: &str, last_seen: Micros, expires: Micros)
        -> Result<()>;
    /// The account a login session works in from now on.
    async fn select_login_account(&self, id: &str, account_id: Option<&str>) -> Result<()>;
    /// Ends one login session of `email`; whether there was one.
    async fn delete_login_session(&self, email: &str, id: &str) -> Result<bool>;
    /// The live login sessions of an email, newest first.
    async fn login_sessions(&self, email: &str, now: Micros) -> Result<Vec<LoginSession>>;
    /// Ends every login session of `email` that works in `account_id`; returns how many.
    async fn end_login_sessions(&self, email: &str, account_id: &str) -> Result<u64>;
    /// Live login sessions per email in one account.
    async fn login_session_counts(
        &self,
        account_id: &str,
        now: Micros,
    ) -> Result<Vec<(String, i64)>>;

    /// Stores an invitation; one per email and account (a new one replaces the old).
    async fn put_invitation(&self, invitation: &Invitation) -> Result<()>;
    async fn invitations(&self, account_id: &str) -> Result<Vec<Invitation>>;
    /// An invitation a link names (any account: the link chooses it).
    async fn invitation(&self, id: &str) -> Result<Invitation>;
    async fn delete_invitation(&self, account_id: &str, id: &str) -> Result<bool>;

    /// Forgets expired links, login sessions and invitations; returns how many.
    async fn purge_login(&self, now: Micros) -> Result<u64>;
}

const SESSION_COLUMNS: &str =
    "id, token_hash, email, account_id, sso_account, user_agent, created, last_seen, expires";
const INVITATION_COLUMNS: &str = "id, account_id, email, role, invited_by, created, expires";

#[derive(sqlx::FromRow)]
struct LinkRow {
    token_hash: String,
    email: String,
    account_id: Option<String>,
    invitation_id: Option<String>,
    expires: Micros,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    token_hash: String,
    email: String,
    account_id: Option<String>,
    sso_account: Option<String>,
    user_agent: String,
    created: Micros,
    last_seen: Micros,
    expires: Micros,
}

impl From<SessionRow> for LoginSession {
    fn from(r: SessionRow) -> Self {
        LoginSession {
            id: r.id,
            token_hash: r.token_hash,
            email: r.email,
            account_id: r.account_id,
            sso_account: r.sso_account,
            user_agent: r.user_agent,
            created: r.created,
            last_seen: r.last_seen,
            expires: r.expires,
        }
    }
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    account_id: String,
    email: String,
    role: String,
    invited_by: String,
    created: Micros,
    expires: Micros,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = Error;
    fn try_from(r: InvitationRow) -> Result<Self> {
        Ok(Invitation {
            role: parsed("role", &r.role, Role::parse)?,
            id: r.id,
            account_id: r.account_id,
            email: r.email,
            invited_by: r.invited_by,
            created: r.created,
            expires: r.expires,
        })
    }
}

const LOGIN: Scope<'static> = Scope::System(CrossAccount::Login);

#[async_trait]
impl LoginStore for SqlStore {
    async fn add_login_link(&self, l: &LoginLink) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO login_links (token_hash, email, account_id, invitation_id, expires) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&l.token_hash)
        .bind(&l.email)
        .bind(l.account_id.as_deref())
        .bind(l.invitation_id.as_deref())
        .bind(l.expires);
        self.execute(LOGIN, insert).await?;
        Ok(())
    }

    async fn take_login_link(&self, token_hash: &str) -> Result<Option<LoginLink>> {
        let take = sqlx::query_as::<_, LinkRow>(
            "DELETE FROM login_links WHERE token_hash = $1 \
             RETURNING token_hash, email, account_id, invitation_id, expires",
        )
        .bind(token_hash);
        let row = self.optional(LOGIN, take).await?;
        Ok(row.map(|r| LoginLink {
            token_hash: r.token_hash,
            email: r.email,
            account_id: r.account_id,
            invitation_id: r.invitation_id,
            expires: r.expires,
        }))
    }

    async fn add_login_session(&self, s: &LoginSession) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO login_sessions (id, token_hash, email, account_id, sso_account, \
             user_agent, created, last_seen, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.email)
        .bind(s.account_id.as_deref())
        .bind(s.sso_account.as_deref())
        .bind(&s.user_agent)
        .bind(s.created)
        .bind(s.last_seen)
        .bind(s.expires);
        self.execute(LOGIN, insert).await?;
        Ok(())
    }

    async fn login_session(&self, token_hash: &str) -> Result<LoginSession> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM login_sessions WHERE token_hash = $1");
        let q = sqlx::query_as::<_, SessionRow>(&sql).bind(token_hash);
        Ok(not_found("login session")(self.optional(LOGIN, q).await?)?.into())
    }

    async fn touch_login_session(
        &self,
        id: &str,
        last_seen: Micros,
        expires: Micros,
    ) -> Result<()> {
        let update =
            sqlx::query("UPDATE login_sessions SET last_seen = $1, expires = $2 WHERE id = $3")
                .bind(last_seen)
                .bind(expires)
                .bind(id);
        self.execute(LOGIN, update).await?;
        Ok(())
    }

    async fn select_login_account(&self, id: &str, account_id: Option<&str>) -> Result<()> {
        let update = sqlx::query("UPDATE login_sessions SET account_id = $1 WHERE id = $2")
            .bind(account_id)
            .bind(id);
        self.execute(LOGIN, update).await?;
        Ok(())
    }

    async fn delete_login_session(&self, email: &str, id: &str) -> Result<bool> {
        let delete = sqlx::query("DELETE FROM login_sessions WHERE email = $1 AND id = $2")
            .bind(email)
            .bind(id);
        Ok(self.execute(LOGIN, delete).await?.rows_affected() > 0)
    }

    async fn login_sessions(&self, email: &str, now: Micros) -> Result<Vec<LoginSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM login_sessions WHERE email = $1 AND expires > $2 \
             ORDER BY last_seen DESC, id"
        );
        let q = sqlx::query_as::<_, SessionRow>(&sql).bind(email).bind(now);
        Ok(self
            .all(LOGIN, q)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn end_login_sessions(&self, email: &str, account_id: &str) -> Result<u64> {
        let delete = sqlx::query("DELETE FROM login_sessions WHERE email = $1 AND account_id = $2")
            .bind(email)
            .bind(account_id);
        Ok(self.execute(LOGIN, delete).await?.rows_affected())
    }

    async fn login_session_counts(
        &self,
        account_id: &str,
        now: Micros,
    ) -> Result<Vec<(String, i64)>> {
        let q = sqlx::query_as::<_, (String, i64)>(
            "SELECT email, COUNT(*) FROM login_sessions WHERE account_id = $1 AND expires > $2 \
             GROUP BY email",
        )
        .bind(account_id)
        .bind(now);
        self.all(LOGIN, q).await
    }

    async fn put_invitation(&self, i: &Invitation) -> Result<()> {
        let upsert = sqlx::query(
            "INSERT INTO invitations (id, account_id, email, role, invited_by, created, expires) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, email) DO UPDATE SET \
             id = $1, role = $4, invited_by = $5, created = $6, expires = $7",
        )
        .bind(&i.id)
        .bind(&i.account_id)
        .bind(&i.email)
        .bind(i.role.as_str())
        .bind(&i.invited_by)
        .bind(i.created)
        .bind(i.expires);
        self.execute(Scope::Account(&i.account_id), upsert).await?;
        Ok(())
    }

    async fn invitations(&self, account_id: &str) -> Result<Vec<Invitation>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE account_id = $1 \
             ORDER BY created DESC, id"
        );
        let q = sqlx::query_as::<_, InvitationRow>(&sql).bind(account_id);
        let rows = self.all(Scope::Account(account_id), q).await?;
        rows.into_iter().map(Invitation::try_from).collect()
    }

    async fn invitation(&self, id: &str) -> Result<Invitation> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1");
        let q = sqlx::query_as::<_, InvitationRow>(&sql).bind(id);
        not_found("invitation")(self.optional(LOGIN, q).await?)?.try_into()
    }

    async fn delete_invitation(&self, account_id: &str, id: &str) -> Result<bool> {
        let delete = sqlx::query("DELETE FROM invitations WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id);
        let done = self.execute(Scope::Account(account_id), delete).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_login(&self, now: Micros) -> Result<u64> {
        self.purge_expired(&["login_links", "login_sessions", "invitations"], now)
            .await
    }
}
