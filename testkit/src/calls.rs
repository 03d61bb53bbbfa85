//! Requests as the API's clients make them: as an agent with a bearer token, or as a device with
//! the license key, its id and its device token; errors checked to be `{id, message}`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{Server, Tenant};

impl Server {
    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("sending a request");
        read(res).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    /// Creates a session as `token` and returns it.
    pub async fn create_session(&self, token: &str, body: Value) -> Value {
        let (status, session) = self.post("/api/1/sessions", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        session
    }

    /// Registers a device with the tenant's license key; returns the reply (with `device_token`).
    pub async fn register_device(&self, tenant: &Tenant, id: &str, custom_data: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/api/1/devices/{id}", self.base))
            .header("X-CobrowseLicense", &tenant.account.license_key)
            .json(&json!({"device": {"platform": "web", "sdk_version": "test"}, "custom_data": custom_data}))
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A session created by the admin agent, joined by a newly registered device `device_id` (by
    /// its code) and accepted by the customer: the active session and the device's registration.
    pub async fn active_session(&self, tenant: &Tenant, device_id: &str) -> (Value, Value) {
        let device = self.register_device(tenant, device_id, json!({})).await;
        let s = self
            .create_session(&tenant.admin, json!({"agent": "me"}))
            .await;
        let joined = self.device_join(tenant, &device, &s).await;
        let (status, active) = self
            .device_call(
                tenant,
                &device,
                Method::PUT,
                &format!("/api/1/sessions/{}", joined["id"].as_str().unwrap()),
                Some(json!({"state": "active"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{active}");
        assert_eq!(active["state"], "active");
        (active, device)
    }

    /// A device joins a session an agent created, by redeeming its code (as the web SDK does
    /// when an agent asks it to join): the joined session.
    pub async fn device_join(&self, tenant: &Tenant, device: &Value, session: &Value) -> Value {
        let code = session["code"]
            .as_str()
            .expect("a pending session has a code");
        let (status, joined) = self
            .device_call(
                tenant,
                device,
                Method::PUT,
                &format!("/api/1/sessions/{code}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        joined
    }

    /// A request authenticated as a device.
    pub async fn device_call(
        &self,
        tenant: &Tenant,
        device: &Value,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-CobrowseLicense", &tenant.account.license_key)
            .header("X-CobrowseDevice", device["id"].as_str().unwrap())
            .bearer_auth(device["device_token"].as_str().unwrap());
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }
}

/// The status and the JSON body (`Null` when empty); an error's body must be `{id, message}`.
pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("reading the body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    if status.as_u16() >= 400 {
        assert!(
            body["id"].is_string() && body["message"].is_string(),
            "an error must be {{id, message}}: {status} {body}"
        );
    }
    (status, body)
}
