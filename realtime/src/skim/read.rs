//! Reading values out of an item [`super::strict()`] has accepted, without decoding it.

use std::str;

use super::{header, string_end, MAX_DEPTH};

/// Where the one well-formed CBOR item starting at `pos` ends (any well-formed item: this
/// only skips what [`super::strict()`] has already checked).
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
/// [`super::strict()`] accepted; `None` when it is not a map.
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

/// The items of the array `buf` is, each as its bytes, for a buffer [`super::strict()`]
/// accepted; `None` when it is not a definite-length array.
pub fn items(buf: &[u8]) -> Option<Vec<&[u8]>> {
    let (major, _, len, mut pos) = header(buf, 0)?;
    if major != 4 {
        return None;
    }
    let len = usize::try_from(len?).ok()?;
    let mut out = Vec::with_capacity(len.min(1024));
    for _ in 0..len {
        let end = item_end(buf, pos)?;
        out.push(&buf[pos..end]);
        pos = end;
    }
    Some(out)
}

/// The bytes of the byte string `buf` is (a definite one).
pub fn bytes(buf: &[u8]) -> Option<&[u8]> {
    match header(buf, 0)? {
        (2, _, Some(len), at) => buf.get(at..string_end(buf, at, len, false)?),
        _ => None,
    }
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
    use crate::skim::cbor as encode;
    use crate::skim::strict::{strict, strict_end, Strictness};
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
}
