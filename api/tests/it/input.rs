//! Bad input gets a 4xx `{id, message}` and changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, read, Server};

both_backends!(bad_input_changes_nothing);

async fn raw(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = server
        .http
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    read(req.send().await.unwrap()).await
}

async fn bad_input_changes_nothing(backend: Backend) {
    let server = Server::start_with(backend, |c| c.max_body_bytes = 16 * 1024).await;
    let t = server.tenant().await;
    let s = server
        .create_session(
            &t.admin,
            json!({"agent": "me", "custom_data": {"user_id": "u1"}}),
        )
        .await;
    let path = format!("/api/1/sessions/{}", s["id"].as_str().unwrap());
    let (_, before) = server.get(&path, &t.admin).await;

    let json_ct = Some("application/json");
    let cases: Vec<(Option<&str>, Vec<u8>, StatusCode)> = vec![
        (json_ct, b"{\"state\":".to_vec(), StatusCode::BAD_REQUEST),
        (json_ct, b"[1,2]".to_vec(), StatusCode::BAD_REQUEST),
        (json_ct, b"\"ended\"".to_vec(), StatusCode::BAD_REQUEST),
        (
            None,
            b"{\"state\":\"ended\"}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Some("text/plain"),
            b"{\"state\":\"ended\"}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            json_ct,
            format!(
                "{{\"custom_data\":{{\"k\":\"{}\"}}}}",
                "x".repeat(20 * 1024)
            )
            .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (ct, body, want) in cases {
        let (status, err) = raw(&server, reqwest::Method::PUT, &path, &t.admin, ct, body).await;
        assert_eq!(status, want, "{err}");
    }

    let many: serde_json::Map<String, Value> =
        (0..60).map(|i| (format!("k{i}"), json!(i))).collect();
    for body in [
        json!({"state": "finished"}),
        json!({"state": 3}),
        json!({"state": "ended", "custom_data": "oops"}),
        json!({"state": "ended", "custom_data": {"nested": {"a": 1}}}),
        json!({"state": "ended", "custom_data": {"list": [1]}}),
        json!({"state": "ended", "custom_data": {"bad key": "x"}}),
        json!({"state": "ended", "custom_data": {"k": "x".repeat(2000)}}),
        json!({"state": "ended", "custom_data": many}),
        json!({"state": "ended", "remote_control": "maybe"}),
        json!({"state": "ended", "full_device": true}),
        json!({"state": "ended", "agent": "bob"}),
        json!({"state": "ended", "region": 5}),
        json!({"state": "ended", "device": "web"}),
        json!({"state": "ended", "device": {"nested": {"x": 1}}}),
    ] {
        let (status, err) = server.put(&path, &t.admin, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
    }
    // Nothing was half-written: the session is exactly as before.
    let (_, after) = server.get(&path, &t.admin).await;
    assert_eq!(before, after);

    for body in [
        json!({"custom_data": []}),
        json!({"agent": "someone"}),
        json!({"remote_control": "on-ish"}),
    ] {
        let (status, err) = server.post("/api/1/sessions", &t.admin, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
    }
    for q in [
        "filter_=x",
        "filter_a%20b=1",
        "filter_a=1&filter_a=2",
        "state=done",
        "agent=nobody",
    ] {
        let (status, err) = server.get(&format!("/api/1/sessions?{q}"), &t.admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {err}");
    }
    for q in ["seen_before=never", "limit=-1", "filter_x%2Fy=1"] {
        let (status, err) = server.get(&format!("/api/1/devices?{q}"), &t.admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {err}");
    }
    let (_, list) = server.get("/api/1/sessions?agent=all", &t.admin).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "no failed create left a session behind"
    );
    let (status, err) = server.get("/api/1/no/such/route", &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    server.stop().await;
}
