//! Genesys Co-browse's server API on a real server, both backends: the History REST API with its
//! duration rule, the live functions, and a controller that joins, hears the session's
//! notifications on the socket and stops it. Another account gets 404, no credentials 401.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, read, Server, Tenant};
use crate::ws::Socket;

/// A device's session, started from the customer's page as the Genesys integration does: the
/// session and the device's registration.
async fn customer_session(server: &Server, t: &Tenant, device_id: &str) -> (Value, Value) {
    let device = server.register_device(t, device_id, json!({})).await;
    let (status, s) = server
        .device_call(t, &device, Method::POST, "/api/1/sessions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    (s, device)
}

/// The agent joins by the 9-digit token (as `{start:<token>}` cues it) and the customer agrees.
async fn join_and_accept(server: &Server, t: &Tenant, device: &Value, token: &str) -> Value {
    let path = format!("/api/1/sessions/{token}");
    let (status, s) = server.put(&path, &t.admin, json!({"agent": "me"})).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let path = format!("/api/1/sessions/{}", s["id"].as_str().unwrap());
    let (status, s) = server
        .device_call(
            t,
            device,
            Method::PUT,
            &path,
            Some(json!({"state": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["state"], "active");
    s
}

/// A request without credentials.
async fn anonymous(server: &Server, method: Method, path: &str) -> (StatusCode, Value) {
    let res = server
        .http
        .request(method, format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    read(res).await
}

/// Whole seconds between two times known to the millisecond, as the server (which knows them to
/// the microsecond) may have rounded them: the range the answer must fall in.
fn seconds_between(from_ms: i64, to_ms: i64) -> std::ops::RangeInclusive<i64> {
    let span = to_ms - from_ms;
    (span - 1).div_euclid(1000).max(0)..=(span + 1).div_euclid(1000)
}

fn ms(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("not a time in ms: {v}"))
}

both_backends!(the_history_follows_the_genesys_rules);

async fn the_history_follows_the_genesys_rules(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let (s, device) = customer_session(&server, &t, "genesys-history").await;
    let token = s["access_token"].as_str().unwrap().to_owned();
    let id = s["id"].as_str().unwrap().to_owned();
    let path = format!("/cobrowse/rest/history/sessions/{id}");

    // Before anyone joins: created, not active, no pages.
    let (status, h) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert_eq!(h["id"], id);
    assert_eq!(h["sessionToken"], token.as_str());
    assert!(h["activationTime"].is_null() && h["deactivationTime"].is_null());
    assert_eq!(h["pages"], json!([]));

    join_and_accept(&server, &t, &device, &token).await;
    let mut dev = Socket::device_stream(&server, &t, &device, &id).await;
    dev.send("probe", json!({"timestamp": 1})).await;
    dev.until("alive", |_| true).await;
    // The first page is announced well after the session starts, and the last well before it
    // ends, so that counting from the page or until the page would show.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let urls = [
        "https://shop.example/about",
        "https://shop.example/news",
        "https://shop.example/history",
    ];
    for (i, url) in urls.iter().enumerate() {
        if i > 0 {
            // The stream keeps at most one page a second.
            tokio::time::sleep(Duration::from_millis(1100 + 400 * i as u64)).await;
        }
        let ack = dev.send("page", json!({"url": url, "title": "t"})).await;
        dev.until_any(|f| f["ack"] == ack).await;
    }

    // While the session is live, the last page counts until now.
    let (status, live) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert!(live["deactivationTime"].is_null(), "{live}");
    assert_eq!(live["pages"].as_array().unwrap().len(), 3, "{live}");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, ended) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &format!("/api/1/sessions/{id}"),
            Some(json!({"state": "ended"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert!(
        ended["access_token"].is_null(),
        "the token dies with the session"
    );

    let (status, h) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{h}");
    let fields: Vec<&str> = h.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "activationTime",
            "creationTime",
            "deactivationTime",
            "id",
            "pages",
            "sessionToken"
        ]
    );
    // The token is still there after the session has ended.
    assert_eq!(h["sessionToken"], token.as_str());
    let (created, activated, deactivated) = (
        ms(&h["creationTime"]),
        ms(&h["activationTime"]),
        ms(&h["deactivationTime"]),
    );
    assert!(created <= activated && activated < deactivated, "{h}");
    let pages = h["pages"].as_array().unwrap();
    let seen: Vec<&str> = pages.iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(seen, urls);
    let entered: Vec<i64> = pages.iter().map(|p| ms(&p["enteredTimestamp"])).collect();
    assert!(activated + 1000 < entered[0], "{h}");
    assert!(entered.windows(2).all(|w| w[0] < w[1]), "{h}");
    assert!(entered[2] + 1000 < deactivated, "{h}");
    for p in pages {
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["duration", "enteredTimestamp", "url"]);
    }
    let durations: Vec<i64> = pages
        .iter()
        .map(|p| p["duration"].as_i64().unwrap())
        .collect();
    // The first page counts from the session's start, the middle ones from entering, the last
    // until the session's end.
    let expected = [
        seconds_between(activated, entered[1]),
        seconds_between(entered[1], entered[2]),
        seconds_between(entered[2], deactivated),
    ];
    for (i, (d, range)) in durations.iter().zip(&expected).enumerate() {
        assert!(
            range.contains(d),
            "page {i}: {d} s, expected {range:?}: {h}"
        );
    }
    assert!(
        !seconds_between(entered[0], entered[1]).contains(&durations[0]),
        "the first page was counted from when it was entered: {h}"
    );

    // Another account's agent, no credentials, a token or code for an id, an unknown id.
    let (status, body) = server.get(&path, &other.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = anonymous(&server, Method::GET, &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = server
        .get("/cobrowse/rest/history/sessions/nope", &t.admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A live session's token is not its history id.
    let (live_s, _) = customer_session(&server, &t, "genesys-other").await;
    for handle in [&live_s["access_token"], &live_s["code"]] {
        let path = format!(
            "/cobrowse/rest/history/sessions/{}",
            handle.as_str().unwrap()
        );
        let (status, body) = server.get(&path, &t.admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    server.stop().await;
}

both_backends!(live_functions_create_and_find_sessions_by_token);

async fn live_functions_create_and_find_sessions_by_token(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;

    let res = server
        .http
        .post(format!("{}/cobrowse/rest/live/sessions", server.base))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, created) = read(res).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let token = created["sessionToken"].as_str().unwrap().to_owned();
    assert!(
        token.len() == 9 && token.bytes().all(|b| b.is_ascii_digit()),
        "{created}"
    );
    assert_eq!(created["sessionServerName"], "default");
    assert_eq!(created["sessionServerUrl"], server.base.as_str());
    assert_eq!(
        cookie.as_deref(),
        Some("gcbSessionServer=default; Path=/cobrowse; SameSite=Lax")
    );
    // It is a real session, pending, found by its token.
    let (status, s) = server
        .get(&format!("/api/1/sessions/{token}"), &t.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["state"], "pending");

    let path = format!("/cobrowse/rest/live/sessions/{token}");
    let (status, live) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live, created);

    let (status, body) = server.get(&path, &other.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = anonymous(&server, Method::GET, &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = anonymous(&server, Method::POST, "/cobrowse/rest/live/sessions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Its id, or anything but nine digits, is not a live session id.
    for wrong in [s["id"].as_str().unwrap(), "12345678", "abc"] {
        let (status, body) = server
            .get(&format!("/cobrowse/rest/live/sessions/{wrong}"), &t.admin)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}: {body}");
    }

    // Once the session ends, its token finds nothing.
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{}", s["id"].as_str().unwrap()),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.get(&path, &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    server.stop().await;
}

both_backends!(a_controller_hears_the_session_and_stops_it);

async fn a_controller_hears_the_session_and_stops_it(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let (s, device) = customer_session(&server, &t, "genesys-controlled").await;
    let token = s["access_token"].as_str().unwrap().to_owned();
    let id = s["id"].as_str().unwrap().to_owned();

    // The agent application joins as the controller before opening the agent page.
    let controller = t.token("crm@example.com", None);
    let join_path = format!("/cobrowse/rest/live/sessions/{token}/controller");
    let (status, body) = server.post(&join_path, &other.admin, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = anonymous(&server, Method::POST, &join_path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The customer's page, subscribed to its session, hears the controller join.
    let mut customer = Socket::device(&server, &t, &device).await;
    customer
        .subscribe(s["control_token"].as_str().unwrap())
        .await;
    let (status, joined) = server.post(&join_path, &controller, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["sessionHistoryId"], id.as_str());
    let user_token = joined["userToken"].as_str().unwrap().to_owned();
    assert_eq!(user_token, s["control_token"].as_str().unwrap());
    let (_, me) = server.get("/api/1/users/me", &controller).await;
    assert_eq!(joined["userId"], me["id"]);
    assert_eq!(
        joined["users"],
        json!([{"userId": "genesys-controlled", "role": 1}])
    );
    let heard = customer.until("controller.joined", |_| true).await;
    assert_eq!(heard, json!({"userId": me["id"], "role": 3}));

    let mut sock = Socket::agent(&server, &controller).await;
    let current = sock.subscribe(&user_token).await;
    assert_eq!(current["id"], id.as_str());

    // The agent joins with the token and the customer agrees: joined, then activated.
    let active = join_and_accept(&server, &t, &device, &token).await;
    let (_, admin) = server.get("/api/1/users/me", &t.admin).await;
    let heard = sock.until("controller.joined", |_| true).await;
    assert_eq!(
        heard,
        json!({"userId": admin["id"], "role": 2, "name": admin["name"]})
    );
    let heard = sock.until("controller.activated", |_| true).await;
    let (_, h) = server
        .get(&format!("/cobrowse/rest/history/sessions/{id}"), &t.admin)
        .await;
    assert_eq!(heard, json!({"activationTime": h["activationTime"]}));
    assert!(heard["activationTime"].is_i64(), "{heard} {active}");

    // The controller stops it; everyone hears the deactivation with the same times.
    let stop_path = format!("/cobrowse/rest/live/users/{user_token}/session/stop");
    let (status, body) = server.get(&stop_path, &other.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = anonymous(&server, Method::GET, &stop_path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = server
        .get(
            "/cobrowse/rest/live/users/not-a-token/session/stop",
            &controller,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, stopped) = server.get(&stop_path, &controller).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["activationTime"], heard["activationTime"]);
    let deactivated = ms(&stopped["deactivationTime"]);
    assert!(deactivated >= ms(&stopped["activationTime"]), "{stopped}");
    let heard = sock.until("controller.deactivated", |_| true).await;
    assert_eq!(heard, stopped);
    assert_eq!(
        customer.until("controller.deactivated", |_| true).await,
        stopped
    );
    let (_, s) = server.get(&format!("/api/1/sessions/{id}"), &t.admin).await;
    assert_eq!(s["state"], "ended");
    assert_eq!(s["ended_reason"], "agent_ended");
    // Stopping again changes nothing and answers the same times.
    let (status, again) = server.get(&stop_path, &controller).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, stopped);
    // An ended session's token no longer joins.
    let (status, _) = server.post(&join_path, &controller, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

both_backends!(the_reaper_deactivates_for_controllers_too);

async fn the_reaper_deactivates_for_controllers_too(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 1;
        c.reaper_interval_ms = 200;
    })
    .await;
    let t = server.tenant().await;
    let (s, _device) = customer_session(&server, &t, "genesys-idle").await;
    let token = s["access_token"].as_str().unwrap();
    let (status, joined) = server
        .post(
            &format!("/cobrowse/rest/live/sessions/{token}/controller"),
            &t.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let mut sock = Socket::agent(&server, &t.admin).await;
    sock.subscribe(joined["userToken"].as_str().unwrap()).await;
    // Nobody joins: the session times out, never activated.
    let heard = sock.until("controller.deactivated", |_| true).await;
    assert!(heard["activationTime"].is_null(), "{heard}");
    let (_, s) = server
        .get(
            &format!("/api/1/sessions/{}", s["id"].as_str().unwrap()),
            &t.admin,
        )
        .await;
    assert_eq!(s["ended_reason"], "pending_timeout");
    assert_eq!(heard["deactivationTime"], json!(ms_of(&s["ended"])));
    // The reaper's end keeps the token for the history too.
    let (_, h) = server
        .get(
            &format!(
                "/cobrowse/rest/history/sessions/{}",
                s["id"].as_str().unwrap()
            ),
            &t.admin,
        )
        .await;
    assert_eq!(h["sessionToken"], token, "{h}");
    assert_eq!(h["deactivationTime"], heard["deactivationTime"]);
    server.stop().await;
}

/// An RFC 3339 time from the REST API, in Unix ms.
fn ms_of(v: &Value) -> i64 {
    let us = tandem_core::time::parse(v.as_str().unwrap()).expect("an RFC 3339 time");
    us.div_euclid(1000)
}

/// The Genesys-instrumented page (sdk-js/e2e/genesys-page.html) with the agent's page and the
/// agent application's REST calls, in Chromium: sdk-js/e2e/genesys.test.mjs.
#[tokio::test]
async fn genesys_in_chromium() {
    use tandem_core::model::AccountSettings;

    let server = Server::start_with(Backend::Sqlite, crate::e2e::with_assets).await;
    let t = server
        .tenant_with(AccountSettings {
            // The account masks this (Genesys's data masking is the account's redaction).
            redaction_selectors: vec![".account-secret".into()],
            ..AccountSettings::default()
        })
        .await;
    let other = server.tenant().await;
    let mut env = crate::e2e::suite_env(&server.base, &t);
    env.push(("TANDEM_OTHER_TOKEN", other.admin.clone()));
    crate::e2e::chromium_suite("genesys.test.mjs", env).await;
    server.stop().await;
}

/// A controller on one replica hears a session that changes through another (over Redis).
#[tokio::test]
async fn controller_notifications_cross_replicas() {
    use crate::common::Redis;
    use tandem_core::testing::TestDb;

    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let mut replicas = vec![];
    for _ in 0..2 {
        let url = redis.url();
        let server = Server::start_on(&db.url, |c| c.redis_url = url).await;
        server.wait_redis("ok").await;
        replicas.push(server);
    }
    let (a, b) = (&replicas[0], &replicas[1]);
    let t = a.tenant().await;
    let (s, device) = customer_session(a, &t, "genesys-replicas").await;
    let token = s["access_token"].as_str().unwrap().to_owned();
    let (status, joined) = b
        .post(
            &format!("/cobrowse/rest/live/sessions/{token}/controller"),
            &t.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let mut on_b = Socket::agent(b, &t.admin).await;
    on_b.subscribe(joined["userToken"].as_str().unwrap()).await;
    join_and_accept(a, &t, &device, &token).await;
    on_b.until("controller.joined", |d| d["role"] == 2).await;
    let activated = on_b.until("controller.activated", |_| true).await;
    assert!(activated["activationTime"].is_i64(), "{activated}");
    let (status, stopped) = a
        .get(
            &format!(
                "/cobrowse/rest/live/users/{}/session/stop",
                joined["userToken"].as_str().unwrap()
            ),
            &t.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(
        on_b.until("controller.deactivated", |_| true).await,
        stopped
    );
    for server in replicas {
        server.stop().await;
    }
}
