//! The wire format of `/sockets/1/ws`: binary CBOR maps. Clients send `{event, id?, data?}`;
//! the server sends `{event, data}` or `{ack: id}`.
//!
//! The server relays a client's frame byte for byte, after acting on what it read (refusing
//! `control` while remote control is off, say). So it reads only frames that every reader reads
//! the same way ([`crate::skim::strict`]: no tags, no indefinite lengths, no key twice, text
//! keys only) with nothing at the top level but `event`, `id` and `data`: what the server
//! decides on is exactly what the SDK on the other side will read.

use bytes::Bytes;
use ciborium::Value;
use serde::Serialize;

use crate::skim::{self, Strictness};

/// A client frame, read without building its `data`: the server relays most frames as they
/// are, and reads `data` only for the few events it acts on itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame<'a> {
    pub event: &'a str,
    pub id: Option<u64>,
    /// The bytes of the `data` item, as sent (empty when there is none).
    raw_data: &'a [u8],
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("the frame is not valid CBOR")]
    NotCbor,
    #[error("the frame is not strict CBOR: {0}")]
    NotStrict(Strictness),
    #[error("a frame must be a CBOR map")]
    NotMap,
    #[error("a frame has only `event`, `id` and `data` at its top level")]
    UnknownKey,
    #[error("a frame needs a text `event`")]
    NoEvent,
    #[error("a frame `id` must be a non-negative integer")]
    BadId,
}

impl FrameError {
    pub fn id(&self) -> &'static str {
        "invalid_frame"
    }
}

impl<'a> ClientFrame<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        match skim::strict(bytes) {
            Ok(()) => {}
            Err(Strictness::Malformed | Strictness::TooDeep) => return Err(FrameError::NotCbor),
            Err(e) => return Err(FrameError::NotStrict(e)),
        }
        let entries = skim::entries(bytes).ok_or(FrameError::NotMap)?;
        let (mut event, mut id, mut raw_data) = (None, None, &[][..]);
        for (key, value) in entries {
            match key {
                "event" => event = Some(skim::text(value).ok_or(FrameError::NoEvent)?),
                "id" if value == [0xf6] => {}
                "id" => id = Some(skim::uint(value).ok_or(FrameError::BadId)?),
                "data" => raw_data = value,
                _ => return Err(FrameError::UnknownKey),
            }
        }
        Ok(ClientFrame {
            event: event.ok_or(FrameError::NoEvent)?,
            id,
            raw_data,
        })
    }

    /// `data`, decoded: for the events the server reads itself, which are small and shallow.
    /// Null when there is none, or when it nests deeper than the decoder goes (a page's
    /// recording may nest thousands of levels; the server never builds those).
    pub fn data(&self) -> Value {
        if self.raw_data.is_empty() {
            return Value::Null;
        }
        // ciborium bounds nesting depth, so hostile input cannot exhaust the stack.
        ciborium::from_reader(self.raw_data).unwrap_or(Value::Null)
    }

    /// The bytes of the `data` item, as sent (empty when there is none).
    pub fn raw_data(&self) -> &'a [u8] {
        self.raw_data
    }

    /// The payload as text (tokens and ids are sent as plain strings).
    pub fn text(&self) -> Option<&'a str> {
        skim::text(self.raw_data)
    }

    /// The integer under `key` in a map payload (an rrweb event's `type`, say).
    pub fn data_int(&self, key: &str) -> Option<i64> {
        skim::map_int(self.raw_data, key)
    }

    /// The text under `key` in a map payload.
    pub fn data_text(&self, key: &str) -> Option<&'a str> {
        skim::entries(self.raw_data)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| skim::text(v))
    }
}

#[derive(Serialize)]
struct Out<'a, T: Serialize + ?Sized> {
    event: &'a str,
    data: &'a T,
}

/// Encodes a server event once; the bytes are shared by every receiver.
pub fn event<T: Serialize + ?Sized>(event: &str, data: &T) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    ciborium::into_writer(&Out { event, data }, &mut buf)
        .expect("serialising to a Vec cannot fail for plain data");
    Bytes::from(buf)
}

pub fn ack(id: u64) -> Bytes {
    #[derive(Serialize)]
    struct Ack {
        ack: u64,
    }
    let mut buf = Vec::with_capacity(16);
    ciborium::into_writer(&Ack { ack: id }, &mut buf).expect("an ack always serialises");
    Bytes::from(buf)
}

