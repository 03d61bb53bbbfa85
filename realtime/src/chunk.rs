//! Events too big for one socket frame travel as numbered chunks, each a frame of its own:
//! `{event: "chunk", data: {event, series, seq, of, bytes}}`, where the `bytes` of chunks
//! `0..of` of one `series`, joined, are the CBOR encoding of the carried event's `data`.
//!
//! The relay passes every chunk on as it comes (so the viewer can show progress), and checks
//! the series here: in order, of one kind, within the bound on one event, and, once complete, a
//! well-formed CBOR item. A series that breaks a rule is dropped, and both sides are told.

use ciborium::Value;

use crate::replay::Kinds;
use crate::skim;
use crate::zipped::{self, ZipError, ZIPPED};

/// Events a device may send in chunks (never one the server acts on itself).
const CARRIED: &[&str] = &["rrweb", ZIPPED, "message"];

/// One chunk, read from a frame's `data`.
#[derive(Debug, PartialEq)]
pub struct Chunk<'a> {
    pub event: &'a str,
    pub series: u64,
    pub seq: u64,
    pub of: u64,
    pub bytes: &'a [u8],
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ChunkError {
    #[error("a chunk is {{event, series, seq, of, bytes}} with 0 <= seq < of and bytes not empty")]
    Malformed,
    #[error("{0:?} events cannot be sent in chunks")]
    NotCarried(String),
    #[error("chunk {seq} of series {series} is out of order")]
    OutOfOrder { series: u64, seq: u64 },
    #[error("the event is larger than the {limit} bytes one event may have")]
    TooLarge { limit: usize },
    #[error("the chunks of series {0} do not join into one strict CBOR item")]
    NotCbor(u64),
    #[error("another frame came before the chunked event was complete")]
    Interrupted,
    #[error("the chunks of series {0} carry a compressed recording that breaks its rules: {1}")]
    Recording(u64, ZipError),
}

impl ChunkError {
    pub fn id(&self) -> &'static str {
        match self {
            ChunkError::TooLarge { .. } => "event_too_large",
            _ => "invalid_chunk",
        }
    }
}

fn field<'v>(map: &'v [(Value, Value)], name: &str) -> Option<&'v Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

fn count(map: &[(Value, Value)], name: &str) -> Option<u64> {
    field(map, name)?
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
}

impl<'a> Chunk<'a> {
    pub fn parse(data: &'a Value) -> Result<Self, ChunkError> {
        let map = data.as_map().ok_or(ChunkError::Malformed)?;
        let event = field(map, "event")
            .and_then(Value::as_text)
            .ok_or(ChunkError::Malformed)?;
        let (Some(series), Some(seq), Some(of)) =
            (count(map, "series"), count(map, "seq"), count(map, "of"))
        else {
            return Err(ChunkError::Malformed);
        };
        let bytes = field(map, "bytes")
            .and_then(Value::as_bytes)
            .ok_or(ChunkError::Malformed)?;
        if seq >= of || bytes.is_empty() {
            return Err(ChunkError::Malformed);
        }
        if !CARRIED.contains(&event) {
            return Err(ChunkError::NotCarried(event.to_owned()));
        }
        Ok(Chunk {
            event,
            series,
            seq,
            of,
            bytes: bytes.as_slice(),
        })
    }
}

/// The series a socket is sending, while it is incomplete.
struct Partial {
    event: String,
    series: u64,
    of: u64,
    next: u64,
    joined: Vec<u8>,
}

/// One socket's chunk reassembly: at most one series in flight, at most `max_event` bytes.
#[derive(Default)]
pub struct Assembly {
    partial: Option<Partial>,
    /// The series dropped last: the rest of its chunks are let go without a word.
    dropped: Option<u64>,
}

/// A series completed: the event it carried, and what it means to the replay when it is a
/// recording (`rrweb`, or a compressed `rrweb-z` batch).
#[derive(Debug, PartialEq)]
pub struct Complete {
    pub event: String,
    pub kinds: Kinds,
}

/// What a chunk did to the series.
#[derive(Debug, PartialEq)]
pub enum Progress {
    /// More chunks to come. `restarted` when this chunk began a series and dropped an
    /// unfinished one (the sender reconnected, say).
    Partial {
        restarted: bool,
    },
    Complete(Complete),
    /// A chunk of a series already dropped: not passed on.
    Skipped,
}

