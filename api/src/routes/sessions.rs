//! `/api/1/sessions`: create, list, get by id / code / access token, update, stream tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tandem_core::model::{Json as JsonObject, Session, SessionState, Toggle};
use tandem_core::query::SessionQuery;
use tandem_core::service::{Caller, NewSession, SessionPatch};
use tandem_core::time;

use crate::auth::{AgentAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded, QueryPairs};
use crate::AppState;

/// `agent: "me"`: the calling agent joins the session.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentField {
    Me,
}

/// `POST /sessions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateSession {
    custom_data: Option<JsonObject>,
    agent: Option<AgentField>,
    full_device: Option<Toggle>,
    remote_control: Option<Toggle>,
    region: Option<Bounded<64>>,
    device: Option<JsonObject>,
}

/// `PUT /sessions/:id`: a partial update.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateSession {
    /// The Cobrowse.io SDK repeats the resource's id in every update; the path decides.
    #[allow(dead_code)]
    id: Option<IgnoredAny>,
    state: Option<SessionState>,
    custom_data: Option<JsonObject>,
    agent: Option<AgentField>,
    full_device: Option<Toggle>,
    remote_control: Option<Toggle>,
    region: Option<Bounded<64>>,
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

/// `GET /sessions/:id/history`: pages the customer visited and agents' comings and goings.
pub async fn history(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(handle): Path<String>,
) -> ApiResult<Json<tandem_core::service::History>> {
    Ok(Json(app.service().history(&agent.into(), &handle).await?))
}

/// `GET /sessions/:id/tokens`: what the agent's viewer opens the session's stream with.
#[derive(Debug, Serialize)]
pub struct StreamTokens {
    /// A short-lived token for this agent on the session's stream socket.
    stream_token: String,
    /// Where the stream socket is.
    stream_url: String,
    /// Where the viewer has the customer's fonts relayed (`/assets/<key>/<url>`): the key is
    /// the token's hash, which opens nothing else.
    asset_url: String,
    #[serde(serialize_with = "time::serialize")]
    expires: time::Micros,
}

pub async fn tokens(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(handle): Path<String>,
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
