// The close codes of `/sockets/1/ws`, as the server sends them (realtime/src/socket.rs, `close`).

export const Close = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** A text frame: the protocol is binary CBOR only. */
  UNSUPPORTED: 1003,
  /** A message over the server's limit; the socket closes and the message is lost. */
  TOO_BIG: 1009,
  SERVER_ERROR: 1011,
  /** Bad, missing or revoked credentials. */
  UNAUTHORIZED: 4001,
  /** The token the socket was opened with has expired. */
  TOKEN_EXPIRED: 4002,
  /** The session of a stream socket has ended. */
  SESSION_ENDED: 4004,
  /** The client read too slowly: its send queue filled up. */
  TOO_SLOW: 4008
} as const
