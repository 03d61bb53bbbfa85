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
mod trace;
pub mod wire;
pub mod zipped;

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

/// Connects to the Redis server `url` names and sends it a PING, within five seconds: what
/// `tandem check` reports.
pub async fn probe_redis(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 seconds".into()),
    }
}
