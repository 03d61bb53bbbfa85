//! Account key pairs and test tokens: what the dashboard's "Generate" button and the
//! `tandem keys generate` / `tandem token` commands do.
//!
//! Keys are RS256 with PEM halves: the public one as SPKI (`PUBLIC KEY`), the private one as
//! PKCS#8 (`PRIVATE KEY`). A private half is never stored as it is: either it is handed to the
//! operator once, or it is sealed with AES-256-GCM under the configured `key_encryption_key`
//! (a fresh nonce per key, the account id and kid as associated data, so a sealed half copied
//! onto another key's row does not open).

use anyhow::{bail, Context};
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Value};
use tandem_core::model::AccountKey;
use tandem_core::{secrets, time};

mod import;
pub use import::{check_public_pem, rsa_jwk_to_pem};

/// How a sealed private half starts in `account_keys.private_pem`.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// A freshly generated pair: the key to store (public half only) and the private half, which
/// the caller hands out once or seals.
pub struct Generated {
    pub key: AccountKey,
    pub private_pem: String,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Generates an RSA-2048 key pair for an account (RS256 pinned).
pub fn generate(account_id: &str) -> anyhow::Result<Generated> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("generating an RSA key failed"))?;
    let private = pair
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the private key failed"))?;
    let public = pair
        .public_key()
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the public key failed"))?;
    Ok(Generated {
        key: AccountKey {
            account_id: account_id.to_owned(),
            kid: secrets::bearer_token()[..16].to_owned(),
            algorithm: "RS256".into(),
            public_pem: pem("PUBLIC KEY", public.as_ref()),
            private_pem: None,
            created: time::now(),
        },
        private_pem: pem("PRIVATE KEY", private.as_ref()),
    })
}

/// The key that seals private halves at rest (`key_encryption_key`).
pub struct KeyEncryptionKey(RandomizedNonceKey);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

fn associated_data(account_id: &str, kid: &str) -> Vec<u8> {
    [
        b"tandem account key\0",
        account_id.as_bytes(),
        b"\0",
        kid.as_bytes(),
    ]
    .concat()
}

impl KeyEncryptionKey {
    /// Reads the setting: standard base64 of 32 random bytes; `None` when empty.
    pub fn parse(setting: &str) -> Result<Option<Self>, String> {
        let setting = setting.trim();
        if setting.is_empty() {
            return Ok(None);
        }
        let bytes = STANDARD
            .decode(setting)
            .map_err(|_| "must be base64 (e.g. the output of `openssl rand -base64 32`)")?;
        if bytes.len() != 32 {
            return Err(format!("must be 32 bytes in base64, not {}", bytes.len()));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| "is not a usable AES-256 key".to_owned())?;
        Ok(Some(Self(key)))
    }

    /// Seals a private half for the key `(account_id, kid)`.
    pub fn seal(&self, account_id: &str, kid: &str, private_pem: &str) -> anyhow::Result<String> {
        let mut data = private_pem.as_bytes().to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(associated_data(account_id, kid)), &mut data)
            .map_err(|_| anyhow::anyhow!("sealing the private key failed"))?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens what [`seal`](Self::seal) made for the same key.
    pub fn open(&self, account_id: &str, kid: &str, sealed: &str) -> anyhow::Result<String> {
        let refused = || {
            anyhow::anyhow!(
                "the private half of key {kid:?} does not open with this key_encryption_key"
            )
        };
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .context("the stored private half is not sealed")?;
        let mut data = STANDARD.decode(body).map_err(|_| refused())?;
        if data.len() < NONCE_LEN {
            return Err(refused());
        }
        let mut sealed = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).map_err(|_| refused())?;
        let plain = self
            .0
            .open_in_place(
                nonce,
                Aad::from(associated_data(account_id, kid)),
                &mut sealed,
            )
            .map_err(|_| refused())?;
        String::from_utf8(plain.to_vec()).map_err(|_| refused())
    }
}

/// Seals the pair's private half into its key, for storage.
pub fn sealed(pair: &Generated, kek: &KeyEncryptionKey) -> anyhow::Result<AccountKey> {
    let mut key = pair.key.clone();
    key.private_pem = Some(kek.seal(&key.account_id, &key.kid, &pair.private_pem)?);
    Ok(key)
}

/// The private half stored with `key`, opened with `kek`; `None` when none is stored.
pub fn stored_private(
    key: &AccountKey,
    kek: Option<&KeyEncryptionKey>,
) -> anyhow::Result<Option<String>> {
    let Some(stored) = key.private_pem.as_deref() else {
        return Ok(None);
    };
    if !stored.starts_with(SEALED_PREFIX) {
        bail!(
            "the private half of key {:?} is stored unsealed (by an older Tandem) and is not used; \
             generate a new key",
            key.kid
        );
    }
    let kek = kek.with_context(|| {
        format!(
            "the private half of key {:?} is sealed; set key_encryption_key to use it",
            key.kid
        )
    })?;
    kek.open(&key.account_id, &key.kid, stored).map(Some)
}

