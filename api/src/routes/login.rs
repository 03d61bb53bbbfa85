//! Signing in to the dashboard: a link by email, redeemed for the login cookie; the login
//! session, its account, and signing out.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::email::Email;
use tandem_core::model::{LoginSession, Role, User};
use tandem_core::service::SignedIn;
use tandem_core::time;
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
    Unauthorized, UnsupportedMediaType,
};
use crate::auth::login::{clear_cookie, csrf_token, set_cookie, Login};
use crate::bootstrap::sign_in_mail;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded};
use crate::AppState;

/// Ask for a sign-in link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailLogin {
    #[schema(value_type = String, format = Email, max_length = 254)]
    email: Bounded<254>,
    /// The account to sign in to, when the email belongs to several.
    #[schema(value_type = Option<String>, max_length = 64)]
    account: Option<Bounded<64>>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkSent {
    /// Always true: the answer is the same whether or not the address may sign in.
    sent: bool,
}

/// A change from another site's page is refused even before sign-in (login CSRF); clients
/// that are not browsers send no `Origin`.
fn from_our_pages_if_a_browser(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.contains_key(header::ORIGIN) {
        crate::auth::login::same_origin(app, headers)?;
    }
    Ok(())
}

/// The peer's address, when the server was started with it (`into_make_service_with_connect_info`).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
}

/// The address a request came from: the peer, or the last `X-Forwarded-For` hop when the peer
/// is a proxy on this host or a private network.
pub(super) fn client_ip(parts_ip: Option<IpAddr>, headers: &HeaderMap) -> String {
    let Some(peer) = parts_ip else {
        return "unknown".into();
    };
    let proxied = match peer {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    };
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    match forwarded {
        Some(ip) if proxied => ip.to_string(),
        _ => peer.to_string(),
    }
}

/// Email a sign-in link
///
/// Sends a link that signs the address in (once, within 15 minutes) when it belongs to a member
/// of some account (of `account`, when given) or to a superuser. The answer is the same either
/// way, so nobody learns which addresses are known. Limited per address and per client address
/// (`rate_limited`). Without `smtp_url` the link goes to the server log.
#[utoipa::path(
    post,
    path = "/api/1/login/email",
    tag = "login",
    operation_id = "requestSignInLink",
    request_body = EmailLogin,
    responses(
        (status = 202, description = "Accepted; a link was sent if the address may sign in.", body = LinkSent),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Forbidden, TooManyRequests, ServiceUnavailable)>,
    ),
)]
pub async fn email(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Body(body): Body<EmailLogin>,
) -> ApiResult<(StatusCode, Json<LinkSent>)> {
    from_our_pages_if_a_browser(&app, &headers)?;
    let email = Email::parse(&body.email.0)
        .ok_or_else(|| ApiError::bad_request("email: not an email address"))?;
    let client = client_ip(peer, &headers);
    let account = body.account.as_ref().map(|a| a.0.as_str());
    let token = app
        .service()
        .request_login_link(&email, account, &client)
        .await?;
    if let Some(token) = token {
        let link = format!("{}/dashboard/login#token={token}", app.public_base());
        let mailer = app.mailer().clone();
        // Sent in the background: how long the SMTP server takes must not tell a known address
        // from an unknown one. A failure is logged and counted (`tandem_emails_total`).
        tokio::spawn(async move {
            let _ = mailer.send(sign_in_mail(&email, &link)).await;
        });
    }
    Ok((StatusCode::ACCEPTED, Json(LinkSent { sent: true })))
}

/// Redeem a link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkToken {
    /// The `token` of the link's `#token=` fragment.
    #[schema(value_type = String, max_length = 128)]
    token: Bounded<128>,
}

/// An account the signed-in email works in.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    id: String,
    name: String,
    role: Role,
    /// A disabled account refuses everyone.
    disabled: bool,
}

/// A signed-in browser, as the dashboard sees it.
#[derive(Serialize, ToSchema)]
pub struct LoginView {
    #[schema(format = Email)]
    email: String,
    /// Send it as `X-Tandem-CSRF` with every change made with the cookie.
    csrf_token: String,
    /// One of the instance's superusers (`superuser_emails`).
    superuser: bool,
    /// The account this browser works in; null until one is picked.
    account: Option<Membership>,
    /// Every account the email is a member of.
    accounts: Vec<Membership>,
    /// The member record in the current account.
    user: Option<User>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    created: i64,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    expires: i64,
}

fn view(signed_in: SignedIn, token: &str) -> LoginView {
    let membership = |(a, u): &(tandem_core::model::Account, User)| Membership {
        id: a.id.clone(),
        name: a.name.clone(),
        role: u.role,
        disabled: a.disabled,
    };
    LoginView {
        email: signed_in.session.email.clone(),
        csrf_token: csrf_token(token),
        superuser: signed_in.superuser,
        account: signed_in.current.as_ref().map(membership),
        accounts: signed_in.memberships.iter().map(membership).collect(),
        user: signed_in.current.map(|(_, u)| u),
        created: signed_in.session.created,
        expires: signed_in.session.expires,
    }
}