impl Assembly {
    /// Takes the next chunk. On an error the series in flight is dropped.
    pub fn push(&mut self, chunk: &Chunk, max_event: usize) -> Result<Progress, ChunkError> {
        if chunk.seq > 0 && self.dropped == Some(chunk.series) && self.partial.is_none() {
            return Ok(Progress::Skipped);
        }
        let mut restarted = false;
        if chunk.seq == 0 {
            restarted = self.partial.take().is_some();
            self.partial = Some(Partial {
                event: chunk.event.to_owned(),
                series: chunk.series,
                of: chunk.of,
                next: 0,
                joined: Vec::new(),
            });
        }
        let result = self.take(chunk, max_event);
        if result.is_err() {
            self.drop_series();
        }
        let done = result?;
        Ok(match done {
            Some(c) => Progress::Complete(c),
            None => Progress::Partial { restarted },
        })
    }

    fn take(&mut self, chunk: &Chunk, max_event: usize) -> Result<Option<Complete>, ChunkError> {
        let out_of_order = ChunkError::OutOfOrder {
            series: chunk.series,
            seq: chunk.seq,
        };
        let p = self.partial.as_mut().ok_or_else(|| out_of_order.clone())?;
        if p.series != chunk.series || p.next != chunk.seq || p.of != chunk.of {
            return Err(out_of_order);
        }
        if p.event != chunk.event {
            return Err(ChunkError::Malformed);
        }
        if p.joined.len() + chunk.bytes.len() > max_event {
            return Err(ChunkError::TooLarge { limit: max_event });
        }
        p.joined.extend_from_slice(chunk.bytes);
        p.next += 1;
        if p.next < p.of {
            return Ok(None);
        }
        let p = self.partial.take().expect("a series in flight");
        if skim::strict(&p.joined).is_err() {
            return Err(ChunkError::NotCbor(p.series));
        }
        // Only its shape is walked: nothing is built, nothing is decompressed.
        let kinds = match p.event.as_str() {
            "rrweb" => Kinds::of(skim::map_int(&p.joined, "type")),
            ZIPPED => zipped::read(&p.joined).map_err(|e| ChunkError::Recording(p.series, e))?,
            _ => Kinds::default(),
        };
        Ok(Some(Complete {
            event: p.event,
            kinds,
        }))
    }

    /// Drops the series in flight (another frame interrupted it, say).
    pub fn drop_series(&mut self) {
        if let Some(p) = self.partial.take() {
            self.dropped = Some(p.series);
        }
    }

