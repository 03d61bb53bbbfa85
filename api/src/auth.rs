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

/// Why a JWT was refused: a `reason` from a fixed few (the metric's label), and the detail, for
/// the log only. The caller is told "invalid token" whatever the reason, except that a token
/// which verifies but has expired says "jwt expired" (the Cobrowse.io SDK relies on it).
struct Refused {
    reason: &'static str,
    account_id: Option<String>,
    detail: String,
}

fn refused(reason: &'static str, detail: impl Into<String>) -> Refused {
    Refused {
        reason,
        account_id: None,
        detail: detail.into(),
    }
}

/// A token-supplied string, short enough for a log line.
fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(64).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    out
}

enum Failure {
    Refused(Refused),
    /// Not about the token: the database failed, say.
    Internal(ApiError),
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Failure::Refused(r)
    }
}

impl From<tandem_core::Error> for Failure {
    fn from(e: tandem_core::Error) -> Self {
        Failure::Internal(e.into())
    }
}

impl Refused {
    fn of(mut self, account: &Account) -> Self {
        self.account_id = Some(account.id.clone());
        self
    }

    /// Logs the detail, counts the reason, and gives the caller the one answer.
    fn report(self) -> ApiError {
        metrics::counter!("tandem_auth_failures_total", "reason" => self.reason).increment(1);
        tracing::info!(
            reason = self.reason,
            account_id = self.account_id.as_deref().unwrap_or(""),
            detail = %self.detail,
            "agent token refused"
        );
        if self.reason == "expired" {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "token_expired",
                "jwt expired",
            )
        } else {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_token",
                "invalid token",
            )
        }
    }
}

