//! The instance, for its superusers (`superuser_emails`): every account, creating and disabling
//! accounts, and what this server runs on. Signed in with the dashboard's cookie.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::email::Email;
use tandem_core::model::Account;
use tandem_core::time;
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::auth::login::Login;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded};
use crate::AppState;

/// What this server is and runs on.
#[derive(Serialize, ToSchema)]
pub struct Instance {
    #[schema(example = "0.1.0")]
    version: &'static str,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// `connected`, `unavailable` (the link is down) or `not_configured` (one process).
    redis: &'static str,
    region: String,
    /// What this process serves: `all`, `api` or `realtime`.
    role: String,
    public_url: String,
}

fn superuser(app: &AppState, login: &Login) -> Result<(), ApiError> {
    if app.service().is_superuser(&login.signed_in.session.email) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the instance's superusers may do this",
        ))
    }
}

/// Get the instance
#[utoipa::path(
    get,
    path = "/api/1/instance",
    tag = "instance",
    operation_id = "getInstance",
    security(("loginCookie" = [])),
    responses(
        (status = 200, description = "This server.", body = Instance),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn get(State(app): State<AppState>, login: Login) -> ApiResult<Json<Instance>> {
    superuser(&app, &login)?;
    let redis = match app.hub().redis_up() {
        None => "not_configured",
        Some(true) => "connected",
        Some(false) => "unavailable",
    };
    Ok(Json(Instance {
        version: env!("CARGO_PKG_VERSION"),
        backend: app.service().backend().as_str(),
        redis,
        region: app.config().region.clone(),
        role: app.config().role.to_string(),
        public_url: app.public_base().to_owned(),
    }))
}

/// An account as superusers see it.
#[derive(Serialize, ToSchema)]
pub struct AdminAccount {
    id: String,
    name: String,
    license_key: String,
    disabled: bool,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    created: i64,
    /// How many members it has.
    members: usize,
}

fn admin_view(account: Account, members: usize) -> AdminAccount {
    AdminAccount {
        id: account.id,
        name: account.name,
        license_key: account.license_key,
        disabled: account.disabled,
        created: account.created,
        members,
    }
}

/// List every account
#[utoipa::path(
    get,
    path = "/api/1/admin/accounts",
    tag = "instance",
    operation_id = "listAllAccounts",
    security(("loginCookie" = [])),
    responses(
        (status = 200, description = "Every account, oldest first.", body = Vec<AdminAccount>),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn accounts(
    State(app): State<AppState>,
    login: Login,
) -> ApiResult<Json<Vec<AdminAccount>>> {
    let all = app
        .service()
        .all_accounts(&login.signed_in.session.email)
        .await?;
    Ok(Json(
        all.into_iter()
            .map(|(account, members)| admin_view(account, members))
            .collect(),
    ))
}

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(value_type = String, max_length = 100)]
    name: Bounded<100>,
}

/// Create an account
///
/// The superuser becomes its administrator.
#[utoipa::path(
    post,
    path = "/api/1/admin/accounts",
    tag = "instance",
    operation_id = "createAccount",
    security(("loginCookie" = [])),
    request_body = NewAccount,
    responses(
        (status = 201, description = "The new account.", body = AdminAccount),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    login: Login,
    Body(body): Body<NewAccount>,
) -> ApiResult<(StatusCode, Json<AdminAccount>)> {
    superuser(&app, &login)?;
    let email = Email::parse(&login.signed_in.session.email)
        .ok_or_else(|| ApiError::bad_request("the signed-in email is not valid"))?;
    let account = app
        .service()
        .create_account_as(&email, &body.name.0)
        .await?;
    Ok((StatusCode::CREATED, Json(admin_view(account, 1))))
}

/// A change to an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    #[schema(value_type = Option<String>, max_length = 100)]
    name: Option<Bounded<100>>,
    /// A disabled account's JWTs, sign-ins, devices and sockets are all refused.
    disabled: Option<bool>,
}

/// Rename, disable or enable an account
#[utoipa::path(
    patch,
    path = "/api/1/admin/accounts/{id}",
    tag = "instance",
    operation_id = "updateAnyAccount",
    security(("loginCookie" = [])),
    params(("id" = String, Path, description = "The account's id.")),
    request_body = AccountChange,
    responses(
        (status = 200, description = "The account.", body = AdminAccount),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    login: Login,
    Path(id): Path<String>,
    Body(body): Body<AccountChange>,
) -> ApiResult<Json<AdminAccount>> {
    let email = &login.signed_in.session.email;
    let service = app.service();
    let account = service
        .admin_update_account(
            email,
            &id,
            body.name.as_ref().map(|n| n.0.as_str()),
            body.disabled,
        )
        .await?;
    let members = service
        .all_accounts(email)
        .await?
        .into_iter()
        .find(|(a, _)| a.id == account.id)
        .map_or(0, |(_, n)| n);
    Ok(Json(admin_view(account, members)))
}
