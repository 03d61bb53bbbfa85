//! Tandem realtime: the WebSocket hub at `/sockets/1/ws`.
//!
//! Agents subscribe to sessions (by `control_token`) and devices (by `notification_token`) and
//! receive the full resource after every change; devices hold a notification socket that makes
//! them present and receives connect requests. Every change reaches the hub through the service's
//! Bus; with Redis configured, events cross replicas ([`bridge`]).

mod bridge;
pub mod chunk;
pub mod close;
pub mod frame;
pub mod hub;
mod meters;
mod peer;
mod replay;
mod skim;
pub mod socket;
pub mod topic;
pub mod wire;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use hub::{Hub, Limits, Settings};

/// The socket routes, ready to merge into the server's router.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/sockets/1/ws", get(socket::upgrade))
        .with_state(hub)
}
