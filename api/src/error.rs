//! The API error: every failure is a status with a JSON body `{id, message}`. This is the one
//! place where domain errors become statuses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tandem_core::Error;
use utoipa::ToSchema;

/// The body of every error response. Known ids: `invalid_request`, `invalid_body`,
/// `invalid_json`, `invalid_query`, `invalid_custom_data`, `invalid_device`, `invalid_device_id`,
/// `unsupported_media_type`, `body_too_large`, `unauthorized`, `invalid_token`, `token_expired`,
/// `forbidden`, `not_found`, `conflict`, `rate_limited`, `internal`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A stable, machine-readable error code.
    #[schema(example = "not_found")]
    pub id: &'static str,
    /// What went wrong, for people.
    #[schema(example = "session not found")]
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            id,
            message: message.into(),
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => Self::not_found(format!("{what} not found")),
            Error::Invalid { id, message } => Self::new(StatusCode::BAD_REQUEST, id, message),
            Error::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            Error::Refused {
                id: id @ "account_disabled",
                message,
            } => Self::new(StatusCode::FORBIDDEN, id, message),
            Error::Refused { id, message } => Self::new(StatusCode::CONFLICT, id, message),
            Error::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "forbidden", m),
            e @ Error::RateLimited => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
            }
            e @ Error::Unavailable { .. } => {
                log_outage(&e);
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is not reachable; try again shortly",
                )
            }
            e @ (Error::Storage(_) | Error::Migration(_) | Error::Corrupt(_)) => {
                tracing::error!(error = %e, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

/// How long a client is asked to wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "2";

/// An outage fails every request at once: log its first error, then at most one line per
/// `QUIET` with how many went unlogged (`tandem_database_errors_total` counts them all).
fn log_outage(e: &Error) {
    const QUIET: Duration = Duration::from_secs(10);
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static UNLOGGED: AtomicU64 = AtomicU64::new(0);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < QUIET) {
        UNLOGGED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    *last = Some(now);
    let unlogged = UNLOGGED.swap(0, Ordering::Relaxed);
    tracing::error!(error = %e, unlogged, "database unavailable; answering 503");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            id: self.id,
            message: self.message,
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
