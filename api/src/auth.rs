//! Authentication. Agents present an RS256 JWT signed with one of their account's keys; devices
//! present the account's license key, their device id and their device token. Either way the
//! result is a [`Caller`] bound to one account, so every handler is tenant-scoped by construction.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tandem_core::model::{Account, AccountKey, Role};
use tandem_core::policy::Policy;
use tandem_core::service::Caller;

use crate::error::ApiError;
use crate::AppState;

/// Any authenticated caller: an agent or a device.
pub struct Auth(pub Caller);

/// An authenticated agent only.
pub struct AgentAuth(pub Caller);

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    role: Option<String>,
    policy: Option<Value>,
}

const USER_CACHE_TTL: Duration = Duration::from_secs(300);

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

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_token",
        message,
    )
}

/// Reads the unverified payload only to find the issuer and to refuse claims of the wrong type
/// (a string `exp` is not "no expiry").
fn raw_claims(token: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("the token is not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid("the token payload is not base64url"))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("the token payload is not JSON"))?;
    let Value::Object(claims) = claims else {
        return Err(invalid("the token payload is not a JSON object"));
    };
    for name in ["exp", "nbf", "iat"] {
        match claims.get(name) {
            None if name == "exp" => return Err(invalid("the token has no exp claim")),
            None => {}
            Some(v) if v.is_i64() || v.is_u64() => {}
            Some(_) => {
                return Err(invalid(format!(
                    "the {name} claim must be a number of seconds"
                )))
            }
        }
    }
    for name in ["iss", "sub"] {
        if !claims.get(name).is_some_and(Value::is_string) {
            return Err(invalid(format!("the token needs a string {name} claim")));
        }
    }
    Ok(claims)
}

fn algorithm(key: &AccountKey) -> Option<Algorithm> {
    match key.algorithm.as_str() {
        "RS256" => Some(Algorithm::RS256),
        _ => None,
    }
}

impl AppState {
    /// Verifies an agent JWT and returns the caller, creating the user on first use.
    pub async fn verify_jwt(&self, token: &str) -> Result<Caller, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the token header is not valid (only RS256 JWTs are accepted)"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid(format!(
                "algorithm {:?} is not accepted; use RS256",
                header.alg
            )));
        }
        let raw = raw_claims(token)?;
        let iss = raw["iss"].as_str().unwrap_or_default();
        let account = match self.service().store().account_by_license(iss).await {
            Ok(a) => a,
            Err(tandem_core::Error::NotFound(_)) => {
                return Err(invalid("the issuer (iss) is not a known license key"))
            }
            Err(e) => return Err(e.into()),
        };
        let keys = self.service().store().keys(&account.id).await?;
        let candidates: Vec<&AccountKey> = match &header.kid {
            Some(kid) => keys.iter().filter(|k| &k.kid == kid).collect(),
            None => keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(invalid(match header.kid {
                Some(kid) => format!("no key with kid {kid:?} is registered for this account"),
                None => "the account has no keys to verify tokens with".into(),
            }));
        }
        let mut last = invalid("the token signature does not verify");
        for key in candidates {
            match self.verify_with(token, key, &account) {
                Ok(claims) => return self.caller_for(account, claims).await,
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn verify_with(
        &self,
        token: &str,
        key: &AccountKey,
        account: &Account,
    ) -> Result<Claims, ApiError> {
        let alg = algorithm(key)
            .ok_or_else(|| invalid("the account key has an unsupported algorithm"))?;
        let decoding = DecodingKey::from_rsa_pem(key.public_pem.as_bytes())
            .map_err(|_| invalid("the account key is not a valid RSA public key"))?;
        let mut validation = Validation::new(alg);
        validation.set_audience(&self.config().jwt_audiences);
        validation.set_issuer(&[account.license_key.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.config().jwt_leeway_secs;
        jsonwebtoken::decode::<Claims>(token, &decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "token_expired",
                    "jwt expired",
                ),
                ErrorKind::ImmatureSignature => invalid("the token is not valid yet (nbf)"),
                ErrorKind::InvalidAudience => invalid("the token audience (aud) is not accepted"),
                ErrorKind::InvalidIssuer => invalid("the token issuer (iss) does not match"),
                ErrorKind::MissingRequiredClaim(c) => {
                    invalid(format!("the token has no {c} claim"))
                }
                ErrorKind::InvalidSignature => invalid("the token signature does not verify"),
                _ => invalid(format!("the token is not valid: {e}")),
            })
    }

    async fn caller_for(&self, account: Account, claims: Claims) -> Result<Caller, ApiError> {
        let email = claims.sub.trim().to_lowercase();
        if email.len() > 254
            || !email.contains('@')
            || email.starts_with('@')
            || email.ends_with('@')
        {
            return Err(invalid("the sub claim must be the agent's email address"));
        }
        let role = match claims.role.as_deref() {
            None => Role::Agent,
            Some(r) => Role::parse(r)
                .ok_or_else(|| invalid(format!("role {r:?} is not one of administrator, agent")))?,
        };
        let policy = match &claims.policy {
            None | Some(Value::Null) => None,
            Some(p) => Some(Policy::parse(p).map_err(|e| invalid(e.to_string()))?),
        };
        let name = claims
            .display_name
            .filter(|n| !n.trim().is_empty())
            .map(|n| n.chars().take(200).collect::<String>())
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        let cache_key = (account.id.clone(), email.clone());
        let cached = self
            .inner
            .users
            .lock()
            .expect("user cache lock")
            .get(&cache_key)
            .filter(|(u, at)| at.elapsed() < USER_CACHE_TTL && u.name == name && u.role == role)
            .map(|(u, _)| u.clone());
        let user = match cached {
            Some(u) => u,
            None => {
                let u = self
                    .service()
                    .store()
                    .upsert_user(&account.id, &email, &name, role)
                    .await?;
                let mut cache = self.inner.users.lock().expect("user cache lock");
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(cache_key, (u.clone(), Instant::now()));
                u
            }
        };
        Ok(Caller::Agent {
            account,
            user,
            policy,
        })
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
        match self.service().store().account_by_license(license).await {
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

fn record(caller: &Caller) {
    tracing::Span::current().record("account_id", caller.account().id.as_str());
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
            state.verify_jwt(bearer(&parts.headers)?).await?
        };
        record(&caller);
        Ok(Auth(caller))
    }
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = state.verify_jwt(bearer(&parts.headers)?).await?;
        record(&caller);
        Ok(AgentAuth(caller))
    }
}
