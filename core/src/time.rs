//! Timestamps are stored as microseconds since the Unix epoch in both backends, so that ordering
//! and comparison behave the same everywhere; they are shown to clients as RFC 3339 strings.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Micros = i64;

pub fn now() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn to_datetime(us: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

pub fn to_rfc3339(us: Micros) -> String {
    to_datetime(us).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an ISO 8601 / RFC 3339 date as clients send it in paging parameters. Dates are shown
/// with microseconds, so a page cursor taken from a resource is exact.
pub fn parse(s: &str) -> Option<Micros> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).timestamp_micros())
}

pub fn serialize<S: serde::Serializer>(us: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_rfc3339(*us))
}

pub fn serialize_opt<S: serde::Serializer>(us: &Option<Micros>, s: S) -> Result<S::Ok, S::Error> {
    match us {
        Some(us) => s.serialize_str(&to_rfc3339(*us)),
        None => s.serialize_none(),
    }
}
