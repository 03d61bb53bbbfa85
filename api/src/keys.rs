//! Account key pairs and test tokens: what the dashboard's "Generate" button and the
//! `tandem keys generate` / `tandem token` commands do.

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use tandem_core::model::AccountKey;
use tandem_core::{secrets, time};

/// Generates an RSA-2048 key pair for an account (RS256 pinned), private half included.
pub fn generate(account_id: &str) -> anyhow::Result<AccountKey> {
    let private =
        RsaPrivateKey::new(&mut rand_core::OsRng, 2048).context("generating an RSA key")?;
    let public_pem = RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .context("encoding the public key")?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the private key")?
        .to_string();
    Ok(AccountKey {
        account_id: account_id.to_owned(),
        kid: secrets::bearer_token()[..16].to_owned(),
        algorithm: "RS256".into(),
        public_pem,
        private_pem: Some(private_pem),
        created: time::now(),
    })
}

/// What goes into a minted token.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub license_key: String,
    pub email: String,
    pub audience: String,
    pub ttl_secs: i64,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub policy: Option<Value>,
}

/// Signs an agent JWT with the key's private half.
pub fn mint(key: &AccountKey, spec: &TokenSpec) -> anyhow::Result<String> {
    let private = key
        .private_pem
        .as_deref()
        .context("this key has no private half stored (it was uploaded, not generated)")?;
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": spec.license_key,
        "sub": spec.email,
        "aud": spec.audience,
        "iat": now,
        "exp": now + spec.ttl_secs,
    });
    if let Some(name) = &spec.display_name {
        claims["displayName"] = json!(name);
    }
    if let Some(role) = &spec.role {
        claims["role"] = json!(role);
    }
    if let Some(policy) = &spec.policy {
        claims["policy"] = policy.clone();
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let encoding =
        EncodingKey::from_rsa_pem(private.as_bytes()).context("reading the private key")?;
    jsonwebtoken::encode(&header, &claims, &encoding).context("signing the token")
}
