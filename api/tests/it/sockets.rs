//! The edges of `/sockets/1/ws`: credentials and origins refused, bad frames answered, limits
//! on subscriptions and queued frames, and shutdown.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{both_backends, Server};
use crate::ws::{device_url, try_connect, ws_url, Ended, Socket};

both_backends!(bad_and_foreign_credentials_are_refused);

async fn bad_and_foreign_credentials_are_refused(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let url = ws_url(&server.base, "X-CobrowsePlatform=agent-sdk");
    for token in [None, Some("not-a-token"), Some("")] {
        let mut s = try_connect(&url, token, None).await.expect("upgrade");
        assert_eq!(
            s.closed().await,
            Ended::Closed(
                4001,
                if token.is_none() {
                    "missing bearer subprotocol"
                } else {
                    "invalid token"
                }
                .into()
            )
        );
    }
    // A device token with another account's license, or another device's id, is refused.
    let device = server.register_device(&t, "dev-1", json!({})).await;
    server.register_device(&other, "dev-2", json!({})).await;
    let mut forged = device.clone();
    forged["id"] = json!("dev-2");
    for (tenant, dev) in [(&other, &device), (&t, &forged)] {
        let mut s = try_connect(
            &device_url(&server, tenant, dev),
            device["device_token"].as_str(),
            None,
        )
        .await
        .expect("upgrade");
        assert!(matches!(s.closed().await, Ended::Closed(4001, _)));
    }

    // An agent cannot subscribe to another tenant's session or device, and hears nothing of it.
    let foreign = server.create_session(&other.admin, json!({})).await;
    let foreign_device = server.register_device(&other, "dev-3", json!({})).await;
    let mut agent = Socket::agent(&server, &t.admin).await;
    for token in [
        &foreign["control_token"],
        &foreign_device["notification_token"],
        &json!("nope"),
    ] {
        let id = agent.send("subscribe", token.clone()).await;
        let err = agent.next(5).await.unwrap();
        assert_eq!(err["event"], "error", "{err}");
        assert_eq!(err["data"]["id"], "not_found");
        assert_eq!(err["data"]["ref"], id);
    }
    server
        .put(
            &format!("/api/1/sessions/{}", foreign["id"].as_str().unwrap()),
            &other.admin,
            json!({"custom_data": {"x": "1"}}),
        )
        .await;
    let ping = agent.send("ping", Value::Null).await;
    assert_eq!(
        agent.next(5).await.unwrap(),
        json!({"ack": ping}),
        "nothing else arrived"
    );
    server.stop().await;
}

both_backends!(bad_frames_get_errors_and_oversized_ones_close);

async fn bad_frames_get_errors_and_oversized_ones_close(backend: Backend) {
    let server = Server::start_with(backend, |c| c.socket_max_message_bytes = 4096).await;
    let t = server.tenant().await;
    let mut s = Socket::agent(&server, &t.admin).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xff, 0x00, 0x13], "invalid_frame"),
        (
            crate::ws::encode(&json!(["event", "ping"])),
            "invalid_frame",
        ),
        (crate::ws::encode(&json!({"id": 1})), "invalid_frame"),
        (
            crate::ws::encode(&json!({"event": "launch", "id": 2})),
            "unknown_event",
        ),
        (
            crate::ws::encode(&json!({"event": "subscribe", "id": 3, "data": 42})),
            "invalid_subscribe",
        ),
        (vec![0x81; 4000], "invalid_frame"),
    ];
    for (bytes, id) in cases {
        s.send_raw(Message::Binary(bytes.into())).await;
        let f = s.next(5).await.expect("an error frame, not a close");
        assert_eq!(
            (f["event"].as_str(), f["data"]["id"].as_str()),
            (Some("error"), Some(id)),
            "{f}"
        );
    }
    // Still serving this socket.
    let ping = s.send("ping", Value::Null).await;
    assert_eq!(s.next(5).await.unwrap(), json!({"ack": ping}));

    s.send_raw(Message::Text("{\"event\":\"ping\"}".into()))
        .await;
    assert!(matches!(s.closed().await, Ended::Closed(1003, _)));

    let mut s = Socket::agent(&server, &t.admin).await;
    s.send_raw(Message::Binary(vec![0u8; 10_000].into())).await;
    let ended = s.closed().await;
    assert!(
        matches!(ended, Ended::Closed(1009, _) | Ended::Dropped),
        "oversized: {ended:?}"
    );
    // The server is unharmed.
    let mut s = Socket::agent(&server, &t.admin).await;
    let ping = s.send("ping", Value::Null).await;
    assert_eq!(s.next(5).await.unwrap(), json!({"ack": ping}));
    server.stop().await;
}

