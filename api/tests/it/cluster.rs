//! Two `tandem` replicas sharing PostgreSQL and a Redis of the test's own (a `redis-server` it
//! starts, stops and restarts): events, presence and connect requests cross replicas, and a
//! Redis outage degrades to single-replica delivery and recovers by itself.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;

use crate::common::{Redis, Server, Tenant};
use crate::watchers::agents;
use crate::ws::{try_connect, ws_url, Ended, Socket};

async fn replica(db: &TestDb, redis: &Redis) -> Server {
    let url = redis.url();
    let server = Server::start_on(&db.url, |c| c.redis_url = url).await;
    server.wait_redis("ok").await;
    server
}

/// Two replicas on one PostgreSQL database and one private Redis, both linked.
async fn cluster() -> (TestDb, Redis, Server, Server) {
    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let a = replica(&db, &redis).await;
    let b = replica(&db, &redis).await;
    (db, redis, a, b)
}

async fn session_on(server: &Server, t: &Tenant) -> Value {
    server.create_session(&t.admin, json!({})).await
}

async fn set_ticket(server: &Server, t: &Tenant, session: &Value, ticket: &str) {
    let (status, body) = server
        .put(
            &format!("/api/1/sessions/{}", session["id"].as_str().unwrap()),
            &t.admin,
            json!({"custom_data": {"ticket": ticket}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn events_presence_and_connect_requests_cross_replicas() {
    let (_db, _redis, a, b) = cluster().await;
    let t = a.tenant().await;

    // A change made on A reaches a subscriber on B.
    let s = session_on(&a, &t).await;
    let mut on_b = Socket::agent(&b, &t.admin).await;
    on_b.subscribe(s["control_token"].as_str().unwrap()).await;
    set_ticket(&a, &t, &s, "from-a").await;
    on_b.until("session", |d| d["custom_data"]["ticket"] == "from-a")
        .await;

    // A device connected to A is present for an agent on B.
    let device = a.register_device(&t, "dev-1", json!({})).await;
    on_b.subscribe(device["notification_token"].as_str().unwrap())
        .await;
    let mut dev = Socket::device(&a, &t, &device).await;
    let p = on_b.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], true);

    // A connect request made on B reaches the device's socket on A.
    let (status, body) = b
        .post(
            "/api/1/devices/dev-1/notifications",
            &t.admin,
            json!({"session": s["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let n = dev.until("notification", |_| true).await;
    assert_eq!(n["session"]["id"], s["id"]);

    dev.ws.close(None).await.unwrap();
    let p = on_b.until("presence", |d| d["id"] == "dev-1").await;
    assert_eq!(p["present"], false);

    // The customer's stream on A and the agent's on B are in the same session.
    let id = s["id"].as_str().unwrap();
    let path = format!("/api/1/sessions/{id}");
    a.device_join(&t, &device, &s).await;
    let (status, _) = b.put(&path, &t.admin, json!({"agent": "me"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = a
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"state": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut customer = Socket::device_stream(&a, &t, &device, id).await;
    let mut agent = Socket::agent_stream(&b, &t.admin, id).await;
    agent.send("probe", json!({"timestamp": 1})).await;
    agent.until("alive", |_| true).await;
    customer.send("frame", json!({"n": 1})).await;
    assert_eq!(agent.until("frame", |_| true).await, json!({"n": 1}));
    agent.send("highlight", json!({"x": 1})).await;
    assert_eq!(customer.until("highlight", |_| true).await, json!({"x": 1}));
    // Ending it on B closes the customer's stream on A.
    b.put(&path, &t.admin, json!({"state": "ended"})).await;
    assert!(matches!(customer.closed().await, Ended::Closed(4004, _)));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_redis_outage_keeps_local_delivery_and_heals() {
    let (_db, mut redis, a, b) = cluster().await;
    let t = a.tenant().await;
    let s = session_on(&a, &t).await;
    let token = s["control_token"].as_str().unwrap();
    let mut on_a = Socket::agent(&a, &t.admin).await;
    on_a.subscribe(token).await;
    let mut on_b = Socket::agent(&b, &t.admin).await;
    on_b.subscribe(token).await;

    redis.stop();
    a.wait_redis("down").await;
    let (status, ready) = a.get("/readyz", "").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a Redis outage does not take the replica out"
    );
    assert_eq!(ready["status"], "degraded");
    assert!(a.metric("tandem_redis_errors_total").await >= 1.0);

    // Subscribers on the replica that made the change still hear about it.
    set_ticket(&a, &t, &s, "during-outage").await;
    on_a.until("session", |d| d["custom_data"]["ticket"] == "during-outage")
        .await;

    redis.spawn();
    a.wait_redis("ok").await;
    b.wait_redis("ok").await;
    // Both links are back: a change on A reaches B again (retrying covers the moment between
    // B's link reporting up and its subscription taking effect).
    let mut n = 0;
    let got = loop {
        n += 1;
        let ticket = format!("after-{n}");
        set_ticket(&a, &t, &s, &ticket).await;
        let seen = tokio::time::timeout(
            Duration::from_secs(2),
            on_b.until("session", |d| d["custom_data"]["ticket"] == ticket.as_str()),
        )
        .await;
        if seen.is_ok() || n == 10 {
            break seen.is_ok();
        }
    };
    assert!(
        got,
        "cross-replica delivery did not come back after Redis returned"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn split_roles_run_as_two_tandem_processes() {
    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let env = [("TANDEM_REDIS_URL", redis.url())];
    let api = Server::spawn(&db.url, &env, &["--role", "api"]).await;
    let rt = Server::spawn(&db.url, &env, &["--role", "realtime"]).await;
    api.wait_redis("ok").await;
    rt.wait_redis("ok").await;
    let t = api.tenant().await;

    // Each process serves its own part.
    let (status, _) = rt.get("/api/1/users/me", &t.admin).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no REST on the realtime role"
    );
    let (_, me) = api.get("/api/1/users/me", &t.admin).await;
    let token = me["notification_token"].as_str().unwrap();
    let query = "X-CobrowsePlatform=agent-sdk";
    assert_eq!(
        try_connect(&ws_url(&api.base, query), Some(token), None)
            .await
            .err(),
        Some(404),
        "no sockets on the api role"
    );

    // A change made over REST on one process reaches a socket on the other.
    let s = session_on(&api, &t).await;
    let mut sock = try_connect(&ws_url(&rt.base, query), Some(token), None)
        .await
        .expect("socket on the realtime process");
    sock.subscribe(s["control_token"].as_str().unwrap()).await;
    set_ticket(&api, &t, &s, "split").await;
    sock.until("session", |d| d["custom_data"]["ticket"] == "split")
        .await;

    // SIGTERM: the socket is told to go elsewhere, and the process exits cleanly.
    let closed = tokio::spawn(async move { sock.closed().await });
    rt.stop().await;
    assert_eq!(
        closed.await.unwrap(),
        Ended::Closed(1001, "server shutting down".into())
    );
    api.stop().await;
}

#[tokio::test]
async fn agents_are_counted_across_replicas() {
    let (_db, _redis, a, b) = cluster().await;
    let t = a.tenant().await;
    let (s, device) = a.active_session(&t, "dev-1").await;
    let id = s["id"].as_str().unwrap();
    // An agent already on B when the page's stream opens on A: A counts its own at once, then
    // B's, which B says when A asks.
    let mut on_b = Socket::agent_stream(&b, &t.admin, id).await;
    on_b.send("probe", json!({"timestamp": 1})).await;
    on_b.until("alive", |_| true).await;
    let mut dev = Socket::device_stream(&a, &t, &device, id).await;
    assert_eq!(agents(&mut dev).await, 0);
    assert_eq!(agents(&mut dev).await, 1);
    // Agents come and go on both replicas; the page hears each change.
    let mut on_a = Socket::agent_stream(&a, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 2);
    let mut on_b2 = Socket::agent_stream(&b, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 3);
    on_b.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 2);
    on_a.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 1);
    // The one left on B still sees the page.
    dev.send("frame", json!({"n": 1})).await;
    assert_eq!(on_b2.until("frame", |_| true).await, json!({"n": 1}));
    on_b2.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 0);
    a.stop().await;
    b.stop().await;
}
