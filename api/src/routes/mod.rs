//! The HTTP surface: REST under `/api/1`, health and metrics, and the pages and assets around
//! them. Each REST handler carries its OpenAPI operation (`#[utoipa::path]`) and is routed by it,
//! so the document ([`openapi`]) describes exactly the routes served.

mod account;
mod assets;
mod dashboard;
mod devices;
mod doc;
mod genesys;
mod glance;
mod instance;
mod login;
mod members;
mod ops;
mod pages;
mod params;
mod sessions;
mod signing;
mod sso;

use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub use assets::AssetCache;

/// Health, readiness and metrics: what every role serves.
fn ops_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The REST API and the operations endpoints, with the document that describes them.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .routes(routes!(sessions::list, sessions::create))
        .routes(routes!(sessions::get, sessions::update))
        .routes(routes!(sessions::tokens))
        .routes(routes!(sessions::history))
        .routes(routes!(glance::visitor_session))
        .routes(routes!(devices::list))
        .routes(routes!(devices::get, devices::register, devices::refresh))
        .routes(routes!(devices::notify))
        .routes(routes!(account::me))
        .routes(routes!(account::user))
        .routes(routes!(account::accounts))
        .routes(routes!(account::update_account))
        .routes(routes!(login::email))
        .routes(routes!(login::link))
        .routes(routes!(login::session, login::switch, login::sign_out))
        .routes(routes!(login::sessions))
        .routes(routes!(login::revoke))
        .routes(routes!(sso::get, sso::put, sso::remove))
        .routes(routes!(sso::find))
        .routes(routes!(sso::metadata))
        .routes(routes!(sso::login))
        .routes(routes!(sso::acs))
        .routes(routes!(members::list))
        .routes(routes!(members::set_role, members::remove))
        .routes(routes!(members::revoke_sessions))
        .routes(routes!(members::invitations, members::invite))
        .routes(routes!(members::withdraw))
        .routes(routes!(signing::list, signing::upload))
        .routes(routes!(signing::generate))
        .routes(routes!(signing::revoke))
        .routes(routes!(instance::get))
        .routes(routes!(instance::accounts, instance::create))
        .routes(routes!(instance::update))
        .routes(routes!(account::policy))
        .routes(routes!(account::closest_region))
        .routes(routes!(ops::openapi))
        .merge(genesys::routes())
        .merge(ops_routes())
}

/// The OpenAPI document of the REST API, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// [`openapi`] as committed in `api/openapi.json` (and served from it): pretty JSON with a
/// trailing newline.
pub fn openapi_json() -> String {
    let mut json = openapi()
        .to_pretty_json()
        .expect("an OpenAPI document always serialises");
    json.push('\n');
    json
}

/// The REST API and the operations endpoints; `rest: false` serves only the latter (the
/// `realtime` role).
pub fn router(state: AppState, rest: bool) -> Router {
    if !rest {
        let (ops, _) = ops_routes().split_for_parts();
        return ops.fallback(ops::not_found).with_state(state);
    }
    let (api, _) = api_routes().split_for_parts();
    api.route("/sdk-js/{file}", get(pages::asset))
        .route("/assets/{key}/{url}", get(assets::relay))
        .route("/session", get(pages::code))
        .route("/session/{id}", get(pages::viewer))
        .route("/session/{id}/history", get(pages::viewer))
        .route("/code", get(pages::code))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/", get(dashboard::page))
        .route("/dashboard/{*path}", get(dashboard::file))
        .route("/connect", get(pages::code))
        .route("/agent", get(pages::code))
        .route("/demo", get(pages::demo))
        .route("/", get(pages::home))
        .route("/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon_ico))
        .route("/design/{file}", get(pages::style))
        .fallback(pages::not_found)
        .with_state(state)
}
