//! Session stream sockets: the device's end and the agents' ends of one session, relayed both
//! ways, with probes, activity that keeps the session alive, token expiry and session end.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::secrets;
use tandem_core::store::{Backend, StreamToken};
use tandem_core::time;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{both_backends, Server, Tenant};
use crate::ws::{encode, try_connect, ws_url, Ended, Socket};

/// An active session with a freshly registered device `dev-1` (see `Server::active_session`).
pub(crate) async fn joined_session(server: &Server, t: &Tenant) -> (Value, Value) {
    server.active_session(t, "dev-1").await
}

both_backends!(streams_relay_both_ways);

async fn streams_relay_both_ways(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut agent1 = Socket::agent_stream(&server, &t.admin, id).await;
    let mut agent2 = Socket::agent_stream(&server, &t.admin, id).await;
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    // Let the joins settle: a probe round trip on each proves the socket is serving.
    for sock in [&mut agent1, &mut agent2, &mut dev] {
        sock.send("probe", json!({"timestamp": 1})).await;
        let alive = sock.until("alive", |_| true).await;
        assert_eq!(alive, json!({"timestamp": 1}));
    }

    dev.send("frame", json!({"n": 1, "html": "<p>hello</p>"}))
        .await;
    for sock in [&mut agent1, &mut agent2] {
        let f = sock.until("frame", |_| true).await;
        assert_eq!(
            f,
            json!({"n": 1, "html": "<p>hello</p>"}),
            "relayed byte for byte"
        );
    }
    agent1.send("highlight", json!({"x": 10})).await;
    assert_eq!(dev.until("highlight", |_| true).await, json!({"x": 10}));
    // Agents hear the device, not each other.
    agent2.send("ping", Value::Null).await;
    let id2 = agent2.send("ping", Value::Null).await;
    loop {
        let f = agent2.next(5).await.unwrap();
        assert_ne!(
            f["event"], "highlight",
            "an agent's frame went to another agent"
        );
        if f["ack"] == id2 {
            break;
        }
    }

    // Stream sockets also get the session itself; ending it closes them all with 4004.
    server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    for sock in [&mut agent1, &mut agent2, &mut dev] {
        assert!(matches!(sock.closed().await, Ended::Closed(4004, _)));
    }
    // And an ended session's stream is closed to newcomers.
    let mut late = try_connect(
        &format!(
            "{}&X-CobrowseSession={id}",
            crate::ws::device_url(&server, &t, &device)
        ),
        device["device_token"].as_str(),
        None,
    )
    .await
    .unwrap();
    assert!(matches!(late.closed().await, Ended::Closed(4004, _)));
    server.stop().await;
}

/// A server whose sessions end after 2 s without activity, and a joined session's id with its
/// device's stream open.
async fn soon_idle_stream(backend: Backend) -> (Server, Tenant, String, Socket) {
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 2;
        c.reaper_interval_ms = 200;
    })
    .await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let dev = Socket::device_stream(&server, &t, &device, &id).await;
    (server, t, id, dev)
}

both_backends!(stream_traffic_keeps_a_session_alive);

