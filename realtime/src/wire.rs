//! WebSocket framing (RFC 6455), server side. Server frames are never masked, so an event is
//! framed once and the same bytes are written to every socket that receives it; client frames are
//! parsed from a small, lazily grown buffer.

use bytes::{BufMut, Bytes, BytesMut};

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// A complete frame (FIN set) with `payload`.
pub fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(payload.len() + 10);
    b.put_u8(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => b.put_u8(n as u8),
        n @ 126..=65535 => {
            b.put_u8(126);
            b.put_u16(n as u16);
        }
        n => {
            b.put_u8(127);
            b.put_u64(n as u64);
        }
    }
    b.put_slice(payload);
    b.freeze()
}

pub fn binary(payload: &[u8]) -> Bytes {
    frame(OP_BINARY, payload)
}

/// A close frame with a status code and a reason (cut to fit a control frame).
pub fn close(code: u16, reason: &str) -> Bytes {
    let mut reason = reason;
    while reason.len() > 123 {
        let mut cut = 123;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason = &reason[..cut];
    }
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    frame(OP_CLOSE, &payload)
}

/// A message from the client.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Binary(Vec<u8>),
    Text,
    Ping(Vec<u8>),
    Pong,
    Close,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("message too big")]
    TooBig,
    #[error("protocol error: {0}")]
    Protocol(&'static str),
}

/// Parses client frames out of the bytes read so far.
#[derive(Default)]
pub struct Reader {
    buf: Vec<u8>,
    /// A fragmented data message being put together: its opcode and payload so far.
    partial: Option<(u8, Vec<u8>)>,
}

impl Reader {
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if the buffer holds one.
    pub fn next(&mut self, max_message: usize) -> Result<Option<Incoming>, WireError> {
        loop {
            let Some((fin, opcode, payload)) = self.frame(max_message)? else {
                // Give back a large buffer once it is empty; idle sockets stay small.
                if self.buf.is_empty() && self.buf.capacity() > 4096 {
                    self.buf = Vec::new();
                }
                return Ok(None);
            };
            match opcode {
                OP_PING => return Ok(Some(Incoming::Ping(payload))),
                OP_PONG => return Ok(Some(Incoming::Pong)),
                OP_CLOSE => return Ok(Some(Incoming::Close)),
                OP_TEXT | OP_BINARY => {
                    if self.partial.is_some() {
                        return Err(WireError::Protocol("a new message inside a fragmented one"));
                    }
                    if fin {
                        return Ok(Some(message(opcode, payload)));
                    }
                    self.partial = Some((opcode, payload));
                }
                OP_CONTINUATION => {
                    let Some((op, mut so_far)) = self.partial.take() else {
                        return Err(WireError::Protocol("a continuation without a message"));
                    };
                    if so_far.len() + payload.len() > max_message {
                        return Err(WireError::TooBig);
                    }
                    so_far.extend_from_slice(&payload);
                    if fin {
                        return Ok(Some(message(op, so_far)));
                    }
                    self.partial = Some((op, so_far));
                }
                _ => return Err(WireError::Protocol("unknown opcode")),
            }
        }
    }

    /// One frame off the front of the buffer: `(fin, opcode, unmasked payload)`.
    fn frame(&mut self, max_message: usize) -> Result<Option<(bool, u8, Vec<u8>)>, WireError> {
        let b = &self.buf;
        if b.len() < 2 {
            return Ok(None);
        }
        let fin = b[0] & 0x80 != 0;
        if b[0] & 0x70 != 0 {
            return Err(WireError::Protocol("reserved bits set"));
        }
        let opcode = b[0] & 0x0F;
        if b[1] & 0x80 == 0 {
            return Err(WireError::Protocol("client frames must be masked"));
        }
        let (len, mut at) = match b[1] & 0x7F {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as u64, 4),
            127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().unwrap()), 10),
            126 | 127 => return Ok(None),
            n => (n as u64, 2),
        };
        if opcode >= 0x8 && (!fin || len > 125) {
            return Err(WireError::Protocol("bad control frame"));
        }
        if len > max_message as u64 {
            return Err(WireError::TooBig);
        }
        let len = len as usize;
        if b.len() < at + 4 + len {
            return Ok(None);
        }
        let mask = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        at += 4;
        let mut payload = b[at..at + len].to_vec();
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i & 3];
        }
        self.buf.drain(..at + len);
        Ok(Some((fin, opcode, payload)))
    }
}

fn message(opcode: u8, payload: Vec<u8>) -> Incoming {
    if opcode == OP_TEXT {
        Incoming::Text
    } else {
        Incoming::Binary(payload)
    }
}

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(key);
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=65535 => {
                out.push(0x80 | 126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        out.extend(mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    #[test]
    fn the_rfc_accept_key_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        assert_eq!(&binary(b"hi")[..], &[0x82, 2, b'h', b'i']);
        let f = binary(&[0u8; 300]);
        assert_eq!(&f[..4], &[0x82, 126, 1, 44]);
        let f = binary(&vec![0u8; 70_000]);
        assert_eq!(&f[..2], &[0x82, 127]);
        assert_eq!(f.len(), 70_010);
        let c = close(4008, &"é".repeat(100));
        assert!(c.len() <= 2 + 125 && c[1] as usize == c.len() - 2);
    }

    #[test]
    fn parses_messages_split_anywhere() {
        let mut bytes = masked(true, OP_BINARY, b"hello");
        bytes.extend(masked(true, OP_PING, b"p"));
        bytes.extend(masked(false, OP_BINARY, &[1; 200]));
        bytes.extend(masked(true, OP_CONTINUATION, &[2; 70_000]));
        bytes.extend(masked(true, OP_CLOSE, &[3, 232]));
        let mut r = Reader::default();
        let mut got = vec![];
        for chunk in bytes.chunks(7) {
            r.extend(chunk);
            while let Some(m) = r.next(100_000).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Incoming::Binary(b"hello".to_vec()));
        assert_eq!(got[1], Incoming::Ping(b"p".to_vec()));
        let Incoming::Binary(big) = &got[2] else {
            panic!()
        };
        assert_eq!(big.len(), 70_200);
        assert_eq!((big[0], big[70_199]), (1, 2));
        assert_eq!(got[3], Incoming::Close);
    }

    #[test]
    fn refuses_what_the_protocol_forbids() {
        let cases: Vec<(Vec<u8>, WireError)> = vec![
            (
                vec![0x82, 0x05, b'h', b'e', b'l', b'l', b'o'],
                WireError::Protocol("client frames must be masked"),
            ),
            (
                masked(true, 0x3, b""),
                WireError::Protocol("unknown opcode"),
            ),
            (
                masked(false, OP_PING, b""),
                WireError::Protocol("bad control frame"),
            ),
            (
                masked(true, OP_CONTINUATION, b"x"),
                WireError::Protocol("a continuation without a message"),
            ),
            (masked(true, OP_BINARY, &[0; 2000]), WireError::TooBig),
        ];
        for (bytes, err) in cases {
            let mut r = Reader::default();
            r.extend(&bytes);
            assert_eq!(r.next(1000), Err(err));
        }
        // The declared length alone is enough to refuse, before any payload arrives.
        let mut r = Reader::default();
        r.extend(&[0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(r.next(1000), Err(WireError::TooBig));
        assert_eq!(Reader::default().next(10), Ok(None));
    }

    #[test]
    fn text_messages_are_reported_not_decoded() {
        let mut r = Reader::default();
        r.extend(&masked(true, OP_TEXT, b"{}"));
        assert_eq!(r.next(100), Ok(Some(Incoming::Text)));
    }
}
