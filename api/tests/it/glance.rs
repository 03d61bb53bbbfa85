//! Glance on Tandem (issue 17): visitor ids (the account's `visitor_id_key`, the REST lookup and
//! the socket's `watch-visitor`) on both backends, and a Glance-style helpdesk page driving the
//! embedded viewer through `GLANCE.Cobrowse.Agent` in Chromium (sdk-js/e2e/glance.test.mjs).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;
use tandem_testkit::ws::Socket;

use crate::common::{both_backends, Redis, Server, Tenant};
use crate::e2e::{chromium_suite, suite_env, with_assets};

both_backends!(
    the_visitor_key_is_an_account_setting,
    the_cli_checks_the_visitor_key,
    a_visitor_s_session_is_found_by_its_id,
    agents_waiting_on_a_visitor_hear_when_it_starts,
    glance_in_chromium
);

fn visitors(key: &str) -> AccountSettings {
    AccountSettings {
        visitor_id_key: key.into(),
        ..AccountSettings::default()
    }
}

async fn patch_settings(server: &Server, t: &Tenant, settings: Value) -> (StatusCode, Value) {
    server
        .call(
            Method::PATCH,
            &format!("/api/1/accounts/{}", t.account.id),
            &t.admin,
            Some(json!({ "settings": settings })),
        )
        .await
}

