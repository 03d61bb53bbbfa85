//! Operations endpoints and cross-cutting HTTP behaviour.

use reqwest::StatusCode;
use serde_json::json;
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(health_metrics_cors_and_ids, account_region_and_policy);

async fn health_metrics_cors_and_ids(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    for path in ["/healthz", "/readyz"] {
        let res = server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    server.create_session(&t.admin, json!({})).await;
    let metrics = server.metrics_text().await;
    for name in [
        "tandem_sessions_created_total",
        "tandem_sessions_live{state=\"pending\"}",
        "tandem_http_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    // Errors from routing carry the same {id, message} body (checked by `call`).
    let (status, body) = server
        .call(reqwest::Method::DELETE, "/api/1/sessions/x", &t.admin, None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["id"], "method_not_allowed");

    // Request ids: generated when absent, echoed when given.
    let res = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("x-request-id").is_some());
    let res = server
        .http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");

    // CORS preflight for the SDK's headers, and CORS headers on errors too.
    let res = server
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/api/1/sessions", server.base))
        .header("Origin", "https://helpdesk.example")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-cobrowseplatform,x-cobrowsesdkversion,x-cobrowseapiversion,x-cobrowselicense,x-cobrowsedevice",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in [
        "authorization",
        "x-cobrowselicense",
        "x-cobrowsedevice",
        "x-cobrowseplatform",
    ] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    let res = server
        .http
        .get(format!("{}/api/1/sessions", server.base))
        .header("Origin", "https://helpdesk.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("access-control-allow-origin").is_some());
    server.stop().await;
}

async fn account_region_and_policy(backend: Backend) {
    let server = Server::start_with(backend, |c| c.region = "eu-west".into()).await;
    let t = server.tenant().await;
    let (status, region) = server.get("/api/1/regions/closest", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(region["id"], "eu-west");
    let (_, accounts) = server.get("/api/1/accounts", &t.admin).await;
    assert_eq!(accounts[0]["id"], t.account.id.as_str());
    assert!(accounts[0]["features"].is_object());
    assert!(
        accounts[0]["settings"].is_object(),
        "administrators see settings"
    );
    let agent = t.token("agent@example.com", None);
    let (_, accounts) = server.get("/api/1/accounts", &agent).await;
    assert!(accounts[0].get("settings").is_none());
    server.stop().await;
}
