//! The OpenAPI document's frame: info, tags, security schemes and the error responses. The
//! operations come from `#[utoipa::path]` on the handlers, collected by the router (`super`).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use axum::http::StatusCode;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Header, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse, ToSchema};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem REST API",
        version = "1",
        description = include_str!("openapi.md"),
    ),
    tags(
        (name = "sessions", description = "Co-browsing sessions: create, find, join, change and end them."),
        (name = "devices", description = "Customer devices: registration by the device SDK; lists and lookups for agents."),
        (name = "users", description = "Agents of the account."),
        (name = "account", description = "The caller's account, token policy and region."),
        (name = "login", description = "Dashboard sign-in: a link by email, the login cookie, the account a browser works in."),
        (name = "members", description = "The account's members and invitations (administrators)."),
        (name = "keys", description = "The account's JWT signing keys (administrators)."),
        (name = "sso", description = "SAML single sign-on: the account's identity provider (administrators), and the service provider's metadata, sign-in and ACS."),
        (name = "instance", description = "Every account and this server (the instance's superusers)."),
        (name = "operations", description = "Health, readiness, metrics and this document; no authentication."),
    ),
    components(
        schemas(ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            ServiceUnavailable,
        ),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// `agentJwt` for agents and integrations; `deviceLicense`, `deviceId` and `deviceToken` together
/// for the device SDK.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description))
        };
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                name,
                description,
            )))
        };
        components.add_security_scheme(
            "agentJwt",
            SecurityScheme::Http(
                bearer(
                    "An RS256 JWT signed with one of the account's keys: `iss` = license key, \
                     `sub` = agent email, `aud` = an accepted audience, `exp` required; optional \
                     `displayName`, `role` (`administrator`|`agent`) and `policy`.",
                )
                .bearer_format("JWT")
                .build(),
            ),
        );
        components.add_security_scheme(
            "loginCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "tandem_session",
                "The dashboard's sign-in cookie (`POST /api/1/login/link`). A request it \
                 authenticates that is not a GET must carry `X-Tandem-CSRF` (from `GET \
                 /api/1/login/session`) and the server's own `Origin`, or it is refused with \
                 `403 csrf_refused`. It works as the member record in the browser's current \
                 account.",
            ))),
        );
        components.add_security_scheme(
            "deviceLicense",
            header(
                "X-CobrowseLicense",
                "The account's license key, sent by the device SDK.",
            ),
        );
        components.add_security_scheme(
            "deviceId",
            header(
                "X-CobrowseDevice",
                "The device's id, chosen by the device SDK.",
            ),
        );
        components.add_security_scheme(
            "deviceToken",
            SecurityScheme::Http(
                bearer(
                    "The `device_token` returned by the device's first registration, sent as \
                     `Authorization: Bearer <device_token>`.",
                )
                .build(),
            ),
        );
    }
}

/// An error answer: its status and the response component that describes it.
pub trait ErrorResponse {
    const STATUS: StatusCode;
    const NAME: &'static str;
}

/// The error answers an operation documents, as one `responses(...)` item:
/// `Errors<(Unauthorized, NotFound)>`.
pub struct Errors<T>(PhantomData<T>);

macro_rules! errors {
    ($($t:ident),+) => {
        impl<$($t: ErrorResponse),+> IntoResponses for Errors<($($t,)+)> {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$((
                    $t::STATUS.as_str().to_owned(),
                    RefOr::Ref(Ref::from_response_name($t::NAME)),
                )),+])
            }
        }
    };
}

errors!(A);
errors!(A, B);
errors!(A, B, C);
errors!(A, B, C, D);
errors!(A, B, C, D, E);
errors!(A, B, C, D, E, F);
errors!(A, B, C, D, E, F, G);
errors!(A, B, C, D, E, F, G, H);
errors!(A, B, C, D, E, F, G, H, I);

fn error_response(description: &str) -> ResponseBuilder {
    Response::builder().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(ErrorBody::name()))),
    )
}

macro_rules! error_responses {
    ($($name:ident = $status:ident, $description:literal;)+) => {$(
        pub struct $name;
        impl ErrorResponse for $name {
            const STATUS: StatusCode = StatusCode::$status;
            const NAME: &'static str = stringify!($name);
        }
        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (Self::NAME, RefOr::T(extend(Self::STATUS, error_response($description)).build()))
            }
        }
    )+};
}

error_responses! {
    BadRequest = BAD_REQUEST, "The request is malformed: a body that is not valid JSON \
        (`invalid_json`) or not an object (`invalid_body`), a field the body does not have, of the \
        wrong type or value (`invalid_request`, `invalid_custom_data`, `invalid_device`, \
        `invalid_device_id`), or a bad query parameter (`invalid_query`).";
    Unauthorized = UNAUTHORIZED, "Missing or invalid credentials. Whatever was wrong with a JWT \
        (issuer, key, signature, audience, claims), the answer is the same `{id: \"invalid_token\", \
        message: \"invalid token\"}`; the reason is in the server's log and \
        `tandem_auth_failures_total{reason}`. A JWT that verifies but has expired gets \
        `{id: \"token_expired\", message: \"jwt expired\"}`. Missing headers get `unauthorized`.";
    Forbidden = FORBIDDEN, "Authenticated, but not allowed: the token's policy or the caller's \
        role does not permit this (`forbidden`); the account is disabled (`account_disabled`); a \
        browser works in no account yet (`no_account`); a change made with the sign-in cookie \
        came without our `Origin` and `X-Tandem-CSRF` (`csrf_refused`).";
    NotFound = NOT_FOUND, "No such resource in the caller's account, or one the caller may not \
        see (`not_found`).";
    Conflict = CONFLICT, "The change is not allowed in the resource's current state \
        (`conflict`), e.g. an illegal state transition or a change to an ended session.";
    PayloadTooLarge = PAYLOAD_TOO_LARGE, "The body is larger than the server accepts (64 KiB by \
        default; `body_too_large`).";
    UnsupportedMediaType = UNSUPPORTED_MEDIA_TYPE, "The body was not sent as \
        `Content-Type: application/json` (`unsupported_media_type`).";
    TooManyRequests = TOO_MANY_REQUESTS, "Too many failed code or access-token lookups by this \
        agent or account in the last minute, or too many sign-in links asked for by this address \
        or client (`rate_limited`); try again later.";
    ServiceUnavailable = SERVICE_UNAVAILABLE, "The database is not reachable \
        (`database_unavailable`); the answer carries `Retry-After`. Nothing was changed: try again \
        shortly.";
}

/// What an error response carries besides its body: a 503 says when to try again (as
/// `ApiError::into_response` does).
fn extend(status: StatusCode, response: ResponseBuilder) -> ResponseBuilder {
    if status != StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    let seconds = ObjectBuilder::new().schema_type(Type::Integer);
    let mut retry_after = Header::new(seconds);
    retry_after.description = Some("Seconds to wait before trying again.".into());
    response.header("Retry-After", retry_after)
}
