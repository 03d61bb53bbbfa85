//! Agents: an RS256 JWT signed with one of their account's keys. Its issuer is the account's
//! license key, its subject the agent's email; the agent is created on first use.

use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tandem_core::email::Email;
use tandem_core::model::{Account, AccountKey, Role};
use tandem_core::policy::Policy;

use super::refused::{refused, Failure, Refused};
use super::unverified::{raw_alg, raw_claims, shown};
use super::AgentAuth;
use crate::error::ApiError;
use crate::AppState;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    role: Option<String>,
    policy: Option<Value>,
}

const USER_CACHE_TTL: Duration = Duration::from_secs(300);

fn algorithm(key: &AccountKey) -> Option<Algorithm> {
    match key.algorithm.as_str() {
        "RS256" => Some(Algorithm::RS256),
        _ => None,
    }
}

impl AppState {
    /// Verifies an agent JWT and returns the caller, creating the user on first use.
    pub async fn verify_jwt(&self, token: &str) -> Result<AgentAuth, ApiError> {
        match self.check_jwt(token).await {
            Ok(agent) => Ok(agent),
            Err(Failure::Refused(r)) => Err(r.report()),
            Err(Failure::Internal(e)) => Err(e),
        }
    }

    async fn check_jwt(&self, token: &str) -> Result<AgentAuth, Failure> {
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
                Ok(claims) => {
                    self.key_used(&account.id, &key.kid).await;
                    return self.caller_for(account, claims).await;
                }
                Err(e) if rank(&e) > rank(&last) => last = e,
                Err(_) => {}
            }
        }
        Err(last.of(&account).into())
    }

    async fn caller_for(&self, account: Account, claims: Claims) -> Result<AgentAuth, Failure> {
        let Some(email) = Email::parse(&claims.sub) else {
            return Err(refused("subject", "the sub claim is not an email address")
                .of(&account)
                .into());
        };
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
            .unwrap_or_else(|| email.local_part().to_owned());
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
        Ok(AgentAuth {
            account,
            user,
            policy,
        })
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
