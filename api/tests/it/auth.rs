//! JWT verification: every rejection the issue names, key rotation and `kid`.

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
    expect_401(
        &server,
        &unsigned(json!({"alg": "none", "typ": "JWT"}), &c),
        "alg none",
    )
    .await;
    expect_401(&server, &unsigned(json!({"alg": "None"}), &c), "alg None").await;
    // HS256 keyed with the public key: the classic algorithm-confusion forgery.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(t.key.public_pem.as_bytes()),
    )
    .unwrap();
    expect_401(&server, &hs, "HS256").await;
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &c,
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    expect_401(&server, &hs512, "HS512").await;

    let mut wrong_iss = claims(&t);
    wrong_iss["iss"] = json!("not-a-license");
    expect_401(&server, &sign(&t, &wrong_iss, Some(kid)), "unknown issuer").await;
    // Another tenant's license with this tenant's key: the key is not that account's.
    let mut cross = claims(&t);
    cross["iss"] = json!(other.account.license_key);
    expect_401(&server, &sign(&t, &cross, None), "other tenant's issuer").await;
    expect_401(&server, &sign(&other, &claims(&t), None), "wrong key").await;

    let mut expired = claims(&t);
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let body = expect_401(&server, &sign(&t, &expired, Some(kid)), "expired").await;
    assert_eq!(body["message"], "jwt expired");

    let mut early = claims(&t);
    early["nbf"] = json!(now() + 3600);
    expect_401(&server, &sign(&t, &early, Some(kid)), "not yet valid").await;

    for (name, value) in [
        ("exp", json!((now() + 600).to_string())),
        ("nbf", json!(now().to_string())),
    ] {
        let mut c = claims(&t);
        c[name] = value;
        let body = expect_401(&server, &sign(&t, &c, Some(kid)), name).await;
        assert!(body["message"].as_str().unwrap().contains(name), "{body}");
    }
    let mut no_exp = claims(&t);
    no_exp.as_object_mut().unwrap().remove("exp");
    expect_401(&server, &sign(&t, &no_exp, Some(kid)), "no exp").await;

    let mut wrong_aud = claims(&t);
    wrong_aud["aud"] = json!("someone-else");
    expect_401(&server, &sign(&t, &wrong_aud, Some(kid)), "wrong audience").await;
    let mut no_aud = claims(&t);
    no_aud.as_object_mut().unwrap().remove("aud");
    expect_401(&server, &sign(&t, &no_aud, Some(kid)), "no audience").await;

    expect_401(
        &server,
        &sign(&t, &claims(&t), Some("no-such-kid")),
        "unknown kid",
    )
    .await;

    let mut bad_sub = claims(&t);
    bad_sub["sub"] = json!("not an email");
    expect_401(&server, &sign(&t, &bad_sub, Some(kid)), "sub not an email").await;
    let mut bad_role = claims(&t);
    bad_role["role"] = json!("superuser");
    expect_401(&server, &sign(&t, &bad_role, Some(kid)), "unknown role").await;

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
    expect_401(&server, &tampered, "tampered payload").await;

    expect_401(&server, "garbage", "not a JWT").await;
    let res = server
        .http
        .get(format!("{}/api/1/users/me", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "no Authorization header"
    );
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
    expect_401(
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
