//! Signing in to the dashboard: emailed links, the login sessions they open, invitations to an
//! account, and what administrators see of members and keys.

use serde::Serialize;

use super::{Role, User};
use crate::time::{self, Micros};

/// A sign-in link as stored: its token's hash, the email it signs in, and the account asked for
/// or the invitation it accepts. Single use: redeeming deletes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginLink {
    pub token_hash: String,
    pub email: String,
    pub account_id: Option<String>,
    pub invitation_id: Option<String>,
    pub expires: Micros,
}

/// A signed-in browser. The cookie holds the token; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoginSession {
    /// Names the sign-in in lists (not a credential).
    pub id: String,
    #[serde(skip)]
    pub token_hash: String,
    #[schema(format = Email)]
    pub email: String,
    /// The account this browser works in; none until one is picked.
    #[serde(skip)]
    pub account_id: Option<String>,
    /// The account whose IdP signed this browser in; none for an email link.
    #[serde(skip)]
    pub sso_account: Option<String>,
    /// The browser's User-Agent when it signed in.
    pub user_agent: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Micros,
    /// Idle expiry and the absolute limit, whichever comes first.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expires: Micros,
}

/// An invitation to join an account with a role, pending until accepted or withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    #[schema(format = Email)]
    pub email: String,
    pub role: Role,
    /// The email of the administrator who sent it.
    #[schema(format = Email)]
    pub invited_by: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expires: Micros,
}

/// A member of the account, as administrators see them: signed in with the dashboard or by a
/// JWT.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    #[serde(flatten)]
    pub user: User,
    /// Live dashboard sign-ins of this member in this account.
    pub login_sessions: i64,
}

/// A signing key as administrators see it: never its private half.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KeyInfo {
    pub kid: String,
    #[schema(example = "RS256")]
    pub algorithm: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
    /// When a JWT signed with it last verified (to the minute); null when never.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used: Option<Micros>,
}
