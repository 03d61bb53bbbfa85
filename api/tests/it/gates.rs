//! What the server enforces itself, whatever a client sends: a device joins a session that is
//! not its own only by the session's code; only the session's agents (and administrators) get
//! onto its stream; nothing crosses the stream before the customer accepts; code guesses stay
//! within the budget however many arrive at once, on one replica or several; and the viewer page
//! says nothing about a session to a caller without a credential.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;

use crate::common::{both_backends, Server, Tenant};
use crate::ws::Socket;

both_backends!(
    devices_join_only_by_code,
    stream_tokens_only_for_the_sessions_agents,
    nothing_passes_before_the_customer_accepts,
    concurrent_guesses_stay_within_the_budget
);

async fn devices_join_only_by_code(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mine = server.register_device(&t, "dev-mine", json!({})).await;
    let other = server.register_device(&t, "dev-other", json!({})).await;
    let s = server
        .create_session(
            &t.admin,
            json!({"agent": "me", "custom_data": {"secret": "canary"}}),
        )
        .await;
    let id = s["id"].as_str().unwrap();
    let code = s["code"].as_str().unwrap();
    let by_id = format!("/api/1/sessions/{id}");
    let by_code = format!("/api/1/sessions/{code}");

    // Knowing the id opens nothing: not the session's data, not a way to bind it.
    for (method, body) in [(Method::GET, None), (Method::PUT, Some(json!({})))] {
        let (status, body) = server.device_call(&t, &other, method, &by_id, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(!body.to_string().contains("canary"));
    }
    let stored = server.store.session(&t.account.id, id).await.unwrap();
    assert_eq!(stored.device_id, None, "a refused PUT changed nothing");
    // An access token is the agents' handle only.
    let token = s["access_token"].as_str().unwrap();
    let (status, _) = server
        .device_call(
            &t,
            &mine,
            Method::GET,
            &format!("/api/1/sessions/{token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The code is how a device joins.
    let (status, seen) = server
        .device_call(&t, &mine, Method::GET, &by_code, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["id"], s["id"]);
    let joined = server.device_join(&t, &mine, &s).await;
    assert_eq!(joined["state"], "authorizing");
    let (status, _) = server
        .device_call(&t, &mine, Method::GET, &by_id, None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a device reads the session bound to it"
    );
    // Once bound, the session is nobody else's: the code is gone, the id still opens nothing.
    for path in [&by_code, &by_id] {
        let (status, _) = server
            .device_call(
                &t,
                &other,
                Method::PUT,
                path,
                Some(json!({"state": "ended"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let stored = server.store.session(&t.account.id, id).await.unwrap();
    assert_eq!(stored.device_id.as_deref(), Some("dev-mine"));
    server.stop().await;
}

async fn stream_tokens_only_for_the_sessions_agents(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let id = s["id"].as_str().unwrap();
    let tokens = format!("/api/1/sessions/{id}/tokens");
    let bob = t.token("bob@example.com", None);
    let (status, body) = server.get(&tokens, &bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["id"], "forbidden");
    assert!(body.get("stream_token").is_none());
    // An administrator may look in; an agent once they have joined.
    let carol = t.token("carol@example.com", Some("administrator"));
    let (status, body) = server.get(&tokens, &carol).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &bob,
            json!({"agent": "me"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.get(&tokens, &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["stream_token"].is_string());
    server.stop().await;
}

/// Sends `event` on `from` and waits for the server's error for it.
async fn refused(from: &mut Socket, event: &str, data: Value) -> Value {
    let sent = from.send(event, data).await;
    from.until_any(|f| f["event"] == "error" && f["data"]["ref"] == sent)
        .await["data"]
        .clone()
}

/// Whether `to` has received `event` by the time the server answers a probe on it: frames the
/// server relayed to `to` earlier are queued ahead of the answer.
async fn received(to: &mut Socket, event: &str) -> bool {
    to.send("probe", json!({"timestamp": 7})).await;
    let f = to
        .until_any(|f| f["event"] == event || f["event"] == "alive")
        .await;
    f["event"] == event
}

async fn nothing_passes_before_the_customer_accepts(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let device = server.register_device(&t, "dev-1", json!({})).await;
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(
        server.device_join(&t, &device, &s).await["state"],
        "authorizing"
    );
    let mut agent = Socket::agent_stream(&server, &t.admin, id).await;
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;

    // Neither way, and the error says why.
    let err = refused(&mut dev, "frame", json!({"html": "<p>before consent</p>"})).await;
    assert_eq!(err["id"], "session_not_active", "{err}");
    assert!(!received(&mut agent, "frame").await);
    let err = refused(&mut agent, "highlight", json!({"x": 1})).await;
    assert_eq!(err["id"], "session_not_active", "{err}");
    assert!(!received(&mut dev, "highlight").await);
    assert!(
        server
            .metric("tandem_realtime_inactive_refused_total")
            .await
            >= 2.0
    );

    // The customer accepts: from now on both ways pass.
    let (status, _) = server
        .device_call(
            &t,
            &device,
            Method::PUT,
            &format!("/api/1/sessions/{id}"),
            Some(json!({"state": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The agent acts the moment it hears the session is active, within moments of its refused
    // frame: its stream reads the session again for each frame until it is active.
    agent.send("highlight", json!({"x": 2})).await;
    assert_eq!(dev.until("highlight", |_| true).await, json!({"x": 2}));
    // A refused device's stream reads it again after a short pause (a page may record before
    // anyone accepts; the Store is not asked for each of those frames).
    tokio::time::sleep(Duration::from_millis(400)).await;
    dev.send("frame", json!({"n": 1})).await;
    assert_eq!(agent.until("frame", |_| true).await, json!({"n": 1}));
    server.stop().await;
}

/// `n` guesses at once at random codes on each server, by one agent: how many were answered
/// (anything but 429).
async fn guess(servers: &[&Server], jwt: &str, n: usize) -> usize {
    let mut all = Vec::new();
    for server in servers {
        for i in 0..n {
            let path = format!("/api/1/sessions/{:06}", 100_000 + i * 7919 % 900_000);
            all.push(async move { server.get(&path, jwt).await.0 });
        }
    }
    let statuses = futures_util::future::join_all(all).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::NOT_FOUND || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count()
}

async fn concurrent_guesses_stay_within_the_budget(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let alice = t.token("alice@example.com", None);
    let answered = guess(&[&server], &alice, 60).await;
    assert!((1..=10).contains(&answered), "{answered} of 60 answered");

    // Devices redeem codes too, on the same terms.
    let device = server.register_device(&t, "dev-guess", json!({})).await;
    let tries = (0..30).map(|i| {
        let (server, t, device) = (&server, &t, &device);
        async move {
            let path = format!("/api/1/sessions/{:06}", 200_000 + i);
            let body = Some(json!({}));
            server
                .device_call(t, device, Method::PUT, &path, body)
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let answered = statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!((1..=10).contains(&answered), "{statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn guesses_across_two_replicas_share_one_budget() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = Server::start_on(&db.url, |_| {}).await;
    let b = Server::start_on(&db.url, |_| {}).await;
    let t: Tenant = a.tenant().await;
    let alice = t.token("alice@example.com", None);
    let answered = guess(&[&a, &b], &alice, 30).await;
    assert!((1..=10).contains(&answered), "{answered} of 60 answered");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_viewer_page_does_not_tell_which_sessions_exist() {
    let server = Server::start(Backend::Sqlite).await;
    let t = server
        .tenant_with(AccountSettings {
            trusted_origins: vec!["https://crm.example".into()],
            asset_origins: vec!["https://shop.example".into()],
            ..AccountSettings::default()
        })
        .await;
    let s = server.create_session(&t.admin, json!({})).await;
    let known = s["id"].as_str().unwrap();
    let unknown = uuid::Uuid::new_v4().to_string();
    for query in ["", "?token_source=postMessage"] {
        let page = |id: String| {
            let url = format!("{}/session/{id}{query}", server.base);
            let http = server.http.clone();
            async move {
                let res = http.get(url).send().await.unwrap();
                let status = res.status();
                let csp = res.headers()["content-security-policy"].clone();
                (status, csp, res.text().await.unwrap())
            }
        };
        let (a, b) = (page(known.to_owned()).await, page(unknown.clone()).await);
        assert_eq!(a, b, "{query}");
        let csp = a.1.to_str().unwrap();
        assert!(
            !csp.contains("crm.example") && !csp.contains("shop.example"),
            "{csp}"
        );
    }
    // With the agent's credential, the page is served under the account's policy: the JWT, or
    // (an embedded viewer once its parent handed it the JWT) a live stream token's hash.
    let csp = |query: String, id: String| {
        let url = format!("{}/session/{id}?{query}", server.base);
        let http = server.http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let with_jwt = csp(format!("token={}", t.admin), known.to_owned()).await;
    assert!(with_jwt.contains("https://crm.example"), "{with_jwt}");
    let (_, tokens) = server
        .get(&format!("/api/1/sessions/{known}/tokens"), &t.admin)
        .await;
    let asset_url = tokens["asset_url"].as_str().unwrap();
    let view = asset_url.trim_end_matches('/').rsplit('/').next().unwrap();
    let viewing = |id: &str| {
        csp(
            format!("token_source=postMessage&view={view}"),
            id.to_owned(),
        )
    };
    let seen = viewing(known).await;
    assert!(seen.contains("https://shop.example"), "{seen}");
    // The hash opens only its own session's page.
    let other = server.create_session(&t.admin, json!({})).await;
    let elsewhere = viewing(other["id"].as_str().unwrap()).await;
    assert!(!elsewhere.contains("shop.example"), "{elsewhere}");
    server.stop().await;
}
