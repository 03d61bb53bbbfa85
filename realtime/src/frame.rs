//! The wire format of `/sockets/1/ws`: binary CBOR maps. Clients send `{event, id?, data?}`;
//! the server sends `{event, data}` or `{ack: id}`.

use bytes::Bytes;
use ciborium::Value;
use serde::Serialize;

/// A decoded client frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub event: String,
    pub id: Option<u64>,
    pub data: Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("the frame is not valid CBOR")]
    NotCbor,
    #[error("a frame must be a CBOR map")]
    NotMap,
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

impl ClientFrame {
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        // ciborium bounds nesting depth, so hostile input cannot exhaust the stack.
        let value: Value = ciborium::from_reader(bytes).map_err(|_| FrameError::NotCbor)?;
        let Value::Map(entries) = value else {
            return Err(FrameError::NotMap);
        };
        let mut event = None;
        let mut id = None;
        let mut data = Value::Null;
        for (k, v) in entries {
            match (k.as_text(), v) {
                (Some("event"), Value::Text(e)) => event = Some(e),
                (Some("event"), _) => return Err(FrameError::NoEvent),
                (Some("id"), Value::Null) => {}
                (Some("id"), Value::Integer(i)) => {
                    id = Some(u64::try_from(i).map_err(|_| FrameError::BadId)?)
                }
                (Some("id"), _) => return Err(FrameError::BadId),
                (Some("data"), v) => data = v,
                _ => {}
            }
        }
        Ok(ClientFrame {
            event: event.ok_or(FrameError::NoEvent)?,
            id,
            data,
        })
    }

    /// The payload as text (tokens and ids are sent as plain strings).
    pub fn text(&self) -> Option<&str> {
        self.data.as_text()
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

/// A CBOR value's bytes, for the crate's tests.
#[cfg(test)]
pub(crate) fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let f =
            ClientFrame::decode(&cbor(&map(vec![("event", Value::Text("ping".into()))]))).unwrap();
        assert_eq!(
            (f.event.as_str(), f.id, f.data),
            ("ping", None, Value::Null)
        );
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
