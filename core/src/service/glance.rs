//! Glance's visitor ids: a customer's live session is found by the value of the account's
//! `visitor_id_key` in its custom data (Glance's viewer URL, `visitorid=<value>`), and agents
//! waiting for that customer hear the moment such a session starts.
//!
//! A session has *started* for a visitor once it is live, a device (the customer's browser) is
//! bound to it, and its custom data holds the visitor id under the account's key. Whenever a
//! change makes that true for a new visitor id, a [`VisitorStarted`] event carries the id, and
//! nothing else, to the agents' sockets that wait on it; they read the session over REST, where
//! their policy applies.

use std::sync::Arc;

use super::{scoped, Caller, Service};
use crate::bus::{Event, VisitorStarted};
use crate::custom_data;
use crate::model::{Account, Session, SessionState};
use crate::query::{Page, SessionFilter};
use crate::{Error, Result};

/// The longest visitor id looked up or waited on, in bytes.
pub const MAX_VISITOR_ID: usize = 256;

/// How many of the visitor's newest live sessions are looked at for one that has started.
const CANDIDATES: u32 = 20;

/// Whether `v` can be a visitor id: not empty, at most [`MAX_VISITOR_ID`] bytes, no control
/// characters.
pub fn valid_visitor_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_VISITOR_ID && !v.chars().any(char::is_control)
}

fn check_visitor_id(v: &str) -> Result<()> {
    if valid_visitor_id(v) {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_visitor_id",
            format!("a visitor id is 1 to {MAX_VISITOR_ID} bytes without control characters"),
        ))
    }
}

/// The visitor id session `s` has started for under `key`, if it has started.
pub fn started_visitor(key: &str, s: &Session) -> Option<String> {
    if key.is_empty() || !s.is_live() || s.device_id.is_none() {
        return None;
    }
    s.custom_data
        .get(key)
        .and_then(custom_data::filter_value)
        .filter(|v| valid_visitor_id(v))
}

impl Service {
    /// The newest live session the customer with visitor id `visitor` has started, that the
    /// caller (an agent) may read. `404` when there is none (yet); `409 visitor_ids_off` when the
    /// account names no `visitor_id_key`.
    pub async fn visitor_session(&self, caller: &Caller, visitor: &str) -> Result<Session> {
        let Caller::Agent {
            account, policy, ..
        } = caller
        else {
            return Err(Error::Forbidden(
                "only agents look sessions up by visitor id".into(),
            ));
        };
        check_visitor_id(visitor)?;
        let key = &account.settings.visitor_id_key;
        if key.is_empty() {
            return Err(Error::refused(
                "visitor_ids_off",
                "this account does not use visitor ids: an administrator names the custom data \
                 key that holds them in the account's settings (visitor_id_key)",
            ));
        }
        let filters = vec![(key.clone(), visitor.to_owned())];
        let Some((filters, ids)) = scoped(policy.as_ref(), "sessions", filters) else {
            return Err(Error::NotFound("session"));
        };
        let filter = SessionFilter {
            filters,
            states: vec![
                SessionState::Pending,
                SessionState::Authorizing,
                SessionState::Active,
            ],
            agent_id: None,
            ids,
            page: Page {
                limit: CANDIDATES,
                before: None,
                after: None,
            },
        };
        self.store
            .list_sessions(&account.id, &filter)
            .await?
            .into_iter()
            .find(|s| started_visitor(key, s).as_deref() == Some(visitor))
            .ok_or(Error::NotFound("session"))
    }

    /// Tells the agents waiting on a visitor id that the customer's session has started, when the
    /// change from `before` (`None` for a new session) to `after` started it.
    pub(super) fn announce_visitor(
        &self,
        account: &Account,
        before: Option<&Session>,
        after: &Session,
    ) {
        let key = &account.settings.visitor_id_key;
        let Some(visitor) = started_visitor(key, after) else {
            return;
        };
        if before.and_then(|b| started_visitor(key, b)).as_deref() == Some(visitor.as_str()) {
            return;
        }
        self.bus
            .publish(Event::VisitorStarted(Arc::new(VisitorStarted {
                account_id: account.id.clone(),
                visitorid: visitor,
            })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(device: bool, state: SessionState, data: serde_json::Value) -> Session {
        Session {
            id: "s".into(),
            account_id: "a".into(),
            code: None,
            access_token: None,
            state,
            custom_data: data.as_object().cloned().unwrap_or_default(),
            device: None,
            device_id: device.then(|| "d".to_owned()),
            agent: None,
            agents: vec![],
            full_device: crate::model::Toggle::Off,
            remote_control: crate::model::Toggle::Off,
            ended_reason: None,
            region: None,
            recorded: false,
            colours: vec![],
            control_token: "t".into(),
            created: 0,
            updated: 0,
            activated: None,
            ended: None,
            expires: None,
            last_activity: 0,
            version: 0,
        }
    }

    #[test]
    fn a_session_starts_for_a_visitor_once_a_device_is_bound() {
        let data = json!({"user_id": "u-1", "seats": 5});
        let live = session(true, SessionState::Pending, data.clone());
        assert_eq!(started_visitor("user_id", &live).as_deref(), Some("u-1"));
        assert_eq!(started_visitor("seats", &live).as_deref(), Some("5"));
        assert_eq!(started_visitor("", &live), None);
        assert_eq!(started_visitor("plan", &live), None);
        let unbound = session(false, SessionState::Pending, data.clone());
        assert_eq!(started_visitor("user_id", &unbound), None);
        let ended = session(true, SessionState::Ended, data);
        assert_eq!(started_visitor("user_id", &ended), None);
    }

    #[test]
    fn visitor_ids_are_bounded() {
        assert!(valid_visitor_id("59204gh-42"));
        assert!(valid_visitor_id("jsmith@example.com"));
        assert!(!valid_visitor_id(""));
        assert!(!valid_visitor_id("a\nb"));
        assert!(!valid_visitor_id(&"x".repeat(MAX_VISITOR_ID + 1)));
    }
}
