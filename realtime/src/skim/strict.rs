//! Strict CBOR: what every reader of a socket frame reads the same way.

use super::{header, string_end, MAX_DEPTH};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skim::cbor as encode;
    use crate::skim::map_int;
    use ciborium::Value;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
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
