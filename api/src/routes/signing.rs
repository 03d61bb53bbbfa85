//! The account's signing keys (administrators): JWTs from integrations verify with these.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_core::model::{AccountKey, KeyInfo};
use tandem_core::service::Caller;
use tandem_core::{secrets, time};
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized, UnsupportedMediaType,
};
use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded};
use crate::keys;
use crate::AppState;

/// List the signing keys
#[utoipa::path(
    get,
    path = "/api/1/keys",
    tag = "keys",
    operation_id = "listKeys",
    security(("agentJwt" = []), ("loginCookie" = [])),
    responses(
        (status = 200, description = "The keys, newest first; never a private half.", body = Vec<KeyInfo>),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn list(State(app): State<AppState>, agent: AgentAuth) -> ApiResult<Json<Vec<KeyInfo>>> {
    Ok(Json(app.service().key_infos(&agent.into()).await?))
}

/// Generate a key pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Generate {}

/// A generated key with its private half, shown this once.
#[derive(Serialize, ToSchema)]
pub struct GeneratedKey {
    #[serde(flatten)]
    key: KeyInfo,
    /// PKCS#8 PEM. Tandem keeps no copy: store it where your integration signs JWTs.
    private_key: String,
}

/// Generate a key pair
///
/// An RSA-2048 pair for RS256. The private half is in this answer only: Tandem never stores it.
#[utoipa::path(
    post,
    path = "/api/1/keys/generate",
    tag = "keys",
    operation_id = "generateKey",
    security(("agentJwt" = []), ("loginCookie" = [])),
    request_body = Generate,
    responses(
        (status = 201, description = "The key and, once, its private half.", body = GeneratedKey),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn generate(
    State(app): State<AppState>,
    agent: AgentAuth,
    Body(Generate {}): Body<Generate>,
) -> ApiResult<(StatusCode, Json<GeneratedKey>)> {
    let caller: Caller = agent.into();
    caller.administrator()?;
    let account_id = caller.account().id.clone();
    let pair = tokio::task::spawn_blocking(move || keys::generate(&account_id))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "key generation failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    let key = app.service().add_account_key(&caller, &pair.key).await?;
    Ok((
        StatusCode::CREATED,
        Json(GeneratedKey {
            key,
            private_key: pair.private_pem,
        }),
    ))
}

/// A public key to upload: a PEM, or a JWKS.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// An RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`), at least 2048 bits.
    #[schema(value_type = Option<String>, max_length = 8192)]
    public_key: Option<Bounded<8192>>,
    /// Its kid (the JWT header's `kid`); by default derived from the key.
    #[schema(value_type = Option<String>, max_length = 128)]
    kid: Option<Bounded<128>>,
    /// A JWKS `{keys: [{kty: "RSA", n, e, kid}]}`: every RSA key in it is added.
    #[schema(value_type = Option<Object>)]
    jwks: Option<Value>,
}

fn valid_kid(kid: &str) -> Result<String, ApiError> {
    let ok = !kid.is_empty()
        && kid.len() <= 128
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(kid.to_owned())
    } else {
        Err(ApiError::bad_request(
            "kid: 1 to 128 letters, digits, '-', '_', '.' or ':'",
        ))
    }
}

fn default_kid(pem: &str) -> String {
    secrets::hash_token(pem)[..16].to_owned()
}

/// The keys a JWKS holds, as PEMs with their kids.
fn jwks_keys(jwks: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |m: String| ApiError::bad_request(format!("jwks: {m}"));
    let list = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("must be an object with a `keys` array".into()))?;
    if list.is_empty() || list.len() > 20 {
        return Err(bad("must hold 1 to 20 keys".into()));
    }
    let mut out = Vec::new();
    for (i, k) in list.iter().enumerate() {
        if k.get("kty").and_then(Value::as_str) != Some("RSA") {
            return Err(bad(format!("keys[{i}] is not an RSA key (kty)")));
        }
        if let Some(alg) = k.get("alg").and_then(Value::as_str) {
            if alg != "RS256" {
                return Err(bad(format!(
                    "keys[{i}] is for {alg}; Tandem verifies RS256"
                )));
            }
        }
        let part = |name: &str| {
            k.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("keys[{i}] has no {name}")))
        };
        let pem = keys::rsa_jwk_to_pem(part("n")?, part("e")?)
            .map_err(|e| bad(format!("keys[{i}]: {e}")))?;
        let kid = match k.get("kid").and_then(Value::as_str) {
            Some(kid) => valid_kid(kid)?,
            None => default_kid(&pem),
        };
        out.push((kid, pem));
    }
    Ok(out)
}

/// Upload public keys
///
/// A PEM public key (with an optional kid) or a JWKS. Nothing is added unless every key is
/// usable; a kid the account already has is `409 conflict`.
#[utoipa::path(
    post,
    path = "/api/1/keys",
    tag = "keys",
    operation_id = "uploadKeys",
    security(("agentJwt" = []), ("loginCookie" = [])),
    request_body = Upload,
    responses(
        (status = 201, description = "The keys added.", body = Vec<KeyInfo>),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn upload(
    State(app): State<AppState>,
    agent: AgentAuth,
    Body(body): Body<Upload>,
) -> ApiResult<(StatusCode, Json<Vec<KeyInfo>>)> {
    let caller: Caller = agent.into();
    caller.administrator()?;
    let found = match (&body.public_key, &body.jwks) {
        (Some(pem), None) => {
            let pem = keys::check_public_pem(&pem.0)
                .map_err(|e| ApiError::bad_request(format!("public_key: {e}")))?;
            let kid = match &body.kid {
                Some(kid) => valid_kid(&kid.0)?,
                None => default_kid(&pem),
            };
            vec![(kid, pem)]
        }
        (None, Some(jwks)) if body.kid.is_none() => jwks_keys(jwks)?,
        _ => {
            return Err(ApiError::bad_request(
                "send either public_key (with an optional kid) or jwks",
            ))
        }
    };
    let existing = app.service().key_infos(&caller).await?;
    if let Some((kid, _)) = found
        .iter()
        .find(|(kid, _)| existing.iter().any(|k| &k.kid == kid))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("the account already has a key with kid {kid:?}"),
        ));
    }
    let mut added = Vec::new();
    for (kid, pem) in found {
        let key = AccountKey {
            account_id: caller.account().id.clone(),
            kid,
            algorithm: "RS256".into(),
            public_pem: pem,
            private_pem: None,
            created: time::now(),
        };
        added.push(app.service().add_account_key(&caller, &key).await?);
    }
    Ok((StatusCode::CREATED, Json(added)))
}

/// Revoke a key
///
/// JWTs signed with it are refused from the next request on.
#[utoipa::path(
    delete,
    path = "/api/1/keys/{kid}",
    tag = "keys",
    operation_id = "revokeKey",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("kid" = String, Path, description = "The key's kid.")),
    responses(
        (status = 204, description = "Revoked."),
        Errors<(Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn revoke(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(kid): Path<String>,
) -> ApiResult<StatusCode> {
    app.service().revoke_key(&agent.into(), &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}
