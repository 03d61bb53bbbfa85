//! Compressed recording batches (`rrweb-z`, realtime/src/zipped.rs) as the web SDK sends them:
//! `{codec: "deflate-raw", types, bytes}`, where `bytes` is the deflate-raw of the JSON array of
//! the rrweb events (or, for a batch with pointer moves, of their compact form: [`packed`]) and
//! `types` their rrweb `type`s, in order.

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
    deflated(
        events,
        &serde_json::to_vec(events).expect("JSON values serialise"),
    )
}

/// The `data` of one compressed batch of `events` as the web SDK sends a batch with pointer
/// moves: their compact form ([`packed`]), deflate-raw.
pub fn packed_batch(events: &[Value]) -> Cbor {
    deflated(events, &packed(events))
}

/// A batch of `events` whose bytes are `content`, deflate-raw.
fn deflated(events: &[Value], content: &[u8]) -> Cbor {
    let mut deflate = DeflateEncoder::new(Vec::new(), Compression::default());
    deflate.write_all(content).expect("writing to a Vec");
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

/// The compact form's version, its first byte.
const PACKED: u8 = 1;
/// rrweb's incremental sources for pointer movement, by their code in the form.
const POINTER_SOURCES: [u64; 3] = [1, 6, 12];
/// Integers past 2^50 go as JSON (or doubles), as in the SDK.
const LIMIT: f64 = 1_125_899_906_842_624.0;

fn safe(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= LIMIT)
}

/// Whether `e` is a pointer move the compact form carries: `Some(true)` with integers only,
/// `Some(false)` with doubles. Rust's JSON maps do not keep their keys' order, so unlike the
/// SDK this does not check rrweb's key order (the benchmark's trace is rrweb's own).
fn move_kind(e: &Value) -> Option<bool> {
    let o = e.as_object()?;
    if o.len() != 3 || e["type"] != 3 || safe(o.get("timestamp")?)? < 0.0 {
        return None;
    }
    let data = o.get("data")?.as_object()?;
    let source = data.get("source")?.as_u64()?;
    if data.len() != 2 || !POINTER_SOURCES.contains(&source) {
        return None;
    }
    let mut ints = true;
    for p in data.get("positions")?.as_array()? {
        let p = p.as_object()?;
        if p.len() != 4 {
            return None;
        }
        safe(p.get("id")?)?;
        for k in ["x", "y", "timeOffset"] {
            let v = p.get(k)?;
            v.as_f64().filter(|f| f.is_finite())?;
            ints &= safe(v).is_some();
        }
    }
    Some(ints)
}

/// Whether the SDK sends `events` in the compact form.
pub fn has_pointer_moves(events: &[Value]) -> bool {
    events.iter().any(|e| move_kind(e).is_some())
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn signed(out: &mut Vec<u8>, n: i64) {
    varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn double(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(&(if f == 0.0 { 0.0 } else { f }).to_le_bytes());
}

/// `events` in the web SDK's compact form (sdk-js/packages/core/src/pointers.ts, which says
/// what each byte means): the same bytes `packEvents` writes for rrweb's events.
pub fn packed(events: &[Value]) -> Vec<u8> {
    let mut out = vec![PACKED];
    let (mut time, mut x, mut y, mut id): (Option<i64>, i64, i64, i64) = (None, 0, 0, 0);
    let num = |p: &Value, k: &str| p[k].as_f64().expect("checked");
    for e in events {
        let Some(ints) = move_kind(e) else {
            let json = serde_json::to_vec(e).expect("JSON values serialise");
            out.push(3);
            varint(&mut out, json.len() as u64);
            out.extend_from_slice(&json);
            continue;
        };
        let source = e["data"]["source"].as_u64().expect("checked");
        let positions = e["data"]["positions"].as_array().expect("checked");
        let ids: Vec<i64> = positions.iter().map(|p| num(p, "id") as i64).collect();
        let same = ids.iter().all(|&i| i == id);
        let zero = positions.iter().all(|p| num(p, "timeOffset") == 0.0);
        let count = if (1..=7).contains(&positions.len()) {
            positions.len() as u8
        } else {
            0
        };
        let code = POINTER_SOURCES
            .iter()
            .position(|&s| s == source)
            .expect("checked") as u8;
        let flags = [(zero, 0x04), (same, 0x08), (!ints, 0x80)]
            .iter()
            .filter(|(on, _)| *on)
            .fold(0u8, |all, (_, bit)| all | bit);
        out.push(code | flags | count << 4);
        if count == 0 {
            varint(&mut out, positions.len() as u64);
        }
        let t = num(e, "timestamp") as i64;
        match time {
            None => varint(&mut out, t as u64),
            Some(before) => signed(&mut out, t - before),
        }
        time = Some(t);
        for (p, &pid) in positions.iter().zip(&ids) {
            if ints {
                let (px, py) = (num(p, "x") as i64, num(p, "y") as i64);
                signed(&mut out, px - x);
                signed(&mut out, py - y);
                (x, y) = (px, py);
            } else {
                double(&mut out, num(p, "x"));
                double(&mut out, num(p, "y"));
            }
            if !same {
                signed(&mut out, pid - id);
            }
            id = pid;
            if zero {
                continue;
            }
            if ints {
                signed(&mut out, num(p, "timeOffset") as i64);
            } else {
                double(&mut out, num(p, "timeOffset"));
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The same events and bytes as the SDK's test (sdk-js/packages/viewer/test/pointers.test.ts):
    /// the benchmark's model of the compact form writes what the SDK writes.
    #[test]
    fn packs_pointer_moves_as_the_sdk_does() {
        let events: Vec<Value> = serde_json::from_str(GOLDEN_EVENTS).expect("JSON");
        assert!(has_pointer_moves(&events));
        assert!(!has_pointer_moves(&events[2..3]));
        let hex: String = packed(&events).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_HEX);
    }

    const GOLDEN_EVENTS: &str = r#"[
        {"type":3,"data":{"source":1,"positions":[{"x":217,"y":378,"id":55,"timeOffset":0}]},"timestamp":1796041972755},
        {"type":3,"data":{"source":12,"positions":[{"x":200,"y":-5,"id":55,"timeOffset":-3},{"x":201,"y":-4,"id":60,"timeOffset":0}]},"timestamp":1796041972700},
        {"type":5},
        {"type":3,"data":{"source":6,"positions":[{"x":1.5,"y":2,"id":60,"timeOffset":0}]},"timestamp":1796041972710}
    ]"#;
    const GOLDEN_HEX: &str = "011493b8c6e3a234b203f4056e226d21fd05000502020a00030a7b2274797065223a357d9d14000000000000f83f0000000000000040";
}
