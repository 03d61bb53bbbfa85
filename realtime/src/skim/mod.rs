//! Reads the shape of a CBOR item without building it: whether it is one strict item (RFC 8949
//! well-formed, and nothing any two readers could read differently: see [`strict::strict_end`]), and
//! one integer field of a top-level map.
//! A page's snapshot is megabytes of nested maps; this walks it in a few milliseconds, where
//! decoding it would take tens and allocate it all again.
//!
//! - `strict`: whether a buffer is one strict item;
//! - `read`: the few values the server reads out of one, once it is known to be strict.

mod read;
mod strict;

use std::str;

pub use read::{bytes, entries, int, items, map_int, text, uint};
pub use strict::{strict, Strictness};

/// Containers open at once, at most (rrweb nests two levels for each level of the DOM).
const MAX_DEPTH: usize = 4096;

/// The header at `pos`: major type, additional info, its argument (`None` for an indefinite
/// length) and where the content starts.
fn header(buf: &[u8], pos: usize) -> Option<(u8, u8, Option<u64>, usize)> {
    let b = *buf.get(pos)?;
    let (major, info) = (b >> 5, b & 0x1f);
    let at = pos + 1;
    let (arg, next) = match info {
        0..=23 => (Some(u64::from(info)), at),
        24..=27 => {
            let n = 1usize << (info - 24);
            let bytes = buf.get(at..at + n)?;
            let v = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
            (Some(v), at + n)
        }
        31 => (None, at),
        _ => return None,
    };
    Some((major, info, arg, next))
}

/// The end of a definite-length string at `at` of `len` bytes (checked as UTF-8 for text).
fn string_end(buf: &[u8], at: usize, len: u64, text: bool) -> Option<usize> {
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let bytes = buf.get(at..end)?;
    if text {
        str::from_utf8(bytes).ok()?;
    }
    Some(end)
}

/// A CBOR value's bytes, for the crate's tests.
#[cfg(test)]
pub(crate) fn cbor(v: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}
