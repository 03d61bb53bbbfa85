//! WebSocket close codes the server sends.

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL: u16 = 1002;
pub const UNSUPPORTED: u16 = 1003;
pub const TOO_BIG: u16 = 1009;
pub const SERVER_ERROR: u16 = 1011;
/// Bad, missing or revoked credentials.
pub const UNAUTHORIZED: u16 = 4001;
pub const TOKEN_EXPIRED: u16 = 4002;
/// A stream socket of a session that has ended.
pub const SESSION_ENDED: u16 = 4004;
/// The send queue is full: the client does not keep up.
pub const TOO_SLOW: u16 = 4008;
