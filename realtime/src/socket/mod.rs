//! `/sockets/1/ws`: authenticates the upgrade, then runs one task per socket that reads client
//! frames and writes queued events.
//!
//! Who may connect:
//! - an agent, with the `notification_token` of `/users/me` as the bearer subprotocol
//!   (`cbio.http.headers.authorization.bearer.<base64>`); from a browser, only from the server's
//!   own origin or one the account trusts. The socket reaches what the JWT that token was minted
//!   for reaches (its policy), and closes when the token expires;
//! - a device, with its device token as the bearer and `X-CobrowseLicense` and
//!   `X-CobrowseDevice` in the query (as the device SDK sends its headers on sockets).
//!
//! Close codes ([`crate::close`]): 4001 bad, missing or revoked credentials, 4002 token expired,
//! 4008 too slow (send queue full), 1001 server going away, 1003 text frame, 1009 message too
//! big, 1011 server error.
//!
//! - `handshake`: the upgrade and who is asking (`identity`);
//! - `attach`: a stream socket joins its session (the agents count, the replay);
//! - `conn`: the socket's task, reading client frames and writing queued ones;
//! - `relay`: a session stream's frames to the other end, behind the consent and control
//!   gates, with the replay catch-up; `chunks` for events sent in pieces; `history`;
//! - `subscribe`: `subscribe` and `sync-presence`; `visitor`: `watch-visitor`.

mod attach;
mod chunks;
mod conn;
mod dispatch;
mod handshake;
mod history;
mod identity;
mod relay;
mod subscribe;
mod visitor;

pub use handshake::upgrade;
pub use identity::Identity;

/// The event an agent sends to act on the customer's page (click, type, select, scroll). The
/// server passes it on only while the customer has remote control on.
pub const CONTROL: &str = "control";

/// An event too big for one frame, in one of its numbered pieces (`crate::chunk`).
pub const CHUNK: &str = "chunk";

/// What an agent's viewer could not show (`{id, message}`; `undecodable_recording`: a
/// compressed batch that did not decompress): counted in `/metrics`, not passed on.
pub const VIEWER_ERROR: &str = "viewer-error";

/// What the customer's page sends when it stops recording (no agent watches it any more): the
/// session's replay is dropped, not served to the next agent.
pub const RECORDING_STOPPED: &str = "recording-stopped";

/// Why a socket is refused after the upgrade: `(close code, reason)`.
type Refusal = (u16, &'static str);

/// Why a client frame failed: `(error id, message)`.
type Failure = (&'static str, String);
