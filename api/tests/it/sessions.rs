//! Sessions: create, get by id / code / access token, partial update, the state machine.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(
    create_get_update_end,
    consent_flow_with_a_device,
    no_consent_starts_at_once,
    stream_tokens
);

async fn create_get_update_end(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let s = server
        .create_session(
            &t.admin,
            json!({"custom_data": {"user_id": "u1", "plan": "pro"}, "agent": "me"}),
        )
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["state"], "pending");
    let code = s["code"].as_str().unwrap();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let token = s["access_token"].as_str().unwrap();
    assert!(
        token.len() == 9 && token.bytes().all(|b| b.is_ascii_digit()),
        "{token}"
    );
    assert!(s["control_token"].as_str().unwrap().len() >= 43);
    assert_eq!(s["agent"]["email"], "admin@example.com");
    assert_eq!(s["agents"].as_array().unwrap().len(), 1);
    assert_eq!(s["remote_control"], "off");
    assert_eq!(s["full_device"], "off");
    assert!(s["expires"].is_string() && s["updated"].is_string() && s["created"].is_string());

    for handle in [id, code, token] {
        let (status, got) = server
            .get(&format!("/api/1/sessions/{handle}"), &t.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{handle}: {got}");
        assert_eq!(got["id"], s["id"]);
    }

    // Partial update: custom data merges (null removes), the rest stays; `id` in the body is ignored.
    let (status, up) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"id": id, "custom_data": {"plan": null, "ticket": 42}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(up["custom_data"], json!({"user_id": "u1", "ticket": 42}));
    assert_eq!(up["state"], "pending");

    // A code works wherever an id does.
    let (status, up) = server
        .put(
            &format!("/api/1/sessions/{code}"),
            &t.admin,
            json!({"region": "eu"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(up["region"], "eu");

    // Illegal moves are 409s with a message, and change nothing.
    let (status, err) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "pending"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "pending → pending is no change: {err}"
    );
    let (status, err) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"remote_control": "on"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(err["message"].as_str().unwrap().contains("customer"));

    let (status, ended) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["ended_reason"], "agent_ended");
    assert!(ended["ended"].is_string());
    assert!(ended["code"].is_null() && ended["access_token"].is_null());

    // Ended is final; the code and token are gone with the session.
    for body in [
        json!({"state": "ended"}),
        json!({"state": "active"}),
        json!({"custom_data": {"a": "b"}}),
    ] {
        let (status, err) = server
            .put(&format!("/api/1/sessions/{id}"), &t.admin, body)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{err}");
    }
    for handle in [code, token] {
        let (status, _) = server
            .get(&format!("/api/1/sessions/{handle}"), &t.admin)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = server
        .get(
            "/api/1/sessions/00000000-0000-4000-8000-000000000000",
            &t.admin,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn consent_flow_with_a_device(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let device = server
        .register_device(&t, "device-1", json!({"user_id": "u1"}))
        .await;

    // The customer asks for a code; the agent redeems it and joins.
    let (status, s) = server
        .device_call(
            &t,
            &device,
            Method::POST,
            "/api/1/sessions",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(s["device"]["platform"], "web");
    let code = s["code"].as_str().unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    let (status, joined) = server
        .put(
            &format!("/api/1/sessions/{code}"),
            &t.admin,
            json!({"agent": "me"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["state"], "authorizing");
    assert!(
        joined["code"].is_null(),
        "the code dies when the session leaves pending"
    );

    // Only the customer can accept.
    let (status, err) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let path = format!("/api/1/sessions/{id}");
    let (status, active) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"state": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["state"], "active");
    assert!(active["activated"].is_string());

    // Remote control: the agent requests, the customer decides, either turns it off.
    let (_, rc) = server
        .put(&path, &t.admin, json!({"remote_control": "requested"}))
        .await;
    assert_eq!(rc["remote_control"], "requested");
    let (status, _) = server
        .put(&path, &t.admin, json!({"remote_control": "on"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, rc) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"remote_control": "on"})),
        )
        .await;
    assert_eq!(rc["remote_control"], "on");
    let (_, rc) = server
        .put(&path, &t.admin, json!({"remote_control": "off"}))
        .await;
    assert_eq!(rc["remote_control"], "off");
    let (_, fd) = server
        .put(&path, &t.admin, json!({"full_device": "requested"}))
        .await;
    assert_eq!(fd["full_device"], "requested");
    let (_, fd) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"full_device": "rejected"})),
        )
        .await;
    assert_eq!(fd["full_device"], "rejected");

    // A device cannot step back to authorizing, nor join as an agent.
    let (status, _) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"agent": "me"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, ended) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"state": "ended"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["ended_reason"], "device_ended");

    // The device sees its own session, not others.
    let other = server.create_session(&t.admin, json!({})).await;
    let other_path = format!("/api/1/sessions/{}", other["id"].as_str().unwrap());
    let (status, _) = server
        .device_call(&t, &device, Method::GET, &path, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .put(
            &other_path,
            &t.admin,
            json!({"agent": "me", "state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .device_call(&t, &device, Method::GET, &other_path, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .device_call(&t, &device, Method::GET, "/api/1/sessions", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "listing needs an agent token"
    );
    server.stop().await;
}

async fn no_consent_starts_at_once(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server
        .tenant_with(AccountSettings {
            require_consent: false,
            ..AccountSettings::default()
        })
        .await;
    let device = server.register_device(&t, "d-2", json!({})).await;
    // The agent creates the session; the device claims it; it is active at once.
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let path = format!("/api/1/sessions/{}", s["code"].as_str().unwrap());
    let (status, got) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"device": {"platform": "web"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["state"], "active");
    assert!(got["activated"].is_string());
    server.stop().await;
}

async fn stream_tokens(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let path = format!("/api/1/sessions/{}/tokens", s["id"].as_str().unwrap());
    let (status, tokens) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["stream_token"].as_str().unwrap();
    assert!(token.len() >= 43);
    assert_eq!(tokens["stream_url"], format!("{}/", server.base));
    let stored = server
        .store
        .stream_token(&tandem_core::secrets::hash_token(token))
        .await
        .unwrap();
    assert_eq!(stored.session_id, s["id"].as_str().unwrap());
    let (_, again) = server.get(&path, &t.admin).await;
    assert_ne!(again["stream_token"], tokens["stream_token"]);
    server.stop().await;
}
