//! A page's recording, compressed: `{event: "rrweb-z", data: {codec, types, bytes}}`, where
//! `bytes`, decompressed with `codec` (`deflate-raw` or `gzip`, the browser's
//! `CompressionStream` formats), are the UTF-8 JSON array of one or more rrweb events, and
//! `types` is each event's rrweb `type`, in order. The web SDK sends every full snapshot and
//! batches of incremental events this way (sdk-js/packages/web/src/zip.ts); the viewer
//! decompresses them.
//!
//! The relay never decompresses: it reads `types` (does the batch start a new page, does it hold
//! the page's full snapshot) to keep the replay, checks the frame's shape here, and passes the
//! frame's bytes on unchanged; the replay keeps them compressed. Plain `rrweb` frames (older
//! SDKs) are relayed and kept as before.

use crate::replay::Kinds;
use crate::skim;

/// The compressed recording's event name.
pub const ZIPPED: &str = "rrweb-z";

/// The compression formats a batch may use.
pub const CODECS: &[&str] = &["deflate-raw", "gzip"];

/// The most events one batch may carry.
pub const MAX_EVENTS: usize = 65_536;

/// rrweb's event types run from 0 (DomContentLoaded) to 6 (Plugin).
const MAX_TYPE: u64 = 6;
const META: u64 = 4;
const FULL_SNAPSHOT: u64 = 2;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ZipError {
    #[error("an rrweb-z frame's data is a map of exactly `codec`, `types` and `bytes`")]
    Malformed,
    #[error("an rrweb-z frame's codec must be one of deflate-raw, gzip (got {0:?})")]
    Codec(String),
    #[error("an rrweb-z frame's `bytes` must be a byte string, not empty")]
    NoBytes,
    #[error("an rrweb-z frame's `types` must list 1 to 65536 rrweb event types (0 to 6)")]
    Types,
    #[error("a new page (rrweb type 4) may only be the first event of an rrweb-z batch")]
    MetaNotFirst,
}

impl ZipError {
    pub fn id(&self) -> &'static str {
        "invalid_recording"
    }
}

/// Reads and checks an `rrweb-z` frame's `data` (its CBOR bytes, already strict): what the
/// replay needs to know about the batch it carries.
pub fn read(data: &[u8]) -> Result<Kinds, ZipError> {
    let entries = skim::entries(data).ok_or(ZipError::Malformed)?;
    let (mut codec, mut types, mut bytes) = (None, None, None);
    for (key, value) in entries {
        let slot = match key {
            "codec" => &mut codec,
            "types" => &mut types,
            "bytes" => &mut bytes,
            _ => return Err(ZipError::Malformed),
        };
        *slot = Some(value);
    }
    let (Some(codec), Some(types), Some(bytes)) = (codec, types, bytes) else {
        return Err(ZipError::Malformed);
    };
    let codec = skim::text(codec).ok_or(ZipError::Malformed)?;
    if !CODECS.contains(&codec) {
        return Err(ZipError::Codec(codec.chars().take(32).collect()));
    }
    if skim::bytes(bytes).is_none_or(<[u8]>::is_empty) {
        return Err(ZipError::NoBytes);
    }
    let types = skim::items(types).ok_or(ZipError::Types)?;
    if types.is_empty() || types.len() > MAX_EVENTS {
        return Err(ZipError::Types);
    }
    let mut kinds = Kinds::default();
    for (i, t) in types.into_iter().enumerate() {
        match skim::uint(t) {
            Some(META) if i > 0 => return Err(ZipError::MetaNotFirst),
            Some(META) => kinds.new_page = true,
            Some(FULL_SNAPSHOT) => kinds.snapshot = true,
            Some(t) if t <= MAX_TYPE => {}
            _ => return Err(ZipError::Types),
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skim::cbor;
    use ciborium::Value;

    fn data(codec: &str, types: &[u64], bytes: &[u8]) -> Vec<u8> {
        cbor(&Value::Map(vec![
            (Value::Text("codec".into()), Value::Text(codec.into())),
            (
                Value::Text("types".into()),
                Value::Array(types.iter().map(|&t| Value::Integer(t.into())).collect()),
            ),
            (Value::Text("bytes".into()), Value::Bytes(bytes.to_vec())),
        ]))
    }

    #[test]
    fn reads_whether_a_batch_starts_a_page_and_holds_its_snapshot() {
        let kinds = |types: &[u64]| read(&data("deflate-raw", types, b"\x01")).unwrap();
        assert_eq!(
            kinds(&[4, 2, 3]),
            Kinds {
                new_page: true,
                snapshot: true,
                pointer: false
            }
        );
        assert_eq!(kinds(&[3, 3, 5]), Kinds::default());
        assert_eq!(
            kinds(&[2]),
            Kinds {
                new_page: false,
                snapshot: true,
                pointer: false
            }
        );
        assert_eq!(read(&data("gzip", &[3], b"x")), Ok(Kinds::default()));
    }

    #[test]
    fn refuses_what_is_not_a_batch() {
        assert_eq!(
            read(&data("deflate-raw", &[3, 4], b"x")),
            Err(ZipError::MetaNotFirst)
        );
        assert_eq!(
            read(&data("brotli", &[3], b"x")),
            Err(ZipError::Codec("brotli".into()))
        );
        assert_eq!(read(&data("gzip", &[], b"x")), Err(ZipError::Types));
        assert_eq!(read(&data("gzip", &[7], b"x")), Err(ZipError::Types));
        assert_eq!(
            read(&data("gzip", &vec![3; MAX_EVENTS + 1], b"x")),
            Err(ZipError::Types)
        );
        assert_eq!(read(&data("gzip", &[3], b"")), Err(ZipError::NoBytes));
        assert_eq!(
            read(&cbor(&Value::Text("x".into()))),
            Err(ZipError::Malformed)
        );
        // A missing field, an extra one, and a field of the wrong kind.
        let mut map = vec![
            (Value::Text("codec".into()), Value::Text("gzip".into())),
            (Value::Text("types".into()), Value::Array(vec![])),
        ];
        assert_eq!(
            read(&cbor(&Value::Map(map.clone()))),
            Err(ZipError::Malformed)
        );
        map.push((Value::Text("bytes".into()), Value::Text("x".into())));
        assert_eq!(
            read(&cbor(&Value::Map(map.clone()))),
            Err(ZipError::NoBytes)
        );
        map[2].1 = Value::Bytes(vec![1]);
        map.push((Value::Text("extra".into()), Value::Null));
        assert_eq!(read(&cbor(&Value::Map(map))), Err(ZipError::Malformed));
    }
}
