//! The caller's own user, account, policy and region.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::model::{AccountSettings, Role, User};
use tandem_core::policy::{Policy, Rule};
use tandem_core::service::AccountPatch;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::doc::{
    BadRequest, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use super::params::UserId;
use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::extract::{Body, Bounded};
use crate::AppState;

/// The calling agent, with the credentials for their notification socket.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserMe {
    #[serde(flatten)]
    user: User,
    /// A bearer secret for the caller's notification socket, new on every call: it reaches what
    /// this JWT's policy reaches and expires after the server's `notification_token_ttl_secs`
    /// (the socket then closes with 4002). Older ones work until they expire; clients fetch a new
    /// one when the socket closes with 4001 or 4002.
    notification_token: String,
    /// The base URL the socket path (`sockets/1/ws`) is resolved against.
    #[schema(format = "uri")]
    notification_url: String,
}

/// Get the calling agent
#[utoipa::path(
    get,
    path = "/api/1/users/me",
    tag = "users",
    operation_id = "getCurrentUser",
    security(("agentJwt" = [])),
    responses(
        (status = 200, description = "The calling agent, with their notification socket credentials.", body = UserMe),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
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

/// `GET /users/{id}`: the caller (`me` or their own id, as [`me`]) or another user of the account.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum UserReply {
    Me(UserMe),
    Other(User),
}

/// Either shape may be sent, and a `UserMe` is also a valid `User`: `anyOf`, not `oneOf`.
impl PartialSchema for UserReply {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                UserMe::name(),
            )))
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                User::name(),
            )))
            .into()
    }
}

impl ToSchema for UserReply {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((UserMe::name().into(), UserMe::schema()));
        <UserMe as ToSchema>::schemas(schemas);
    }
}

/// Get an agent of the account
#[utoipa::path(
    get,
    path = "/api/1/users/{id}",
    tag = "users",
    operation_id = "getUser",
    security(("agentJwt" = [])),
    params(UserId),
    responses(
        (status = 200, description = "The user. For `me` or the caller's own id the reply is that of `GET /api/1/users/me` (UserMe).", body = inline(UserReply)),
        Errors<(Unauthorized, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn user(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(UserId(id)): Path<UserId>,
) -> ApiResult<Json<UserReply>> {
    if id == "me" || id == agent.user.id {
        let Json(me) = self::me(State(app), agent).await?;
        return Ok(Json(UserReply::Me(me)));
    }
    let other = app.service().user(&agent.into(), &id).await?;
    Ok(Json(UserReply::Other(other)))
}

/// The caller's account, as its agents see it; administrators also see its settings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    id: String,
    name: String,
    /// The key devices send as `X-CobrowseLicense` and JWTs carry as `iss`.
    license_key: String,
    /// Feature switches by name; a missing feature is enabled.
    features: std::collections::BTreeMap<String, bool>,
    /// Origins (glob patterns) allowed to embed the viewer and open sockets from a browser; the
    /// embedded viewer checks its parent page against them (so they are no secret).
    trusted_origins: Vec<String>,
    /// Present only for administrators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    settings: Option<AccountSettings>,
}

/// Get the caller's account
#[utoipa::path(
    get,
    path = "/api/1/accounts",
    tag = "account",
    operation_id = "listAccounts",
    security(("agentJwt" = [])),
    responses(
        (status = 200, description = "A one-item array: the account the token belongs to.", body = Vec<AccountView>),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
pub async fn accounts(agent: AgentAuth) -> ApiResult<Json<[AccountView; 1]>> {
    let AgentAuth { account, user, .. } = agent;
    Ok(Json([account_view(account, user.role)]))
}

fn account_view(account: tandem_core::model::Account, role: Role) -> AccountView {
    let settings = account.settings;
    AccountView {
        id: account.id,
        name: account.name,
        license_key: account.license_key,
        features: settings.features.clone(),
        trusted_origins: settings.trusted_origins.clone(),
        settings: (role == Role::Administrator).then_some(settings),
    }
}

/// A change to the account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    #[schema(value_type = Option<String>, max_length = 100)]
    name: Option<Bounded<100>>,
    /// Settings to change, merged over the current ones; the result is checked whole
    /// (`invalid_settings` names the field).
    #[schema(value_type = Option<Object>)]
    settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Change the caller's account
///
/// Administrators rename the account and change its settings. Customers' pages get the new
/// settings with their next registration, session or reconnection; nothing is redeployed.
#[utoipa::path(
    patch,
    path = "/api/1/accounts/{id}",
    tag = "account",
    operation_id = "updateAccount",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("id" = String, Path, description = "The caller's account id.")),
    request_body = AccountUpdate,
    responses(
        (status = 200, description = "The account as `GET /api/1/accounts` shows it.", body = AccountView),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn update_account(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<AccountUpdate>,
) -> ApiResult<Json<AccountView>> {
    if id != agent.account.id {
        return Err(crate::error::ApiError::not_found("account not found"));
    }
    let role = agent.user.role;
    let patch = AccountPatch {
        name: body.name.map(|n| n.0),
        settings: body.settings,
    };
    let account = app.service().update_account(&agent.into(), patch).await?;
    Ok(Json(account_view(account, role)))
}

/// Get the policy of the caller's token
///
/// Without a policy the token reaches everything, which reads `{"*": {}}`.
#[utoipa::path(
    get,
    path = "/api/1/policy/current",
    tag = "account",
    operation_id = "getCurrentPolicy",
    security(("agentJwt" = [])),
    responses(
        (status = 200, description = "The policy; `{\"*\": {}}` when the token carries none.", body = Policy),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
pub async fn policy(agent: AgentAuth) -> ApiResult<Json<Policy>> {
    Ok(Json(agent.policy.unwrap_or_else(|| Policy {
        version: None,
        rules: [("*".to_owned(), Rule::default())].into(),
    })))
}

/// The region serving the caller; its `id` may be passed back as a session's `region`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Region {
    #[schema(example = "default")]
    id: String,
    #[schema(example = "default")]
    r#type: &'static str,
}

/// Get the closest region
#[utoipa::path(
    get,
    path = "/api/1/regions/closest",
    tag = "account",
    operation_id = "getClosestRegion",
    security(("agentJwt" = [])),
    responses(
        (status = 200, description = "The region serving this server.", body = Region),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
pub async fn closest_region(State(app): State<AppState>, _: AgentAuth) -> ApiResult<Json<Region>> {
    Ok(Json(Region {
        id: app.config().region.clone(),
        r#type: "default",
    }))
}
