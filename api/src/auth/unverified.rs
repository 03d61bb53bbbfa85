//! What is read of a JWT before its signature is checked: only the algorithm's name, the issuer
//! (to find the account's keys) and the types of the time claims. Nothing here is trusted.

use base64::Engine;
use serde_json::Value;

use super::refused::{refused, Refused};

/// A token-supplied string, short enough for a log line.
pub(super) fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(64).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    out
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
pub(super) fn raw_alg(token: &str) -> Result<(), Refused> {
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
pub(super) fn raw_claims(token: &str) -> Result<serde_json::Map<String, Value>, Refused> {
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
