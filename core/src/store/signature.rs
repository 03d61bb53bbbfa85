//! A session's filter signature: a 63-bit Bloom filter of its custom data's `key=value` pairs,
//! stored on each of its `session_filters` rows (`sig`, covered by the list index). A list with
//! several filters walks the most selective one's rows in page order; a row whose signature lacks
//! a bit of the other filters cannot match them and is passed over right there in the index,
//! without probing the other filters' rows. Only rows that may match (the matches and a few
//! false positives) are probed.
//!
//! The pair's bit is a function that both databases can also compute from a key and a value (the
//! bench seeds a million sessions with it in SQL; a backfill could), so it uses only lengths and
//! a few characters' code points. A weak hash costs only false positives, each an exact probe,
//! never a wrong answer. A row with `sig = 0` (written before migration 0011, or by an older
//! server during a rolling upgrade) is always probed: every real signature has a bit set.

#[cfg(any(test, feature = "testing"))]
use crate::store::Backend;

fn code(c: Option<char>) -> i64 {
    c.map_or(0, |c| i64::from(u32::from(c)))
}

/// The bit (0..63) of one `key=value` pair.
pub fn pair_bit(key: &str, value: &str) -> u32 {
    let key_len = key.chars().count() as i64;
    let len = value.chars().count() as i64;
    let middle = if len == 0 {
        None
    } else {
        value.chars().nth(((len + 1) / 2 - 1) as usize)
    };
    let h = key_len * 7
        + len * 31
        + code(value.chars().next()) * 17
        + code(middle) * 19
        + code(value.chars().last()) * 13
        + code(key.chars().last()) * 3;
    (h % 63) as u32
}

/// The signature of a set of pairs: each pair's bit set.
pub fn signature<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> i64 {
    pairs
        .into_iter()
        .fold(0, |sig, (k, v)| sig | (1i64 << pair_bit(k, v)))
}

#[cfg(any(test, feature = "testing"))]
/// [`pair_bit`] as an SQL expression over the text expressions `key` and `value`.
pub fn pair_bit_sql(backend: Backend, key: &str, value: &str) -> String {
    let (code, last) = match backend {
        Backend::Postgres => ("ascii", "right({}, 1)"),
        Backend::Sqlite => ("unicode", "substr({}, -1)"),
    };
    let c = |e: String| format!("coalesce({code}({e}), 0)");
    let last = |e: &str| last.replace("{}", e);
    format!(
        "((length({key}) * 7 + length({value}) * 31 + {} * 17 + {} * 19 + {} * 13 + {} * 3) % 63)",
        c(value.to_owned()),
        c(format!("substr({value}, (length({value}) + 1) / 2, 1)")),
        c(last(value)),
        c(last(key)),
    )
}

#[cfg(any(test, feature = "testing"))]
/// The signature of each session's rows as an SQL aggregate over [`pair_bit_sql`].
pub fn signature_sql(backend: Backend, key: &str, value: &str) -> String {
    let bit = pair_bit_sql(backend, key, value);
    match backend {
        Backend::Postgres => format!("bit_or(CAST(1 AS BIGINT) << CAST({bit} AS INTEGER))"),
        // Distinct powers of two summed are their OR.
        Backend::Sqlite => format!("sum(DISTINCT 1 << {bit})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_in_range_and_depend_on_the_pair() {
        assert!(pair_bit("", "") < 63);
        assert!(pair_bit("plan", "pro") < 63);
        assert_ne!(pair_bit("plan", "pro"), pair_bit("plan", "free"));
        let sig = signature([("plan", "pro"), ("country", "DE")]);
        assert_eq!(
            sig & (1 << pair_bit("plan", "pro")),
            1 << pair_bit("plan", "pro")
        );
        assert!(sig > 0);
        assert_eq!(signature([]), 0);
    }

    #[test]
    fn the_sql_names_each_backends_functions() {
        let pg = pair_bit_sql(Backend::Postgres, "key", "value");
        assert!(pg.contains("ascii(right(value, 1))"), "{pg}");
        let lite = pair_bit_sql(Backend::Sqlite, "key", "value");
        assert!(lite.contains("unicode(substr(value, -1))"), "{lite}");
    }
}
