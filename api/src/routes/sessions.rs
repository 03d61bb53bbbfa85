//! `/api/1/sessions`: create, list, get by id / code / access token, update, stream tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tandem_core::model::{Json as JsonObject, Session, SessionState, Toggle};
use tandem_core::query::SessionQuery;
use tandem_core::schemas::{CustomData, CustomDataPatch, DeviceInfo};
use tandem_core::service::{Caller, History, NewSession, SessionPatch};
use tandem_core::time;
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnsupportedMediaType,
};
use super::params::{CustomDataFilter, Limit, SessionFilter, SessionHandle, SessionPage};
use crate::auth::{AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded, QueryPairs};
use crate::AppState;

/// `me`: the calling agent joins the session.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentField {
    Me,
}

/// Creates a `pending` session with a fresh code and access token. From a device, the session
/// belongs to that device. Every field is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SessionCreate, example = json!({"custom_data": {"user_id": "u-123"}, "agent": "me"}))]
pub struct CreateSession {
    #[schema(value_type = Option<CustomData>)]
    custom_data: Option<JsonObject>,
    /// `me`: the calling agent joins the session at once (ignored for devices).
    agent: Option<AgentField>,
    /// The initial full-device state: `off` (default) or `requested`; `on` or `rejected` is
    /// refused with `409`.
    full_device: Option<Toggle>,
    /// The initial remote-control state: `off` (default) or `requested`; `on` or `rejected` is
    /// refused with `409`.
    remote_control: Option<Toggle>,
    /// A region id, as returned by `GET /api/1/regions/closest`.
    #[schema(value_type = Option<String>, max_length = 64)]
    region: Option<Bounded<64>>,
    /// Device information to show on the session (a device caller's registered information is
    /// used when omitted).
    #[schema(value_type = Option<DeviceInfo>)]
    device: Option<JsonObject>,
}

/// A partial update: fields not given are left as they are. Changes go through the state machine
/// described on Session; an illegal change is refused with `409` and a policy that forbids
/// writing the session with `403`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SessionUpdate, example = json!({"state": "ended"}))]
pub struct UpdateSession {
    /// Ignored: the agent SDK repeats the session's id in every update, and the path decides.
    #[allow(dead_code)]
    #[schema(value_type = Value, required = false)]
    id: Option<IgnoredAny>,
    /// The new state, e.g. `ended` to end the session, or `active` when the customer accepts.
    state: Option<SessionState>,
    #[schema(value_type = Option<CustomDataPatch>)]
    custom_data: Option<JsonObject>,
    /// `me`: the calling agent joins the session. A device sending it gets `400`.
    agent: Option<AgentField>,
    /// Request (agents), accept or reject (device), or turn off.
    full_device: Option<Toggle>,
    /// Request (agents), accept or reject (device), or turn off.
    remote_control: Option<Toggle>,
    /// Sets the session's region.
    #[schema(value_type = Option<String>, max_length = 64)]
    region: Option<Bounded<64>>,
    /// Replaces the session's device information.
    #[schema(value_type = Option<DeviceInfo>)]
    device: Option<JsonObject>,
}

/// `agent: "me"` joins the caller; only agents can join.
fn join(caller: &Caller, agent: Option<AgentField>) -> ApiResult<bool> {
    let me = matches!(agent, Some(AgentField::Me));
    if me && matches!(caller, Caller::Device { .. }) {
        return Err(ApiError::bad_request("a device cannot join as an agent"));
    }
    Ok(me)
}

