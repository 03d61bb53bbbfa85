//! What a socket may reach: an agent's socket carries the policy of the JWT its notification
//! token came from, and answers as REST does (404 is `not_found`); a device's socket reaches only
//! its own device and the sessions bound to it. Notification tokens expire, rotate through
//! `/users/me`, and can be revoked, which closes the user's sockets on every replica.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, Server, Tenant};
use crate::ws::{try_connect, ws_url, Ended, Socket};

const AGENT_QUERY: &str = "X-CobrowsePlatform=agent-sdk&X-CobrowseSDKVersion=test";

/// Sends `event` and returns the frame answering it: the error, or the event pushed before the
/// ack (`Value::Null` when only the ack came).
async fn ask(sock: &mut Socket, event: &str, data: Value) -> Value {
    let id = sock.send(event, data).await;
    let mut pushed = Value::Null;
    loop {
        let f = sock.next(10).await.expect("an answer");
        if f["event"] == "error" {
            assert_eq!(f["data"]["ref"], id, "{f}");
            return f;
        }
        if f["ack"] == id {
            return pushed;
        }
        if f["event"] == "presence" || f["event"] == "device" || f["event"] == "session" {
            pushed = f;
        }
    }
}

#[track_caller]
fn assert_not_found(answer: &Value, what: &str) {
    assert_eq!(answer["event"], "error", "{what}: {answer}");
    assert_eq!(answer["data"]["id"], "not_found", "{what}: {answer}");
}

/// A JWT for `email` whose policy reaches only what carries `custom_data.user_id = u1`.
fn narrow_agent(t: &Tenant, email: &str) -> String {
    let mut spec = t.spec(email, None);
    spec.policy = Some(json!({
        "version": 3,
        "sessions": {"custom_data": {"user_id": "u1"}},
        "devices": {"custom_data": {"user_id": "u1"}}
    }));
    t.token_with(&spec)
}

both_backends!(an_agent_socket_answers_as_the_policy_of_its_jwt);

async fn an_agent_socket_answers_as_the_policy_of_its_jwt(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let seen = server
        .register_device(&t, "dev-seen", json!({"user_id": "u1"}))
        .await;
    let hidden = server
        .register_device(&t, "dev-hidden", json!({"user_id": "u2"}))
        .await;
    let shown_session = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u1"}}))
        .await;
    let hidden_session = server
        .create_session(&t.admin, json!({"custom_data": {"user_id": "u2"}}))
        .await;
    let narrow = narrow_agent(&t, "narrow@example.com");

    // REST says the hidden ones do not exist for this agent…
    let (status, _) = server.get("/api/1/devices/dev-hidden", &narrow).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let hidden_path = format!("/api/1/sessions/{}", hidden_session["id"].as_str().unwrap());
    let (status, _) = server.get(&hidden_path, &narrow).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // …and so does the socket opened with the token `/users/me` gave that JWT.
    let mut sock = Socket::agent(&server, &narrow).await;
    let answer = ask(&mut sock, "sync-presence", json!("dev-hidden")).await;
    assert_not_found(&answer, "presence of a hidden device");
    let answer = ask(&mut sock, "subscribe", hidden["notification_token"].clone()).await;
    assert_not_found(&answer, "a hidden device's notification token");
    let answer = ask(
        &mut sock,
        "subscribe",
        hidden_session["control_token"].clone(),
    )
    .await;
    assert_not_found(&answer, "a hidden session's control token");
    // An unknown token gets the very same answer.
    let answer = ask(&mut sock, "subscribe", json!("no-such-token")).await;
    assert_not_found(&answer, "an unknown token");

    // What the policy matches is there.
    let answer = ask(&mut sock, "sync-presence", json!("dev-seen")).await;
    assert_eq!(answer["event"], "presence", "{answer}");
    assert_eq!(answer["data"]["id"], "dev-seen");
    let answer = ask(&mut sock, "subscribe", seen["notification_token"].clone()).await;
    assert_eq!(answer["data"]["id"], "dev-seen", "{answer}");
    let answer = ask(
        &mut sock,
        "subscribe",
        shown_session["control_token"].clone(),
    )
    .await;
    assert_eq!(answer["data"]["id"], shown_session["id"], "{answer}");

    // Nothing of the hidden device reaches this socket when it changes.
    let mut customer = Socket::device(&server, &t, &hidden).await;
    customer.send("ping", Value::Null).await;
    let ping = sock.send("ping", Value::Null).await;
    assert_eq!(sock.next(5).await.unwrap(), json!({"ack": ping}));

    // The same user with a JWT without a policy reaches everything.
    let mut wide = Socket::agent(&server, &t.token("narrow@example.com", None)).await;
    let answer = ask(&mut wide, "sync-presence", json!("dev-hidden")).await;
    assert_eq!(answer["event"], "presence", "{answer}");
    let answer = ask(
        &mut wide,
        "subscribe",
        hidden_session["control_token"].clone(),
    )
    .await;
    assert_eq!(answer["data"]["id"], hidden_session["id"], "{answer}");
    server.stop().await;
}

