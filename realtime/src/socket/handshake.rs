//! The upgrade: the WebSocket handshake, the credentials in it (bearer subprotocol, device
//! headers in the query) and, for agents in a browser, the page's origin.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::conn;
use super::identity::{Identity, Who};
use super::Refusal;
use crate::close;
use crate::hub::Hub;
use crate::wire;

const BEARER_PREFIX: &str = "cbio.http.headers.authorization.bearer.";

/// The bearer token from the subprotocol list (standard base64, padding optional).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let offered = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL);
    let encoded = offered
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = engine.decode(encoded).ok()?;
    String::from_utf8(raw).ok()
}

fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(super) async fn authenticate(
    hub: &Hub,
    token: Option<&str>,
    query: &[(String, String)],
) -> Result<Identity, Refusal> {
    use tandem_core::Error;
    let token = token.ok_or((close::UNAUTHORIZED, "missing bearer subprotocol"))?;
    let service = hub.service();
    let refused = |e: Error| match e {
        Error::NotFound(_) | Error::Forbidden(_) => (close::UNAUTHORIZED, "invalid token"),
        Error::Refused {
            id: "token_expired",
            ..
        } => (close::TOKEN_EXPIRED, "token expired"),
        Error::Refused {
            id: "session_ended",
            ..
        } => (close::SESSION_ENDED, "the session has ended"),
        e => {
            tracing::error!(error = %e, "socket authentication failed");
            (close::SERVER_ERROR, "could not check the token; try again")
        }
    };
    match (
        query_value(query, "X-CobrowseLicense"),
        query_value(query, "X-CobrowseDevice"),
    ) {
        (Some(license), Some(device_id)) => {
            let account = service.account_by_license(license).await.map_err(refused)?;
            let device = service
                .authenticate_device(&account, device_id, token)
                .await
                .map_err(refused)?;
            if let Some(session_id) = query_value(query, "X-CobrowseSession") {
                let s = service
                    .device_stream(&account.id, &device.id, session_id)
                    .await
                    .map_err(refused)?;
                return Ok(Identity::DeviceStream {
                    account_id: account.id,
                    session_id: s.id,
                });
            }
            Ok(Identity::Device { account, device })
        }
        _ => match service.socket_agent(token).await {
            Ok((account, token)) => Ok(Identity::Agent { account, token }),
            Err(Error::NotFound(_)) => {
                let (account, token, _) = service.stream_agent(token).await.map_err(refused)?;
                Ok(Identity::AgentStream { account, token })
            }
            Err(e) => Err(refused(e)),
        },
    }
}

fn refuse(status: StatusCode, id: &str, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"id": id, "message": message})),
    )
        .into_response()
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}

/// The upgrade handler: checks the handshake and the credentials, answers 101 and hands the
/// connection to its own task.
pub async fn upgrade(State(hub): State<Arc<Hub>>, mut req: Request) -> Response {
    let headers = req.headers();
    if !header_has(headers, header::UPGRADE, "websocket")
        || !header_has(headers, header::CONNECTION, "upgrade")
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "not_a_websocket",
            "this endpoint takes WebSocket upgrades only".into(),
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        let mut res = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_version",
            "WebSocket version 13 is required".into(),
        );
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return res;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "not_a_websocket",
            "Sec-WebSocket-Key is missing".into(),
        );
    };
    let accept = wire::accept_key(key.as_bytes());
    let cbor = header_has(headers, header::SEC_WEBSOCKET_PROTOCOL, "cbor");
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    // Read before the credential is looked up: a revocation after this point is checked again
    // once the socket can be reached by one (`conn::Recheck`).
    let epoch = hub.revocations();
    let token = bearer(headers);
    let auth = authenticate(&hub, token.as_deref(), &query).await;
    if let Ok(Identity::Agent { account, .. } | Identity::AgentStream { account, .. }) = &auth {
        // A browser always sends Origin; a page the account does not trust must not be able to
        // ride an agent's credentials (cross-site WebSocket hijacking).
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if origin != hub.public_origin() && !account.settings.trusts_origin(origin) {
                hub.meters.auth_failures.increment(1);
                return refuse(
                    StatusCode::FORBIDDEN,
                    "untrusted_origin",
                    format!("sockets from {origin} are not allowed for this account"),
                );
            }
        }
    }
    let recheck = match (&auth, token) {
        (Ok(Identity::Agent { .. } | Identity::AgentStream { .. }), Some(token)) => {
            Some(conn::Recheck { token, epoch })
        }
        _ => None,
    };
    // Keep only ids from here on: the task lives as long as the socket.
    let who = auth.map(Who::from);
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            // axum serves through hyper-util's auto (HTTP/1 or 2) builder, which wraps the IO.
            Ok(upgraded) => match hyper_util::server::conn::auto::upgrade::downcast::<
                TokioIo<TcpStream>,
            >(upgraded)
            {
                Ok(parts) => {
                    conn::run(hub, parts.io.into_inner(), parts.read_buf, who, recheck).await
                }
                Err(_) => tracing::error!("upgraded connection is not a TCP stream"),
            },
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    if cbor {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("cbor"),
        );
    }
    res
}