/// The device's own session, created by its page with `custom_data`.
async fn device_session(server: &Server, t: &Tenant, device: &str, data: Value) -> Value {
    let device = server.register_device(t, device, data.clone()).await;
    let (status, s) = server
        .device_call(
            t,
            &device,
            Method::POST,
            "/api/1/sessions",
            Some(json!({ "custom_data": data })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s
}

async fn the_visitor_key_is_an_account_setting(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    for bad in ["user id", "a.b", &"k".repeat(65), "ü"] {
        let (status, body) = patch_settings(&server, &t, json!({"visitor_id_key": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("visitor_id_key"),
            "{body}"
        );
    }
    let (_, accounts) = server.get("/api/1/accounts", &t.admin).await;
    assert_eq!(accounts[0]["settings"]["visitor_id_key"], "", "unchanged");
    let (status, body) = patch_settings(&server, &t, json!({"visitor_id_key": "user_id"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["visitor_id_key"], "user_id");
    // The customer's page learns it from its registration.
    let reg = server.register_device(&t, "reg-1", json!({})).await;
    assert_eq!(reg["visitor_id_key"], "user_id");
    // Only administrators change it.
    let agent = t.token("agent@example.com", Some("agent"));
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("/api/1/accounts/{}", t.account.id),
            &agent,
            Some(json!({"settings": {"visitor_id_key": "email"}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

/// `tandem account update --settings` checks settings as the REST API does.
async fn the_cli_checks_the_visitor_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = std::env::temp_dir().join(format!("tandem-glance-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let tandem = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(args)
            .current_dir(&dir)
            .env("TANDEM_DATABASE_URL", &db.url)
            .env("RUST_LOG", "warn")
            .env_remove("TANDEM_CONFIG")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .output()
            .expect("running tandem");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, out) = tandem(&["account", "create", "--name", "Shop"]);
    assert!(ok, "{out}");
    let (ok, list) = tandem(&["account", "list"]);
    assert!(ok, "{list}");
    let id = list
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| uuid::Uuid::parse_str(w).is_ok())
        .expect("an account id in the list")
        .to_owned();
    let update = |settings: &str| {
        tandem(&[
            "account",
            "update",
            "--account",
            &id,
            "--settings",
            settings,
        ])
    };
    let (ok, out) = update(r#"{"visitor_id_key": "user id"}"#);
    assert!(!ok, "{out}");
    assert!(out.contains("visitor_id_key"), "{out}");
    let (ok, out) = update(r#"{"visitor_id_key": "user_id"}"#);
    assert!(ok, "{out}");
    assert!(out.contains("user_id"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_visitor_s_session_is_found_by_its_id(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant_with(visitors("user_id")).await;
    let other = server.tenant_with(visitors("user_id")).await;
    let off = server.tenant().await;
    let path = "/api/1/visitors/u-1/session";

    let (status, body) = server.get(path, &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // An agent's own session carrying the visitor id has not started: no customer is on it.
    server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u-1"}}))
        .await;
    let (status, _) = server.get(path, &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mine = device_session(&server, &t, "dev-1", json!({"user_id": "u-1"})).await;
    device_session(&server, &other, "dev-2", json!({"user_id": "u-1"})).await;
    let (status, found) = server.get(path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["id"], mine["id"]);
    // Any agent of the account finds it (not only administrators, not only their own sessions).
    let agent = t.token("agent@example.com", Some("agent"));
    let (status, found) = server.get(path, &agent).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["id"], mine["id"]);
    // Another account's session with the same visitor id is another account's.
    let (_, theirs) = server.get(path, &other.admin).await;
    assert_ne!(theirs["id"], mine["id"]);
    // A policy that cannot read it finds nothing.
    let mut spec = t.spec("scoped@example.com", Some("agent"));
    spec.policy = Some(json!({"sessions": {"custom_data": {"user_id": "u-2"}}}));
    let (status, _) = server.get(path, &t.token_with(&spec)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // No credentials; a device; bad ids; an account without visitor ids.
    let res = reqwest::get(format!("{}{path}", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = server.get("/api/1/visitors/u-1/session", &off.admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["id"], "visitor_ids_off");
    let long = format!("/api/1/visitors/{}/session", "x".repeat(300));
    let (status, body) = server.get(&long, &t.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["id"], "invalid_visitor_id");
    let (status, _) = server.get("/api/1/visitors/a%0Ab/session", &t.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Once it ends there is nothing to find.
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{}", mine["id"].as_str().unwrap()),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.get(path, &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// Reads `socket` until the ack of frame `id`; returns the `visitor-started` ids seen before it.
async fn started_before_ack(socket: &mut Socket, id: u64) -> Vec<Value> {
    let mut seen = vec![];
    loop {
        let f = socket.next(10).await.expect("socket open");
        assert_ne!(f["event"], "error", "{f}");
        if f["event"] == "visitor-started" {
            seen.push(f["data"]["visitorid"].clone());
        }
        if f["ack"] == id {
            return seen;
        }
    }
}

async fn agents_waiting_on_a_visitor_hear_when_it_starts(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant_with(visitors("user_id")).await;
    let other = server.tenant_with(visitors("user_id")).await;
    let mut waiting = Socket::agent(&server, &t.admin).await;
    let mut elsewhere = Socket::agent(&server, &other.admin).await;
    for socket in [&mut waiting, &mut elsewhere] {
        let id = socket.send("watch-visitor", json!("u-7")).await;
        assert!(started_before_ack(socket, id).await.is_empty());
    }

    // A session of another visitor, and one of this visitor that no customer is on yet.
    device_session(&server, &t, "dev-a", json!({"user_id": "u-8"})).await;
    let agents_own = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u-7"}}))
        .await;
    // The customer joins it with its code: now it has started.
    let device = server.register_device(&t, "dev-b", json!({})).await;
    server.device_join(&t, &device, &agents_own).await;
    let heard = waiting.until("visitor-started", |_| true).await;
    assert_eq!(heard, json!({"visitorid": "u-7"}), "only the visitor id");
    // Nothing more for it: a later change of the same session starts nothing new.
    let (status, _) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &format!("/api/1/sessions/{}", agents_own["id"].as_str().unwrap()),
            Some(json!({"custom_data": {"plan": "gold"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = waiting.send("ping", Value::Null).await;
    assert!(started_before_ack(&mut waiting, id).await.is_empty());

    // The other account's agent waits on the same id and hears only its own account's start.
    device_session(&server, &other, "dev-c", json!({"user_id": "u-7"})).await;
    let heard = elsewhere.until("visitor-started", |_| true).await;
    assert_eq!(heard["visitorid"], "u-7");
    let id = elsewhere.send("ping", Value::Null).await;
    assert!(
        started_before_ack(&mut elsewhere, id).await.is_empty(),
        "another account's start reached this socket"
    );

    // Only agents' sockets wait, on ids that can be ids.
    let id = waiting.send("watch-visitor", json!("")).await;
    let f = waiting.until_any(|f| f["event"] == "error").await;
    assert_eq!(f["data"]["id"], "invalid_visitor_id");
    assert_eq!(f["data"]["ref"], id);
    let device = server.register_device(&t, "dev-d", json!({})).await;
    let mut device_socket = Socket::device(&server, &t, &device).await;
    device_socket.send("watch-visitor", json!("u-7")).await;
    let f = device_socket.until_any(|f| f["event"] == "error").await;
    assert_eq!(f["data"]["id"], "forbidden");
    server.stop().await;
}

/// Two replicas over one PostgreSQL and a Redis of the test's own: an agent waiting on one hears
/// a visitor's start made on the other.
#[tokio::test]
async fn a_visitor_started_on_one_replica_is_heard_on_another() {
    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let url = redis.url();
    let a = Server::start_on(&db.url, |c| c.redis_url = url.clone()).await;
    let b = Server::start_on(&db.url, |c| c.redis_url = url).await;
    a.wait_redis("ok").await;
    b.wait_redis("ok").await;
    let t = a.tenant_with(visitors("user_id")).await;
    let mut on_b = Socket::agent(&b, &t.admin).await;
    let id = on_b.send("watch-visitor", json!("u-9")).await;
    assert!(started_before_ack(&mut on_b, id).await.is_empty());
    device_session(&a, &t, "dev-r", json!({"user_id": "u-9"})).await;
    assert_eq!(
        on_b.until("visitor-started", |_| true).await,
        json!({"visitorid": "u-9"})
    );
    a.stop().await;
    b.stop().await;
}

/// The Chromium suite: the account trusts helpdesk pages on localhost, keeps visitor ids under
/// `user_id`, and lets agents send customers to pages on 127.0.0.1 (the customer's site).
async fn glance_in_chromium(backend: Backend) {
    let server = Server::start_with(backend, with_assets).await;
    let t = server
        .tenant_with(AccountSettings {
            trusted_origins: vec!["http://localhost:*".into()],
            visitor_id_key: "user_id".into(),
            ..AccountSettings::default()
        })
        .await;
    chromium_suite("glance.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}
