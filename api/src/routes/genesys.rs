//! Genesys Co-browse's server API on Tandem, for agent applications written for it: the History
//! REST API (`/cobrowse/rest/history`), the RESTful live functions (`/cobrowse/rest/live`: create,
//! look up by token, a controller's join and stop) and the agent page at its Genesys address
//! (`/cobrowse/slave.html#sid=<token>`). Agents authenticate as everywhere else (a JWT or the
//! dashboard's cookie) and reach only their own account's sessions. The controller's
//! notifications are socket events; see `tandem_core::service::genesys`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::routing::get;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::model::Session;
use tandem_core::service::{ControllerJoin, GenesysDeactivation, GenesysSessionHistory};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    Conflict, Errors, Forbidden, NotFound, ServiceUnavailable, TooManyRequests, Unauthorized,
};
use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(tags((
    name = "genesys",
    description = "Genesys Co-browse's History REST API and live functions, for agent \
                   applications written for it. The controller's joined, activated and \
                   deactivated notifications are the socket events `controller.joined`, \
                   `controller.activated` and `controller.deactivated`."
)))]
struct GenesysDoc;

/// The Genesys routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(GenesysDoc::openapi())
        .routes(routes!(history))
        .routes(routes!(create))
        .routes(routes!(live))
        .routes(routes!(join))
        .routes(routes!(stop))
        // The agent page where Genesys agent applications open it (the viewer's `/agent`).
        .route("/cobrowse/slave.html", get(super::pages::code))
}

/// `{sessionHistoryId}` of a session.
#[derive(Deserialize, IntoParams)]
#[into_params(names("sessionHistoryId"), parameter_in = Path)]
pub struct HistoryId(
    /// The session history id: the session's id (a UUID), as `sessionHistoryId` in a
    /// controller's join. Not the 9-digit token.
    pub String,
);

/// `{id}` of a live session.
#[derive(Deserialize, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct LiveToken(
    /// The live session's 9-digit token (`{start:<token>}` in a chat). Failed lookups are
    /// rate-limited, as for every token.
    #[param(pattern = "^[0-9]{9}$", example = "845800826")]
    pub String,
);

/// `{userToken}` of a controller.
#[derive(Deserialize, IntoParams)]
#[into_params(names("userToken"), parameter_in = Path)]
pub struct UserToken(
    /// The controller's `userToken` from its join (the session's `control_token`).
    pub String,
);

/// A live session's public data: its token and the server that hosts it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenesysLiveSession {
    /// The session's 9-digit token.
    #[schema(pattern = "^[0-9]{9}$", example = "845800826")]
    session_token: String,
    /// The server's region (`region` in its configuration). Any Tandem replica serves any
    /// session, so it is only informational; it is also set as the `gcbSessionServer` cookie.
    #[schema(example = "default")]
    session_server_name: String,
    /// The server's public URL.
    #[schema(format = "uri", example = "https://tandem.example.com")]
    session_server_url: String,
}

fn live_session(app: &AppState, s: &Session) -> GenesysLiveSession {
    GenesysLiveSession {
        session_token: s.access_token.clone().unwrap_or_default(),
        session_server_name: app.config().region.clone(),
        session_server_url: app.public_base().to_owned(),
    }
}

/// `gcbSessionServer=<region>`, which Genesys clients pass back to stick to the session's
/// server: harmless here, where any replica will do.
fn server_cookie(app: &AppState) -> HeaderMap {
    let name: String = app
        .config()
        .region
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "gcbSessionServer={name}; Path=/cobrowse; SameSite=Lax"
    )) {
        headers.insert(header::SET_COOKIE, v);
    }
    headers
}

