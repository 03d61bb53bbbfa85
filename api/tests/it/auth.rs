//! JWT verification: every rejection the issue names, each answered alike, key rotation and
//! `kid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_api::keys;
use tandem_core::store::Backend;

use crate::common::{both_backends, Server, Tenant};

both_backends!(
    jwt_rejections,
    forgeries_get_one_answer_and_fetch_nothing,
    key_rotation_and_kid,
    users_are_created_on_first_use
);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(t: &Tenant) -> Value {
    json!({
        "iss": t.account.license_key, "sub": "agent@example.com", "aud": "tandem",
        "iat": now(), "exp": now() + 600,
    })
}

fn sign(t: &Tenant, claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(t.private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Signs any header and claims, as a forger with `private_pem` would.
fn sign_raw(header: Value, claims: &Value, private_pem: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::RS256).unwrap();
    format!("{input}.{signature}")
}

fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn expect_401(server: &Server, token: &str, why: &str) -> Value {
    let (status, body) = server.get("/api/1/users/me", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    body
}

/// A refusal that says nothing about why.
#[track_caller]
fn assert_invalid(body: &Value, why: &str) {
    assert_eq!(
        body,
        &json!({"id": "invalid_token", "message": "invalid token"}),
        "{why}"
    );
}

async fn expect_invalid(server: &Server, token: &str, why: &str) {
    let body = expect_401(server, token, why).await;
    assert_invalid(&body, why);
}

/// `tandem_auth_failures_total{reason="…"}` (the recorder is shared by every server in this
/// process, so tests compare before and after).
async fn failures(server: &Server, reason: &str) -> f64 {
    let line = format!("tandem_auth_failures_total{{reason=\"{reason}\"}} ");
    server
        .metrics_text()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&line)?.parse().ok())
        .unwrap_or(0.0)
}

async fn jwt_rejections(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let kid = t.key.kid.as_str();

    // The good token works, so each rejection below is about the one thing changed.
    let good = sign(&t, &claims(&t), Some(kid));
    let (status, me) = server.get("/api/1/users/me", &good).await;
    assert_eq!(status, StatusCode::OK, "{me}");

    let c = claims(&t);
    expect_invalid(
        &server,
        &unsigned(json!({"alg": "none", "typ": "JWT"}), &c),
        "alg none",
    )
    .await;
    expect_invalid(&server, &unsigned(json!({"alg": "None"}), &c), "alg None").await;
    // HS256 keyed with the public key: the classic algorithm-confusion forgery.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(t.key.public_pem.as_bytes()),
    )
    .unwrap();
    expect_invalid(&server, &hs, "HS256").await;
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &c,
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    expect_invalid(&server, &hs512, "HS512").await;

    let mut wrong_iss = claims(&t);
    wrong_iss["iss"] = json!("not-a-license");
    expect_invalid(&server, &sign(&t, &wrong_iss, Some(kid)), "unknown issuer").await;
    // Another tenant's license with this tenant's key: the key is not that account's.
    let mut cross = claims(&t);
    cross["iss"] = json!(other.account.license_key);
    expect_invalid(&server, &sign(&t, &cross, None), "other tenant's issuer").await;
    expect_invalid(&server, &sign(&other, &claims(&t), None), "wrong key").await;

    let mut expired = claims(&t);
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let body = expect_401(&server, &sign(&t, &expired, Some(kid)), "expired").await;
    assert_eq!(
        body,
        json!({"id": "token_expired", "message": "jwt expired"})
    );
    // Only a token that verifies may say it has expired.
    expect_invalid(
        &server,
        &sign(&other, &expired, Some(kid)),
        "expired forgery",
    )
    .await;

    let mut early = claims(&t);
    early["nbf"] = json!(now() + 3600);
    expect_invalid(&server, &sign(&t, &early, Some(kid)), "not yet valid").await;

    for (name, value) in [
        ("exp", json!((now() + 600).to_string())),
        ("nbf", json!(now().to_string())),
    ] {
        let mut c = claims(&t);
        c[name] = value;
        expect_invalid(&server, &sign(&t, &c, Some(kid)), name).await;
    }
    let mut no_exp = claims(&t);
    no_exp.as_object_mut().unwrap().remove("exp");
    expect_invalid(&server, &sign(&t, &no_exp, Some(kid)), "no exp").await;

    let mut wrong_aud = claims(&t);
    wrong_aud["aud"] = json!("someone-else");
    expect_invalid(&server, &sign(&t, &wrong_aud, Some(kid)), "wrong audience").await;
    let mut no_aud = claims(&t);
    no_aud.as_object_mut().unwrap().remove("aud");
    expect_invalid(&server, &sign(&t, &no_aud, Some(kid)), "no audience").await;

    expect_invalid(
        &server,
        &sign(&t, &claims(&t), Some("no-such-kid")),
        "unknown kid",
    )
    .await;

    let mut bad_sub = claims(&t);
    bad_sub["sub"] = json!("not an email");
    expect_invalid(&server, &sign(&t, &bad_sub, Some(kid)), "sub not an email").await;
    let mut bad_role = claims(&t);
    bad_role["role"] = json!("superuser");
    expect_invalid(&server, &sign(&t, &bad_role, Some(kid)), "unknown role").await;

    // A tampered payload no longer verifies.
    let parts: Vec<&str> = good.split('.').collect();
    let mut admin = claims(&t);
    admin["role"] = json!("administrator");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(admin.to_string()),
        parts[2]
    );
    expect_invalid(&server, &tampered, "tampered payload").await;

    expect_invalid(&server, "garbage", "not a JWT").await;
    let res = server
        .http
        .get(format!("{}/api/1/users/me", server.base))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no Authorization header");
    assert_eq!(
        body,
        json!({"id": "unauthorized", "message": "missing Authorization: Bearer token"})
    );
    server.stop().await;
}

