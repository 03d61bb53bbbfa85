//! Health, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::AppState;

/// `api/openapi.json`: generated from the routes (`tandem openapi`, `make openapi`), committed,
/// and checked by a test to be what the code generates.
pub const OPENAPI: &str = include_str!("../../openapi.json");

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Alive {
    Ok,
}

/// The process is serving.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(inline)]
    status: Alive,
}

/// Liveness
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "The process is serving.", body = Health)),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: Alive::Ok })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ready,
    Degraded,
    Unavailable,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Database {
    Ok,
    Unreachable,
}

/// `off` without `redis_url`; `down` while the Redis link is broken (the replica still serves its
/// own sockets; status is `degraded`).
#[derive(Clone, Copy, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Redis {
    Off,
    Ok,
    Down,
}

/// Whether this replica can serve: its database, and its Redis link when it has one.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(inline)]
    status: Status,
    #[schema(inline)]
    database: Database,
    #[schema(inline)]
    redis: Redis,
}

/// Readiness
///
/// Ready when the database answers. A Redis outage leaves the replica ready (it still serves its
/// own sockets) but shows as `"redis": "down"` and `"status": "degraded"`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "The database answers.", body = Readiness),
        (status = 503, description = "The database does not answer.", body = Readiness),
    ),
)]
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let redis = match app.hub().redis_up() {
        None => Redis::Off,
        Some(true) => Redis::Ok,
        Some(false) => Redis::Down,
    };
    match app.service().ping().await {
        Ok(()) => {
            let status = match redis {
                Redis::Down => Status::Degraded,
                _ => Status::Ready,
            };
            let database = Database::Ok;
            (
                StatusCode::OK,
                Json(Readiness {
                    status,
                    database,
                    redis,
                }),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            let (status, database) = (Status::Unavailable, Database::Unreachable);
            let body = Readiness {
                status,
                database,
                redis,
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}

/// Prometheus metrics
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses((
        status = 200,
        description = "Metrics in the Prometheus text exposition format (`text/plain; version=0.0.4`).",
        body = String,
        content_type = "text/plain",
    )),
)]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    match app.service().live_counts().await {
        Ok(counts) => {
            for state in ["pending", "authorizing", "active"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("tandem_sessions_live", "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count live sessions"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics_handle().render(),
    )
}

/// Get this document
#[utoipa::path(
    get,
    path = "/api/1/openapi.json",
    tag = "operations",
    operation_id = "getOpenApi",
    responses((status = 200, description = "This OpenAPI document.", body = Object)),
)]
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
