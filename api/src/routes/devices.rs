//! `/api/1/devices`: agents list and read devices; the device SDK registers and refreshes one.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::model::{Device, Json as JsonObject};
use tandem_core::query::DeviceQuery;
use tandem_core::service::DeviceRegistration;

use crate::auth::{device_headers, AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, QueryPairs};
use crate::AppState;

/// Seconds after which the device SDK registers again (refreshing `last_active`).
const NEXT_REGISTRATION_SECS: u64 = 3600;

pub async fn list(
    State(app): State<AppState>,
    agent: AgentAuth,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<Vec<Device>>> {
    let query = DeviceQuery::parse(&pairs)?;
    Ok(Json(
        app.service().list_devices(&agent.into(), query).await?,
    ))
}

pub async fn get(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    Ok(Json(app.service().get_device(&caller, &id).await?))
}

/// `POST /devices/:id/notifications`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// The session the device is asked to join.
    session: String,
    /// Which try this is (the agent UI tries up to 5 times), 1 to 100.
    #[serde(default = "first_attempt", deserialize_with = "attempt")]
    attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

fn attempt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match Option::<u32>::deserialize(d)? {
        None => Ok(first_attempt()),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(serde::de::Error::custom("a number from 1 to 100")),
    }
}

/// The reply to a notification: what was asked of which device.
#[derive(Debug, Serialize)]
pub struct NotificationSent {
    device: String,
    #[serde(flatten)]
    notify: Notify,
}

/// Asks an online device to join a session. The request reaches the device's notification
/// socket on whichever replica holds it.
pub async fn notify(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    Body(notify): Body<Notify>,
) -> ApiResult<Json<NotificationSent>> {
    app.service()
        .notify_device(&agent.into(), &id, &notify.session, notify.attempt)
        .await?;
    Ok(Json(NotificationSent { device: id, notify }))
}

/// `POST|PUT /devices/:id` from the device SDK.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Register {
    /// What the SDK knows of the device: a flat object of strings, numbers and booleans.
    device: Option<JsonObject>,
    custom_data: Option<JsonObject>,
}

/// A registered device, with what its SDK needs: where its socket is, when to register again,
/// and what it must enforce on its side (the account's redaction, consent and agent-tool rules,
/// and how big a frame and an event may be).
#[derive(Debug, Serialize)]
pub struct Registration {
    #[serde(flatten)]
    device: Device,
    notification_url: String,
    /// Seconds after which the device SDK registers again (refreshing `last_active`).
    next_registration: u64,
    redaction_selectors: Vec<String>,
    unredaction_selectors: Vec<String>,
    require_consent: bool,
    remote_control_consent: bool,
    agent_submit: bool,
    navigation_origins: Vec<String>,
    max_message_bytes: usize,
    max_event_bytes: usize,
    /// Only on the first registration: the device's bearer token, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

/// The first call registers the device and returns its `device_token`; later calls present it.
pub async fn register(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<Register>,
) -> ApiResult<Json<Registration>> {
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
        device: body.device,
        custom_data: body.custom_data,
    };
    let (device, device_token) = app
        .service()
        .register_device(&account, &id, token, reg)
        .await?;
    let settings = account.settings;
    let limits = app.hub().limits();
    Ok(Json(Registration {
        device,
        notification_url: format!("{}/", app.public_base()),
        next_registration: NEXT_REGISTRATION_SECS,
        redaction_selectors: settings.redaction_selectors,
        unredaction_selectors: settings.unredaction_selectors,
        require_consent: settings.require_consent,
        remote_control_consent: settings.remote_control_consent,
        agent_submit: settings.agent_submit,
        navigation_origins: settings.navigation_origins,
        max_message_bytes: limits.max_message_bytes,
        max_event_bytes: limits.max_event_bytes,
        device_token,
    }))
}
