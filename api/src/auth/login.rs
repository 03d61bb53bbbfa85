//! Dashboard sign-in: the login cookie, and the proof a cookie-authenticated change must carry
//! that it comes from our own pages (the server's `Origin` and the session's CSRF token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use tandem_core::secrets;
use tandem_core::service::{SignedIn, LOGIN_MAX};

use super::AgentAuth;
use crate::error::ApiError;
use crate::AppState;

/// The cookie a signed-in browser holds.
pub const COOKIE: &str = "tandem_session";
/// The header a cookie-authenticated change carries, with [`csrf_token`]'s value.
pub const CSRF_HEADER: &str = "x-tandem-csrf";

/// The login cookie's token, when the request carries one.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `name`, when the request carries one that is not empty.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a login session: derived from its secret, so it needs no storage, and
/// readable only by our own pages (`GET /api/1/login/session`, same origin).
pub fn csrf_token(session_token: &str) -> String {
    secrets::hash_token(&format!("csrf:{session_token}"))
}

impl AppState {
    /// Whether browsers reach this server over https (cookies then carry `Secure`).
    pub fn over_https(&self) -> bool {
        self.public_base().starts_with("https://")
    }
}

/// `; Secure` when the server is reached over https, else nothing.
fn secure(app: &AppState) -> &'static str {
    if app.over_https() {
        "; Secure"
    } else {
        ""
    }
}

/// `Set-Cookie` for a new login session: HttpOnly, SameSite=Lax, the whole site, Secure when
/// the server is reached over https, and no longer than a login session can last.
pub fn set_cookie(app: &AppState, token: &str) -> HeaderValue {
    let value = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        LOGIN_MAX.as_secs(),
        secure(app)
    );
    HeaderValue::from_str(&value).expect("a token is a valid header value")
}

/// `Set-Cookie` that deletes the login cookie.
pub fn clear_cookie(app: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(app)
    ))
    .expect("a valid header value")
}

fn refused(message: &str) -> ApiError {
    metrics::counter!("tandem_csrf_refusals_total").increment(1);
    tracing::warn!(
        reason = message,
        "a cookie-authenticated change was refused"
    );
    ApiError::new(StatusCode::FORBIDDEN, "csrf_refused", message)
}

/// Whether a request comes from one of our own pages: an `Origin` that is the server's own.
/// Browsers send `Origin` with every cross-origin request and every same-origin one that is not
/// a GET or HEAD, so a change without it did not come from a browser page of ours.
pub fn same_origin(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) if origin == app.origin() => Ok(()),
        Some(_) => Err(refused(
            "this request comes from another site's page; it is refused",
        )),
        None => Err(refused(
            "a change made with the sign-in cookie must carry Origin",
        )),
    }
}

/// A change authenticated by the cookie must come from our pages: our `Origin` and the
/// session's CSRF token. Reads (GET, HEAD) need neither.
fn check_change(app: &AppState, parts: &Parts, token: &str) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    same_origin(app, &parts.headers)?;
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !secrets::constant_time_eq(sent, &csrf_token(token)) {
        return Err(refused(
            "the X-Tandem-CSRF header is missing or wrong; reload the page",
        ));
    }
    Ok(())
}

/// A signed-in browser: its login session, and the cookie's token.
pub struct Login {
    pub signed_in: SignedIn,
    pub token: String,
}

impl AppState {
    /// The login session a request's cookie opens, with the CSRF check for changes.
    pub async fn verify_login(&self, parts: &Parts) -> Result<Login, ApiError> {
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(not_signed_in());
        };
        check_change(self, parts, token)?;
        match self.service().login(token).await {
            Ok(signed_in) => Ok(Login {
                signed_in,
                token: token.to_owned(),
            }),
            Err(tandem_core::Error::NotFound(_)) => Err(not_signed_in()),
            Err(e) => Err(e.into()),
        }
    }

    /// The agent a signed-in browser works as: the member record in its current account.
    pub async fn login_agent(&self, parts: &Parts) -> Result<AgentAuth, ApiError> {
        let login = self.verify_login(parts).await?;
        let Some((account, user)) = login.signed_in.current else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no_account",
                "pick an account to work in first",
            ));
        };
        if account.disabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "this account is disabled; ask your Tandem operator",
            ));
        }
        Ok(AgentAuth {
            account,
            user,
            policy: None,
        })
    }
}

pub fn not_signed_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "not_signed_in",
        "you are not signed in",
    )
}

impl FromRequestParts<AppState> for Login {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.verify_login(parts).await
    }
}
