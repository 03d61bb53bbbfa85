//! The caller's own user, account, policy and region.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use tandem_core::model::{AccountSettings, Role, User};

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::AppState;

/// `GET /users/me`: the caller, with a socket credential.
#[derive(Debug, Serialize)]
pub struct UserMe {
    #[serde(flatten)]
    user: User,
    /// Opens the agent's socket at `notification_url`: bound to this JWT's policy and good for
    /// `notification_token_ttl_secs`. Each call mints another (older ones work until they
    /// expire); clients fetch a new one when the socket closes with 4001 or 4002.
    notification_token: String,
    notification_url: String,
}

/// The caller's user, with a new notification token for the socket at `notification_url`.
pub async fn me(State(app): State<AppState>, agent: AgentAuth) -> ApiResult<Json<UserMe>> {
    let ttl = Duration::from_secs(app.config().notification_token_ttl_secs);
    let user = agent.user.clone();
    let token = app.service().notification_token(&agent.into(), ttl).await?;
    Ok(Json(UserMe {
        user,
        notification_token: token,
        notification_url: format!("{}/", app.public_base()),
    }))
}

/// `GET /users/:id`: the caller (`me` or their own id, as [`me`]) or another user of the account.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum UserReply {
    Me(UserMe),
    Other(User),
}

pub async fn user(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<UserReply>> {
    if id == "me" || id == agent.user.id {
        let Json(me) = self::me(State(app), agent).await?;
        return Ok(Json(UserReply::Me(me)));
    }
    let other = app.service().user(&agent.into(), &id).await?;
    Ok(Json(UserReply::Other(other)))
}

/// An account as its agents see it; administrators also see its settings.
#[derive(Debug, Serialize)]
pub struct AccountView {
    id: String,
    name: String,
    license_key: String,
    features: std::collections::BTreeMap<String, bool>,
    /// Not a secret: the embedded viewer checks its parent page against these.
    trusted_origins: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<AccountSettings>,
}

/// The caller's account (a token reaches exactly one).
pub async fn accounts(agent: AgentAuth) -> ApiResult<Json<[AccountView; 1]>> {
    let AgentAuth { account, user, .. } = agent;
    let settings = account.settings;
    Ok(Json([AccountView {
        id: account.id,
        name: account.name,
        license_key: account.license_key,
        features: settings.features.clone(),
        trusted_origins: settings.trusted_origins.clone(),
        settings: (user.role == Role::Administrator).then_some(settings),
    }]))
}

/// The policy the caller's token carries; without one, everything is allowed.
pub async fn policy(agent: AgentAuth) -> ApiResult<Json<Value>> {
    Ok(Json(match agent.policy {
        Some(p) => json!(p),
        None => json!({"*": {}}),
    }))
}

/// `GET /regions/closest`.
#[derive(Debug, Serialize)]
pub struct Region {
    id: String,
    r#type: &'static str,
}

pub async fn closest_region(State(app): State<AppState>, _: AgentAuth) -> ApiResult<Json<Region>> {
    Ok(Json(Region {
        id: app.config().region.clone(),
        r#type: "default",
    }))
}
