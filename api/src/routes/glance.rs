//! Glance's visitor ids: `GET /api/1/visitors/{visitorid}/session`, the live session a customer
//! started, found by the value of the account's `visitor_id_key` in its custom data. The viewer
//! opened with `visitorid=<value>` asks it (and, with `wait=1`, waits on the realtime socket's
//! `watch-visitor` until there is one).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use tandem_core::model::Session;
use utoipa::IntoParams;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, ServiceUnavailable, Unauthorized,
};
use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::AppState;

/// `{visitorid}` of a customer.
#[derive(Deserialize, IntoParams)]
#[into_params(names("visitorid"), parameter_in = Path)]
pub struct VisitorId(
    /// The customer's visitor id: the value of the account's `visitor_id_key` in the custom
    /// data their page gives Tandem (1 to 256 bytes, no control characters).
    #[param(min_length = 1, max_length = 256)]
    pub String,
);

/// Find a visitor's live session
///
/// The newest live session the customer with this visitor id has started (their page created
/// it, or joined it with a code), that the caller's policy lets them read. `404` while there is
/// none; `409 visitor_ids_off` when the account's settings name no `visitor_id_key`. Agents who
/// wait for it send `watch-visitor <visitorid>` on their realtime socket and hear
/// `visitor-started {visitorid}` when it starts.
#[utoipa::path(
    get,
    path = "/api/1/visitors/{visitorid}/session",
    tag = "sessions",
    operation_id = "getVisitorSession",
    security(("agentJwt" = [])),
    params(VisitorId),
    responses(
        (status = 200, description = "The visitor's live session.", body = Session),
        Errors<(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn visitor_session(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(VisitorId(visitor)): Path<VisitorId>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        app.service()
            .visitor_session(&agent.into(), &visitor)
            .await?,
    ))
}