/// One forgery of each class gets the very same body; the reason goes to `/metrics` (and the
/// log). Key-locating headers (`jku`, `x5u`, `jwk`, `x5c`) are never followed or trusted.
async fn forgeries_get_one_answer_and_fetch_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let kid = t.key.kid.as_str();
    // A forger's own key pair, registered nowhere.
    let forger = keys::generate("forger").unwrap();

    // Anything that fetched a URL from a token would knock here.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fetch_url = format!("http://{}", listener.local_addr().unwrap());
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let knocker = tokio::spawn({
        let knocks = knocks.clone();
        async move {
            while listener.accept().await.is_ok() {
                knocks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(
        &base64::engine::general_purpose::STANDARD
            .decode(
                forger
                    .private_pem
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap(),
    )
    .unwrap();
    let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(
        aws_lc_rs::signature::KeyPair::public_key(&pair),
    );
    let jwk = json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": forger.key.kid,
        "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e),
    });
    let locators = |kid: &str| {
        json!({
            "alg": "RS256", "typ": "JWT", "kid": kid,
            "jku": format!("{fetch_url}/jwks.json"),
            "x5u": format!("{fetch_url}/cert.pem"),
            "jwk": jwk,
            "x5c": [base64::engine::general_purpose::STANDARD.encode(b"not a certificate")],
        })
    };

    let c = claims(&t);
    let with = |name: &str, value: Value| {
        let mut c = claims(&t);
        c[name] = value;
        c
    };
    let forged_with = |claims: &Value, kid: Option<&str>| {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        sign_raw(header, claims, &forger.private_pem)
    };
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(t.key.public_pem.as_bytes()),
    )
    .unwrap();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "unknown iss",
            "unknown_issuer",
            sign(&t, &with("iss", json!("no-such-license")), Some(kid)),
        ),
        (
            "foreign kid",
            "unknown_kid",
            forged_with(&c, Some(&forger.key.kid)),
        ),
        (
            "bad signature, real kid",
            "signature",
            forged_with(&c, Some(kid)),
        ),
        ("bad signature, no kid", "signature", forged_with(&c, None)),
        (
            "wrong aud",
            "audience",
            sign(&t, &with("aud", json!("someone-else")), Some(kid)),
        ),
        (
            "nbf in the future",
            "not_yet_valid",
            sign(&t, &with("nbf", json!(now() + 3600)), Some(kid)),
        ),
        (
            "alg none",
            "algorithm",
            unsigned(json!({"alg": "none", "typ": "JWT", "kid": kid}), &c),
        ),
        ("HS256 keyed with the public key", "algorithm", hs256),
        (
            "jku/x5u/jwk/x5c naming the forger's key",
            "unknown_kid",
            sign_raw(locators(&forger.key.kid), &c, &forger.private_pem),
        ),
        (
            "jku/x5u/jwk/x5c with the account's kid",
            "signature",
            sign_raw(locators(kid), &c, &forger.private_pem),
        ),
    ];
    let mut before = Vec::new();
    for (_, reason, _) in &cases {
        before.push(failures(&server, reason).await);
    }
    for (why, _, token) in &cases {
        expect_invalid(&server, token, why).await;
    }
    for ((why, reason, _), before) in cases.iter().zip(before) {
        assert!(
            failures(&server, reason).await > before,
            "{why} is counted as {reason}"
        );
    }

    let expired_before = failures(&server, "expired").await;
    let expired = with("exp", json!(now() - 3600));
    let body = expect_401(&server, &sign(&t, &expired, Some(kid)), "expired").await;
    assert_eq!(
        body,
        json!({"id": "token_expired", "message": "jwt expired"})
    );
    assert!(failures(&server, "expired").await > expired_before);

    // The account's own key with the same headers verifies: they are ignored, not obeyed.
    let genuine = sign_raw(locators(kid), &c, &t.private_pem);
    let (status, me) = server.get("/api/1/users/me", &genuine).await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // A fetch would have been made while its request was answered; a moment more for any
    // made in the background.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(knocks.load(std::sync::atomic::Ordering::SeqCst), 0);
    knocker.abort();
    server.stop().await;
}

