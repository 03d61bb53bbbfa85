//! The Redis edge: what crosses between replicas, as bytes on the channel.
//!
//! A message is `origin(16) | sent micros(8) | topic length(2) | topic | frame`, the topic as
//! text: `s:<account>:<session>` (session changes), `d:<account>:<device>` (device changes and
//! presence), `n:<account>:<device>` (a device's inbox), `u:<account>:<user>` (a user's
//! sockets), `v:<account>:<visitor id>` (agents waiting on a visitor),
//! `r:<account>:<session>:<a|d>` (stream traffic for the agents or the device),
//! `a:<account>:<session>` (how many agent streams of the session a replica holds: the frame is
//! that replica's id (16 bytes) and the count (4 bytes, big-endian));
//! and, with no frame, `k:<account>:<session>` (a session ended), `x:<account>:<user>` (a
//! user was revoked) and `q:<account>:<session>` (replicas are asked to say `a:` for the
//! session). Reading is strict: anything else is refused, not guessed at.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::Crossing;
use crate::topic::{Scoped, Side, Topic};

const HEADER: usize = 16 + 8 + 2;

pub(super) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The frame of an `a:` message: the replica's id, then the count.
const AGENTS_FRAME: usize = 16 + 4;

/// The topic's kind letter, its scoped id, for a stream the side's letter, and the frame.
fn parts(crossing: &Crossing) -> (u8, &Scoped, Option<u8>, Cow<'_, [u8]>) {
    match crossing {
        Crossing::Frame(topic, frame) => {
            let (kind, scoped, side) = match topic {
                Topic::Session(s) => (b's', s, None),
                Topic::Device(s) => (b'd', s, None),
                Topic::Inbox(s) => (b'n', s, None),
                Topic::User(s) => (b'u', s, None),
                Topic::Visitor(s) => (b'v', s, None),
                Topic::Stream(s, Side::Agent) => (b'r', s, Some(b'a')),
                Topic::Stream(s, Side::Device) => (b'r', s, Some(b'd')),
            };
            (kind, scoped, side, Cow::Borrowed(&frame[..]))
        }
        Crossing::SessionEnded(s) => (b'k', s, None, Cow::Borrowed(&[])),
        Crossing::UserRevoked(s) => (b'x', s, None, Cow::Borrowed(&[])),
        Crossing::Agents {
            session,
            replica,
            count,
        } => {
            let mut frame = Vec::with_capacity(AGENTS_FRAME);
            frame.extend_from_slice(replica);
            frame.extend_from_slice(&count.to_be_bytes());
            (b'a', session, None, Cow::Owned(frame))
        }
        Crossing::AgentsAsked(s) => (b'q', s, None, Cow::Borrowed(&[])),
    }
}

pub(super) fn encode(origin: &[u8; 16], crossing: &Crossing) -> Bytes {
    let (kind, scoped, side, frame) = parts(crossing);
    let topic_len = 2 + scoped.account.len() + 1 + scoped.id.len() + side.map_or(0, |_| 2);
    let mut b = BytesMut::with_capacity(HEADER + topic_len + frame.len());
    b.put_slice(origin);
    b.put_u64(now_micros());
    b.put_u16(topic_len as u16);
    b.put_slice(&[kind, b':']);
    b.put_slice(scoped.account.as_bytes());
    b.put_u8(b':');
    b.put_slice(scoped.id.as_bytes());
    if let Some(side) = side {
        b.put_slice(&[b':', side]);
    }
    b.put_slice(&frame);
    b.freeze()
}

/// A message as read off the channel, its topic not yet read.
pub(super) struct Envelope {
    pub origin: [u8; 16],
    pub sent: u64,
    topic: Bytes,
    frame: Bytes,
}

impl Envelope {
    /// The envelope around a message; `None` when it is cut short.
    pub fn open(mut b: Bytes) -> Option<Envelope> {
        if b.len() < HEADER {
            return None;
        }
        let mut origin = [0u8; 16];
        b.copy_to_slice(&mut origin);
        let sent = b.get_u64();
        let len = b.get_u16() as usize;
        if b.len() < len {
            return None;
        }
        let topic = b.split_to(len);
        Some(Envelope {
            origin,
            sent,
            topic,
            frame: b,
        })
    }

