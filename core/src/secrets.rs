//! Codes, lookup handles and bearer tokens.
//!
//! A 6-digit session code (~20 bits) and a 9-digit access token (~30 bits) are handles a person
//! can read out; they are guessable, so they only ever work for an authenticated agent of the same
//! account, with failures budgeted. Bearer tokens are 256 bits from `rand`'s thread-local CSPRNG (ChaCha12, seeded and reseeded from the OS).

use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Six decimal digits; the only form a session code can take.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionCode(String);

/// Nine decimal digits identifying a live session (`{start:123456789}`, `#sid=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessToken(String);

fn digits<const N: usize>(s: &str) -> bool {
    s.len() == N && s.bytes().all(|b| b.is_ascii_digit())
}

impl SessionCode {
    pub fn parse(s: &str) -> Option<Self> {
        digits::<6>(s).then(|| Self(s.to_owned()))
    }
    pub fn generate() -> Self {
        Self(format!("{:06}", rand::rng().random_range(0..1_000_000u32)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AccessToken {
    pub fn parse(s: &str) -> Option<Self> {
        digits::<9>(s).then(|| Self(s.to_owned()))
    }
    pub fn generate() -> Self {
        Self(format!(
            "{:09}",
            rand::rng().random_range(0..1_000_000_000u32)
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 256-bit bearer token, URL-safe base64 without padding (43 characters).
pub fn bearer_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `bytes` random bytes as lower-case hex (SAML request ids: 16 bytes, 128 bits).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokens that are only ever presented (never shown again) are stored as their SHA-256.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens_have_their_shape() {
        for _ in 0..1000 {
            assert!(SessionCode::parse(SessionCode::generate().as_str()).is_some());
            assert!(AccessToken::parse(AccessToken::generate().as_str()).is_some());
        }
        assert!(SessionCode::parse("12345").is_none());
        assert!(SessionCode::parse("12345a").is_none());
        assert!(SessionCode::parse("١٢٣٤٥٦").is_none());
        assert!(AccessToken::parse("1234567890").is_none());
    }

    #[test]
    fn bearer_tokens_carry_256_bits() {
        let t = bearer_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, bearer_token());
        assert!(constant_time_eq(&t, &t.clone()));
        assert!(!constant_time_eq(&t, &bearer_token()));
        assert_eq!(hash_token("x").len(), 64);
    }
}