both_backends!(a_device_socket_reaches_only_its_own_device);

async fn a_device_socket_reaches_only_its_own_device(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mine = server
        .register_device(&t, "dev-mine", json!({"user_id": "u1"}))
        .await;
    let theirs = server
        .register_device(&t, "dev-theirs", json!({"user_id": "u1"}))
        .await;
    let own_session = device_session(&server, &t, &mine).await;
    let their_session = device_session(&server, &t, &theirs).await;
    // Made by an agent and bound to no device yet.
    let unbound = server.create_session(&t.admin, json!({})).await;

    let mut sock = Socket::device(&server, &t, &mine).await;
    let answer = ask(&mut sock, "sync-presence", json!("dev-theirs")).await;
    assert_not_found(&answer, "another device's presence");
    let answer = ask(&mut sock, "subscribe", theirs["notification_token"].clone()).await;
    assert_not_found(&answer, "another device's notification token");
    let answer = ask(
        &mut sock,
        "subscribe",
        their_session["control_token"].clone(),
    )
    .await;
    assert_not_found(&answer, "another device's session");
    let answer = ask(&mut sock, "subscribe", unbound["control_token"].clone()).await;
    assert_not_found(&answer, "a session bound to no device");

    let answer = ask(&mut sock, "sync-presence", json!("dev-mine")).await;
    assert_eq!(answer["event"], "presence", "{answer}");
    assert_eq!(answer["data"]["present"], true, "its own socket is open");
    let answer = ask(&mut sock, "subscribe", own_session["control_token"].clone()).await;
    assert_eq!(answer["data"]["id"], own_session["id"], "{answer}");

    // The session it was refused sends it nothing; its own does.
    for s in [&their_session, &own_session] {
        let (status, body) = server
            .put(
                &format!("/api/1/sessions/{}", s["id"].as_str().unwrap()),
                &t.admin,
                json!({"custom_data": {"ticket": "T-1"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let pushed = sock
        .until("session", |d| d["custom_data"]["ticket"] == "T-1")
        .await;
    assert_eq!(pushed["id"], own_session["id"]);
    server.stop().await;
}

/// A session the device made for itself (as the web SDK's `createSessionCode` does).
async fn device_session(server: &Server, t: &Tenant, device: &Value) -> Value {
    let (status, s) = server
        .device_call(t, device, Method::POST, "/api/1/sessions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s
}

both_backends!(users_me_gives_a_new_working_token_each_time);

async fn users_me_gives_a_new_working_token_each_time(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let (_, first) = server.get("/api/1/users/me", &t.admin).await;
    let (_, second) = server.get("/api/1/users/me", &t.admin).await;
    assert_eq!(first["id"], second["id"]);
    assert_ne!(
        first["notification_token"], second["notification_token"],
        "each call rotates the token"
    );
    for me in [&first, &second] {
        let token = me["notification_token"].as_str().unwrap();
        let mut sock = try_connect(&ws_url(&server.base, AGENT_QUERY), Some(token), None)
            .await
            .expect("upgrade");
        let now = sock.subscribe(s["control_token"].as_str().unwrap()).await;
        assert_eq!(now["id"], s["id"]);
    }
    // Another user's token is not this one's, and `/users/:id` never shows a token.
    let (_, other) = server
        .get("/api/1/users/me", &t.token("other@example.com", None))
        .await;
    assert_ne!(other["notification_token"], first["notification_token"]);
    let (_, by_id) = server
        .get(
            &format!("/api/1/users/{}", other["id"].as_str().unwrap()),
            &t.admin,
        )
        .await;
    assert!(by_id.get("notification_token").is_none(), "{by_id}");
    server.stop().await;
}

both_backends!(an_expired_notification_token_closes_its_socket_and_opens_no_other);

async fn an_expired_notification_token_closes_its_socket_and_opens_no_other(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.notification_token_ttl_secs = 1;
        c.reaper_interval_ms = 100;
    })
    .await;
    let t = server.tenant().await;
    let (_, me) = server.get("/api/1/users/me", &t.admin).await;
    let token = me["notification_token"].as_str().unwrap();
    let url = ws_url(&server.base, AGENT_QUERY);
    let mut sock = try_connect(&url, Some(token), None).await.expect("upgrade");
    let ping = sock.send("ping", Value::Null).await;
    assert_eq!(sock.next(5).await.unwrap(), json!({"ack": ping}));
    assert_eq!(
        sock.closed().await,
        Ended::Closed(4002, "token expired".into())
    );
    // Refused as expired, or as unknown once the reaper has forgotten it.
    let mut again = try_connect(&url, Some(token), None).await.expect("upgrade");
    let ended = again.closed().await;
    assert!(matches!(ended, Ended::Closed(4001 | 4002, _)), "{ended:?}");
    // The reaper forgets it.
    let hash = tandem_core::secrets::hash_token(token);
    crate::common::eventually(10, || async {
        server
            .store
            .notification_token(&hash)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    // A new one from `/users/me` works.
    let (_, me) = server.get("/api/1/users/me", &t.admin).await;
    let fresh = me["notification_token"].as_str().unwrap();
    let mut sock = try_connect(&url, Some(fresh), None).await.expect("upgrade");
    let ping = sock.send("ping", Value::Null).await;
    assert_eq!(sock.next(5).await.unwrap(), json!({"ack": ping}));
    server.stop().await;
}

both_backends!(revoking_a_user_closes_their_sockets_on_every_replica);

/// Revocation goes through the Service of one replica (built here, with its own hub and socket
/// route) and reaches the other (the server) through Redis.
async fn revoking_a_user_closes_their_sockets_on_every_replica(backend: Backend) {
    use std::sync::Arc;
    use tandem_core::bus::InProcessBus;
    use tandem_core::service::{Service, ServiceConfig};

    let redis = crate::common::Redis::start();
    let url = redis.url();
    let server = Server::start_with(backend, |c| c.redis_url = url).await;
    server.wait_redis("ok").await;
    let service = Arc::new(Service::new(
        server.store.clone(),
        Arc::new(InProcessBus::default()),
        ServiceConfig::default(),
    ));
    let hub = tandem_realtime::Hub::start(
        service.clone(),
        tandem_realtime::Settings {
            redis_url: Some(redis.url()),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let here = format!("http://{}", listener.local_addr().unwrap());
    let router = tandem_realtime::router(hub.clone());
    let replica = tokio::spawn(async move { axum::serve(listener, router).await });
    crate::common::eventually(10, || async {
        (hub.redis_up() == Some(true)).then_some(())
    })
    .await;

    let t = server.tenant().await;
    let revoked = t.token("leaver@example.com", None);
    let (_, me) = server.get("/api/1/users/me", &revoked).await;
    let user_id = me["id"].as_str().unwrap().to_owned();
    let token = me["notification_token"].as_str().unwrap().to_owned();
    let s = server
        .create_session(&revoked, json!({"agent": "me"}))
        .await;
    let mut there = Socket::agent(&server, &revoked).await;
    let mut on_replica = try_connect(&ws_url(&here, AGENT_QUERY), Some(&token), None)
        .await
        .expect("a socket on the other replica");
    let mut stream = Socket::agent_stream(&server, &revoked, s["id"].as_str().unwrap()).await;
    let mut stayer = Socket::agent(&server, &t.admin).await;
    for sock in [&mut there, &mut on_replica, &mut stream, &mut stayer] {
        let ping = sock.send("ping", Value::Null).await;
        assert_eq!(sock.next(5).await.unwrap(), json!({"ack": ping}));
    }

    let gone = service
        .revoke_user_tokens(&t.account.id, &user_id)
        .await
        .unwrap();
    assert!(
        gone >= 3,
        "two notification tokens and a stream token: {gone}"
    );
    for (sock, where_) in [
        (&mut on_replica, "the revoking replica"),
        (&mut there, "the other replica"),
        (&mut stream, "the other replica's stream"),
    ] {
        assert_eq!(
            sock.closed().await,
            Ended::Closed(4001, "the credentials were revoked".into()),
            "{where_}"
        );
    }
    // Another user's socket stays; the revoked token opens nothing.
    let ping = stayer.send("ping", Value::Null).await;
    assert_eq!(stayer.next(5).await.unwrap(), json!({"ack": ping}));
    let mut again = try_connect(&ws_url(&server.base, AGENT_QUERY), Some(&token), None)
        .await
        .expect("upgrade");
    assert_eq!(
        again.closed().await,
        Ended::Closed(4001, "invalid token".into())
    );
    hub.shutdown(std::time::Duration::from_secs(1)).await;
    replica.abort();
    server.stop().await;
}

both_backends!(a_revocation_while_a_socket_opens_still_closes_it);

/// A revocation acted on between a socket's authentication and its registration (where a
/// revocation can reach it) must not leave the socket open: the two race here, many times.
async fn a_revocation_while_a_socket_opens_still_closes_it(backend: Backend) {
    use std::sync::Arc;
    use tandem_core::bus::InProcessBus;
    use tandem_core::service::{Service, ServiceConfig};

    let server = Server::start(backend).await;
    let service = Arc::new(Service::new(
        server.store.clone(),
        Arc::new(InProcessBus::default()),
        ServiceConfig::default(),
    ));
    let hub = tandem_realtime::Hub::start(service.clone(), tandem_realtime::Settings::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let here = ws_url(
        &format!("http://{}", listener.local_addr().unwrap()),
        AGENT_QUERY,
    );
    let router = tandem_realtime::router(hub.clone());
    let replica = tokio::spawn(async move { axum::serve(listener, router).await });
    let t = server.tenant().await;
    for round in 0..40 {
        let jwt = t.token(&format!("racer{round}@example.com"), None);
        let (_, me) = server.get("/api/1/users/me", &jwt).await;
        let user_id = me["id"].as_str().unwrap().to_owned();
        let token = me["notification_token"].as_str().unwrap().to_owned();
        let opening = tokio::spawn({
            let here = here.clone();
            async move { try_connect(&here, Some(&token), None).await }
        });
        // Let the upgrade get under way before revoking; vary the moment from round to round.
        for _ in 0..round % 8 {
            tokio::task::yield_now().await;
        }
        service
            .revoke_user_tokens(&t.account.id, &user_id)
            .await
            .unwrap();
        let mut socket = opening.await.unwrap().expect("upgrade");
        assert!(
            matches!(socket.closed().await, Ended::Closed(4001, _)),
            "round {round}: the socket stayed open"
        );
    }
    hub.shutdown(std::time::Duration::from_secs(1)).await;
    replica.abort();
    server.stop().await;
}