    /// What the message says; `None` for a topic this replica does not know, or a frame
    /// where there should be none (or none where there should be one).
    pub fn crossing(self) -> Option<Crossing> {
        let topic = std::str::from_utf8(&self.topic).ok()?;
        let (kind, rest) = topic.split_once(':')?;
        let (account, id) = rest.split_once(':')?;
        if account.is_empty() || id.is_empty() {
            return None;
        }
        let frame =
            |topic| (!self.frame.is_empty()).then(|| Crossing::Frame(topic, self.frame.clone()));
        let signal = |crossing| self.frame.is_empty().then_some(crossing);
        match kind {
            "s" => frame(Topic::Session(Scoped::new(account, id))),
            "d" => frame(Topic::Device(Scoped::new(account, id))),
            "n" => frame(Topic::Inbox(Scoped::new(account, id))),
            "u" => frame(Topic::User(Scoped::new(account, id))),
            "v" => frame(Topic::Visitor(Scoped::new(account, id))),
            "r" => {
                let (session, side) = id.rsplit_once(':')?;
                let side = match side {
                    "a" => Side::Agent,
                    "d" => Side::Device,
                    _ => return None,
                };
                if session.is_empty() {
                    return None;
                }
                frame(Topic::Stream(Scoped::new(account, session), side))
            }
            "a" => {
                let frame: &[u8; AGENTS_FRAME] = self.frame[..].try_into().ok()?;
                let (replica, count) = frame.split_at(16);
                Some(Crossing::Agents {
                    session: Scoped::new(account, id),
                    replica: replica.try_into().ok()?,
                    count: u32::from_be_bytes(count.try_into().ok()?),
                })
            }
            "k" => signal(Crossing::SessionEnded(Scoped::new(account, id))),
            "x" => signal(Crossing::UserRevoked(Scoped::new(account, id))),
            "q" => signal(Crossing::AgentsAsked(Scoped::new(account, id))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(id: &str) -> Scoped {
        Scoped::new("acct", id)
    }

    fn round_trip(crossing: Crossing) -> Crossing {
        let origin = [7u8; 16];
        let envelope = Envelope::open(encode(&origin, &crossing)).unwrap();
        assert_eq!(envelope.origin, origin);
        assert!(envelope.sent > 0);
        envelope.crossing().unwrap()
    }

    /// A message as replicas wrote it before topics were typed: the text stays the same.
    fn written(topic: &str, frame: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_slice(&[1u8; 16]);
        b.put_u64(now_micros());
        b.put_u16(topic.len() as u16);
        b.put_slice(topic.as_bytes());
        b.put_slice(frame);
        b.freeze()
    }

    fn read(topic: &str, frame: &[u8]) -> Option<Crossing> {
        Envelope::open(written(topic, frame))?.crossing()
    }

    #[test]
    fn every_kind_round_trips_as_the_same_text() {
        let frame = Bytes::from_static(b"\xa1cbor");
        let cases = [
            (
                "s:acct:s1",
                Crossing::Frame(Topic::Session(scoped("s1")), frame.clone()),
            ),
            (
                "d:acct:d:1",
                Crossing::Frame(Topic::Device(scoped("d:1")), frame.clone()),
            ),
            (
                "n:acct:d1",
                Crossing::Frame(Topic::Inbox(scoped("d1")), frame.clone()),
            ),
            (
                "u:acct:u1",
                Crossing::Frame(Topic::User(scoped("u1")), frame.clone()),
            ),
            (
                "r:acct:s1:a",
                Crossing::Frame(Topic::Stream(scoped("s1"), Side::Agent), frame.clone()),
            ),
            (
                "r:acct:s:1:d",
                Crossing::Frame(Topic::Stream(scoped("s:1"), Side::Device), frame.clone()),
            ),
            (
                "v:acct:59204gh:42",
                Crossing::Frame(Topic::Visitor(scoped("59204gh:42")), frame.clone()),
            ),
            ("k:acct:s1", Crossing::SessionEnded(scoped("s1"))),
            ("x:acct:u1", Crossing::UserRevoked(scoped("u1"))),
            (
                "a:acct:s1",
                Crossing::Agents {
                    session: scoped("s1"),
                    replica: [9; 16],
                    count: 70_000,
                },
            ),
            ("q:acct:s1", Crossing::AgentsAsked(scoped("s1"))),
        ];
        for (text, crossing) in cases {
            let encoded = encode(&[0; 16], &crossing);
            let topic_len = u16::from_be_bytes([encoded[24], encoded[25]]) as usize;
            assert_eq!(&encoded[HEADER..HEADER + topic_len], text.as_bytes());
            let (_, _, _, frame) = parts(&crossing);
            assert_eq!(read(text, &frame).as_ref(), Some(&crossing), "{text}");
            assert_eq!(round_trip(crossing.clone()), crossing, "{text}");
        }
    }

    #[test]
    fn unknown_topics_are_refused() {
        for topic in [
            "",
            "s",
            "s:acct",
            "s::s1",
            "s:acct:",
            "z:acct:s1",
            "ss:acct:s1",
            "r:acct:s1",
            "r:acct:s1:b",
            "r:acct::a",
        ] {
            assert_eq!(read(topic, b"x"), None, "{topic:?}");
        }
        // Signals carry no frame; deliveries always do.
        assert_eq!(read("k:acct:s1", b"x"), None);
        assert_eq!(read("x:acct:u1", b"x"), None);
        assert_eq!(read("q:acct:s1", b"x"), None);
        assert_eq!(read("s:acct:s1", b""), None);
        // An agents count is exactly a replica's id and a count.
        assert_eq!(read("a:acct:s1", b""), None);
        assert_eq!(read("a:acct:s1", &[0; 19]), None);
        assert_eq!(read("a:acct:s1", &[0; 21]), None);
        let mut bad = written("s:acct:s1", b"x").to_vec();
        bad[HEADER + 2] = 0xff;
        assert!(Envelope::open(Bytes::from(bad))
            .unwrap()
            .crossing()
            .is_none());
    }

    #[test]
    fn truncated_messages_are_refused() {
        let full = written("topic", b"x");
        for cut in [0, 10, 25, 28] {
            assert!(Envelope::open(full.slice(..cut)).is_none(), "cut at {cut}");
        }
    }
}
