//! `/api/1/sessions`: create, list, get by id / code / access token, update, stream tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use tandem_core::model::{Session, SessionState, Toggle};
use tandem_core::query::SessionQuery;
use tandem_core::service::{object_field, Caller, NewSession, SessionPatch};
use tandem_core::time;

use crate::auth::{AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{enum_field, string_field, JsonObject, QueryPairs};
use crate::AppState;

const TOGGLES: &str = "off, requested, rejected, on";

fn agent_me(body: &Map<String, Value>) -> ApiResult<bool> {
    match body.get("agent") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s == "me" => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "agent may only be \"me\" (the caller joins the session)",
        )),
    }
}

/// `agent: "me"` joins the caller; only agents can join.
fn join(caller: &Caller, body: &Map<String, Value>) -> ApiResult<bool> {
    let me = agent_me(body)?;
    if me && matches!(caller, Caller::Device { .. }) {
        return Err(ApiError::bad_request("a device cannot join as an agent"));
    }
    Ok(me)
}

fn custom_data(body: &Map<String, Value>) -> ApiResult<Option<Map<String, Value>>> {
    Ok(object_field(body, "custom_data")?)
}

pub async fn create(
    State(app): State<AppState>,
    Auth(caller): Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let input = NewSession {
        custom_data: custom_data(&body)?.unwrap_or_default(),
        agent_me: join(&caller, &body)?,
        full_device: enum_field(&body, "full_device", Toggle::parse, TOGGLES)?,
        remote_control: enum_field(&body, "remote_control", Toggle::parse, TOGGLES)?,
        region: string_field(&body, "region", 64)?,
        device: object_field(&body, "device")?,
    };
    let session = app.service().create_session(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

pub async fn list(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<Vec<Session>>> {
    let query = SessionQuery::parse(&pairs)?;
    Ok(Json(app.service().list_sessions(&caller, query).await?))
}

pub async fn get(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(handle): Path<String>,
) -> ApiResult<Json<Session>> {
    Ok(Json(app.service().get_session(&caller, &handle).await?))
}

pub async fn update(
    State(app): State<AppState>,
    Auth(caller): Auth,
    Path(handle): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Session>> {
    let patch = SessionPatch {
        state: enum_field(
            &body,
            "state",
            SessionState::parse,
            "pending, authorizing, active, ended",
        )?,
        custom_data: custom_data(&body)?,
        full_device: enum_field(&body, "full_device", Toggle::parse, TOGGLES)?,
        remote_control: enum_field(&body, "remote_control", Toggle::parse, TOGGLES)?,
        agent_me: join(&caller, &body)?,
        device: object_field(&body, "device")?,
        region: string_field(&body, "region", 64)?,
    };
    Ok(Json(
        app.service()
            .update_session(&caller, &handle, patch)
            .await?,
    ))
}

/// `GET /sessions/:id/history`: pages the customer visited and agents' comings and goings.
pub async fn history(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    Path(handle): Path<String>,
) -> ApiResult<Json<tandem_core::service::History>> {
    Ok(Json(app.service().history(&caller, &handle).await?))
}

/// A short-lived token for this agent on the session's stream socket.
pub async fn tokens(
    State(app): State<AppState>,
    AgentAuth(caller): AgentAuth,
    Path(handle): Path<String>,
) -> ApiResult<Json<Value>> {
    let ttl = std::time::Duration::from_secs(app.config().stream_token_ttl_secs);
    let (token, stored) = app.service().stream_token(&caller, &handle, ttl).await?;
    Ok(Json(json!({
        "stream_token": token,
        "stream_url": format!("{}/", app.public_base()),
        // Where the viewer has the customer's fonts relayed (`/assets/<key>/<url>`): the key
        // is the token's hash, which opens nothing else.
        "asset_url": format!("{}/assets/{}/", app.public_base(), stored.token_hash),
        "expires": time::to_rfc3339(stored.expires),
    })))
}