/// Sign in with a link
///
/// Redeems an emailed sign-in or invitation link (once) and sets the `tandem_session` cookie
/// (HttpOnly, SameSite=Lax; 7 days idle, 30 days at most). An invitation makes the email a
/// member of its account first. A wrong, expired or used link is `401 invalid_link`.
#[utoipa::path(
    post,
    path = "/api/1/login/link",
    tag = "login",
    operation_id = "redeemSignInLink",
    request_body = LinkToken,
    responses(
        (status = 200, description = "Signed in; the cookie is set.", body = LoginView),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn link(
    State(app): State<AppState>,
    headers: HeaderMap,
    Body(body): Body<LinkToken>,
) -> ApiResult<Response> {
    from_our_pages_if_a_browser(&app, &headers)?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match app
        .service()
        .redeem_login_link(&body.token.0, user_agent)
        .await
    {
        Ok((token, signed_in)) => {
            let cookie = set_cookie(&app, &token);
            Ok((
                [(header::SET_COOKIE, cookie)],
                Json(view(signed_in, &token)),
            )
                .into_response())
        }
        Err(tandem_core::Error::NotFound(_)) => {
            metrics::counter!("tandem_login_links_refused_total", "reason" => "invalid_link")
                .increment(1);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_link",
                "this sign-in link is not valid: it may have expired or been used already; ask for a new one",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Get the login session
#[utoipa::path(
    get,
    path = "/api/1/login/session",
    tag = "login",
    operation_id = "getLoginSession",
    security(("loginCookie" = [])),
    responses(
        (status = 200, description = "The signed-in browser.", body = LoginView),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
pub async fn session(login: Login) -> Json<LoginView> {
    Json(view(login.signed_in, &login.token))
}

/// Pick an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickAccount {
    #[schema(value_type = String, max_length = 64)]
    account: Bounded<64>,
}

/// Switch accounts
///
/// The browser works in `account` from now on: one its email is a member of (any account for a
/// superuser, who works there as an administrator).
#[utoipa::path(
    put,
    path = "/api/1/login/session",
    tag = "login",
    operation_id = "switchAccount",
    security(("loginCookie" = [])),
    request_body = PickAccount,
    responses(
        (status = 200, description = "The signed-in browser, in that account.", body = LoginView),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn switch(
    State(app): State<AppState>,
    login: Login,
    Body(body): Body<PickAccount>,
) -> ApiResult<Json<LoginView>> {
    let signed_in = app
        .service()
        .select_login_account(&login.signed_in, &body.account.0)
        .await?;
    Ok(Json(view(signed_in, &login.token)))
}

/// Sign out
#[utoipa::path(
    delete,
    path = "/api/1/login/session",
    tag = "login",
    operation_id = "signOut",
    security(("loginCookie" = [])),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared."),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn sign_out(State(app): State<AppState>, login: Login) -> ApiResult<Response> {
    let s = &login.signed_in.session;
    app.service().end_login(&s.email, &s.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(&app))],
    )
        .into_response())
}

/// One of the caller's sign-ins.
#[derive(Serialize, ToSchema)]
pub struct LoginSessionView {
    #[serde(flatten)]
    session: LoginSession,
    /// This browser's.
    current: bool,
}

/// List my sign-ins
#[utoipa::path(
    get,
    path = "/api/1/login/sessions",
    tag = "login",
    operation_id = "listLoginSessions",
    security(("loginCookie" = [])),
    responses(
        (status = 200, description = "The caller's live sign-ins, newest first.", body = Vec<LoginSessionView>),
        Errors<(Unauthorized, ServiceUnavailable)>,
    ),
)]
pub async fn sessions(
    State(app): State<AppState>,
    login: Login,
) -> ApiResult<Json<Vec<LoginSessionView>>> {
    let mine = &login.signed_in.session;
    let all = app.service().login_sessions(&mine.email).await?;
    Ok(Json(
        all.into_iter()
            .map(|session| LoginSessionView {
                current: session.id == mine.id,
                session,
            })
            .collect(),
    ))
}

/// Sign out one of my sign-ins
#[utoipa::path(
    delete,
    path = "/api/1/login/sessions/{id}",
    tag = "login",
    operation_id = "revokeLoginSession",
    security(("loginCookie" = [])),
    params(("id" = String, Path, description = "The sign-in's id.")),
    responses(
        (status = 204, description = "That browser is signed out."),
        Errors<(Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn revoke(
    State(app): State<AppState>,
    login: Login,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.service()
        .end_login(&login.signed_in.session.email, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