both_backends!(subscriptions_per_socket_are_limited);

async fn subscriptions_per_socket_are_limited(backend: Backend) {
    let server = Server::start_with(backend, |c| c.socket_max_subscriptions = 2).await;
    let t = server.tenant().await;
    let mut sock = Socket::agent(&server, &t.admin).await;
    for _ in 0..2 {
        let s = server.create_session(&t.admin, json!({})).await;
        sock.subscribe(s["control_token"].as_str().unwrap()).await;
    }
    let s = server.create_session(&t.admin, json!({})).await;
    sock.send("subscribe", s["control_token"].clone()).await;
    let err = sock.until("error", |_| true).await;
    assert_eq!(err["id"], "too_many_subscriptions");
    server.stop().await;
}

both_backends!(a_slow_consumer_is_closed_while_others_keep_receiving);

async fn a_slow_consumer_is_closed_while_others_keep_receiving(backend: Backend) {
    // A process of its own: its slow-consumer count is this test's alone.
    let queue = [("TANDEM_SOCKET_QUEUE_FRAMES", "8".to_owned())];
    let server = Server::spawn_fresh(backend, &queue).await;
    let t = server.tenant().await;
    let s = server.create_session(&t.admin, json!({})).await;
    let token = s["control_token"].as_str().unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    let mut slow = Socket::agent(&server, &t.admin).await;
    slow.subscribe(token).await;
    let mut fast = Socket::agent(&server, &t.admin).await;
    fast.subscribe(token).await;

    // Large events, many of them, while `slow` reads nothing: its TCP buffers fill, then its
    // queue, and the server closes it.
    let pad = "x".repeat(1000);
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::select! {
                _ = &mut done_rx => return (fast, last),
                f = fast.next(30) => {
                    let f = f.expect("the fast consumer stays connected");
                    if let Some(n) = f["data"]["custom_data"]["n"].as_str() {
                        last = n.parse().unwrap();
                    }
                }
            }
        }
    });
    let mut n = 0;
    while n < 3000 {
        n += 1;
        let (status, _) = server
            .put(
                &format!("/api/1/sessions/{id}"),
                &t.admin,
                json!({"custom_data": {"n": n.to_string(), "p1": pad, "p2": pad, "p3": pad,
                    "p4": pad, "p5": pad, "p6": pad, "p7": pad}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        if n % 100 == 0
            && server
                .metric("tandem_websocket_slow_consumer_closes_total")
                .await
                > 0.0
        {
            break;
        }
    }
    assert!(n < 3000, "the slow consumer was never closed");
    // Its close frame sits behind the unread data; drain until it shows.
    let mut code = None;
    loop {
        match slow.next(30).await {
            Ok(_) => continue,
            Err(Ended::Closed(c, _)) => {
                code = Some(c);
                break;
            }
            Err(Ended::Dropped) => break,
        }
    }
    assert_eq!(code, Some(4008));
    // The fast one saw every update up to the last.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    done_tx.send(()).unwrap();
    let (_fast, last) = reader.await.unwrap();
    assert_eq!(last, n, "the fast consumer received the latest update");
    server.stop().await;
}

both_backends!(untrusted_browser_origins_are_refused);

async fn untrusted_browser_origins_are_refused(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server
        .tenant_with(AccountSettings {
            trusted_origins: vec!["https://*.helpdesk.example".into()],
            ..AccountSettings::default()
        })
        .await;
    let (_, me) = server.get("/api/1/users/me", &t.admin).await;
    let token = me["notification_token"].as_str().unwrap();
    let url = ws_url(&server.base, "X-CobrowsePlatform=agent-sdk");
    assert_eq!(
        try_connect(&url, Some(token), Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    for origin in [server.base.as_str(), "https://acme.helpdesk.example"] {
        let mut s = try_connect(&url, Some(token), Some(origin))
            .await
            .expect(origin);
        let ping = s.send("ping", Value::Null).await;
        assert_eq!(s.next(5).await.unwrap(), json!({"ack": ping}));
    }
    // Node and other non-browser clients send no Origin: allowed.
    assert!(try_connect(&url, Some(token), None).await.is_ok());
    server.stop().await;
}

both_backends!(shutdown_sends_going_away);

async fn shutdown_sends_going_away(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mut s = Socket::agent(&server, &t.admin).await;
    let reader = tokio::spawn(async move { s.closed().await });
    server.stop().await;
    assert_eq!(
        reader.await.unwrap(),
        Ended::Closed(1001, "server shutting down".into())
    );
}
