//! `/api/1/devices`: agents list and read devices; the device SDK registers and refreshes one.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::model::{Device, Json as JsonObject};
use tandem_core::query::DeviceQuery;
use tandem_core::schemas::{CustomData, DeviceInfo};
use tandem_core::service::DeviceRegistration;
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnsupportedMediaType,
};
use super::params::{CustomDataFilter, DeviceId, DevicePage, Limit, RegistrationDeviceId};
use crate::auth::{device_headers, AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, QueryPairs};
use crate::AppState;

/// Seconds after which the device SDK registers again (refreshing `last_active`).
const NEXT_REGISTRATION_SECS: u64 = 3600;

/// List devices
///
/// Lists the account's devices the caller may read (narrowed by the token's policy), most
/// recently active first.
#[utoipa::path(
    get,
    path = "/api/1/devices",
    tag = "devices",
    operation_id = "listDevices",
    security(("agentJwt" = [])),
    params(CustomDataFilter, Limit, DevicePage),
    responses(
        (status = 200, description = "The matching devices, most recently active first (a bare array).", body = Vec<Device>),
        Errors<(BadRequest, Unauthorized, ServiceUnavailable)>,
    ),
)]
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

/// Get a device
///
/// Agents read any device their policy allows; a device reads only itself.
#[utoipa::path(
    get,
    path = "/api/1/devices/{id}",
    tag = "devices",
    operation_id = "getDevice",
    security(("agentJwt" = []), ("deviceLicense" = [], "deviceId" = [], "deviceToken" = [])),
    params(DeviceId),
    responses(
        (status = 200, description = "The device.", body = Device),
        Errors<(Unauthorized, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn get(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(DeviceId(id)): Path<DeviceId>,
) -> ApiResult<Json<Device>> {
    Ok(Json(app.service().get_device(&caller, &id).await?))
}

/// `POST /devices/{id}/notifications`: the session the device is asked to join.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeviceNotification)]
pub struct Notify {
    /// The id of a live session of the same account for the device to join.
    session: String,
    /// Which attempt this is (agent UIs retry a few times); reported back to the device.
    #[serde(default = "first_attempt", deserialize_with = "attempt")]
    #[schema(minimum = 1, maximum = 100, default = 1)]
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
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeviceNotificationSent)]
pub struct NotificationSent {
    device: String,
    session: String,
    attempt: u32,
}

/// Ask a device to join a session
///
/// Delivers a `notification` event `{session, attempt}` to the device's notification socket on
/// whichever replica holds it; the device SDK then asks the customer for consent. Fails with
/// `409 device_offline` when the device has no socket open, `409 session_ended` when the session
/// is over and `409 device_mismatch` when another device already joined it. Counted in
/// `tandem_device_notifications_total` and `tandem_device_notification_failures_total{reason}`.
#[utoipa::path(
    post,
    path = "/api/1/devices/{id}/notifications",
    tag = "devices",
    operation_id = "notifyDevice",
    security(("agentJwt" = [])),
    params(DeviceId),
    request_body = Notify,
    responses(
        (status = 200, description = "The request reached the device's socket.", body = NotificationSent),
        Errors<(BadRequest, Unauthorized, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn notify(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(DeviceId(id)): Path<DeviceId>,
    Body(Notify { session, attempt }): Body<Notify>,
) -> ApiResult<Json<NotificationSent>> {
    app.service()
        .notify_device(&agent.into(), &id, &session, attempt)
        .await?;
    Ok(Json(NotificationSent {
        device: id,
        session,
        attempt,
    }))
}

/// A device registration or refresh from the device SDK. Fields given replace the stored ones
/// (`custom_data` as a whole); fields omitted are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeviceRegistrationRequest)]
pub struct Register {
    /// Replaces the stored device information.
    #[schema(value_type = Option<DeviceInfo>)]
    device: Option<JsonObject>,
    /// Replaces the stored custom data.
    #[schema(value_type = Option<CustomData>)]
    custom_data: Option<JsonObject>,
}

/// The device, as registered, with what the device SDK needs to stay connected: where its socket
/// is, when to register again, and what it must enforce on its side (the account's redaction,
/// consent and agent-tool rules, and how big a frame and an event may be).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeviceRegistration)]
pub struct Registration {
    #[serde(flatten)]
    device: Device,
    /// The account's name, which the customer's consent prompts show beside the agent's.
    #[schema(example = "Acme Support")]
    account_name: String,
    /// The base URL the notification socket path (`sockets/1/ws`) is resolved against.
    #[schema(format = "uri")]
    notification_url: String,
    /// Seconds after which the SDK should register again (refreshing `last_active`).
    #[schema(example = 3600)]
    next_registration: u64,
    /// CSS selectors of elements the device must never send (the account's setting); the SDK
    /// adds its own defaults and the page's.
    redaction_selectors: Vec<String>,
    /// CSS selectors of elements shown even inside redacted ones (the account's setting).
    unredaction_selectors: Vec<String>,
    /// Whether the customer is asked before an agent sees the page.
    require_consent: bool,
    /// Whether the customer is asked before an agent takes control.
    remote_control_consent: bool,
    /// Whether an agent in control may submit forms.
    agent_submit: bool,
    /// Origins (glob patterns) an agent may navigate the customer to, besides the current page's
    /// origin.
    navigation_origins: Vec<String>,
    /// The custom data key that holds a customer's visitor id (empty: none); the Glance visitor
    /// script puts `GLANCE_COBROWSE.visitorid` under it.
    #[schema(example = "user_id")]
    visitor_id_key: String,
    /// The largest socket message the server accepts; bigger events are sent as `chunk` frames
    /// no larger than this.
    #[schema(minimum = 4096, example = 65536)]
    max_message_bytes: usize,
    /// The largest event the server reassembles from chunks; the SDK reports bigger ones instead
    /// of sending them.
    #[schema(minimum = 4096, example = 33554432)]
    max_event_bytes: usize,
    /// The device's secret, returned only by its first registration; the device presents it as
    /// `Authorization: Bearer <device_token>` from then on. It cannot be retrieved again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    device_token: Option<String>,
}

/// `POST` and `PUT /devices/{id}`: one contract, documented as two operations with the
/// operationIds the SDKs know.
macro_rules! registration_operation {
    ($method:ident, $handler:ident, $operation_id:literal, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            $method,
            path = "/api/1/devices/{id}",
            tag = "devices",
            operation_id = $operation_id,
            description = "Called by the device SDK with the account's license key. The first \
                call for an id registers the device and returns its `device_token`, once. Later \
                calls (POST or PUT alike) refresh the registration (`last_active`, and `device` / \
                `custom_data` when given) and must present that token as `Authorization: Bearer \
                <device_token>`; without it, or with a wrong one, they are refused with `403`. An \
                unknown license key is `401`.",
            security(
                ("deviceLicense" = []),
                ("deviceLicense" = [], "deviceToken" = []),
                ("deviceLicense" = [], "deviceId" = [], "deviceToken" = []),
            ),
            params(RegistrationDeviceId),
            request_body = Register,
            responses(
                (status = 200, description = "The device as registered.", body = Registration),
                Errors<(BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType, ServiceUnavailable)>,
            ),
        )]
        pub async fn $handler(
            State(app): State<AppState>,
            headers: HeaderMap,
            path: Path<RegistrationDeviceId>,
            body: Body<Register>,
        ) -> ApiResult<Json<Registration>> {
            registration(app, headers, path, body).await
        }
    };
}

registration_operation!(
    post,
    register,
    "registerDevice",
    "Register a device, or refresh its registration"
);
registration_operation!(
    put,
    refresh,
    "refreshDeviceRegistration",
    "Register a device, or refresh its registration (same as POST)"
);

async fn registration(
    app: AppState,
    headers: HeaderMap,
    Path(RegistrationDeviceId(id)): Path<RegistrationDeviceId>,
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
        account_name: account.name,
        notification_url: format!("{}/", app.public_base()),
        next_registration: NEXT_REGISTRATION_SECS,
        redaction_selectors: settings.redaction_selectors,
        unredaction_selectors: settings.unredaction_selectors,
        require_consent: settings.require_consent,
        remote_control_consent: settings.remote_control_consent,
        agent_submit: settings.agent_submit,
        navigation_origins: settings.navigation_origins,
        visitor_id_key: settings.visitor_id_key,
        max_message_bytes: limits.max_message_bytes,
        max_event_bytes: limits.max_event_bytes,
        device_token,
    }))
}
