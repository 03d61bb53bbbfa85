//! Session lists: filters, states, agent scope, limits and keyset paging.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(
    filters_and_states,
    paging_newest_first,
    agents_see_their_own
);

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list is a bare array")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn filters_and_states(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mut made = vec![];
    for i in 0..6 {
        let s = server
            .create_session(
                &t.admin,
                json!({"agent": "me", "custom_data": {
                    "user_id": format!("u{i}"), "plan": if i % 2 == 0 { "pro" } else { "free" },
                    "seats": i, "vip": i == 3
                }}),
            )
            .await;
        made.push(s);
    }
    let id = |i: usize| made[i]["id"].as_str().unwrap().to_owned();
    let list = |q: &str| {
        let q = q.to_owned();
        let server = &server;
        let token = t.admin.clone();
        async move {
            let (status, body) = server.get(&format!("/api/1/sessions?{q}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            ids(&body)
        }
    };
    assert_eq!(list("filter_user_id=u2").await, vec![id(2)]);
    assert_eq!(list("filter_plan=pro").await.len(), 3);
    assert_eq!(list("filter_plan=pro&filter_user_id=u4").await, vec![id(4)]);
    assert_eq!(
        list("filter_plan=free&filter_user_id=u4").await,
        Vec::<String>::new()
    );
    assert_eq!(
        list("filter_seats=5").await,
        vec![id(5)],
        "numbers match as text"
    );
    assert_eq!(
        list("filter_vip=true").await,
        vec![id(3)],
        "booleans match as text"
    );
    assert!(list("filter_user_id=nobody").await.is_empty());
    assert!(list("filter_nokey=x").await.is_empty());
    assert_eq!(list("").await.len(), 6);

    // End two; state filters as a string and as an array.
    for i in [1, 2] {
        let (status, _) = server
            .put(
                &format!("/api/1/sessions/{}", id(i)),
                &t.admin,
                json!({"state": "ended"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let ended: HashSet<String> = list("state=ended").await.into_iter().collect();
    assert_eq!(ended, HashSet::from([id(1), id(2)]));
    assert_eq!(list("state=pending").await.len(), 4);
    assert_eq!(list("state%5B%5D=pending&state%5B%5D=ended").await.len(), 6);
    assert_eq!(list("state[]=ended&filter_plan=pro").await, vec![id(2)]);
    assert!(list("state=active").await.is_empty());
    server.stop().await;
}

async fn paging_newest_first(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let mut created = vec![];
    for i in 0..23 {
        let s = server
            .create_session(
                &t.admin,
                json!({"agent": "me", "custom_data": {"batch": "p", "n": i}}),
            )
            .await;
        created.push(s["id"].as_str().unwrap().to_owned());
    }
    created.reverse(); // newest first
    let mut seen = vec![];
    let mut query = "filter_batch=p&limit=5".to_owned();
    loop {
        let (status, page) = server
            .get(&format!("/api/1/sessions?{query}"), &t.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        seen.extend(page.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        let last = page.last().unwrap()["created"].as_str().unwrap().to_owned();
        query = format!(
            "filter_batch=p&limit=5&activated_before={}",
            urlencode(&last)
        );
    }
    assert_eq!(
        seen, created,
        "pages are newest first, with no gaps or repeats"
    );

    // activated_after bounds from below.
    let (_, all) = server.get("/api/1/sessions?limit=100", &t.admin).await;
    let all = all.as_array().unwrap();
    let pivot = all[10]["created"].as_str().unwrap();
    let (_, newer) = server
        .get(
            &format!(
                "/api/1/sessions?limit=100&activated_after={}",
                urlencode(pivot)
            ),
            &t.admin,
        )
        .await;
    assert_eq!(ids(&newer), ids(&json!(all[..10])));

    // The default page is 50 at most, the maximum 100.
    let (status, _) = server.get("/api/1/sessions?limit=100", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "activated_before=yesterday",
        "activated_after=2026-13-01T00:00:00Z",
    ] {
        let (status, body) = server
            .get(&format!("/api/1/sessions?{bad}"), &t.admin)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    server.stop().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn agents_see_their_own(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let alice = t.token("alice@example.com", None);
    let bob = t.token("bob@example.com", None);
    let a = server.create_session(&alice, json!({"agent": "me"})).await;
    let b = server.create_session(&bob, json!({"agent": "me"})).await;
    let unjoined = server.create_session(&t.admin, json!({})).await;

    let (_, mine) = server.get("/api/1/sessions", &alice).await;
    assert_eq!(ids(&mine), vec![a["id"].as_str().unwrap().to_owned()]);
    let (status, err) = server.get("/api/1/sessions?agent=all", &alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (_, all) = server.get("/api/1/sessions?agent=all", &t.admin).await;
    let all: HashSet<String> = ids(&all).into_iter().collect();
    for s in [&a, &b, &unjoined] {
        assert!(all.contains(s["id"].as_str().unwrap()));
    }
    // Joining puts a session in the agent's own list.
    let path = format!("/api/1/sessions/{}", b["id"].as_str().unwrap());
    let (_, joined) = server.put(&path, &alice, json!({"agent": "me"})).await;
    assert_eq!(joined["agents"].as_array().unwrap().len(), 2);
    assert_eq!(
        joined["agent"]["email"], "bob@example.com",
        "the first agent stays the agent"
    );
    let (_, mine) = server.get("/api/1/sessions", &alice).await;
    assert_eq!(ids(&mine).len(), 2);
    server.stop().await;
}