/// An `error` event: `{id, message, ref?}` where `ref` is the id of the frame it answers.
pub fn error(id: &str, message: &str, reply_to: Option<u64>) -> Bytes {
    #[derive(Serialize)]
    struct Err<'a> {
        id: &'a str,
        message: &'a str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    }
    event(
        "error",
        &Err {
            id,
            message,
            reply_to,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skim::cbor;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Text(k.into()), v))
                .collect(),
        )
    }

    #[test]
    fn decodes_a_subscribe_frame() {
        let bytes = cbor(&map(vec![
            ("event", Value::Text("subscribe".into())),
            ("id", Value::Integer(3.into())),
            ("data", Value::Text("tok".into())),
        ]));
        let f = ClientFrame::decode(&bytes).unwrap();
        assert_eq!(f.event, "subscribe");
        assert_eq!(f.id, Some(3));
        assert_eq!(f.text(), Some("tok"));
    }

    #[test]
    fn decodes_a_ping_without_id_or_data() {
        let bytes = cbor(&map(vec![("event", Value::Text("ping".into()))]));
        let f = ClientFrame::decode(&bytes).unwrap();
        assert_eq!((f.event, f.id, f.data()), ("ping", None, Value::Null));
    }

    #[test]
    fn decodes_the_non_minimal_map_length_the_sdk_sends() {
        // 0xb9 0x00 0x01: a map with a 16-bit length of 1, then "event": "ping".
        let mut bytes = vec![0xb9, 0x00, 0x01, 0x65];
        bytes.extend_from_slice(b"event");
        bytes.push(0x64);
        bytes.extend_from_slice(b"ping");
        assert_eq!(ClientFrame::decode(&bytes).unwrap().event, "ping");
    }

    #[test]
    fn rejects_garbage_non_maps_and_missing_events() {
        assert_eq!(ClientFrame::decode(&[0xff, 0x00]), Err(FrameError::NotCbor));
        assert_eq!(ClientFrame::decode(&[]), Err(FrameError::NotCbor));
        assert_eq!(
            ClientFrame::decode(&cbor(&Value::Text("x".into()))),
            Err(FrameError::NotMap)
        );
        assert_eq!(
            ClientFrame::decode(&cbor(&map(vec![("data", Value::Null)]))),
            Err(FrameError::NoEvent)
        );
        assert_eq!(
            ClientFrame::decode(&cbor(&map(vec![
                ("event", Value::Text("x".into())),
                ("id", Value::Integer((-1).into()))
            ]))),
            Err(FrameError::BadId)
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut bytes = vec![0x81; 100_000];
        bytes.push(0x00);
        assert_eq!(ClientFrame::decode(&bytes), Err(FrameError::NotCbor));
    }

    /// The differential set the SDKs' decoder is tested on too: every frame is refused, or
    /// read with the same event and data.
    #[test]
    fn reads_the_differential_frames_as_the_sdks_do() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/frames.json");
        let set: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(set.len() > 50, "the set is there");
        for case in &set {
            let name = case["name"].as_str().unwrap();
            let hex = case["hex"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let read = ClientFrame::decode(&bytes);
            match (case["verdict"].as_str().unwrap(), case.get("event")) {
                ("refuse", _) => assert!(read.is_err(), "{name}: accepted {read:?}"),
                // A server-made frame (`{ack}`): clients do not send those.
                ("accept", None) => assert!(read.is_err(), "{name}"),
                ("accept", Some(event)) => {
                    let f = read.unwrap_or_else(|e| panic!("{name}: refused: {e}"));
                    assert_eq!(f.event, event.as_str().unwrap(), "{name}");
                    if let Some(data) = case.get("data") {
                        let got = serde_json::to_value(f.data()).unwrap();
                        assert_eq!(&got, data, "{name}");
                    }
                }
                (other, _) => panic!("{name}: unknown verdict {other}"),
            }
        }
    }

    #[test]
    fn encodes_events_and_acks_as_maps() {
        let v: Value =
            ciborium::from_reader(&event("presence", &serde_json::json!({"id": "d"}))[..]).unwrap();
        assert_eq!(
            v,
            map(vec![
                ("event", Value::Text("presence".into())),
                ("data", map(vec![("id", Value::Text("d".into()))])),
            ])
        );
        let v: Value = ciborium::from_reader(&ack(7)[..]).unwrap();
        assert_eq!(v, map(vec![("ack", Value::Integer(7.into()))]));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::skim::cbor;
    use proptest::prelude::*;

    /// CBOR values of the shapes the SDKs send: text keys (unique per map), no tags.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| Value::Integer(i.into())),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::Float),
            ".{0,12}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{0,6}", inner, 0..8).prop_map(|m| {
                    Value::Map(m.into_iter().map(|(k, v)| (Value::Text(k), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = skim::strict(&bytes);
            if let Ok(f) = ClientFrame::decode(&bytes) {
                let _ = (f.data(), f.text(), f.data_int("type"), f.data_text("id"));
            }
        }

        #[test]
        fn mangled_frames_never_panic(
            data in value(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = cbor(&Value::Map(vec![
                (Value::Text("event".into()), Value::Text("rrweb".into())),
                (Value::Text("data".into()), data),
            ]));
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let _ = ClientFrame::decode(&bytes);
            bytes.truncate(i);
            let _ = ClientFrame::decode(&bytes);
        }

        #[test]
        fn valid_frames_round_trip(event in ".{0,16}", id in any::<Option<u64>>(), data in value()) {
            let mut entries = vec![(Value::Text("event".into()), Value::Text(event.clone()))];
            if let Some(id) = id {
                entries.push((Value::Text("id".into()), Value::Integer(id.into())));
            }
            entries.push((Value::Text("data".into()), data.clone()));
            let bytes = cbor(&Value::Map(entries));
            let f = ClientFrame::decode(&bytes).unwrap();
            prop_assert_eq!(f.event, event.as_str());
            prop_assert_eq!(f.id, id);
            prop_assert_eq!(f.data(), data);
        }
    }
}
