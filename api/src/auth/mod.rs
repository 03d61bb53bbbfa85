//! Authentication. Agents present an RS256 JWT signed with one of their account's keys, or the
//! dashboard's login cookie; devices present the account's license key, their device id and
//! their device token. Either way the result is a [`Caller`] bound to one account, so every
//! handler is tenant-scoped by construction.

mod jwt;
pub mod login;
mod refused;
mod unverified;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use tandem_core::model::{Account, User};
use tandem_core::policy::Policy;
use tandem_core::service::Caller;

use crate::error::ApiError;
use crate::AppState;

/// Any authenticated caller: an agent or a device.
pub struct Auth(pub Caller);

/// An authenticated agent: the account their token's issuer names, the agent, and the policy
/// their token carries (none: everything the account holds).
pub struct AgentAuth {
    pub account: Account,
    pub user: User,
    pub policy: Option<Policy>,
}

impl From<AgentAuth> for Caller {
    fn from(a: AgentAuth) -> Caller {
        Caller::Agent {
            account: a.account,
            user: a.user,
            policy: a.policy,
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl AppState {
    /// Authenticates an agent: by the JWT in `Authorization` when there is one, else by the
    /// dashboard's login cookie.
    pub async fn verify_agent(&self, parts: &Parts) -> Result<AgentAuth, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
            || login::cookie_token(&parts.headers).is_none()
        {
            return self.verify_jwt(bearer(&parts.headers)?).await;
        }
        self.login_agent(parts).await
    }

    /// Authenticates a device: license key, device id and device token.
    pub async fn verify_device(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let (license, id) = device_headers(headers)?;
        let token = bearer(headers)?;
        let account = self.account_for_license(license).await?;
        match self
            .service()
            .authenticate_device(&account, id, token)
            .await
        {
            Ok(device) => Ok(Caller::Device { account, device }),
            Err(tandem_core::Error::NotFound(_)) => Err(ApiError::unauthorized(
                "unknown device or wrong device token",
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn account_for_license(&self, license: &str) -> Result<Account, ApiError> {
        match self.service().account_by_license(license).await {
            Ok(a) => Ok(a),
            Err(tandem_core::Error::NotFound(_)) => {
                Err(ApiError::unauthorized("unknown license key"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The license key and device id a device SDK sends.
pub fn device_headers(headers: &HeaderMap) -> Result<(&str, &str), ApiError> {
    let license = header(headers, "x-cobrowselicense")
        .ok_or_else(|| ApiError::unauthorized("missing X-CobrowseLicense header"))?;
    let id = header(headers, "x-cobrowsedevice")
        .ok_or_else(|| ApiError::unauthorized("missing X-CobrowseDevice header"))?;
    Ok((license, id))
}

fn record(account: &Account) {
    tracing::Span::current().record("account_id", account.id.as_str());
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = if parts.headers.contains_key("x-cobrowsedevice") {
            state.verify_device(&parts.headers).await?
        } else {
            state.verify_agent(parts).await?.into()
        };
        record(caller.account());
        Ok(Auth(caller))
    }
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let agent = state.verify_agent(parts).await?;
        record(&agent.account);
        Ok(agent)
    }
}