/// Create a session
///
/// Creates a session as an agent (e.g. to read its code to a customer, or with `agent: "me"` to
/// join it at once) or as a device (the customer starts a session and reads its code out).
#[utoipa::path(
    post,
    path = "/api/1/sessions",
    tag = "sessions",
    operation_id = "createSession",
    security(("agentJwt" = []), ("deviceLicense" = [], "deviceId" = [], "deviceToken" = [])),
    request_body = CreateSession,
    responses(
        (status = 201, description = "The new session, `pending`, with its code and access token.", body = Session),
        Errors<(BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, ServiceUnavailable)>,
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Body(body): Body<CreateSession>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let input = NewSession {
        custom_data: body.custom_data.unwrap_or_default(),
        agent_me: join(&caller, body.agent)?,
        full_device: body.full_device,
        remote_control: body.remote_control,
        region: body.region.map(|r| r.0),
        device: body.device,
    };
    let session = app.service().create_session(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// List sessions
///
/// Lists the account's sessions the caller may read (narrowed by the token's policy), newest
/// first by activation time, or creation time for sessions never activated.
#[utoipa::path(
    get,
    path = "/api/1/sessions",
    tag = "sessions",
    operation_id = "listSessions",
    security(("agentJwt" = [])),
    params(CustomDataFilter, SessionFilter, Limit, SessionPage),
    responses(
        (status = 200, description = "The matching sessions, newest first (a bare array).", body = Vec<Session>),
        Errors<(BadRequest, Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    agent: AgentAuth,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<Vec<Session>>> {
    let query = SessionQuery::parse(&pairs)?;
    Ok(Json(
        app.service().list_sessions(&agent.into(), query).await?,
    ))
}

/// Get a session by id, code or access token
///
/// Agents may look a session up by its id, its 6-digit code or its 9-digit access token; a
/// device only by id, and only its own session (or an unclaimed pending one).
#[utoipa::path(
    get,
    path = "/api/1/sessions/{id}",
    tag = "sessions",
    operation_id = "getSession",
    security(("agentJwt" = []), ("deviceLicense" = [], "deviceId" = [], "deviceToken" = [])),
    params(SessionHandle),
    responses(
        (status = 200, description = "The session.", body = Session),
        Errors<(Unauthorized, NotFound, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn get(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(SessionHandle(handle)): Path<SessionHandle>,
) -> ApiResult<Json<Session>> {
    Ok(Json(app.service().get_session(&caller, &handle).await?))
}

/// Update a session
///
/// Applies a partial update: ends the session, joins it (`agent: "me"`), requests or answers
/// remote control and full-device mode, or changes its custom data, device information or region.
/// A device updating an unclaimed pending session claims it.
#[utoipa::path(
    put,
    path = "/api/1/sessions/{id}",
    tag = "sessions",
    operation_id = "updateSession",
    security(("agentJwt" = []), ("deviceLicense" = [], "deviceId" = [], "deviceToken" = [])),
    params(SessionHandle),
    request_body = UpdateSession,
    responses(
        (status = 200, description = "The session after the update.", body = Session),
        Errors<(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(SessionHandle(handle)): Path<SessionHandle>,
    Body(body): Body<UpdateSession>,
) -> ApiResult<Json<Session>> {
    let patch = SessionPatch {
        state: body.state,
        custom_data: body.custom_data,
        full_device: body.full_device,
        remote_control: body.remote_control,
        agent_me: join(&caller, body.agent)?,
        device: body.device,
        region: body.region.map(|r| r.0),
    };
    Ok(Json(
        app.service()
            .update_session(&caller, &handle, patch)
            .await?,
    ))
}

/// Get a session's history
///
/// The pages the customer loaded during the session (announced by the device's stream; at most
/// one per second), each with when it was entered and how long it stayed in view (until the next
/// page, the end of the session, or now), and when agents' stream sockets opened and closed. At
/// most 1000 events per session.
#[utoipa::path(
    get,
    path = "/api/1/sessions/{id}/history",
    tag = "sessions",
    operation_id = "getSessionHistory",
    security(("agentJwt" = [])),
    params(SessionHandle),
    responses(
        (status = 200, description = "The history.", body = History),
        Errors<(Unauthorized, NotFound, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn history(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(SessionHandle(handle)): Path<SessionHandle>,
) -> ApiResult<Json<History>> {
    Ok(Json(app.service().history(&agent.into(), &handle).await?))
}

/// Credentials for the calling agent on the session's stream socket, which the agent's viewer
/// opens the session's stream with.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamTokens {
    /// A bearer token for the stream socket, valid for the server's `stream_token_ttl_secs` (an
    /// hour by default).
    stream_token: String,
    /// The base URL the socket path (`sockets/1/ws`) is resolved against.
    #[schema(format = "uri")]
    stream_url: String,
    /// Where the viewer has the customer's web fonts relayed: append the font's absolute URL,
    /// base64url-encoded without padding. Fonts come only from the account's `asset_origins`;
    /// the key in the path (the token's hash) opens nothing else and lasts as long as
    /// `stream_token`.
    #[schema(format = "uri")]
    asset_url: String,
    /// When `stream_token` stops being accepted.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    expires: time::Micros,
}

/// Get stream credentials for a session
///
/// Issues a short-lived token with which the calling agent opens the session's stream socket.
/// Only an agent on the session (join it first with `PUT {agent: "me"}`) or an administrator gets
/// one (`403` otherwise). Ended sessions have no stream (`409`). Nothing passes on the stream
/// until the session is `active`.
#[utoipa::path(
    get,
    path = "/api/1/sessions/{id}/tokens",
    tag = "sessions",
    operation_id = "getSessionTokens",
    security(("agentJwt" = [])),
    params(SessionHandle),
    responses(
        (status = 200, description = "A fresh stream token for the calling agent.", body = StreamTokens),
        Errors<(Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn tokens(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(SessionHandle(handle)): Path<SessionHandle>,
) -> ApiResult<Json<StreamTokens>> {
    let ttl = std::time::Duration::from_secs(app.config().stream_token_ttl_secs);
    let (token, stored) = app
        .service()
        .stream_token(&agent.into(), &handle, ttl)
        .await?;
    Ok(Json(StreamTokens {
        stream_token: token,
        stream_url: format!("{}/", app.public_base()),
        asset_url: format!("{}/assets/{}/", app.public_base(), stored.token_hash),
        expires: stored.expires,
    }))
}
