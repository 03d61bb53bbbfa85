//! SAML single sign-on: administrators configure the account's IdP (`/api/1/sso`); the sign-in
//! page finds the IdP for an email or account (`/api/1/login/sso`); the service provider's
//! metadata, SP-initiated sign-in and the ACS live under `/api/1/saml/{account}/`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tandem_core::email::Email;
use tandem_core::model::{GroupRole, Role, SsoConfig, SsoIdentity};
use tandem_core::secrets;
use tandem_core::service::{Caller, SamlSignIn, SsoLookup, SAML_REQUEST_TTL};
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized, UnsupportedMediaType,
};
use super::login::{client_ip, Peer};
use crate::auth::login::{cookie, set_cookie};
use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::saml::verify::{self, Expected, Refusal};
use crate::saml::{self, CertificateInfo, Sp};
use crate::AppState;

/// The largest ACS body accepted (a signed response is a few KiB).
pub const ACS_BODY_LIMIT: usize = 256 * 1024;
/// The cookie binding a sign-in request to the browser that started it.
const SAML_COOKIE: &str = "tandem_saml";
const SSO_ERROR: &str = include_str!("../pages/sso_error.html");

/// The account's single sign-on, as administrators see it.
#[derive(Serialize, ToSchema)]
pub struct SsoView {
    configured: bool,
    /// Our service provider's values, to paste into the IdP.
    sp: Sp,
    config: Option<SsoConfig>,
    /// What the configured certificates are.
    certificates: Vec<CertificateInfo>,
}

/// A new configuration: the IdP by its metadata or by its entity id, sign-in URL and
/// certificates (explicit fields win over the metadata's), and the rest as in `SsoConfig`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoInput {
    /// The IdP's SAML metadata (XML).
    #[serde(default)]
    metadata_xml: String,
    #[serde(default)]
    idp_entity_id: String,
    #[serde(default)]
    idp_sso_url: String,
    /// PEM (or base64 DER); one, or two during a rollover.
    #[serde(default)]
    idp_certificates: Vec<String>,
    #[serde(default)]
    email_attribute: String,
    #[serde(default)]
    name_attribute: String,
    #[serde(default)]
    groups_attribute: String,
    #[serde(default)]
    group_roles: Vec<GroupRole>,
    #[serde(default)]
    jit: bool,
    #[serde(default = "agent_role")]
    default_role: Role,
    #[serde(default)]
    require_sso: bool,
    #[serde(default)]
    idp_initiated: bool,
    #[serde(default)]
    email_domains: Vec<String>,
}

fn agent_role() -> Role {
    Role::Agent
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_sso", message)
}

impl SsoInput {
    /// The configuration it describes, with the metadata read and every certificate parsed.
    fn into_config(self) -> Result<SsoConfig, ApiError> {
        let mut entity = self.idp_entity_id;
        let mut sso_url = self.idp_sso_url;
        let mut certificates = self.idp_certificates;
        if !self.metadata_xml.trim().is_empty() {
            let meta = saml::idp_metadata(&self.metadata_xml).map_err(invalid)?;
            if entity.trim().is_empty() {
                entity = meta.entity_id;
            }
            if sso_url.trim().is_empty() {
                sso_url = meta.sso_url;
            }
            if certificates.iter().all(|c| c.trim().is_empty()) {
                certificates = meta.certificates;
            }
        }
        let mut pems = Vec::new();
        for (i, text) in certificates
            .iter()
            .filter(|c| !c.trim().is_empty())
            .enumerate()
        {
            let (der, _) = saml::certificate(text)
                .map_err(|e| invalid(format!("idp_certificates[{i}]: {e}")))?;
            pems.push(saml::pem(&der));
        }
        Ok(SsoConfig {
            idp_entity_id: entity,
            idp_sso_url: sso_url,
            idp_certificates: pems,
            email_attribute: self.email_attribute.trim().to_owned(),
            name_attribute: self.name_attribute.trim().to_owned(),
            groups_attribute: self.groups_attribute.trim().to_owned(),
            group_roles: self.group_roles,
            jit: self.jit,
            default_role: self.default_role,
            require_sso: self.require_sso,
            idp_initiated: self.idp_initiated,
            email_domains: self.email_domains,
        })
    }
}

fn view(app: &AppState, account_id: &str, config: Option<SsoConfig>) -> SsoView {
    let certificates = config
        .iter()
        .flat_map(|c| &c.idp_certificates)
        .filter_map(|pem| saml::certificate(pem).ok().map(|(_, info)| info))
        .collect();
    SsoView {
        configured: config.is_some(),
        sp: Sp::new(app.public_base(), account_id),
        config,
        certificates,
    }
}

