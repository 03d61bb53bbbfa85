//! The HTTP surface: REST under `/api/1`, health and metrics.

mod account;
mod assets;
mod devices;
mod ops;
mod pages;
mod sessions;

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub use assets::AssetCache;

/// Every REST route as `(method, path)`, in OpenAPI path syntax. The committed OpenAPI document
/// must describe exactly these (checked by a test).
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/1/sessions"),
    ("post", "/api/1/sessions"),
    ("get", "/api/1/sessions/{id}"),
    ("put", "/api/1/sessions/{id}"),
    ("get", "/api/1/sessions/{id}/tokens"),
    ("get", "/api/1/sessions/{id}/history"),
    ("get", "/api/1/devices"),
    ("get", "/api/1/devices/{id}"),
    ("post", "/api/1/devices/{id}"),
    ("put", "/api/1/devices/{id}"),
    ("post", "/api/1/devices/{id}/notifications"),
    ("get", "/api/1/users/me"),
    ("get", "/api/1/users/{id}"),
    ("get", "/api/1/accounts"),
    ("get", "/api/1/policy/current"),
    ("get", "/api/1/regions/closest"),
    ("get", "/api/1/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

/// The REST API and the operations endpoints; `rest: false` serves only the latter (the
/// `realtime` role).
pub fn router(state: AppState, rest: bool) -> Router {
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found);
    if !rest {
        return ops.with_state(state);
    }
    Router::new()
        .route(
            "/api/1/sessions",
            get(sessions::list).post(sessions::create),
        )
        .route(
            "/api/1/sessions/{id}",
            get(sessions::get).put(sessions::update),
        )
        .route("/api/1/sessions/{id}/tokens", get(sessions::tokens))
        .route("/api/1/sessions/{id}/history", get(sessions::history))
        .route("/api/1/devices", get(devices::list))
        .route(
            "/api/1/devices/{id}",
            get(devices::get)
                .post(devices::register)
                .put(devices::register),
        )
        .route(
            "/api/1/devices/{id}/notifications",
            axum::routing::post(devices::notify),
        )
        .route("/api/1/users/me", get(account::me))
        .route("/api/1/users/{id}", get(account::user))
        .route("/api/1/accounts", get(account::accounts))
        .route("/api/1/policy/current", get(account::policy))
        .route("/api/1/regions/closest", get(account::closest_region))
        .route("/api/1/openapi.json", get(ops::openapi))
        .route("/sdk-js/{file}", get(pages::asset))
        .route("/assets/{key}/{url}", get(assets::relay))
        .route("/session/{id}", get(pages::viewer))
        .route("/session/{id}/history", get(pages::viewer))
        .route("/code", get(pages::code))
        .route("/dashboard", get(pages::code))
        .route("/connect", get(pages::code))
        .route("/agent", get(pages::code))
        .route("/demo", get(pages::demo))
        .merge(ops)
        .with_state(state)
}
