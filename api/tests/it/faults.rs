//! Faults: the database going away under load, a replica killed with SIGKILL, a socket that
//! stops reading.
//!
//! - PostgreSQL (an instance of the test's own, so the machine's shared one is never stopped):
//!   its backends terminated under load, then the server stopped for 30 s. Every request gets a
//!   success or a prompt 503 `{id, message}` with `Retry-After`, never another 5xx; `/readyz`
//!   says not ready; Tandem serves again within 5 s of the database's return; nothing is
//!   half-written.
//! - Two replicas, one killed with SIGKILL: the survivor's sockets keep relaying, the killed
//!   one's clients reconnect to the survivor with the same credentials, no session ends, and
//!   the reaper lease moves over.
//! - A stalled agent on a busy session stream is closed with 4008; everyone else gets every
//!   frame.
//!
//! Each prints what it measured (`-- --nocapture` shows it).

mod database;
mod pg;
mod replica;
mod stalled;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Server, Tenant};
use crate::ws::{try_connect, ws_url, Socket};

/// An active session on `server` with a new device `dev` (see `Server::active_session`): its id
/// and the device's registration.
async fn active_session(server: &Server, t: &Tenant, dev: &str) -> (String, Value) {
    let (s, device) = server.active_session(t, dev).await;
    (s["id"].as_str().unwrap().to_owned(), device)
}

async fn stream_token(server: &Server, jwt: &str, session: &str) -> String {
    let (status, tokens) = server
        .get(&format!("/api/1/sessions/{session}/tokens"), jwt)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["stream_token"].as_str().unwrap().to_owned()
}

async fn agent_stream(server: &Server, token: &str) -> Socket {
    try_connect(&ws_url(&server.base, ""), Some(token), None)
        .await
        .expect("agent stream socket")
}

async fn probe(sock: &mut Socket) {
    sock.send("probe", json!({"timestamp": 1})).await;
    sock.until("alive", |_| true).await;
}
