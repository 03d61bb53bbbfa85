//! Reads the shape of a CBOR item without building it: whether it is one strict item (RFC 8949
//! well-formed, and nothing any two readers could read differently: see [`strict_end`]), and
//! one integer field of a top-level map.
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

/// Why a buffer is not one strict CBOR item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Strictness {
    #[error("the bytes are not well-formed CBOR")]
    Malformed,
    #[error("there is more after the first CBOR item")]
    Trailing,
    #[error("CBOR tags are not accepted")]
    Tag,
    #[error("indefinite lengths are not accepted")]
    Indefinite,
    #[error("map keys must be text")]
    KeyNotText,
    #[error("a map has the same key twice")]
    DuplicateKey,
    #[error("only false, true, null, undefined and floats are accepted as simple values")]
    Simple,
    #[error("the item nests too deeply")]
    TooDeep,
}

/// A container still being read: items left (keys and values both count in a map) and where
/// its keys start on the shared key stack.
struct Open {
    left: u64,
    map: bool,
    keys_from: usize,
}

/// Where the one strict CBOR item at the start of `buf` ends.
///
/// Strict is what every reader of a socket frame reads the same way: the server, cbor-x in the
/// browser and ciborium agree on it byte for byte. No tags (cbor-x resolves shared references
/// and records, others do not), no indefinite lengths, text keys only, no key twice in a map
/// (readers disagree on which one wins), valid UTF-8, and no simple values other than
/// false/true/null/undefined. Non-minimal lengths are fine: every reader reads them alike.
pub fn strict_end(buf: &[u8]) -> Result<usize, Strictness> {
    use Strictness::*;
    let mut open: Vec<Open> = Vec::new();
    // The text of the keys of every open map, innermost last.
    let mut keys: Vec<&[u8]> = Vec::new();
    let mut pos = 0;
    loop {
        let is_key = match open.last_mut() {
            Some(c) => {
                c.left -= 1;
                c.map && c.left % 2 == 1
            }
            None => false,
        };
        let (major, info, arg, next) = header(buf, pos).ok_or(Malformed)?;
        let Some(arg) = arg else {
            return Err(if major == 7 { Malformed } else { Indefinite });
        };
        if is_key && major != 3 {
            return Err(KeyNotText);
        }
        pos = next;
        match major {
            0 | 1 => {}
            2 | 3 => {
                let end = string_end(buf, pos, arg, major == 3).ok_or(Malformed)?;
                if is_key {
                    keys.push(&buf[pos..end]);
                }
                pos = end;
            }
            4 | 5 => {
                let items = if major == 5 {
                    arg.checked_mul(2).ok_or(Malformed)?
                } else {
                    arg
                };
                // Each item takes at least a byte: a length beyond the buffer is a lie.
                if items > (buf.len() - pos) as u64 {
                    return Err(Malformed);
                }
                if items > 0 {
                    if open.len() >= MAX_DEPTH {
                        return Err(TooDeep);
                    }
                    open.push(Open {
                        left: items,
                        map: major == 5,
                        keys_from: keys.len(),
                    });
                    continue;
                }
            }
            6 => return Err(Tag),
            // false, true, null, undefined; half, single and double floats.
            _ => match info {
                20..=23 | 25..=27 => {}
                _ => return Err(Simple),
            },
        }
        while open.last().is_some_and(|c| c.left == 0) {
            let done = open.pop().expect("checked above");
            if done.map {
                let mine = &mut keys[done.keys_from..];
                mine.sort_unstable();
                if mine.windows(2).any(|w| w[0] == w[1]) {
                    return Err(DuplicateKey);
                }
                keys.truncate(done.keys_from);
            }
        }
        if open.is_empty() {
            return Ok(pos);
        }
    }
}

/// Whether `buf` is exactly one strict CBOR item (see [`strict_end`]).
pub fn strict(buf: &[u8]) -> Result<(), Strictness> {
    match strict_end(buf)? {
        end if end == buf.len() => Ok(()),
        _ => Err(Strictness::Trailing),
    }
}

