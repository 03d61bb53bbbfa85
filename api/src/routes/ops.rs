//! Health, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers. A Redis outage leaves the replica ready (it still serves
/// its own sockets) but shows as `"redis": "down"` and `"status": "degraded"`.
pub async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let redis = match app.hub().redis_up() {
        None => "off",
        Some(true) => "ok",
        Some(false) => "down",
    };
    match app.service().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": if redis == "down" { "degraded" } else { "ready" },
                "database": "ok",
                "redis": redis,
            })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable", "redis": redis})),
            )
        }
    }
}

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

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
