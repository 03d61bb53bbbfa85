//! List queries for sessions and devices, parsed from query-string pairs.
//!
//! Sessions: `filter_<key>=<value>` (ANDed), `state` or `state[]` (repeatable), `agent=all|me`,
//! `limit` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), `activated_before` /
//! `activated_after` (ISO 8601; newest first). Devices: `filter_<key>`, `limit`, `seen_before` /
//! `seen_after`. Unknown parameters are ignored, as the SDKs add their own.

use crate::custom_data;
use crate::model::SessionState;
use crate::time::{self, Micros};
use crate::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;
pub const MAX_FILTERS: usize = 10;

/// `agent` of a session list: the caller's own sessions, or (administrators only) every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum AgentParam {
    Me,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub limit: u32,
    pub before: Option<Micros>,
    pub after: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionQuery {
    pub filters: Vec<(String, String)>,
    pub states: Vec<SessionState>,
    pub agent: AgentParam,
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceQuery {
    pub filters: Vec<(String, String)>,
    pub page: Page,
}

/// The store-level form: what the caller may see, already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFilter {
    pub filters: Vec<(String, String)>,
    pub states: Vec<SessionState>,
    /// Only sessions this user has joined; `None` for every session of the account.
    pub agent_id: Option<String>,
    pub ids: Option<Vec<String>>,
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFilter {
    pub filters: Vec<(String, String)>,
    pub ids: Option<Vec<String>>,
    pub page: Page,
}

fn bad(message: String) -> Error {
    Error::invalid("invalid_query", message)
}

fn parse_filter(key: &str, value: &str, out: &mut Vec<(String, String)>) -> Result<()> {
    if !custom_data::valid_key(key) {
        return Err(bad(format!(
            "filter_{key}: a filter names a custom_data key of 1-64 letters, digits, '_' or '-'"
        )));
    }
    if value.chars().count() > custom_data::MAX_VALUE_LEN {
        return Err(bad(format!("filter_{key} is too long")));
    }
    if out.iter().any(|(k, _)| k == key) {
        return Err(bad(format!("filter_{key} is given more than once")));
    }
    out.push((key.to_owned(), value.to_owned()));
    if out.len() > MAX_FILTERS {
        return Err(bad(format!(
            "at most {MAX_FILTERS} filters may be combined"
        )));
    }
    Ok(())
}

fn parse_time(name: &str, value: &str) -> Result<Micros> {
    time::parse(value).ok_or_else(|| {
        bad(format!(
            "{name} must be an ISO 8601 date with a time zone, e.g. 2026-01-31T12:00:00.000Z"
        ))
    })
}

fn parse_limit(value: &str) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(bad(format!(
            "limit must be a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

impl Page {
    fn new() -> Self {
        Page {
            limit: DEFAULT_LIMIT,
            before: None,
            after: None,
        }
    }
}

impl SessionQuery {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self> {
        let mut q = SessionQuery {
            filters: vec![],
            states: vec![],
            agent: AgentParam::Me,
            page: Page::new(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "state" | "state[]" => {
                    let st = SessionState::parse(value).ok_or_else(|| {
                        bad(format!(
                            "state {value:?} is not one of pending, authorizing, active, ended"
                        ))
                    })?;
                    if !q.states.contains(&st) {
                        q.states.push(st);
                    }
                }
                "agent" => {
                    q.agent = match value.as_str() {
                        "all" => AgentParam::All,
                        "me" => AgentParam::Me,
                        _ => return Err(bad("agent must be \"all\" or \"me\"".into())),
                    }
                }
                "limit" => q.page.limit = parse_limit(value)?,
                "activated_before" => q.page.before = Some(parse_time(key, value)?),
                "activated_after" => q.page.after = Some(parse_time(key, value)?),
                _ => {
                    if let Some(k) = key.strip_prefix("filter_") {
                        parse_filter(k, value, &mut q.filters)?;
                    }
                }
            }
        }
        Ok(q)
    }
}

impl DeviceQuery {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self> {
        let mut q = DeviceQuery {
            filters: vec![],
            page: Page::new(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "limit" => q.page.limit = parse_limit(value)?,
                "seen_before" => q.page.before = Some(parse_time(key, value)?),
                "seen_after" => q.page.after = Some(parse_time(key, value)?),
                _ => {
                    if let Some(k) = key.strip_prefix("filter_") {
                        parse_filter(k, value, &mut q.filters)?;
                    }
                }
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn parses_the_sdk_query_forms() {
        let q = SessionQuery::parse(&pairs(
            "filter_user_id=u1&filter_plan=pro&state[]=active&state[]=ended&agent=all&limit=10&activated_before=2026-01-01T00:00:00.000Z",
        ))
        .unwrap();
        assert_eq!(q.filters.len(), 2);
        assert_eq!(q.states, vec![SessionState::Active, SessionState::Ended]);
        assert_eq!(q.agent, AgentParam::All);
        assert_eq!(q.page.limit, 10);
        assert!(q.page.before.is_some());
        assert_eq!(
            SessionQuery::parse(&pairs("state=pending"))
                .unwrap()
                .states
                .len(),
            1
        );
    }

    #[test]
    fn rejects_bad_input() {
        for q in [
            "state=finished",
            "limit=0",
            "limit=101",
            "limit=ten",
            "activated_before=yesterday",
            "filter_=x",
            "filter_a%20b=x",
            "filter_a=1&filter_a=2",
            "agent=bob",
        ] {
            assert!(SessionQuery::parse(&pairs(q)).is_err(), "{q}");
        }
        assert!(DeviceQuery::parse(&pairs("seen_after=nope")).is_err());
    }
}
