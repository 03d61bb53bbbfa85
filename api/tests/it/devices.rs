//! Devices: registration with the license key and device token, reads, lists and filters.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_core::store::Backend;

use crate::common::{both_backends, read, Server};

both_backends!(register_list_and_filter);

async fn register_list_and_filter(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let d1 = server
        .register_device(&t, "dev-1", json!({"user_id": "u1", "plan": "pro"}))
        .await;
    assert!(d1["device_token"].as_str().unwrap().len() >= 43);
    assert!(d1["notification_token"].as_str().unwrap().len() >= 43);
    assert_eq!(d1["notification_url"], format!("{}/", server.base));
    // The consent prompts name the account.
    assert_eq!(d1["account_name"], t.account.name.as_str());
    assert!(d1["next_registration"].as_u64().unwrap() > 0);
    assert_eq!(d1["connectable"], true);
    assert_eq!(d1["device"]["platform"], "web");
    server
        .register_device(&t, "dev-2", json!({"user_id": "u2", "plan": "pro"}))
        .await;

    // Re-registering needs the device token; with it, the device is refreshed.
    let url = format!("{}/api/1/devices/dev-1", server.base);
    let (status, body) = read(
        server
            .http
            .put(&url)
            .header("X-CobrowseLicense", &t.account.license_key)
            .json(&json!({"custom_data": {"user_id": "hijack"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, refreshed) = server
        .device_call(
            &t,
            &d1,
            Method::PUT,
            "/api/1/devices/dev-1",
            Some(json!({"custom_data": {"user_id": "u1", "plan": "team"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["custom_data"]["plan"], "team");
    assert!(
        refreshed.get("device_token").is_none(),
        "the token is shown once"
    );

    // Unknown license and bad ids are refused.
    let (status, _) = read(
        server
            .http
            .post(format!("{}/api/1/devices/dev-9", server.base))
            .header("X-CobrowseLicense", "nope")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = read(
        server
            .http
            .post(format!("{}/api/1/devices/bad%20id", server.base))
            .header("X-CobrowseLicense", &t.account.license_key)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Agents list newest-seen first and filter on custom data.
    let (_, all) = server.get("/api/1/devices", &t.admin).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["dev-1", "dev-2"], "dev-1 was seen last");
    let (_, pro) = server.get("/api/1/devices?filter_plan=pro", &t.admin).await;
    assert_eq!(pro.as_array().unwrap().len(), 1);
    assert_eq!(pro[0]["id"], "dev-2");
    let (_, none) = server
        .get(
            "/api/1/devices?filter_plan=team&filter_user_id=u2",
            &t.admin,
        )
        .await;
    assert_eq!(none, json!([]));
    let seen = all[0]["last_active"].as_str().unwrap();
    let enc: String = form_urlencoded::byte_serialize(seen.as_bytes()).collect();
    let (_, older) = server
        .get(&format!("/api/1/devices?seen_before={enc}"), &t.admin)
        .await;
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["id"], "dev-2");
    let (_, newer) = server
        .get(&format!("/api/1/devices?seen_after={enc}"), &t.admin)
        .await;
    assert_eq!(newer, json!([]));
    let (_, limited) = server.get("/api/1/devices?limit=1", &t.admin).await;
    assert_eq!(limited.as_array().unwrap().len(), 1);

    let (status, got) = server.get("/api/1/devices/dev-2", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["custom_data"]["user_id"], "u2");
    let (status, _) = server.get("/api/1/devices/nope", &t.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A device reads itself, not its neighbours, and cannot list.
    let (status, _) = server
        .device_call(&t, &d1, Method::GET, "/api/1/devices/dev-1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .device_call(&t, &d1, Method::GET, "/api/1/devices/dev-2", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .device_call(&t, &d1, Method::GET, "/api/1/devices", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
