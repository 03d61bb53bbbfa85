//! Two accounts on one server never see each other's data: every endpoint, both directions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(tenants_are_isolated);

async fn tenants_are_isolated(backend: Backend) {
    let server = Server::start(backend).await;
    let a = server.tenant().await;
    let b = server.tenant().await;
    let a_device = server
        .register_device(&a, "shared-id", json!({"user_id": "same"}))
        .await;
    // The same device id in another account is a different device.
    let b_device = server
        .register_device(&b, "shared-id", json!({"user_id": "same"}))
        .await;
    assert_ne!(a_device["device_token"], b_device["device_token"]);
    let a_s = server
        .create_session(
            &a.admin,
            json!({"agent": "me", "custom_data": {"user_id": "same"}}),
        )
        .await;
    let (_, a_me) = server.get("/api/1/users/me", &a.admin).await;
    let id = a_s["id"].as_str().unwrap();

    for path in [
        format!("/api/1/sessions/{id}"),
        format!("/api/1/sessions/{}", a_s["code"].as_str().unwrap()),
        format!("/api/1/sessions/{}", a_s["access_token"].as_str().unwrap()),
        format!("/api/1/sessions/{id}/tokens"),
        format!("/api/1/users/{}", a_me["id"].as_str().unwrap()),
    ] {
        let (status, body) = server.get(&path, &b.admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = server
        .put(
            &format!("/api/1/sessions/{id}"),
            &b.admin,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // B's device is not A's device.
    let (status, _) = server
        .device_call(
            &b,
            &b_device,
            Method::GET,
            &format!("/api/1/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .device_call(
            &b,
            &b_device,
            Method::PUT,
            &format!("/api/1/sessions/{id}"),
            Some(json!({"state": "ended"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A device token is only good with its own account's license key.
    let (status, _) = server
        .device_call(&a, &b_device, Method::GET, "/api/1/devices/shared-id", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, list) = server
        .get("/api/1/sessions?agent=all&filter_user_id=same", &b.admin)
        .await;
    assert_eq!(list, json!([]));
    let (_, list) = server.get("/api/1/sessions?agent=all", &b.admin).await;
    assert_eq!(list, json!([]));
    let (_, devices) = server
        .get("/api/1/devices?filter_user_id=same", &b.admin)
        .await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(
        devices[0]["notification_token"],
        b_device["notification_token"]
    );
    let (_, accounts) = server.get("/api/1/accounts", &b.admin).await;
    let accounts: &Vec<Value> = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["license_key"], b.account.license_key.as_str());

    // And A still sees its own.
    let (status, _) = server.get(&format!("/api/1/sessions/{id}"), &a.admin).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = server.get("/api/1/sessions?agent=all", &a.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    server.stop().await;
}