async fn stream_traffic_keeps_a_session_alive(backend: Backend) {
    let (server, t, id, mut dev) = soon_idle_stream(backend).await;
    for n in 0..12 {
        dev.send("frame", json!({"n": n})).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let (_, now) = server.get(&format!("/api/1/sessions/{id}"), &t.admin).await;
    assert_ne!(
        now["state"], "ended",
        "3.6 s of traffic outlived a 2 s timeout"
    );
    // Quiet: the reaper ends it and the socket hears.
    assert!(matches!(dev.closed().await, Ended::Closed(4004, _)));
    let (_, now) = server.get(&format!("/api/1/sessions/{id}"), &t.admin).await;
    assert_eq!(now["state"], "ended");
    server.stop().await;
}

both_backends!(a_customer_pages_pings_keep_its_session_alive);

/// A page nobody watches records nothing, but while it is open it pings its stream: its session
/// is not idle. An agent's pings do not count: a session the customer left ends.
async fn a_customer_pages_pings_keep_its_session_alive(backend: Backend) {
    let (server, t, id, mut dev) = soon_idle_stream(backend).await;
    let mut agent = Socket::agent_stream(&server, &t.admin, &id).await;
    let ping = || Message::Binary(encode(&json!({"event": "ping"})).into());
    for _ in 0..12 {
        dev.send_raw(ping()).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let (_, now) = server.get(&format!("/api/1/sessions/{id}"), &t.admin).await;
    assert_eq!(
        now["state"], "active",
        "3.6 s of the page's pings outlived a 2 s timeout"
    );
    // The page goes quiet while the agent still pings: the reaper ends the session.
    let pinging = tokio::spawn(async move {
        loop {
            agent.send_raw(ping()).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    });
    assert!(matches!(dev.closed().await, Ended::Closed(4004, _)));
    pinging.abort();
    let (_, now) = server.get(&format!("/api/1/sessions/{id}"), &t.admin).await;
    assert_eq!(now["state"], "ended");
    server.stop().await;
}

both_backends!(an_agent_stream_can_ask_for_the_page_as_it_opens);

/// `catch_up=1` on an agent's stream URL is its first `sync`, asked before it can send one: the
/// relay's replay comes at once when there is one, and the page is asked when there is not.
async fn an_agent_stream_can_ask_for_the_page_as_it_opens(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    // No replay yet: the page is asked for its snapshot.
    let _first = Socket::agent_stream_with(&server, &t.admin, id, "catch_up=1").await;
    let asked = dev.until("sync", |_| true).await;
    assert_eq!(asked["type"], "Sync");
    let events = [
        json!({"type": 4, "data": {"href": "https://shop.example/"}}),
        json!({"type": 2, "data": {"node": "the whole page"}}),
    ];
    for e in &events {
        dev.send("rrweb", e.clone()).await;
    }
    dev.send("probe", json!({"timestamp": 1})).await;
    dev.until("alive", |_| true).await;
    // A replay now: a later agent gets it without a word, and the page is not asked again.
    let mut late = Socket::agent_stream_with(&server, &t.admin, id, "catch_up=1").await;
    for e in &events {
        assert_eq!(&late.until("rrweb", |_| true).await, e);
    }
    dev.send("probe", json!({"timestamp": 2})).await;
    loop {
        let f = dev.next(5).await.unwrap();
        assert_ne!(f["event"], "sync", "the page was asked again");
        if f["event"] == "alive" {
            break;
        }
    }
    server.stop().await;
}

both_backends!(stream_credentials_are_checked_and_expire);

async fn stream_credentials_are_checked_and_expire(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let (s, _device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let url = ws_url(&server.base, "");
    let stream_token = |expires| {
        let token = secrets::bearer_token();
        let row = StreamToken {
            token_hash: secrets::hash_token(&token),
            account_id: t.account.id.clone(),
            session_id: id.to_owned(),
            user_id: "u".into(),
            expires,
        };
        (token, row)
    };

    let mut bad = try_connect(&url, Some("not-a-stream-token"), None)
        .await
        .unwrap();
    assert_eq!(
        bad.closed().await,
        Ended::Closed(4001, "invalid token".into())
    );

    let (expired, row) = stream_token(time::now() - 1_000_000);
    server.store.add_stream_token(&row).await.unwrap();
    let mut s1 = try_connect(&url, Some(&expired), None).await.unwrap();
    assert_eq!(
        s1.closed().await,
        Ended::Closed(4002, "token expired".into())
    );

    // A token that runs out while connected closes the socket then.
    let (short, row) = stream_token(time::now() + 1_000_000);
    server.store.add_stream_token(&row).await.unwrap();
    let mut s2 = try_connect(&url, Some(&short), None).await.unwrap();
    s2.send("probe", json!({"timestamp": 2})).await;
    s2.until("alive", |_| true).await;
    assert_eq!(
        s2.closed().await,
        Ended::Closed(4002, "token expired".into())
    );

    // A device can only stream a session it joined; another account's device not at all.
    let stranger = server.register_device(&t, "dev-2", json!({})).await;
    let foreign = server.register_device(&other, "dev-1", json!({})).await;
    for (tenant, dev) in [(&t, &stranger), (&other, &foreign)] {
        let u = format!(
            "{}&X-CobrowseSession={id}",
            crate::ws::device_url(&server, tenant, dev)
        );
        let mut sock = try_connect(&u, dev["device_token"].as_str(), None)
            .await
            .unwrap();
        assert!(matches!(sock.closed().await, Ended::Closed(4001, _)));
    }
    // Stream tokens are per session: the agent of another account cannot get one.
    let (status, _) = server
        .get(&format!("/api/1/sessions/{id}/tokens"), &other.admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

both_backends!(history_lists_pages_and_agents);

async fn history_lists_pages_and_agents(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    let mut agent = Socket::agent_stream(&server, &t.admin, id).await;
    agent.send("probe", json!({"timestamp": 1})).await;
    agent.until("alive", |_| true).await;
    dev.send(
        "page",
        json!({"url": "https://shop.example/a", "title": "A"}),
    )
    .await;
    // A flood of page announcements is not a flood of history.
    for _ in 0..5 {
        dev.send(
            "page",
            json!({"url": "https://shop.example/spam", "title": "spam"}),
        )
        .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    dev.send(
        "page",
        json!({"url": "https://shop.example/b", "title": "B"}),
    )
    .await;
    // The agent still hears the announcements.
    agent.until("page", |d| d["title"] == "B").await;
    agent.ws.close(None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let path = format!("/api/1/sessions/{id}/history");
    let (status, h) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{h}");
    let pages = h["pages"].as_array().unwrap();
    let urls: Vec<&str> = pages.iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(urls, ["https://shop.example/a", "https://shop.example/b"]);
    let first = pages[0]["duration_secs"].as_f64().unwrap();
    assert!(
        (1.0..10.0).contains(&first),
        "A was in view about a second: {first}"
    );
    assert!(pages[1]["entered"].is_string());
    let agents = h["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{h}");
    assert_eq!(agents[0]["agent"]["email"], "admin@example.com");
    assert!(agents[0]["joined"].is_string() && agents[0]["left"].is_string());

    let (status, _) = server.get(&path, &other.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's history");
    let (status, _) = server.get("/api/1/sessions/nope/history", &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

both_backends!(late_agents_catch_up_from_the_replay);

async fn late_agents_catch_up_from_the_replay(backend: Backend) {
    let server = Server::start_with(backend, |c| c.session_replay_bytes = 4096).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    let mut first = Socket::agent_stream(&server, &t.admin, id).await;
    for sock in [&mut dev, &mut first] {
        sock.send("probe", json!({"timestamp": 1})).await;
        sock.until("alive", |_| true).await;
    }
    let events = [
        json!({"type": 3, "data": {"n": 0}}), // before any snapshot: not kept
        json!({"type": 4, "data": {"href": "https://shop.example/"}}),
        json!({"type": 2, "data": {"node": "the whole page"}}),
        json!({"type": 3, "data": {"n": 1}}),
        json!({"type": 3, "data": {"n": 2}}),
    ];
    for e in &events {
        dev.send("rrweb", e.clone()).await;
    }
    for e in &events {
        assert_eq!(&first.until("rrweb", |_| true).await, e, "live, in order");
    }

    // A late agent asks to catch up and gets the snapshot and everything since, in order,
    // without the customer's page being asked for anything.
    let mut late = Socket::agent_stream(&server, &t.admin, id).await;
    late.send("sync", json!({"type": "Sync", "id": "x"})).await;
    for e in &events[1..] {
        assert_eq!(&late.until("rrweb", |_| true).await, e);
    }
    dev.send("probe", json!({"timestamp": 2})).await;
    loop {
        let f = dev.next(5).await.unwrap();
        assert_ne!(f["event"], "sync", "the device was asked to resend");
        if f["event"] == "alive" {
            break;
        }
    }
    dev.send("rrweb", json!({"type": 3, "data": {"n": 3}}))
        .await;
    assert_eq!(late.until("rrweb", |_| true).await["data"]["n"], 3);

    // Past its bound the replay is dropped and the page is asked for a new snapshot; a newcomer's
    // sync then goes to the page as well.
    dev.send(
        "rrweb",
        json!({"type": 3, "data": {"pad": "x".repeat(5000)}}),
    )
    .await;
    let ask = dev.until("sync", |_| true).await;
    assert_eq!(ask["id"], "replay");
    let mut third = Socket::agent_stream(&server, &t.admin, id).await;
    third
        .send("sync", json!({"type": "Sync", "id": "third"}))
        .await;
    assert_eq!(dev.until("sync", |_| true).await["id"], "third");
    server.stop().await;
}

both_backends!(a_late_agent_gets_only_the_latest_pointer_position);

/// The replay keeps only the latest pointer movement (positions are absolute), so what a page
/// keeps for late joiners does not grow with every move of the customer's mouse; clicks and
/// changes to the page are all kept. What the replay holds shows in `/metrics` (the recorder is
/// the process's, shared with tests running beside this one: only "some" can be asserted here;
/// realtime's replay tests check the count itself).
async fn a_late_agent_gets_only_the_latest_pointer_position(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    let mut first = Socket::agent_stream(&server, &t.admin, id).await;
    for sock in [&mut dev, &mut first] {
        sock.send("probe", json!({"timestamp": 1})).await;
        sock.until("alive", |_| true).await;
    }
    let moved = |source: i64, x: i64| json!({"type": 3, "data": {"source": source, "positions": [{"x": x, "y": 5, "id": 9, "timeOffset": 0}]}});
    let events = [
        json!({"type": 4, "data": {"href": "https://shop.example/"}}),
        json!({"type": 2, "data": {"node": "the whole page"}}),
        moved(1, 10),
        json!({"type": 3, "data": {"source": 2, "type": 2, "id": 9}}), // a click
        moved(1, 20),
        json!({"type": 3, "data": {"source": 0, "adds": []}}), // a change to the page
        moved(12, 30),
        moved(6, 40),
    ];
    for e in &events {
        dev.send("rrweb", e.clone()).await;
    }
    for e in &events {
        assert_eq!(&first.until("rrweb", |_| true).await, e, "live, every one");
    }
    let gauge = |text: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix("tandem_realtime_replay_bytes "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    assert!(gauge(&server.metrics_text().await) > 0.0);

    let mut late = Socket::agent_stream(&server, &t.admin, id).await;
    late.send("sync", json!({"type": "Sync", "id": "x"})).await;
    for i in [0, 1, 3, 5, 7] {
        assert_eq!(late.until("rrweb", |_| true).await, events[i], "event {i}");
    }
    late.send("probe", json!({"timestamp": 2})).await;
    let next = late
        .until_any(|f| f["event"] == "rrweb" || f["event"] == "alive")
        .await;
    assert_eq!(next["event"], "alive", "nothing more was kept: {next}");

    server.stop().await;
}

both_backends!(control_passes_only_while_the_customer_allows_it);

/// A `control` frame an agent writes straight to the socket is dropped (with an error to the
/// agent) until the customer turns remote control on, and again once either side turns it off;
/// every other agent frame (pointer, drawing) is relayed regardless.
async fn control_passes_only_while_the_customer_allows_it(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/api/1/sessions/{id}");
    let mut agent = Socket::agent_stream(&server, &t.admin, id).await;
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    for sock in [&mut agent, &mut dev] {
        sock.send("probe", json!({"timestamp": 1})).await;
        sock.until("alive", |_| true).await;
    }
    let click = json!({"action": "click", "id": 7});
    // Refused while off, and while only requested.
    for toggle in [None, Some("requested")] {
        if let Some(toggle) = toggle {
            server
                .put(&path, &t.admin, json!({"remote_control": toggle}))
                .await;
        }
        let sent = agent.send("control", click.clone()).await;
        let err = agent.until("error", |_| true).await;
        assert_eq!(err["id"], "remote_control_off", "{err}");
        assert_eq!(err["ref"], sent);
    }
    // The agent cannot turn it on by itself.
    let (status, _) = server
        .call(
            Method::PUT,
            &path,
            &t.admin,
            Some(json!({"remote_control": "on"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    agent.send("pointer", json!({"x": 1, "y": 2})).await;
    // The device saw the pointer, and no control frame before it.
    let f = dev
        .until_any(|f| f["event"] == "control" || f["event"] == "pointer")
        .await;
    assert_eq!(f["event"], "pointer", "{f}");

    // The customer accepts: control frames pass, byte for byte.
    let (status, _) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"remote_control": "on"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let sent = agent.send("control", click.clone()).await;
    assert_eq!(dev.until("control", |_| true).await, click);
    agent.until_any(|f| f["ack"] == sent).await;

    // The customer revokes it: the next click is dropped at once.
    server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &path,
            Some(json!({"remote_control": "off"})),
        )
        .await;
    agent.send("control", click.clone()).await;
    assert_eq!(
        agent.until("error", |_| true).await["id"],
        "remote_control_off"
    );
    agent.send("pointer", json!({"x": 3, "y": 4})).await;
    let f = dev
        .until_any(|f| f["event"] == "control" || f["event"] == "pointer")
        .await;
    assert_eq!(
        f["data"],
        json!({"x": 3, "y": 4}),
        "a control frame got through: {f}"
    );
    server.stop().await;
}
