//! Pages and scripts the server serves to browsers: the web SDK and viewer bundles (built from
//! `sdk-js/` into `assets_dir`), the agent viewer at `/session/:id`, the demo customer page,
//! the landing page at `/`, the favicon, and a page for addresses that hold none.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use sha2::{Digest, Sha256};
use tandem_core::model::Account;

use crate::auth::login::cookie_token;
use crate::error::ApiError;
use crate::AppState;

const VIEWER: &str = include_str!("../pages/viewer.html");
const DEMO: &str = include_str!("../pages/demo.html");
const HOME: &str = include_str!("../pages/home.html");
const NOT_FOUND: &str = include_str!("../pages/not_found.html");
const FAVICON: &str = include_str!("../pages/favicon.svg");
/// The design system's tokens, shared with the dashboard, the viewer and the customer UI.
const TOKENS: &str = include_str!("../../../sdk-js/packages/design/tokens.css");
const PAGE_CSS: &str = include_str!("../pages/page.css");

/// What the server's own pages may load: their stylesheets and images, and for the demo page
/// the SDK's scripts, API and sockets.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

/// The bundles `sdk-js` builds, and their content types.
const ASSETS: &[(&str, &str)] = &[
    ("tandem.js", "text/javascript; charset=utf-8"),
    ("genesys.js", "text/javascript; charset=utf-8"),
    ("tandem.mjs", "text/javascript; charset=utf-8"),
    ("viewer.js", "text/javascript; charset=utf-8"),
    ("viewer-boot.js", "text/javascript; charset=utf-8"),
    ("viewer.css", "text/css; charset=utf-8"),
    ("demo.js", "text/javascript; charset=utf-8"),
    ("glance.js", "text/javascript; charset=utf-8"),
    ("glance-agent.js", "text/javascript; charset=utf-8"),
];

/// Who may put the viewer in a frame.
#[derive(Debug, PartialEq)]
enum Embedders {
    /// Only the server's own pages.
    SelfOnly,
    /// The server and the account's trusted origins (those a CSP source can express).
    Account(Vec<String>),
    /// Anyone: a `token_source=postMessage` page whose account is not known yet. It holds no
    /// credential until its parent hands one over, and then checks the parent's origin against
    /// the account's trusted origins before using it for anything else.
    Any,
}

/// What the viewer may load: its own script and styles, its own API, and the customer's images,
/// fonts and styles only from the account's `asset_origins`. No inline or foreign script runs,
/// whatever the customer's DOM holds, and no request leaves for a host the account has not
/// allowed.
fn viewer_csp(asset_origins: &[String], embedders: &Embedders) -> String {
    let assets: String = asset_origins
        .iter()
        .filter(|o| valid_origin(o))
        .map(|o| format!(" {o}"))
        .collect();
    let ancestors = match embedders {
        Embedders::SelfOnly => "'self'".to_owned(),
        Embedders::Any => "*".to_owned(),
        Embedders::Account(origins) if origins.iter().any(|o| o == "*") => "*".to_owned(),
        Embedders::Account(origins) => std::iter::once("'self'")
            .chain(
                origins
                    .iter()
                    .map(String::as_str)
                    .filter(|o| valid_origin(o)),
            )
            .collect::<Vec<_>>()
            .join(" "),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'{assets}; \
         img-src 'self' data: blob:{assets}; font-src 'self' data:{assets}; \
         media-src 'self' data: blob:{assets}; connect-src 'self'; frame-src 'self'; \
         child-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; \
         frame-ancestors {ancestors}"
    )
}

/// `scheme://host[:port]`, the host possibly starting with `*.`: nothing that could smuggle
/// another directive into the policy.
fn valid_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_prefix("*.").unwrap_or(rest);
    let (host, port) = host.split_once(':').unwrap_or((host, ""));
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && (port == "*" || port.chars().all(|c| c.is_ascii_digit()))
}

/// `/sdk-js/<file>`: a built bundle. Browsers ask again each time (`no-cache`: a new build shows
/// at once) with the `ETag` they hold, its content's SHA-256, and an unchanged file is a `304`
/// without its bytes: a returning agent's browser reuses the viewer's script, and the code it
/// compiled from it, instead of downloading and parsing it again.
pub async fn asset(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((_, content_type)) = ASSETS.iter().find(|(file, _)| *file == name) else {
        return ApiError::not_found("no such file").into_response();
    };
    let dir = &app.config().assets_dir;
    let found = if dir.is_empty() {
        crate::embedded::sdk(&name).map(|f| (f.sha256, f.bytes.into_owned()))
    } else {
        tokio::fs::read(std::path::Path::new(dir).join(&name))
            .await
            .ok()
            .map(|bytes| (Sha256::digest(&bytes).into(), bytes))
    };
    let Some((sha256, bytes)) = found else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "sdk_not_built",
            if dir.is_empty() {
                format!("{name} is not built into this server: run `make sdk` and rebuild")
            } else {
                format!("{name} is missing from assets_dir {dir}: build the SDK with `make sdk`")
            },
        )
        .into_response();
    };
    let etag = etag(&sha256);
    let cached = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is a header value"),
        ),
    ];
    if holds(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, cached).into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        cached,
        bytes,
    )
        .into_response()
}

