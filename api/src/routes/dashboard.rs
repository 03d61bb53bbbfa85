//! The dashboard: a single-page app at `/dashboard`. Its files live under `/dashboard/assets/`;
//! every other path below `/dashboard` is one of its pages and gets its `index.html`.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::embedded;
use crate::error::ApiError;

/// What the app may load: its own scripts, styles, API, sockets and viewer frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; \
    base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'self'";

fn not_built() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "dashboard_not_built",
        "the dashboard is not built into this server: run `make dashboard` and rebuild",
    )
    .into_response()
}

fn serve(file: embedded::File, cache: &'static str) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        file.bytes.into_owned(),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

/// `/dashboard` and its pages: the app's `index.html`.
pub async fn page() -> Response {
    match embedded::dashboard("index.html") {
        // The sign-in link's token is in the fragment, which never reaches the server or a
        // Referer; the page itself is never cached, so a new build shows at once.
        Some(index) => serve(index, "no-cache"),
        None => not_built(),
    }
}

/// `/dashboard/<path>`: a built file (named by content hash, cached for good), or a page.
pub async fn file(Path(path): Path<String>) -> Response {
    if path.starts_with("assets/") || path.rsplit('/').next().is_some_and(|f| f.contains('.')) {
        return match embedded::dashboard(&path) {
            Some(f) => serve(f, "public, max-age=31536000, immutable"),
            None => ApiError::not_found("no such file").into_response(),
        };
    }
    page().await
}