async fn key_rotation_and_kid(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let second = keys::generate(&t.account.id).unwrap();
    server.store.add_key(&second.key).await.unwrap();
    let rotated = Tenant {
        account: t.account.clone(),
        key: second.key.clone(),
        private_pem: second.private_pem.clone(),
        admin: String::new(),
    };
    // Both keys verify, with or without a kid.
    for (tenant, kid) in [
        (&t, Some(t.key.kid.as_str())),
        (&rotated, Some(second.key.kid.as_str())),
        (&t, None),
        (&rotated, None),
    ] {
        let (status, body) = server
            .get("/api/1/users/me", &sign(tenant, &claims(&t), kid))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A kid naming the other key does not verify.
    expect_invalid(
        &server,
        &sign(&rotated, &claims(&t), Some(&t.key.kid)),
        "kid of another key",
    )
    .await;
    server.stop().await;
}

async fn users_are_created_on_first_use(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mut spec = t.spec("New.Agent@Example.com", None);
    spec.display_name = Some("New Agent".into());
    let token = t.token_with(&spec);
    let (status, me) = server.get("/api/1/users/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "new.agent@example.com");
    assert_eq!(me["name"], "New Agent");
    assert_eq!(me["role"], "agent");
    assert!(me["notification_token"].as_str().unwrap().len() >= 43);
    assert_eq!(me["notification_url"], format!("{}/", server.base));
    // The same user on the next call, and by id.
    let (_, again) = server.get("/api/1/users/me", &token).await;
    assert_eq!(again["id"], me["id"]);
    let (status, by_id) = server
        .get(
            &format!("/api/1/users/{}", me["id"].as_str().unwrap()),
            &t.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["email"], me["email"]);
    assert!(
        by_id.get("notification_token").is_none(),
        "only the user sees their own"
    );
    server.stop().await;
}