fn segment(token: &str, index: usize, what: &str) -> Result<Value, Refused> {
    let part = token
        .split('.')
        .nth(index)
        .ok_or_else(|| refused("malformed", "the token is not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| refused("malformed", format!("the token {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| refused("malformed", format!("the token {what} is not JSON")))
}

/// Reads the unverified header only to refuse any algorithm but RS256 by name (`none`, `HS256`
/// and the like never reach a key). Its `jku`, `x5u`, `jwk` and `x5c` are never read: keys come
/// from the account alone.
fn raw_alg(token: &str) -> Result<(), Refused> {
    let header = segment(token, 0, "header")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Ok(()),
        Some(alg) => Err(refused(
            "algorithm",
            format!("algorithm {:?} is not accepted", shown(alg)),
        )),
        None => Err(refused("malformed", "the token header has no alg")),
    }
}

/// Reads the unverified payload only to find the issuer and to refuse claims of the wrong type
/// (a string `exp` is not "no expiry").
fn raw_claims(token: &str) -> Result<serde_json::Map<String, Value>, Refused> {
    let Value::Object(claims) = segment(token, 1, "payload")? else {
        return Err(refused(
            "malformed",
            "the token payload is not a JSON object",
        ));
    };
    for name in ["exp", "nbf", "iat"] {
        match claims.get(name) {
            None if name == "exp" => return Err(refused("claims", "the token has no exp claim")),
            None => {}
            Some(v) if v.is_i64() || v.is_u64() => {}
            Some(_) => {
                return Err(refused(
                    "claims",
                    format!("the {name} claim is not a number of seconds"),
                ))
            }
        }
    }
    for name in ["iss", "sub"] {
        if !claims.get(name).is_some_and(Value::is_string) {
            return Err(refused(
                "claims",
                format!("the token has no string {name} claim"),
            ));
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
        match self.check_jwt(token).await {
            Ok(caller) => Ok(caller),
            Err(Failure::Refused(r)) => Err(r.report()),
            Err(Failure::Internal(e)) => Err(e),
        }
    }

    async fn check_jwt(&self, token: &str) -> Result<Caller, Failure> {
        raw_alg(token)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| refused("malformed", format!("the token header is not valid: {e}")))?;
        let raw = raw_claims(token)?;
        let iss = raw["iss"].as_str().unwrap_or_default();
        let account = match self.service().account_by_license(iss).await {
            Ok(a) => a,
            Err(tandem_core::Error::NotFound(_)) => {
                return Err(refused(
                    "unknown_issuer",
                    format!("the issuer {:?} is not a known license key", shown(iss)),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        let keys = self.service().keys(&account.id).await?;
        let candidates: Vec<&AccountKey> = match &header.kid {
            Some(kid) => keys.iter().filter(|k| &k.kid == kid).collect(),
            None => keys.iter().collect(),
        };
        if candidates.is_empty() {
            let r = match &header.kid {
                Some(kid) => refused(
                    "unknown_kid",
                    format!("no key with kid {:?} is registered", shown(kid)),
                ),
                None => refused("unknown_kid", "the account has no keys"),
            };
            return Err(r.of(&account).into());
        }
        // Without a kid every key is tried; what a key that verified the signature says
        // (expired, wrong audience...) outranks the other keys' "signature does not verify".
        let rank = |r: &Refused| match r.reason {
            "signature" | "algorithm" | "malformed" => 0,
            "key_unusable" => 1,
            _ => 2,
        };
        let mut last = refused("signature", "the token signature does not verify");
        for key in candidates {
            match verify_with(self.config(), token, key, &account) {
                Ok(claims) => return self.caller_for(account, claims).await,
                Err(e) if rank(&e) > rank(&last) => last = e,
                Err(_) => {}
            }
        }
        Err(last.of(&account).into())
    }

    async fn caller_for(&self, account: Account, claims: Claims) -> Result<Caller, Failure> {
        let email = claims.sub.trim().to_lowercase();
        if email.len() > 254
            || !email.contains('@')
            || email.starts_with('@')
            || email.ends_with('@')
        {
            return Err(refused("subject", "the sub claim is not an email address")
                .of(&account)
                .into());
        }
        let role = match claims.role.as_deref() {
            None => Role::Agent,
            Some(r) => match Role::parse(r) {
                Some(role) => role,
                None => {
                    return Err(refused(
                        "role",
                        format!("role {:?} is not administrator or agent", shown(r)),
                    )
                    .of(&account)
                    .into())
                }
            },
        };
        let policy = match &claims.policy {
            None | Some(Value::Null) => None,
            Some(p) => match Policy::parse(p) {
                Ok(policy) => Some(policy),
                Err(e) => return Err(refused("policy", e.to_string()).of(&account).into()),
            },
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
                    .upsert_agent(&account, &email, &name, role)
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
        match self.service().account_by_license(license).await {
            Ok(a) => Ok(a),
            Err(tandem_core::Error::NotFound(_)) => {
                Err(ApiError::unauthorized("unknown license key"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Verifies the signature with one of the account's keys, then the claims.
fn verify_with(
    config: &crate::Config,
    token: &str,
    key: &AccountKey,
    account: &Account,
) -> Result<Claims, Refused> {
    let alg = algorithm(key).ok_or_else(|| {
        refused(
            "key_unusable",
            format!(
                "key {:?} has the unsupported algorithm {:?}",
                key.kid, key.algorithm
            ),
        )
    })?;
    let decoding = DecodingKey::from_rsa_pem(key.public_pem.as_bytes()).map_err(|_| {
        refused(
            "key_unusable",
            format!("key {:?} is not a valid RSA public key", key.kid),
        )
    })?;
    let mut validation = Validation::new(alg);
    validation.set_audience(&config.jwt_audiences);
    validation.set_issuer(&[account.license_key.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = config.jwt_leeway_secs;
    jsonwebtoken::decode::<Claims>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|e| {
            let reason = match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::ImmatureSignature => "not_yet_valid",
                ErrorKind::InvalidAudience => "audience",
                ErrorKind::InvalidIssuer => "issuer",
                ErrorKind::MissingRequiredClaim(_) => "claims",
                ErrorKind::InvalidSignature => "signature",
                ErrorKind::InvalidAlgorithm => "algorithm",
                _ => "malformed",
            };
            refused(reason, format!("key {:?}: {e}", key.kid))
        })
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// Header and payload members an attacker might add, as JSON.
    fn extra() -> impl Strategy<Value = serde_json::Map<String, Value>> {
        let value = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::String),
        ];
        proptest::collection::btree_map("[a-z]{1,5}", value, 0..5)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_token_text_is_refused_without_panicking(token in ".{0,200}") {
            let _ = jsonwebtoken::decode_header(&token);
            let _ = raw_alg(&token);
            let _ = raw_claims(&token);
        }

        #[test]
        fn any_json_segments_are_read_or_refused(
            header in extra(),
            claims in extra(),
            alg in prop_oneof![
                Just("RS256".to_owned()),
                Just("none".to_owned()),
                Just("HS256".to_owned()),
                ".{0,8}",
            ],
        ) {
            let mut header = header;
            header.insert("alg".into(), Value::from(alg.as_str()));
            let token = format!("{}.{}.sig", b64(&Value::Object(header)), b64(&Value::Object(claims)));
            prop_assert_eq!(raw_alg(&token).is_ok(), alg == "RS256");
            let _ = raw_claims(&token);
        }

        #[test]
        fn valid_claims_read_back(
            iss in "[A-Za-z0-9]{1,40}",
            sub in ".{1,40}",
            exp in 0..i64::MAX,
            extra in extra(),
        ) {
            let mut claims = extra;
            claims.insert("iss".into(), Value::from(iss));
            claims.insert("sub".into(), Value::from(sub));
            claims.insert("exp".into(), Value::from(exp));
            claims.remove("nbf");
            claims.remove("iat");
            let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k"});
            let token = format!("{}.{}.sig", b64(&header), b64(&Value::Object(claims.clone())));
            prop_assert!(raw_alg(&token).is_ok());
            prop_assert_eq!(raw_claims(&token).ok(), Some(claims));
        }
    }
}
