//! The caller's own user, account, policy and region.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use tandem_core::model::Role;
use tandem_core::service::Caller;

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::AppState;

fn parts(
    caller: &Caller,
) -> (
    &tandem_core::model::Account,
    &tandem_core::model::User,
    Option<&tandem_core::policy::Policy>,
) {
    match caller {
        Caller::Agent {
            account,
            user,
            policy,
        } => (account, user, policy.as_ref()),
        Caller::Device { .. } => unreachable!("AgentAuth only yields agents"),
    }
}

/// The caller's user, with a new notification token for the socket at `notification_url`: bound
/// to this JWT's policy and good for `notification_token_ttl_secs`. Each call rotates it (older
/// tokens work until they expire); clients refetch it when the socket closes with 4001 or 4002.
pub async fn me(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
) -> ApiResult<Json<Value>> {
    let ttl = Duration::from_secs(app.config().notification_token_ttl_secs);
    let token = app.service().notification_token(&caller, ttl).await?;
    let (_, user, _) = parts(&caller);
    let mut out = json!(user);
    out["notification_token"] = json!(token);
    out["notification_url"] = json!(format!("{}/", app.public_base()));
    Ok(Json(out))
}

pub async fn user(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, me, _) = parts(&caller);
    if id == "me" || id == me.id {
        return self::me(State(app), AgentAuth(caller)).await;
    }
    Ok(Json(json!(app.service().user(&caller, &id).await?)))
}

/// The caller's account (a token reaches exactly one).
pub async fn accounts(AgentAuth(caller): AgentAuth) -> ApiResult<Json<Value>> {
    let (account, user, _) = parts(&caller);
    let mut out = json!({
        "id": account.id,
        "name": account.name,
        "license_key": account.license_key,
        "features": account.settings.features,
        // Not a secret: the embedded viewer checks its parent page against these.
        "trusted_origins": account.settings.trusted_origins,
    });
    if user.role == Role::Administrator {
        out["settings"] = json!(account.settings);
    }
    Ok(Json(json!([out])))
}

/// The policy the caller's token carries; without one, everything is allowed.
pub async fn policy(AgentAuth(caller): AgentAuth) -> ApiResult<Json<Value>> {
    let (_, _, policy) = parts(&caller);
    Ok(Json(match policy {
        Some(p) => json!(p),
        None => json!({"*": {}}),
    }))
}

pub async fn closest_region(
    State(app): State<AppState>,
    AgentAuth(_): AgentAuth,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"id": app.config().region, "type": "default"})))
}
