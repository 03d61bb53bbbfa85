//! Policies in the JWT narrow what a token reaches.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(policies_narrow_access);

async fn policies_narrow_access(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mine = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u1"}}))
        .await;
    let theirs = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u2"}}))
        .await;
    server
        .register_device(&t, "pd-1", json!({"user_id": "u1"}))
        .await;
    server
        .register_device(&t, "pd-2", json!({"user_id": "u2"}))
        .await;

    let policy = json!({
        "version": 3,
        "sessions": {"custom_data": {"user_id": "u1"}},
        "devices": {"custom_data": {"user_id": "u1"}, "permissions": ["read"]}
    });
    let mut spec = t.spec("scoped@example.com", Some("administrator"));
    spec.policy = Some(policy.clone());
    let scoped = t.token_with(&spec);

    let (status, current) = server.get("/api/1/policy/current", &scoped).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current, policy);
    let (_, unrestricted) = server.get("/api/1/policy/current", &t.admin).await;
    assert_eq!(unrestricted, json!({"*": {}}));

    let (_, list) = server.get("/api/1/sessions?agent=all", &scoped).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], mine["id"]);
    let (_, list) = server
        .get("/api/1/sessions?agent=all&filter_user_id=u2", &scoped)
        .await;
    assert_eq!(list, json!([]), "a filter cannot widen a policy");
    let (status, _) = server
        .get(
            &format!("/api/1/sessions/{}", theirs["id"].as_str().unwrap()),
            &scoped,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{}", theirs["id"].as_str().unwrap()),
            &scoped,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{}", mine["id"].as_str().unwrap()),
            &scoped,
            json!({"custom_data": {"user_id": "u2"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an update cannot move a session out of reach"
    );
    let (status, _) = server
        .post(
            "/api/1/sessions",
            &scoped,
            json!({"custom_data": {"user_id": "u2"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .post(
            "/api/1/sessions",
            &scoped,
            json!({"custom_data": {"user_id": "u1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, devices) = server.get("/api/1/devices", &scoped).await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["id"], "pd-1");
    let (status, _) = server.get("/api/1/devices/pd-2", &scoped).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Read-only sessions, and a policy that names nothing for devices.
    let mut spec = t.spec("reader@example.com", Some("administrator"));
    spec.policy = Some(json!({"sessions": {"permissions": ["read"]}}));
    let reader = t.token_with(&spec);
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{}", mine["id"].as_str().unwrap()),
            &reader,
            json!({"region": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, devices) = server.get("/api/1/devices", &reader).await;
    assert_eq!(devices, json!([]));
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/1/sessions/{}", mine["id"].as_str().unwrap()),
            &reader,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A malformed policy makes the token invalid.
    let mut spec = t.spec("bad@example.com", None);
    spec.policy = Some(json!({"planets": {}}));
    let (status, _) = server.get("/api/1/users/me", &t.token_with(&spec)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