    /// The series in flight, if any: `(series, chunks received)`.
    pub fn in_flight(&self) -> Option<(u64, u64)> {
        self.partial.as_ref().map(|p| (p.series, p.next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skim::cbor as encode;

    fn rrweb(kind: i64, filler: usize) -> Vec<u8> {
        encode(&Value::Map(vec![
            (Value::Text("type".into()), Value::Integer(kind.into())),
            (Value::Text("data".into()), Value::Text("x".repeat(filler))),
        ]))
    }

    fn chunk<'a>(series: u64, seq: u64, of: u64, bytes: &'a [u8]) -> Chunk<'a> {
        Chunk {
            event: "rrweb",
            series,
            seq,
            of,
            bytes,
        }
    }

    fn send(
        a: &mut Assembly,
        series: u64,
        body: &[u8],
        size: usize,
    ) -> Result<Progress, ChunkError> {
        let parts: Vec<&[u8]> = body.chunks(size).collect();
        let of = parts.len() as u64;
        let mut last = None;
        for (i, part) in parts.iter().enumerate() {
            last = Some(a.push(&chunk(series, i as u64, of, part), 1 << 20)?);
        }
        Ok(last.unwrap())
    }

    #[test]
    fn joins_a_series_and_reads_the_rrweb_type() {
        let mut a = Assembly::default();
        let body = rrweb(2, 10_000);
        assert_eq!(
            send(&mut a, 1, &body, 3000),
            Ok(Progress::Complete(Complete {
                event: "rrweb".into(),
                kinds: Kinds::of(Some(2))
            }))
        );
        assert_eq!(a.in_flight(), None);
    }

    /// A compressed batch `{codec, types, bytes}` of `types`.
    fn zipped(types: &[u64], filler: usize) -> Vec<u8> {
        encode(&Value::Map(vec![
            (
                Value::Text("codec".into()),
                Value::Text("deflate-raw".into()),
            ),
            (
                Value::Text("types".into()),
                Value::Array(types.iter().map(|&t| Value::Integer(t.into())).collect()),
            ),
            (Value::Text("bytes".into()), Value::Bytes(vec![7; filler])),
        ]))
    }

    #[test]
    fn joins_a_compressed_batch_and_reads_its_types_without_decompressing() {
        let mut a = Assembly::default();
        let body = zipped(&[4, 2], 10_000);
        let of = body.chunks(3000).count() as u64;
        let pushed = body
            .chunks(3000)
            .enumerate()
            .map(|(i, part)| {
                a.push(
                    &Chunk {
                        event: ZIPPED,
                        ..chunk(1, i as u64, of, part)
                    },
                    1 << 20,
                )
            })
            .last()
            .unwrap();
        assert_eq!(
            pushed,
            Ok(Progress::Complete(Complete {
                event: ZIPPED.into(),
                kinds: Kinds {
                    new_page: true,
                    snapshot: true,
                    pointer: false
                }
            }))
        );
        // A batch that breaks the rules is refused once joined.
        let body = zipped(&[3, 4], 100);
        let pushed = a.push(
            &Chunk {
                event: ZIPPED,
                ..chunk(2, 0, 1, &body)
            },
            1 << 20,
        );
        assert_eq!(
            pushed,
            Err(ChunkError::Recording(2, ZipError::MetaNotFirst))
        );
        assert_eq!(
            ChunkError::Recording(2, ZipError::Types).id(),
            "invalid_chunk"
        );
    }

    #[test]
    fn refuses_gaps_repeats_and_foreign_series() {
        let body = rrweb(3, 100);
        let mut a = Assembly::default();
        a.push(&chunk(7, 0, 3, &body[..10]), 1000).unwrap();
        assert!(matches!(
            a.push(&chunk(7, 2, 3, &body[10..20]), 1000),
            Err(ChunkError::OutOfOrder { .. })
        ));
        assert_eq!(a.in_flight(), None, "the series is dropped");
        // No series started: a middle chunk is out of order.
        assert!(a.push(&chunk(8, 1, 3, &body[..10]), 1000).is_err());
        a.push(&chunk(9, 0, 3, &body[..10]), 1000).unwrap();
        assert!(
            a.push(&chunk(9, 1, 4, &body[10..20]), 1000).is_err(),
            "of changed"
        );
        a.push(&chunk(10, 0, 2, &body[..10]), 1000).unwrap();
        assert!(
            a.push(&chunk(11, 1, 2, &body[10..]), 1000).is_err(),
            "another series"
        );
    }

    #[test]
    fn a_new_series_replaces_an_unfinished_one() {
        let body = rrweb(2, 100);
        let mut a = Assembly::default();
        a.push(&chunk(1, 0, 3, &body[..10]), 1000).unwrap();
        assert_eq!(
            a.push(&chunk(2, 0, 2, &body[..50]), 1000),
            Ok(Progress::Partial { restarted: true })
        );
        assert!(matches!(
            a.push(&chunk(2, 1, 2, &body[50..]), 1000),
            Ok(Progress::Complete(_))
        ));
    }

    #[test]
    fn bounds_one_event() {
        let body = rrweb(2, 5000);
        let mut a = Assembly::default();
        let parts: Vec<&[u8]> = body.chunks(1000).collect();
        let of = parts.len() as u64;
        let mut result = Ok(Progress::Partial { restarted: false });
        for (i, part) in parts.iter().enumerate() {
            result = a.push(&chunk(1, i as u64, of, part), 4096);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ChunkError::TooLarge { limit: 4096 }));
        // The rest of that series is let go quietly.
        assert_eq!(
            a.push(&chunk(1, 5, of, parts[5]), 4096),
            Ok(Progress::Skipped)
        );
        assert_eq!(ChunkError::TooLarge { limit: 1 }.id(), "event_too_large");
        assert_eq!(a.in_flight(), None);
    }

    #[test]
    fn refuses_what_is_not_one_cbor_item() {
        let mut a = Assembly::default();
        let mut two = rrweb(3, 10);
        two.extend(rrweb(3, 10));
        assert_eq!(send(&mut a, 1, &two, 8), Err(ChunkError::NotCbor(1)));
        let cut = rrweb(3, 100);
        assert_eq!(
            send(&mut a, 2, &cut[..cut.len() - 1], 8),
            Err(ChunkError::NotCbor(2))
        );
    }

    #[test]
    fn parses_only_well_formed_chunks_of_carried_events() {
        let data = |event: &str, seq: i64, of: i64, bytes: Vec<u8>| {
            Value::Map(vec![
                (Value::Text("event".into()), Value::Text(event.into())),
                (Value::Text("series".into()), Value::Integer(1.into())),
                (Value::Text("seq".into()), Value::Integer(seq.into())),
                (Value::Text("of".into()), Value::Integer(of.into())),
                (Value::Text("bytes".into()), Value::Bytes(bytes)),
            ])
        };
        let ok = data("rrweb", 0, 2, vec![1]);
        assert_eq!(Chunk::parse(&ok).unwrap().of, 2);
        assert_eq!(
            Chunk::parse(&data("rrweb", 2, 2, vec![1])),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunk::parse(&data("rrweb", -1, 2, vec![1])),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunk::parse(&data("rrweb", 0, 2, vec![])),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunk::parse(&data("control", 0, 2, vec![1])),
            Err(ChunkError::NotCarried("control".into()))
        );
        assert_eq!(Chunk::parse(&Value::Null), Err(ChunkError::Malformed));
    }
}
