//! The inactivity reaper ends idle sessions with the reason their state calls for.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;

use crate::common::{both_backends, eventually, Server};

both_backends!(
    idle_sessions_end_with_their_reason,
    activity_keeps_a_session_alive
);

async fn idle_sessions_end_with_their_reason(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 1;
        c.reaper_interval_ms = 100;
    })
    .await;
    let t = server.tenant().await;
    let open = server
        .tenant_with(AccountSettings {
            require_consent: false,
            ..AccountSettings::default()
        })
        .await;

    let pending = server.create_session(&t.admin, json!({})).await;
    let device = server.register_device(&t, "reaper-dev", json!({})).await;
    let (_, authorizing) = server
        .device_call(
            &t,
            &device,
            Method::POST,
            "/api/1/sessions",
            Some(json!({})),
        )
        .await;
    let path = format!("/api/1/sessions/{}", authorizing["id"].as_str().unwrap());
    let (_, authorizing) = server.put(&path, &t.admin, json!({"agent": "me"})).await;
    assert_eq!(authorizing["state"], "authorizing");
    let open_device = server
        .register_device(&open, "reaper-dev-2", json!({}))
        .await;
    let (_, active) = server
        .device_call(
            &open,
            &open_device,
            Method::POST,
            "/api/1/sessions",
            Some(json!({})),
        )
        .await;
    let (_, active) = server
        .put(
            &format!("/api/1/sessions/{}", active["id"].as_str().unwrap()),
            &open.admin,
            json!({"agent": "me"}),
        )
        .await;
    assert_eq!(active["state"], "active");

    for (session, token, reason) in [
        (&pending, &t.admin, "pending_timeout"),
        (&authorizing, &t.admin, "authorizing_timeout"),
        (&active, &open.admin, "active_timeout"),
    ] {
        let path = format!("/api/1/sessions/{}", session["id"].as_str().unwrap());
        let ended = eventually(10, || async {
            let (_, s) = server.get(&path, token).await;
            (s["state"] == "ended").then_some(s)
        })
        .await;
        assert_eq!(ended["ended_reason"], reason);
    }
    let (status, metrics) = {
        let res = server
            .http
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("tandem_sessions_ended_total{reason=\"active_timeout\"}"),
        "{metrics}"
    );
    server.stop().await;
}

async fn activity_keeps_a_session_alive(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 2;
        c.reaper_interval_ms = 100;
    })
    .await;
    let t = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let path = format!("/api/1/sessions/{}", s["id"].as_str().unwrap());
    let idle = server.create_session(&t.admin, json!({})).await;
    let idle_path = format!("/api/1/sessions/{}", idle["id"].as_str().unwrap());
    // Keep one session busy with REST updates while the other idles out.
    let ended = eventually(15, || async {
        server
            .put(&path, &t.admin, json!({"custom_data": {"tick": 1}}))
            .await;
        let (_, other) = server.get(&idle_path, &t.admin).await;
        (other["state"] == "ended").then_some(other)
    })
    .await;
    assert_eq!(ended["ended_reason"], "pending_timeout");
    let (_, busy) = server.get(&path, &t.admin).await;
    assert_eq!(busy["state"], "pending", "activity kept it alive");
    server.stop().await;
}
