//! Pages and scripts the server serves to browsers: the web SDK and viewer bundles (built from
//! `sdk-js/` into `assets_dir`), the agent viewer at `/session/:id` and the demo customer page.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

const VIEWER: &str = include_str!("../pages/viewer.html");
const DEMO: &str = include_str!("../pages/demo.html");

/// The bundles `sdk-js` builds, and their content types.
const ASSETS: &[(&str, &str)] = &[
    ("tandem.js", "text/javascript; charset=utf-8"),
    ("tandem.mjs", "text/javascript; charset=utf-8"),
    ("viewer.js", "text/javascript; charset=utf-8"),
    ("viewer.css", "text/css; charset=utf-8"),
    ("demo.js", "text/javascript; charset=utf-8"),
];

/// What the viewer may load: its own script and styles, the customer's images and fonts, its
/// own API. No inline or foreign script runs, whatever the customer's DOM holds, and the page
/// can only be framed by the server itself (embedding by trusted origins comes with the bridge).
const VIEWER_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' \
     https: http:; img-src 'self' data: blob: https: http:; font-src 'self' data: https: http:; \
     media-src 'self' data: blob: https: http:; connect-src 'self'; frame-src 'self'; \
     child-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; \
     frame-ancestors 'self'";

pub async fn asset(State(app): State<AppState>, Path(name): Path<String>) -> Response {
    let Some((_, content_type)) = ASSETS.iter().find(|(file, _)| *file == name) else {
        return ApiError::not_found("no such file").into_response();
    };
    let path = std::path::Path::new(&app.config().assets_dir).join(&name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            "sdk_not_built",
            format!(
                "{} is missing: build the SDK with `make sdk` (assets_dir = {})",
                name,
                app.config().assets_dir
            ),
        )
        .into_response(),
    }
}

fn html(body: &'static str, csp: Option<&'static str>) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if let Some(csp) = csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    res
}

/// `/session/:id?token=<JWT>`: the agent viewer.
pub async fn viewer(Path(_id): Path<String>) -> Response {
    html(VIEWER, Some(VIEWER_CSP))
}

/// `/code?token=<JWT>` (the agent enters a 6-digit code) and `/connect?filter_<k>=<v>&token=…`
/// (the agent reaches a customer's device by custom data) and `/agent#sid=<9-digit token>&…`
/// (a session token from a chat): pages of the viewer itself.
pub async fn code() -> Response {
    html(VIEWER, Some(VIEWER_CSP))
}

/// `/demo?license=<key>`: a customer page with the SDK on it.
pub async fn demo() -> Response {
    html(DEMO, None)
}