/// Whether `private_pem` is the private half of `key` (signs what `key` verifies).
pub fn matches(key: &AccountKey, private_pem: &str) -> bool {
    let (Ok(encoding), Ok(decoding)) = (
        EncodingKey::from_rsa_pem(private_pem.as_bytes()),
        DecodingKey::from_rsa_pem(key.public_pem.as_bytes()),
    ) else {
        return false;
    };
    let probe = b"tandem key match";
    jsonwebtoken::crypto::sign(probe, &encoding, Algorithm::RS256)
        .and_then(|sig| jsonwebtoken::crypto::verify(&sig, probe, &decoding, Algorithm::RS256))
        .unwrap_or(false)
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

/// Signs an agent JWT with a private half (PEM, PKCS#8 or PKCS#1) under `kid`.
pub fn mint(kid: &str, private_pem: &str, spec: &TokenSpec) -> anyhow::Result<String> {
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
    header.kid = Some(kid.to_owned());
    let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())
        .context("reading the private key (an RSA key in PEM form)")?;
    jsonwebtoken::encode(&header, &claims, &encoding).context("signing the token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> KeyEncryptionKey {
        KeyEncryptionKey::parse(&STANDARD.encode([7u8; 32]))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn generated_pairs_are_spki_and_pkcs8_and_sign_rs256() {
        let pair = generate("acc").unwrap();
        assert!(pair
            .key
            .public_pem
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pair
            .private_pem
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pair.key.private_pem.is_none());
        assert!(pair
            .key
            .public_pem
            .lines()
            .all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert!(matches(&pair.key, &pair.private_pem));
        let other = generate("acc").unwrap();
        assert!(!matches(&other.key, &pair.private_pem));
        assert!(!format!("{pair:?}").contains("PRIVATE"));

        let spec = TokenSpec {
            license_key: "lic".into(),
            email: "a@example.com".into(),
            audience: "tandem".into(),
            ttl_secs: 60,
            display_name: None,
            role: None,
            policy: None,
        };
        let token = mint(&pair.key.kid, &pair.private_pem, &spec).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&["tandem"]);
        let decoding = DecodingKey::from_rsa_pem(pair.key.public_pem.as_bytes()).unwrap();
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        assert_eq!(data.header.kid.as_deref(), Some(pair.key.kid.as_str()));
        assert_eq!(data.claims["iss"], "lic");
    }

    #[test]
    fn sealed_halves_open_only_for_their_key_and_kek() {
        let kek = kek();
        let secret = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
        let a = kek.seal("acc", "kid1", secret).unwrap();
        let b = kek.seal("acc", "kid1", secret).unwrap();
        assert!(a.starts_with(SEALED_PREFIX) && !a.contains("PRIVATE"));
        assert_ne!(a, b, "a fresh nonce per seal");
        assert_eq!(kek.open("acc", "kid1", &a).unwrap(), secret);
        assert!(kek.open("acc", "kid2", &a).is_err(), "another kid");
        assert!(kek.open("acc2", "kid1", &a).is_err(), "another account");
        let other = KeyEncryptionKey::parse(&STANDARD.encode([8u8; 32]))
            .unwrap()
            .unwrap();
        assert!(other.open("acc", "kid1", &a).is_err(), "another KEK");
        let mut tampered = a.clone();
        tampered.pop();
        tampered.push('A');
        assert!(kek.open("acc", "kid1", &tampered).is_err());
        assert!(kek.open("acc", "kid1", secret).is_err(), "plain text");
    }

    #[test]
    fn stored_private_halves_refuse_plain_text_and_need_the_kek() {
        let pair = generate("acc").unwrap();
        let kek = kek();
        let key = sealed(&pair, &kek).unwrap();
        assert_eq!(
            stored_private(&key, Some(&kek)).unwrap().as_deref(),
            Some(pair.private_pem.as_str())
        );
        assert!(stored_private(&key, None).is_err());
        assert!(stored_private(&pair.key, Some(&kek)).unwrap().is_none());
        let mut plain = pair.key.clone();
        plain.private_pem = Some(pair.private_pem.clone());
        assert!(stored_private(&plain, Some(&kek)).is_err());
    }

    #[test]
    fn the_setting_is_32_bytes_of_base64() {
        assert!(KeyEncryptionKey::parse("").unwrap().is_none());
        assert!(KeyEncryptionKey::parse("not base64!").is_err());
        assert!(KeyEncryptionKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(KeyEncryptionKey::parse(&STANDARD.encode([1u8; 32]))
            .unwrap()
            .is_some());
        assert!(!format!("{:?}", kek()).contains('7'));
    }
}
