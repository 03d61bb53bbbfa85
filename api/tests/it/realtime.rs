//! `/sockets/1/ws` against the real server: subscriptions, pushes after every kind of change,
//! presence and connect requests (the socket's edges are in `sockets`).

use reqwest::StatusCode;
use serde_json::json;
use tandem_core::store::Backend;

use crate::common::{both_backends, eventually, Server};
use crate::ws::Socket;

both_backends!(session_changes_reach_subscribers);

async fn session_changes_reach_subscribers(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let s = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u1"}}))
        .await;
    let id = s["id"].as_str().unwrap();
    let mut a = Socket::agent(&server, &t.admin).await;
    let mut b = Socket::agent(&server, &t.admin).await;
    for sock in [&mut a, &mut b] {
        // The current state comes with the subscription, so a reconnecting client catches up.
        let now = sock.subscribe(s["control_token"].as_str().unwrap()).await;
        assert_eq!(now["id"], id);
        assert_eq!(now["state"], "pending");
        assert_eq!(now["control_token"], s["control_token"]);
    }

    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"custom_data": {"ticket": "T-9"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for sock in [&mut a, &mut b] {
        let pushed = sock
            .until("session", |d| d["custom_data"]["ticket"] == "T-9")
            .await;
        assert_eq!(
            pushed["custom_data"]["user_id"], "u1",
            "the full resource is pushed"
        );
        assert!(pushed["updated"].is_string() && pushed["agents"].is_array());
    }

    server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    let ended = a.until("session", |d| d["state"] == "ended").await;
    assert_eq!(ended["ended_reason"], "agent_ended");
    server.stop().await;
}

both_backends!(the_reaper_ending_a_session_is_pushed);

async fn the_reaper_ending_a_session_is_pushed(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 1;
        c.reaper_interval_ms = 100;
    })
    .await;
    let t = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let mut sock = Socket::agent(&server, &t.admin).await;
    sock.subscribe(s["control_token"].as_str().unwrap()).await;
    let ended = sock.until("session", |d| d["state"] == "ended").await;
    assert_eq!(ended["id"], s["id"]);
    assert_eq!(ended["ended_reason"], "pending_timeout");
    server.stop().await;
}

both_backends!(presence_follows_the_device_socket);

async fn presence_follows_the_device_socket(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let device = server
        .register_device(&t, "dev-1", json!({"user_id": "u1"}))
        .await;
    let path = "/api/1/devices/dev-1";
    let (_, d) = server.get(path, &t.admin).await;
    assert_eq!(d["online"], false);

    let mut agent = Socket::agent(&server, &t.admin).await;
    let now = agent
        .subscribe(device["notification_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (now["id"].as_str(), now["online"].as_bool()),
        (Some("dev-1"), Some(false))
    );
    agent.send("sync-presence", json!("dev-1")).await;
    let p = agent.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], false);

    let mut dev = Socket::device(&server, &t, &device).await;
    let p = agent.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], true);
    assert!(p["last_seen"].is_string());
    let (_, d) = server.get(path, &t.admin).await;
    assert_eq!(d["online"], true);
    let (_, list) = server
        .get("/api/1/devices?filter_user_id=u1", &t.admin)
        .await;
    assert_eq!(list[0]["online"], true, "lists show presence too");

    // A second socket of the same device (another tab) does not flip presence on close.
    let mut tab = Socket::device(&server, &t, &device).await;
    tab.ws.close(None).await.unwrap();
    agent.send("sync-presence", json!("dev-1")).await;
    let p = agent.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], true);

    dev.ws.close(None).await.unwrap();
    let p = agent.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], false);
    let (_, d) = server.get(path, &t.admin).await;
    assert_eq!(d["online"], false);
    server.stop().await;
}

both_backends!(connect_requests_reach_the_device_socket);

async fn connect_requests_reach_the_device_socket(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let device = server.register_device(&t, "dev-1", json!({})).await;
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let path = "/api/1/devices/dev-1/notifications";
    let body = json!({"session": s["id"], "attempt": 1});

    let (status, err) = server.post(path, &t.admin, body.clone()).await;
    assert_eq!(
        (status, err["id"].as_str()),
        (StatusCode::CONFLICT, Some("device_offline"))
    );

    let mut dev = Socket::device(&server, &t, &device).await;
    eventually(5, || async {
        let (_, d) = server.get("/api/1/devices/dev-1", &t.admin).await;
        (d["online"] == true).then_some(())
    })
    .await;
    let (status, _) = server
        .post(path, &t.admin, json!({"session": s["id"], "attempt": 2}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let n = dev.until("notification", |_| true).await;
    assert_eq!(n["session"]["id"], s["id"]);
    assert_eq!(n["attempt"], 2);

    // Bad input and other tenants change nothing and say why.
    let (status, _) = server.post(path, &t.admin, json!({"attempt": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .post(path, &t.admin, json!({"session": s["id"], "attempt": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server.post(path, &other.admin, body.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .post(path, &t.admin, json!({"session": "no-such-session"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server
        .put(
            &format!("/api/1/sessions/{}", s["id"].as_str().unwrap()),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    let (status, err) = server.post(path, &t.admin, body).await;
    assert_eq!(
        (status, err["id"].as_str()),
        (StatusCode::CONFLICT, Some("session_ended"))
    );
    server.stop().await;
}
