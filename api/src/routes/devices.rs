//! `/api/1/devices`: agents list and read devices; the device SDK registers and refreshes one.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use tandem_core::model::Device;
use tandem_core::query::DeviceQuery;
use tandem_core::service::{object_field, DeviceRegistration};

use crate::auth::{device_headers, AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonObject, QueryPairs};
use crate::AppState;

/// Seconds after which the device SDK registers again (refreshing `last_active`).
const NEXT_REGISTRATION_SECS: u64 = 3600;

pub async fn list(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<Vec<Device>>> {
    let query = DeviceQuery::parse(&pairs)?;
    Ok(Json(app.service().list_devices(&caller, query).await?))
}

pub async fn get(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    Ok(Json(app.service().get_device(&caller, &id).await?))
}

/// `POST /devices/:id/notifications {session, attempt}`: asks an online device to join a
/// session. The request reaches the device's notification socket on whichever replica holds it.
pub async fn notify(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let session = body
        .get("session")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("session must be a session id"))?;
    let attempt = match body.get("attempt") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request("attempt must be a number from 1 to 100"))?
            as u32,
    };
    app.service()
        .notify_device(&caller, &id, session, attempt)
        .await?;
    Ok(Json(
        json!({"device": id, "session": session, "attempt": attempt}),
    ))
}

/// `POST|PUT /devices/:id` from the device SDK: `{device, custom_data}` with the license key.
/// The first call registers the device and returns its `device_token`; later calls present it.
pub async fn register(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let license = headers
        .get("x-cobrowselicense")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("missing X-CobrowseLicense header"))?;
    if headers.contains_key("x-cobrowsedevice") {
        let (_, header_id) = device_headers(&headers)?;
        if header_id != id {
            return Err(ApiError::bad_request(
                "X-CobrowseDevice does not match the device id in the path",
            ));
        }
    }
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let account = app.account_for_license(license).await?;
    let reg = DeviceRegistration {
        device: object_field(&body, "device")?,
        custom_data: object_field(&body, "custom_data")?,
    };
    let (device, new_token) = app
        .service()
        .register_device(&account, &id, token, reg)
        .await?;
    let mut out = serde_json::to_value(&device)
        .map_err(|e| ApiError::from(tandem_core::Error::Corrupt(e.to_string())))?;
    let obj = out
        .as_object_mut()
        .expect("a device serialises to an object");
    obj.insert(
        "notification_url".into(),
        json!(format!("{}/", app.public_base())),
    );
    obj.insert("next_registration".into(), json!(NEXT_REGISTRATION_SECS));
    // What the device SDK must enforce on its side: the account's redaction, consent and
    // agent-tool rules.
    let settings = &account.settings;
    obj.insert(
        "redaction_selectors".into(),
        json!(settings.redaction_selectors),
    );
    obj.insert(
        "unredaction_selectors".into(),
        json!(settings.unredaction_selectors),
    );
    obj.insert("require_consent".into(), json!(settings.require_consent));
    obj.insert(
        "remote_control_consent".into(),
        json!(settings.remote_control_consent),
    );
    obj.insert("agent_submit".into(), json!(settings.agent_submit));
    obj.insert(
        "navigation_origins".into(),
        json!(settings.navigation_origins),
    );
    // How big one socket frame and one (chunked) event may be.
    let limits = app.hub().limits();
    obj.insert("max_message_bytes".into(), json!(limits.max_message_bytes));
    obj.insert("max_event_bytes".into(), json!(limits.max_event_bytes));
    if let Some(token) = new_token {
        obj.insert("device_token".into(), json!(token));
    }
    Ok(Json(out))
}
