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
use super::identity::{authenticate, Identity, Who};
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
    // `catch_up=1`: an agent's stream asks for the page as it opens (`Conn::sync_on_open`).
    let catch_up = query.iter().any(|(k, v)| k == "catch_up" && v == "1");
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
                    conn::run(
                        hub,
                        parts.io.into_inner(),
                        parts.read_buf,
                        who,
                        recheck,
                        catch_up,
                    )
                    .await
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
