//! Reads the shape of a CBOR item without building it: where it ends, whether it is well
//! formed (RFC 8949: lengths within the buffer, valid UTF-8 text, breaks only where an
//! indefinite length is open, bounded nesting), and one integer field of a top-level map.
//! A page's snapshot is megabytes of nested maps; this walks it in a few milliseconds, where
//! decoding it would take tens and allocate it all again.

use std::str;

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

/// Where the one well-formed CBOR item starting at `pos` ends, or `None` if it is not one.
pub fn item_end(buf: &[u8], mut pos: usize) -> Option<usize> {
    // Items still to read in each open container, innermost last (`None`: until a break).
    let mut open: Vec<Option<u64>> = Vec::new();
    let mut left: Option<u64> = Some(1);
    loop {
        if left == Some(0) {
            match open.pop() {
                Some(outer) => {
                    left = outer;
                    continue;
                }
                None => return Some(pos),
            }
        }
        if left.is_none() && *buf.get(pos)? == 0xff {
            pos += 1;
            left = open.pop()?;
            continue;
        }
        if let Some(n) = left.as_mut() {
            *n -= 1;
        }
        let (major, _, arg, next) = header(buf, pos)?;
        pos = next;
        match (major, arg) {
            (0 | 1, Some(_)) => {}
            (2 | 3, Some(len)) => pos = string_end(buf, pos, len, major == 3)?,
            (2 | 3, None) => loop {
                // A chunked string: definite strings of the same type, then a break.
                if *buf.get(pos)? == 0xff {
                    pos += 1;
                    break;
                }
                match header(buf, pos)? {
                    (m, _, Some(len), at) if m == major => {
                        pos = string_end(buf, at, len, major == 3)?
                    }
                    _ => return None,
                }
            },
            (4..=6, _) => {
                if open.len() >= MAX_DEPTH {
                    return None;
                }
                let items = match (major, arg) {
                    (4, n) => n,
                    (5, Some(n)) => Some(n.checked_mul(2)?),
                    (5, None) => None,
                    // A tag wraps exactly one item.
                    (_, Some(_)) => Some(1),
                    (_, None) => return None,
                };
                open.push(left);
                left = items;
            }
            // Simple values and floats (their bytes were the header's argument).
            (7, Some(_)) => {}
            // A break with no indefinite length open.
            _ => return None,
        }
    }
}

/// Whether `buf` is exactly one well-formed CBOR item.
pub fn one_item(buf: &[u8]) -> bool {
    item_end(buf, 0) == Some(buf.len())
}

/// The integer under the text key `key` of the map `buf` starts with (well-formedness is
/// `one_item`'s business).
pub fn map_int(buf: &[u8], key: &str) -> Option<i64> {
    let (major, _, pairs, mut pos) = header(buf, 0)?;
    if major != 5 {
        return None;
    }
    let mut seen = 0u64;
    loop {
        match pairs {
            Some(n) if seen == n => return None,
            None if *buf.get(pos)? == 0xff => return None,
            _ => {}
        }
        seen += 1;
        let key_end = item_end(buf, pos)?;
        let is_key = match header(buf, pos)? {
            (3, _, Some(len), at) => {
                buf.get(at..string_end(buf, at, len, true)?)? == key.as_bytes()
            }
            _ => false,
        };
        pos = key_end;
        if is_key {
            return match header(buf, pos)? {
                (0, _, Some(v), _) => i64::try_from(v).ok(),
                (1, _, Some(v), _) => i64::try_from(v).ok().map(|v| -1 - v),
                _ => None,
            };
        }
        pos = item_end(buf, pos)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::cbor as encode;
    use ciborium::Value;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn sample() -> Value {
        Value::Map(vec![
            (text("type"), Value::Integer(2.into())),
            (
                text("data"),
                Value::Map(vec![
                    (
                        text("node"),
                        Value::Array(vec![
                            Value::Bytes(vec![1, 2, 3]),
                            Value::Float(1.5),
                            Value::Bool(true),
                            Value::Null,
                            Value::Integer((-70000).into()),
                            Value::Tag(1, Box::new(Value::Integer(0.into()))),
                            text("é ☃"),
                        ]),
                    ),
                    (Value::Integer(7.into()), text("non-text key")),
                ]),
            ),
        ])
    }

    #[test]
    fn walks_what_ciborium_writes() {
        let bytes = encode(&sample());
        assert!(one_item(&bytes));
        assert_eq!(map_int(&bytes, "type"), Some(2));
        assert_eq!(map_int(&bytes, "missing"), None);
        // Every cut is refused, and so is anything after the item.
        for cut in 0..bytes.len() {
            assert!(!one_item(&bytes[..cut]), "cut at {cut}");
        }
        let mut two = bytes.clone();
        two.extend(&bytes);
        assert!(!one_item(&two));
        assert_eq!(item_end(&two, 0), Some(bytes.len()));
    }

    #[test]
    fn reads_indefinite_lengths_and_refuses_stray_breaks() {
        // {_ "a": [_ 1, 2], "type": -3, "s": (_ "ab" "c")}
        let mut b = vec![0xbf, 0x61, b'a', 0x9f, 0x01, 0x02, 0xff, 0x64];
        b.extend(b"type");
        b.push(0x22);
        b.extend([0x61, b's', 0x7f, 0x62, b'a', b'b', 0x61, b'c', 0xff, 0xff]);
        assert!(one_item(&b));
        assert_eq!(map_int(&b, "type"), Some(-3));
        assert!(!one_item(&[0xff]));
        assert!(!one_item(&[0x82, 0x01, 0xff]));
        // A chunked text string with a byte-string piece, invalid UTF-8, reserved info.
        assert!(!one_item(&[0x7f, 0x41, b'a', 0xff]));
        assert!(!one_item(&[0x62, 0xc3, 0x28]));
        assert!(!one_item(&[0x1c]));
        assert!(!one_item(&[0x1f]));
        assert!(!one_item(&[0xdf, 0x01]));
    }

    #[test]
    fn bounds_nesting_without_recursing() {
        let mut deep = vec![0x81; 100_000];
        deep.push(0x00);
        assert!(!one_item(&deep));
        let mut fine = vec![0x81; 1000];
        fine.push(0x00);
        assert!(one_item(&fine));
        // A length no buffer holds.
        assert!(!one_item(&[
            0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]));
        assert!(!one_item(&[
            0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]));
    }
}