/// Show the account's single sign-on
///
/// The SP values to give the IdP, and the IdP configuration if there is one (administrators).
#[utoipa::path(
    get,
    path = "/api/1/sso",
    tag = "sso",
    operation_id = "getSso",
    security(("agentJwt" = []), ("loginCookie" = [])),
    responses(
        (status = 200, description = "The account's single sign-on.", body = SsoView),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn get(State(app): State<AppState>, agent: AgentAuth) -> ApiResult<Json<SsoView>> {
    let account_id = agent.account.id.clone();
    let config = app.service().sso_config(&Caller::from(agent)).await?;
    Ok(Json(view(&app, &account_id, config)))
}

/// Configure single sign-on
///
/// Replaces the account's IdP configuration (administrators). A configuration without a
/// signing certificate, or with one that does not parse, is refused (`invalid_sso`, naming the
/// field); an email domain another account uses is `409 domain_taken`.
#[utoipa::path(
    put,
    path = "/api/1/sso",
    tag = "sso",
    operation_id = "setSso",
    security(("agentJwt" = []), ("loginCookie" = [])),
    request_body = SsoInput,
    responses(
        (status = 200, description = "The saved configuration.", body = SsoView),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn put(
    State(app): State<AppState>,
    agent: AgentAuth,
    Body(input): Body<SsoInput>,
) -> ApiResult<Json<SsoView>> {
    let account_id = agent.account.id.clone();
    let caller = Caller::from(agent);
    caller.administrator()?;
    let config = input.into_config()?;
    let saved = app.service().set_sso_config(&caller, config).await?;
    Ok(Json(view(&app, &account_id, Some(saved))))
}

/// Remove single sign-on
#[utoipa::path(
    delete,
    path = "/api/1/sso",
    tag = "sso",
    operation_id = "removeSso",
    security(("agentJwt" = []), ("loginCookie" = [])),
    responses(
        (status = 204, description = "Removed; members sign in by email link again."),
        Errors<(Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn remove(State(app): State<AppState>, agent: AgentAuth) -> ApiResult<StatusCode> {
    app.service().remove_sso_config(&agent.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where to sign in with SSO.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoStart {
    /// A work email: its domain names the account.
    #[serde(default)]
    email: Option<String>,
    /// Or the account id.
    #[serde(default)]
    account: Option<String>,
    /// Our own path to open once signed in.
    #[serde(default)]
    next: Option<String>,
}

/// Where the browser goes next.
#[derive(Serialize, ToSchema)]
pub struct SsoRedirect {
    url: String,
}

/// Find the single sign-on for an email or account
///
/// Answers the address that starts sign-in at the account's IdP, or `404 sso_not_found`.
#[utoipa::path(
    post,
    path = "/api/1/login/sso",
    tag = "login",
    operation_id = "findSso",
    request_body = SsoStart,
    responses(
        (status = 200, description = "Navigate the browser here.", body = SsoRedirect),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn find(
    State(app): State<AppState>,
    headers: HeaderMap,
    Body(start): Body<SsoStart>,
) -> ApiResult<Json<SsoRedirect>> {
    if headers.contains_key(header::ORIGIN) {
        crate::auth::login::same_origin(&app, &headers)?;
    }
    let next = start.next.as_deref().unwrap_or("/dashboard/");
    let next = saml::own_path(next)
        .ok_or_else(|| ApiError::bad_request("next: not a path of this server"))?;
    let email;
    let lookup = match (&start.email, &start.account) {
        (Some(e), None) => {
            email = Email::parse(e.trim())
                .ok_or_else(|| ApiError::bad_request("email: not an email address"))?;
            SsoLookup::Email(&email)
        }
        (None, Some(a)) if !a.trim().is_empty() && a.len() <= 64 => SsoLookup::Account(a.trim()),
        _ => {
            return Err(ApiError::bad_request(
                "give an email or an account, not both",
            ))
        }
    };
    let account = match app.service().find_sso(lookup).await {
        Ok(a) => a,
        Err(tandem_core::Error::NotFound(_)) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "sso_not_found",
                "No single sign-on is set up for that address or account.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Ok(Json(SsoRedirect {
        url: format!("/api/1/saml/{account}/login?{query}"),
    }))
}

/// Service provider metadata
#[utoipa::path(
    get,
    path = "/api/1/saml/{account}/metadata",
    tag = "sso",
    operation_id = "samlMetadata",
    params(("account" = String, Path, description = "The account id.")),
    responses(
        (status = 200, description = "SAML metadata (XML).", content_type = "application/samlmetadata+xml"),
        Errors<(NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn metadata(
    State(app): State<AppState>,
    Path(account): Path<String>,
) -> ApiResult<Response> {
    let (account, _) = app.service().account_sso(&account).await?;
    let sp = Sp::new(app.public_base(), &account.id);
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        sp.metadata(),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The page a refused or failed sign-in shows, with the reason in words; counted and logged.
fn refusal_page(status: StatusCode, account: &str, refusal: &Refusal) -> Response {
    metrics::counter!("tandem_saml_refusals_total", "reason" => refusal.reason).increment(1);
    tracing::warn!(account, reason = refusal.reason, message = %refusal.message, "SAML sign-in refused");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    // Messages are written as the API's are (lower case, no full stop); a page shows a sentence.
    let mut sentence: String = refusal.message.clone();
    if let Some(first) = sentence.chars().next() {
        sentence.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
    }
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    let page = SSO_ERROR
        .replace("{message}", &escape(&sentence))
        .replace("{reason}", refusal.reason);
    let mut res = (status, Html(page)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn refusal(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

/// The page for a core error on the SAML paths.
fn error_page(account: &str, e: tandem_core::Error) -> Response {
    match e {
        tandem_core::Error::NotFound(_) => refusal_page(
            StatusCode::NOT_FOUND,
            account,
            &refusal(
                "not_configured",
                "this account has no single sign-on set up",
            ),
        ),
        tandem_core::Error::Refused { id, message } => {
            refusal_page(StatusCode::FORBIDDEN, account, &refusal(id, message))
        }
        tandem_core::Error::RateLimited => refusal_page(
            StatusCode::TOO_MANY_REQUESTS,
            account,
            &refusal(
                "rate_limited",
                "too many sign-ins were started from your network; wait a few minutes",
            ),
        ),
        e => {
            let (status, refused) = unavailable(e);
            refusal_page(status, account, &refused)
        }
    }
}

/// Any other core error (the database, mostly), as the API would answer it.
fn unavailable(e: tandem_core::Error) -> AcsError {
    let api = ApiError::from(e);
    (api.status, refusal("unavailable", api.message))
}

/// `Set-Cookie` for the request cookie: sent back on the IdP's POST to the ACS, which is a
/// cross-site request on https (SameSite=None needs Secure); Lax suffices on plain http.
fn saml_cookie(app: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let same_site = if app.over_https() {
        "None; Secure"
    } else {
        "Lax"
    };
    HeaderValue::from_str(&format!(
        "{SAML_COOKIE}={value}; Path=/api/1/saml/; HttpOnly; SameSite={same_site}; Max-Age={max_age}"
    ))
    .expect("a valid header value")
}

/// Sign in with the account's IdP (SP-initiated)
///
/// Redirects the browser to the IdP with an AuthnRequest (HTTP-Redirect binding) bound to this
/// browser by a cookie.
#[utoipa::path(
    get,
    path = "/api/1/saml/{account}/login",
    tag = "sso",
    operation_id = "samlLogin",
    params(
        ("account" = String, Path, description = "The account id."),
        ("next" = Option<String>, Query, description = "Our own path to open once signed in."),
    ),
    responses(
        (status = 302, description = "To the IdP."),
        (status = 404, description = "No single sign-on for this account (an HTML page)."),
        (status = 429, description = "Too many sign-ins started from this address (an HTML page)."),
        (status = 503, description = "The database is unavailable (an HTML page)."),
    ),
)]
pub async fn login(
    State(app): State<AppState>,
    Path(account): Path<String>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (account, config) = match app.service().account_sso(&account).await {
        Ok(found) => found,
        Err(e) => return error_page(&account, e),
    };
    let next = q
        .next
        .as_deref()
        .and_then(saml::own_path)
        .unwrap_or("/dashboard/");
    let nonce = secrets::bearer_token();
    let id = match app
        .service()
        .begin_saml(
            &account.id,
            &secrets::hash_token(&nonce),
            next,
            &client_ip(peer, &headers),
        )
        .await
    {
        Ok(id) => id,
        Err(e) => return error_page(&account.id, e),
    };
    let sp = Sp::new(app.public_base(), &account.id);
    let url = sp.authn_request_url(&config.idp_sso_url, &id, "");
    let mut res = (StatusCode::FOUND, [(header::LOCATION, url)]).into_response();
    let h = res.headers_mut();
    h.insert(
        header::SET_COOKIE,
        saml_cookie(&app, &nonce, SAML_REQUEST_TTL.as_secs()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The values of a form body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Assertion Consumer Service (HTTP-POST binding)
///
/// Takes the IdP's signed response, checks it (signature by a configured certificate over the
/// Response or Assertion, algorithms, issuer, audience, destination, recipient, the request it
/// answers and this browser, time windows, replay), and signs the browser in: `303` to the page
/// it wanted with the login cookie. Anything else is an HTML page that says why.
#[utoipa::path(
    post,
    path = "/api/1/saml/{account}/acs",
    tag = "sso",
    operation_id = "samlAcs",
    params(("account" = String, Path, description = "The account id.")),
    responses(
        (status = 303, description = "Signed in; to the page asked for."),
        (status = 400, description = "No SAMLResponse, or not base64 (an HTML page)."),
        (status = 403, description = "Refused (an HTML page that says why)."),
        (status = 404, description = "No single sign-on for this account (an HTML page)."),
        (status = 413, description = "The body is over 256 KiB."),
        (status = 503, description = "The database is unavailable (an HTML page)."),
    ),
)]
pub async fn acs(
    State(app): State<AppState>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let res = consume(&app, &account_id, &headers, body).await;
    metrics::histogram!("tandem_saml_acs_seconds").record(started.elapsed().as_secs_f64());
    match res {
        Ok(res) => res,
        Err((status, refused)) => refusal_page(status, &account_id, &refused),
    }
}

type AcsError = (StatusCode, Refusal);

async fn consume(
    app: &AppState,
    account_id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AcsError> {
    let forbidden = |r: Refusal| (StatusCode::FORBIDDEN, r);
    let body = body.map_err(|e| {
        (
            e.status(),
            refusal(
                "body",
                "the sign-in response is too large or unreadable (at most 256 KiB)",
            ),
        )
    })?;
    if body.len() > ACS_BODY_LIMIT {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            refusal(
                "body",
                "the sign-in response is too large (at most 256 KiB)",
            ),
        ));
    }
    let encoded = form_value(&body, "SAMLResponse").ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            refusal("no_response", "no SAMLResponse was posted"),
        )
    })?;
    let compact: String = encoded.split_whitespace().collect();
    let xml = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                refusal("malformed", "the SAMLResponse is not base64"),
            )
        })?;
    let (account, config) = match app.service().account_sso(account_id).await {
        Ok(found) => found,
        Err(tandem_core::Error::NotFound(_)) => {
            return Err((
                StatusCode::NOT_FOUND,
                refusal(
                    "not_configured",
                    "this account has no single sign-on set up",
                ),
            ))
        }
        Err(e) => return Err(unavailable(e)),
    };
    let sp = Sp::new(app.public_base(), &account.id);
    let certificates = config
        .idp_certificates
        .iter()
        .filter_map(|pem| saml::certificate(pem).ok().map(|(der, _)| der))
        .collect::<Vec<_>>();
    let idp = config.idp_entity_id.clone();
    let verified = tokio::task::spawn_blocking(move || {
        verify::verify(
            &xml,
            &Expected {
                idp_entity_id: &idp,
                sp_entity_id: &sp.entity_id,
                acs_url: &sp.acs_url,
                certificates: &certificates,
                now: chrono::Utc::now(),
            },
        )
    })
    .await
    .map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            refusal("internal", "the response could not be checked"),
        )
    })?
    .map_err(forbidden)?;
    let identity = identity(&config, &verified).map_err(forbidden)?;
    let nonce = cookie(headers, SAML_COOKIE);
    let browser_hash = nonce.map(secrets::hash_token);
    let relay = form_value(&body, "RelayState").unwrap_or_default();
    let unsolicited_next = saml::own_path(&relay).unwrap_or("/dashboard/");
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sign_in = SamlSignIn {
        in_response_to: verified.in_response_to.as_deref(),
        browser_hash: browser_hash.as_deref(),
        assertion_id: &verified.assertion_id,
        valid_until: verified.valid_until.timestamp_micros(),
        identity,
        user_agent,
    };
    let (token, _, next) = match app
        .service()
        .finish_saml(&account, &config, sign_in, unsolicited_next)
        .await
    {
        Ok(done) => done,
        Err(tandem_core::Error::Refused { id, message }) => {
            return Err((StatusCode::FORBIDDEN, refusal(id, message)))
        }
        Err(e) => return Err(unavailable(e)),
    };
    metrics::counter!("tandem_saml_signins_total").increment(1);
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    let h = res.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(app, &token));
    h.append(header::SET_COOKIE, saml_cookie(app, "", 0));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The person an assertion names, by the account's attribute settings.
fn identity(config: &SsoConfig, v: &verify::Verified) -> Result<SsoIdentity, Refusal> {
    let values = |name: &str| -> Vec<String> {
        v.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, vs)| vs.iter().cloned())
            .collect()
    };
    let email = if config.email_attribute.is_empty() {
        v.name_id.clone()
    } else {
        values(&config.email_attribute)
            .into_iter()
            .next()
            .ok_or_else(|| {
                refusal(
                    "no_email",
                    format!(
                        "the identity provider sent no {:?} attribute, which gives the email",
                        config.email_attribute
                    ),
                )
            })?
    };
    let name = (!config.name_attribute.is_empty())
        .then(|| values(&config.name_attribute).into_iter().next())
        .flatten();
    let groups = if config.groups_attribute.is_empty() {
        Vec::new()
    } else {
        values(&config.groups_attribute)
    };
    Ok(SsoIdentity {
        email: email.trim().to_owned(),
        name,
        groups,
    })
}
