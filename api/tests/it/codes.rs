//! Codes and access tokens: uniqueness, expiry, who may redeem them, and the failure budget.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;

use crate::common::{both_backends, eventually, Server};

both_backends!(
    codes_and_tokens_are_unique,
    codes_expire,
    redemption_is_budgeted
);

async fn codes_and_tokens_are_unique(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mut codes = HashSet::new();
    let mut tokens = HashSet::new();
    let mut controls = HashSet::new();
    for _ in 0..150 {
        let s = server.create_session(&t.admin, json!({})).await;
        assert!(codes.insert(s["code"].as_str().unwrap().to_owned()));
        assert!(tokens.insert(s["access_token"].as_str().unwrap().to_owned()));
        assert!(controls.insert(s["control_token"].as_str().unwrap().to_owned()));
    }
    // The store refuses a second live session with the same code or token.
    let last = server.create_session(&t.admin, json!({})).await;
    let mut dup = server
        .store
        .session(&t.account.id, last["id"].as_str().unwrap())
        .await
        .unwrap();
    dup.id = uuid::Uuid::new_v4().to_string();
    dup.control_token = tandem_core::secrets::bearer_token();
    assert!(matches!(
        server.store.insert_session(&dup).await,
        Err(tandem_core::Error::Conflict(_))
    ));
    server.stop().await;
}

async fn codes_expire(backend: Backend) {
    let server = Server::start_with(backend, |c| c.reaper_interval_ms = 100).await;
    let t = server
        .tenant_with(AccountSettings {
            code_expiry_secs: 1,
            ..AccountSettings::default()
        })
        .await;
    let s = server.create_session(&t.admin, json!({})).await;
    let code = s["code"].as_str().unwrap().to_owned();
    let (status, _) = server
        .get(&format!("/api/1/sessions/{code}"), &t.admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/1/sessions/{}", s["id"].as_str().unwrap());
    let ended = eventually(10, || async {
        let (_, s) = server.get(&path, &t.admin).await;
        (s["state"] == "ended").then_some(s)
    })
    .await;
    assert_eq!(ended["ended_reason"], "pending_timeout");
    let (status, _) = server
        .get(&format!("/api/1/sessions/{code}"), &t.admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn redemption_is_budgeted(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.redeem_failures_per_agent = 3;
        c.redeem_failures_per_account = 5;
    })
    .await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let code = s["code"].as_str().unwrap().to_owned();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let alice = t.token("alice@example.com", None);
    let bob = t.token("bob@example.com", None);

    // A device of the account redeems a code to join (gates.rs); another account's agent
    // cannot.
    let device = server.register_device(&t, "dev-codes", json!({})).await;
    let (status, _) = server
        .device_call(
            &t,
            &device,
            Method::GET,
            &format!("/api/1/sessions/{code}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .get(&format!("/api/1/sessions/{code}"), &other.admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for _ in 0..3 {
        let (status, _) = server
            .get(&format!("/api/1/sessions/{wrong}"), &alice)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Alice's budget is spent: even the right code is refused for now.
    let (status, body) = server.get(&format!("/api/1/sessions/{code}"), &alice).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["id"], "rate_limited");
    // Bob still can, until the account's budget is spent too.
    let (status, _) = server.get(&format!("/api/1/sessions/{code}"), &bob).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..2 {
        let (status, _) = server.get(&format!("/api/1/sessions/{wrong}"), &bob).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = server.get(&format!("/api/1/sessions/{code}"), &bob).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Nine-digit tokens share the budget; ids are not budgeted; other accounts are unaffected.
    let (status, _) = server.get("/api/1/sessions/123456789", &bob).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = server
        .get(
            &format!("/api/1/sessions/{}", s["id"].as_str().unwrap()),
            &bob,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let other_s = server.create_session(&other.admin, json!({})).await;
    let (status, _) = server
        .get(
            &format!("/api/1/sessions/{}", other_s["code"].as_str().unwrap()),
            &other.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}
