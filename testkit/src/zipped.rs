//! Compressed recording batches (`rrweb-z`, realtime/src/zipped.rs) as the web SDK sends them:
//! `{codec: "deflate-raw", types, bytes}`, where `bytes` is the deflate-raw of the JSON array of
//! the rrweb events and `types` their rrweb `type`s, in order.

use std::io::{Read, Write};

use ciborium::Value as Cbor;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde_json::Value;

/// The event compressed batches travel as.
pub const ZIPPED: &str = "rrweb-z";

/// The `data` of one compressed batch of `events` (deflate-raw at zlib's default level, as
/// Chromium's `CompressionStream` writes it).
pub fn batch(events: &[Value]) -> Cbor {
    let json = serde_json::to_vec(events).expect("JSON values serialise");
    let mut deflate = DeflateEncoder::new(Vec::new(), Compression::default());
    deflate.write_all(&json).expect("writing to a Vec");
    let bytes = deflate.finish().expect("writing to a Vec");
    let types = events
        .iter()
        .map(|e| Cbor::Integer(e["type"].as_u64().unwrap_or(5).into()))
        .collect();
    Cbor::Map(vec![
        (Cbor::Text("codec".into()), Cbor::Text("deflate-raw".into())),
        (Cbor::Text("types".into()), Cbor::Array(types)),
        (Cbor::Text("bytes".into()), Cbor::Bytes(bytes)),
    ])
}

/// The events a batch's deflate-raw `bytes` carry.
pub fn inflate(bytes: &[u8]) -> Vec<Value> {
    let mut json = Vec::new();
    DeflateDecoder::new(bytes)
        .read_to_end(&mut json)
        .expect("deflate-raw");
    serde_json::from_slice(&json).expect("a JSON array of events")
}

/// The CBOR of `data` as the `data` of an `rrweb-z` frame (with `id` when given).
pub fn frame(data: &Cbor, id: Option<u64>) -> Vec<u8> {
    let mut map = vec![(Cbor::Text("event".into()), Cbor::Text(ZIPPED.into()))];
    if let Some(id) = id {
        map.push((Cbor::Text("id".into()), Cbor::Integer(id.into())));
    }
    map.push((Cbor::Text("data".into()), data.clone()));
    let mut out = Vec::new();
    ciborium::into_writer(&Cbor::Map(map), &mut out).expect("encoding to a Vec");
    out
}

/// The frames one batch travels in: one `rrweb-z` frame, or `chunk` frames of series `series`
/// when its CBOR is over [`crate::ws::CHUNK`] bytes (as the web SDK splits it).
pub fn frames(data: &Cbor, series: u64, first_id: Option<u64>) -> Vec<Vec<u8>> {
    let mut body = Vec::new();
    ciborium::into_writer(data, &mut body).expect("encoding to a Vec");
    if body.len() <= crate::ws::CHUNK {
        return vec![frame(data, first_id)];
    }
    let parts: Vec<&[u8]> = body.chunks(crate::ws::CHUNK).collect();
    let of = parts.len() as u64;
    parts
        .into_iter()
        .zip(0..)
        .map(|(part, seq)| {
            crate::ws::chunk_frame(first_id.map(|id| id + seq), ZIPPED, series, seq, of, part)
        })
        .collect()
}

/// The bytes a gzip file holds (the benchmark's recorded trace, say).
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

/// One plain `rrweb` frame, `event` first, as the web SDK writes one (and older SDKs write every
/// event).
pub fn plain(event: &Value) -> Vec<u8> {
    let data = Cbor::serialized(event).expect("JSON values serialise");
    let mut out = Vec::new();
    ciborium::into_writer(
        &Cbor::Map(vec![
            (Cbor::Text("event".into()), Cbor::Text("rrweb".into())),
            (Cbor::Text("data".into()), data),
        ]),
        &mut out,
    )
    .expect("encoding to a Vec");
    out
}