/// A strong `ETag` for content of this SHA-256 (its first 16 bytes, in hex).
fn etag(sha256: &[u8; 32]) -> String {
    let hex: String = sha256[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether the request's `If-None-Match` names `etag` (or `*`): the browser holds this content.
fn holds(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn html(body: &'static str, csp: Option<String>) -> Response {
    file("text/html; charset=utf-8", body, csp)
}

fn file(content_type: &'static str, body: &'static str, csp: Option<String>) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, content_type),
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
        if let Ok(value) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    res
}

/// The viewer page, under the policy of an account the request holds a credential of: the JWT
/// in `?token=`, or for `/session/<id>`, `?view=<hash of a live stream token of that session>`
/// (what an embedded viewer reloads with once its parent has handed it the JWT, which stays
/// out of URLs). Without one, nothing but the server itself (and, for
/// `token_source=postMessage`, any embedder; see [`Embedders::Any`]) — the same answer whatever
/// the path names, so a caller without a credential learns nothing of which sessions exist.
async fn viewer_page(
    app: &AppState,
    session_id: Option<&str>,
    query: &Query<HashMap<String, String>>,
    parts: &Parts,
) -> Response {
    let account = match (query.get("token"), query.get("view"), session_id) {
        (Some(token), _, _) => app.verify_jwt(token).await.ok().map(|agent| agent.account),
        (None, Some(view), Some(id)) => viewing(app, view, id).await,
        // Signed in to the dashboard: the account the browser works in.
        _ if cookie_token(&parts.headers).is_some() => {
            app.login_agent(parts).await.ok().map(|agent| agent.account)
        }
        _ => None,
    };
    let post_message = query
        .get("token_source")
        .is_some_and(|s| s == "postMessage");
    let (assets, embedders) = match account {
        Some(a) => (
            a.settings.asset_origins,
            Embedders::Account(a.settings.trusted_origins),
        ),
        None if post_message => (vec![], Embedders::Any),
        None => (vec![], Embedders::SelfOnly),
    };
    html(VIEWER, Some(viewer_csp(&assets, &embedders)))
}

/// `/session/:id?token=<JWT>` (or `token_source=postMessage`): the agent viewer, and
/// `/session/:id/history`, the pages the customer visited.
pub async fn viewer(
    State(app): State<AppState>,
    Path(id): Path<String>,
    query: Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    viewer_page(&app, Some(&id), &query, &parts).await
}

/// The account whose viewer's key `view` (see `Service::viewer_key`) is one of session
/// `session_id`.
async fn viewing(app: &AppState, view: &str, session_id: &str) -> Option<Account> {
    let (account, session) = app.service().viewer_key(view).await.ok()?;
    (session.id == session_id).then_some(account)
}

/// `/code?token=<JWT>` (the agent enters a 6-digit code), `/session?ssncode=<code>` or
/// `/session?visitorid=<id>` (Glance's viewer URL, `&wait=1` to wait for the customer),
/// `/connect?filter_<k>=<v>&token=…`
/// (the agent reaches a customer's device by custom data) and `/agent#sid=<9-digit token>&…` (a
/// session token from a chat): pages of the viewer itself. Signed in to the dashboard, the
/// cookie stands for the token.
pub async fn code(
    State(app): State<AppState>,
    query: Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    viewer_page(&app, None, &query, &parts).await
}

/// `/demo?license=<key>`: a customer page with the SDK on it.
pub async fn demo() -> Response {
    html(DEMO, None)
}

/// `/`: what this server is, with the way to the console, the code page and the API reference.
pub async fn home() -> Response {
    html(HOME, Some(PAGE_CSP.to_owned()))
}

/// `/favicon.svg`, linked from every page.
pub async fn favicon() -> Response {
    file("image/svg+xml", FAVICON, None)
}

/// `/favicon.ico`, which browsers ask for unprompted: the SVG icon.
pub async fn favicon_ico() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, "/favicon.svg")],
    )
        .into_response()
}

/// `/design/<file>.css`: the design tokens and the server pages' styles.
pub async fn style(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "tokens.css" => file("text/css; charset=utf-8", TOKENS, None),
        "page.css" => file("text/css; charset=utf-8", PAGE_CSS, None),
        _ => ApiError::not_found("no such stylesheet").into_response(),
    }
}

/// Any other address: the API's JSON error for API clients (anything under `/api`, or that
/// does not ask for HTML), a page saying so for a person in a browser.
pub async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !browser || uri.path().starts_with("/api/") || uri.path() == "/api" {
        return ApiError::not_found("no such route").into_response();
    }
    let mut res = html(NOT_FOUND, Some(PAGE_CSP.to_owned()));
    *res.status_mut() = StatusCode::NOT_FOUND;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_reach_the_policy() {
        for ok in [
            "https://shop.example",
            "http://127.0.0.1:8080",
            "https://*.cdn.example",
        ] {
            assert!(valid_origin(ok), "{ok}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "https://a.example; script-src *",
            "https://",
            "javascript:alert(1)",
            "https://a b",
            "*",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
        let csp = viewer_csp(
            &[
                "https://shop.example".into(),
                "https://x; script-src *".into(),
            ],
            &Embedders::SelfOnly,
        );
        assert!(csp.contains("img-src 'self' data: blob: https://shop.example;"));
        assert!(!csp.contains("script-src *"));
        assert!(csp.ends_with("frame-ancestors 'self'"));
        let none = viewer_csp(&[], &Embedders::Any);
        assert!(none.contains("img-src 'self' data: blob:;"));
        assert!(none.ends_with("frame-ancestors *"));
    }

    #[test]
    fn the_account_chooses_who_may_frame_the_viewer() {
        let framed = |origins: &[&str]| {
            viewer_csp(
                &[],
                &Embedders::Account(origins.iter().map(|o| o.to_string()).collect()),
            )
        };
        assert!(
            framed(&["https://*.crm.example", "http://127.0.0.1:*", "bad origin"])
                .ends_with("frame-ancestors 'self' https://*.crm.example http://127.0.0.1:*")
        );
        assert!(framed(&[]).ends_with("frame-ancestors 'self'"));
        assert!(framed(&["*"]).ends_with("frame-ancestors *"));
    }
}