/// Get a session's history (Genesys)
///
/// The Genesys History REST API's record of a session: its token, when it was created,
/// activated and deactivated (Unix times in ms), and the pages the customer visited while it was
/// active, each with when it was entered (ms) and how long it was in view (whole seconds). The
/// first page counts from the session's activation and the last until its deactivation; while
/// the session is live the last page counts until now and `deactivationTime` is `null`.
#[utoipa::path(
    get,
    path = "/cobrowse/rest/history/sessions/{sessionHistoryId}",
    tag = "genesys",
    operation_id = "getGenesysSessionHistory",
    security(("agentJwt" = [])),
    params(HistoryId),
    responses(
        (status = 200, description = "The session's history.", body = GenesysSessionHistory),
        Errors<(Unauthorized, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn history(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(HistoryId(id)): Path<HistoryId>,
) -> ApiResult<Json<GenesysSessionHistory>> {
    Ok(Json(
        app.service().genesys_history(&agent.into(), &id).await?,
    ))
}

/// Create a session (Genesys)
///
/// Creates a `pending` session and answers with its 9-digit token (Genesys's RESTful "create
/// session"). The customer's page joins it with its 6-digit code (`GET /api/1/sessions/{id}`
/// shows both); a request body, if any, is ignored.
#[utoipa::path(
    post,
    path = "/cobrowse/rest/live/sessions",
    tag = "genesys",
    operation_id = "createGenesysSession",
    security(("agentJwt" = [])),
    responses(
        (status = 200, description = "The new session's token, with the `gcbSessionServer` cookie.", body = GenesysLiveSession,
         headers(("Set-Cookie" = String, description = "`gcbSessionServer=<sessionServerName>`"))),
        Errors<(Unauthorized, Forbidden, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    agent: AgentAuth,
) -> ApiResult<(HeaderMap, Json<GenesysLiveSession>)> {
    let s = app.service().genesys_create(&agent.into()).await?;
    Ok((server_cookie(&app), Json(live_session(&app, &s))))
}

/// Get a live session (Genesys)
///
/// A live session's public data by its 9-digit token (Genesys's RESTful "get session"). An
/// ended session's token no longer finds it.
#[utoipa::path(
    get,
    path = "/cobrowse/rest/live/sessions/{id}",
    tag = "genesys",
    operation_id = "getGenesysSession",
    security(("agentJwt" = [])),
    params(LiveToken),
    responses(
        (status = 200, description = "The live session.", body = GenesysLiveSession),
        Errors<(Unauthorized, NotFound, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn live(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(LiveToken(token)): Path<LiveToken>,
) -> ApiResult<Json<GenesysLiveSession>> {
    let s = app.service().genesys_live(&agent.into(), &token).await?;
    Ok(Json(live_session(&app, &s)))
}

/// Join a live session as its controller (Genesys)
///
/// What Genesys's CometD join with role 3 does: the calling agent's application becomes the
/// session's controller. The answer's `userToken` stops the session
/// (`/cobrowse/rest/live/users/{userToken}/session/stop`) and, sent as `subscribe` on the
/// socket (`/sockets/1/ws`), brings the session's `controller.joined`, `controller.activated`
/// and `controller.deactivated` notifications (and its `session` updates). Those already in
/// the session hear `controller.joined` with role 3. Join before opening the agent page, so no
/// activation is missed.
#[utoipa::path(
    post,
    path = "/cobrowse/rest/live/sessions/{id}/controller",
    tag = "genesys",
    operation_id = "joinGenesysSessionAsController",
    security(("agentJwt" = [])),
    params(LiveToken),
    responses(
        (status = 200, description = "The controller's token and the session's participants.", body = ControllerJoin),
        Errors<(Unauthorized, Forbidden, NotFound, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn join(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(LiveToken(token)): Path<LiveToken>,
) -> ApiResult<Json<ControllerJoin>> {
    Ok(Json(
        app.service().controller_join(&agent.into(), &token).await?,
    ))
}

/// Stop a session as its controller (Genesys)
///
/// Genesys's RESTful "stop session": ends the session the controller's `userToken` names (as
/// the calling agent: `ended_reason` `agent_ended`) and answers with its activation and
/// deactivation times (ms). Everyone in the session is told (`controller.deactivated`, and the
/// customer's page ends it with reason `external`). Stopping a session that has already ended
/// answers with its times and changes nothing.
#[utoipa::path(
    get,
    path = "/cobrowse/rest/live/users/{userToken}/session/stop",
    tag = "genesys",
    operation_id = "stopGenesysSession",
    security(("agentJwt" = [])),
    params(UserToken),
    responses(
        (status = 200, description = "The session's times.", body = GenesysDeactivation),
        Errors<(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn stop(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(UserToken(user_token)): Path<UserToken>,
) -> ApiResult<Json<GenesysDeactivation>> {
    let s = app
        .service()
        .controller_stop(&agent.into(), &user_token)
        .await?;
    Ok(Json(GenesysDeactivation::of(&s)))
}