/// Where the one well-formed CBOR item starting at `pos` ends (any well-formed item: this
/// only skips what [`strict`] has already checked).
fn item_end(buf: &[u8], mut pos: usize) -> Option<usize> {
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

/// The entries of the map `buf` is, as (text key, the value's bytes), for a buffer
/// [`strict`] accepted; `None` when it is not a map.
pub fn entries(buf: &[u8]) -> Option<Vec<(&str, &[u8])>> {
    let (major, _, pairs, mut pos) = header(buf, 0)?;
    if major != 5 {
        return None;
    }
    let pairs = usize::try_from(pairs?).ok()?;
    let mut out = Vec::with_capacity(pairs.min(16));
    for _ in 0..pairs {
        let key_end = item_end(buf, pos)?;
        let key = text(&buf[pos..key_end])?;
        let value_end = item_end(buf, key_end)?;
        out.push((key, &buf[key_end..value_end]));
        pos = value_end;
    }
    Some(out)
}

/// The text `buf` is (a definite text string).
pub fn text(buf: &[u8]) -> Option<&str> {
    match header(buf, 0)? {
        (3, _, Some(len), at) => str::from_utf8(buf.get(at..string_end(buf, at, len, true)?)?).ok(),
        _ => None,
    }
}

/// The unsigned integer `buf` is.
pub fn uint(buf: &[u8]) -> Option<u64> {
    match header(buf, 0)? {
        (0, _, Some(v), _) => Some(v),
        _ => None,
    }
}

/// The integer `buf` is.
pub fn int(buf: &[u8]) -> Option<i64> {
    match header(buf, 0)? {
        (0, _, Some(v), _) => i64::try_from(v).ok(),
        (1, _, Some(v), _) => i64::try_from(v).ok().map(|v| -1 - v),
        _ => None,
    }
}

/// The integer under the text key `key` of the map `buf` is (see [`entries`]).
pub fn map_int(buf: &[u8], key: &str) -> Option<i64> {
    entries(buf)?
        .into_iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| int(v))
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
                            Value::Map(vec![]),
                            Value::Array(vec![]),
                            text("é ☃"),
                        ]),
                    ),
                    (text("n"), text("text")),
                ]),
            ),
        ])
    }

    #[test]
    fn walks_what_ciborium_writes() {
        let bytes = encode(&sample());
        assert_eq!(strict(&bytes), Ok(()));
        assert_eq!(map_int(&bytes, "type"), Some(2));
        assert_eq!(map_int(&bytes, "missing"), None);
        // Every cut is refused, and so is anything after the item.
        for cut in 0..bytes.len() {
            assert!(strict(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut two = bytes.clone();
        two.extend(&bytes);
        assert_eq!(strict(&two), Err(Strictness::Trailing));
        assert_eq!(strict_end(&two), Ok(bytes.len()));
    }

    #[test]
    fn refuses_what_readers_could_read_differently() {
        use Strictness::*;
        let cases: &[(&[u8], Strictness)] = &[
            // {"a": 1, "a": 2}
            (&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02], DuplicateKey),
            // The same key with a non-minimal length header is still the same key.
            (
                &[0xa2, 0x61, b'a', 0x01, 0x78, 0x01, b'a', 0x02],
                DuplicateKey,
            ),
            // [{"a": 1, "a": 1}] nested.
            (
                &[0x81, 0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x01],
                DuplicateKey,
            ),
            // tag 28 ("x"), tag 29 (0), tag 1 (0), self-describe tag around a map.
            (&[0xd8, 0x1c, 0x61, b'x'], Tag),
            (&[0xd8, 0x1d, 0x00], Tag),
            (&[0xc1, 0x00], Tag),
            (&[0xd9, 0xd9, 0xf7, 0xa0], Tag),
            // Indefinite map, array, text and bytes.
            (&[0xbf, 0xff], Indefinite),
            (&[0x9f, 0xff], Indefinite),
            (&[0x7f, 0x61, b'a', 0xff], Indefinite),
            (&[0x5f, 0xff], Indefinite),
            // {0: 1}, {h'61': 1}, {1.5: 1}, {NaN: 1}, {[]: 1}
            (&[0xa1, 0x00, 0x01], KeyNotText),
            (&[0xa1, 0x41, b'a', 0x01], KeyNotText),
            (&[0xa1, 0xf9, 0x3e, 0x00, 0x01], KeyNotText),
            (&[0xa1, 0xf9, 0x7e, 0x00, 0x01], KeyNotText),
            (&[0xa1, 0x80, 0x01], KeyNotText),
            // simple(16), simple(255), a lone break, reserved additional info.
            (&[0xf0], Simple),
            (&[0xf8, 0xff], Simple),
            (&[0xff], Malformed),
            (&[0x1c], Malformed),
            // Invalid UTF-8; a length no buffer holds.
            (&[0x62, 0xc3, 0x28], Malformed),
            (
                &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Malformed,
            ),
            (
                &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Malformed,
            ),
            (&[0xa1, 0x61, b'a'], Malformed),
        ];
        for (bytes, why) in cases {
            assert_eq!(strict(bytes), Err(*why), "{bytes:02x?}");
        }
    }

    #[test]
    fn accepts_non_minimal_lengths_and_the_simple_values_js_sends() {
        // 0xb9 0x00 0x01: a map with a 16-bit length of 1 (cbor-x writes maps this way).
        let mut b = vec![0xb9, 0x00, 0x01, 0x64];
        b.extend(b"type");
        b.push(0x22);
        assert_eq!(strict(&b), Ok(()));
        assert_eq!(map_int(&b, "type"), Some(-3));
        for simple in [0xf4, 0xf5, 0xf6, 0xf7] {
            assert_eq!(strict(&[0x81, simple]), Ok(()));
        }
        assert_eq!(strict(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]), Ok(()));
        // Keys are unique per map: the same key in sibling maps is fine.
        assert_eq!(
            strict(&[0x82, 0xa1, 0x61, b'a', 0x01, 0xa1, 0x61, b'a', 0x02]),
            Ok(())
        );
    }

    #[test]
    fn bounds_nesting_without_recursing() {
        let mut deep = vec![0x81; 100_000];
        deep.push(0x00);
        assert_eq!(strict(&deep), Err(Strictness::TooDeep));
        let mut fine = vec![0x81; 1000];
        fine.push(0x00);
        assert_eq!(strict(&fine), Ok(()));
    }

    #[test]
    fn a_map_of_many_keys_is_checked_in_one_sort() {
        let keys: Vec<(Value, Value)> = (0..50_000)
            .map(|i| (text(&format!("k{i}")), Value::Null))
            .collect();
        let mut bytes = encode(&Value::Map(keys.clone()));
        assert_eq!(strict(&bytes), Ok(()));
        let mut dup = keys;
        dup.push((text("k49999"), Value::Null));
        bytes = encode(&Value::Map(dup));
        assert_eq!(strict(&bytes), Err(Strictness::DuplicateKey));
    }
}
