//! Genesys Co-browse on Tandem: what its History REST API, its live-session functions and its
//! controller (the agent application that follows a session for the primary interaction) need
//! of the service.
//!
//! - The 9-digit access token is Genesys's session token, and the session's id its session
//!   history id. The token dies with the session, so as the session ends it is written into the
//!   session's history, for the History REST API to show afterwards.
//! - A controller joins with the token and gets the session's `control_token` as its
//!   `userToken`: the token it stops the session with and subscribes to it with on the socket.
//! - Its notifications are socket events for the session's subscribers:
//!   `controller.joined {userId, role, name?}` (Genesys `/service/session/joined`),
//!   `controller.activated {activationTime}` (`/service/session/activated`) and
//!   `controller.deactivated {activationTime, deactivationTime}` (`/service/session/deactivated`).

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::{Caller, NewSession, Service, SessionEvent, SessionPatch};
use crate::bus::{ControllerNotice, Event};
use crate::model::{Session, SessionState};
use crate::secrets::AccessToken;
use crate::time::{self, Micros};
use crate::{Error, Result};

/// The history event that keeps a session's access token once the session has ended.
const TOKEN_EVENT: &str = "token";
/// History events read for one record (as the session history reads).
const MAX_EVENTS: u32 = 1000;

/// Genesys's roles: the customer's browser, an agent's view, and a controller.
const MASTER: u8 = 1;
const SLAVE: u8 = 2;
const CONTROLLER: u8 = 3;

fn ms(t: Micros) -> i64 {
    t.div_euclid(1000)
}

/// A past (or live) session as the Genesys History REST API lists it. Times are Unix times in
/// milliseconds; durations are whole seconds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenesysSessionHistory {
    /// The session history id: Tandem's session id.
    #[schema(format = "uuid")]
    pub id: String,
    /// The session's 9-digit token (`null` only for a session that ended before Tandem kept
    /// tokens in its history).
    #[schema(required = true, pattern = "^[0-9]{9}$", example = "519333886")]
    pub session_token: Option<String>,
    /// When the customer started the session.
    #[schema(example = 1369939707527_i64)]
    pub creation_time: i64,
    /// When the session became active (an agent joined and, where the account asks, the
    /// customer agreed); `null` if it never did.
    #[schema(required = true, example = 1369939712516_i64)]
    pub activation_time: Option<i64>,
    /// When the session ended; `null` while it is live.
    #[schema(required = true, example = 1369939743522_i64)]
    pub deactivation_time: Option<i64>,
    /// The pages the customer visited while the session was active, in order.
    pub pages: Vec<GenesysPage>,
}

/// A page the customer visited during a session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenesysPage {
    #[schema(example = "https://shop.example/basket")]
    pub url: String,
    /// When the page was entered (ms).
    #[schema(example = 1369939712594_i64)]
    pub entered_timestamp: i64,
    /// Whole seconds until the next page was entered. The first page counts from the session's
    /// activation, and the last until its deactivation (or now, while the session is live).
    #[schema(minimum = 0, example = 11)]
    pub duration: i64,
}

/// Someone in a session, as Genesys describes them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenesysUser {
    /// The agent's user id, or the customer's device id.
    pub user_id: String,
    /// 1: the customer (master), 2: an agent (slave), 3: a controller.
    #[schema(minimum = 1, maximum = 3)]
    pub role: u8,
    /// The agent's name; absent for the customer and for controllers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A controller's place in a session: Genesys's join response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControllerJoin {
    /// The controller's token: stop the session with it, and `subscribe` to it on the socket
    /// (`/sockets/1/ws`) for the `controller.*` notifications. It is the session's
    /// `control_token`.
    pub user_token: String,
    /// The controller's user id.
    pub user_id: String,
    /// Who is in the session already: the customer and the agents who joined.
    pub users: Vec<GenesysUser>,
    /// The session history id (Tandem's session id), for the History REST API; attach it to the
    /// interaction as `CoBrowseSessionId`.
    #[schema(format = "uuid")]
    pub session_history_id: String,
}

/// The session's times when it was stopped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenesysDeactivation {
    #[schema(required = true, example = 1368722791040_i64)]
    pub activation_time: Option<i64>,
    #[schema(example = 1368722820929_i64)]
    pub deactivation_time: i64,
}

impl GenesysDeactivation {
    pub fn of(s: &Session) -> Self {
        Self {
            activation_time: s.activated.map(ms),
            deactivation_time: ms(s.ended.unwrap_or(s.updated)),
        }
    }
}

/// Who a session's participants are, customer first.
fn users(s: &Session) -> Vec<GenesysUser> {
    let master = s.device_id.iter().map(|d| GenesysUser {
        user_id: d.clone(),
        role: MASTER,
        name: None,
    });
    let slaves = s.agents.iter().map(|a| GenesysUser {
        user_id: a.id.clone(),
        role: SLAVE,
        name: Some(a.name.clone()),
    });
    master.chain(slaves).collect()
}

/// Durations of pages entered at `entered`, by the Genesys rule: each page until the next one;
/// the first from `start` (the activation), the last until `end`. Whole seconds, never negative.
fn durations(entered: &[Micros], start: Option<Micros>, end: Micros) -> Vec<i64> {
    entered
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let from = if i == 0 { start.unwrap_or(at) } else { at };
            let to = entered.get(i + 1).copied().unwrap_or(end);
            (to - from).max(0) / 1_000_000
        })
        .collect()
}

impl Service {
    /// What a change means for Genesys: an ending session's token is kept in its history, and
    /// the session's subscribers hear the controller notifications.
    pub(super) async fn genesys_change(&self, before: &Session, after: &Session) {
        if before.is_live() && !after.is_live() {
            self.remember_token(before).await;
        }
        self.notify_controllers(before, after);
    }

    /// Keeps a session's access token in its history before the session forgets it, dated at
    /// the session's creation (so it comes first). A failure is logged: the session's end
    /// stands, its Genesys history will lack the token.
    async fn remember_token(&self, s: &Session) {
        let Some(token) = &s.access_token else {
            return;
        };
        let mut data = serde_json::Map::new();
        data.insert("token".into(), json!(token));
        let event = SessionEvent {
            account_id: s.account_id.clone(),
            session_id: s.id.clone(),
            at: s.created,
            kind: TOKEN_EVENT.to_owned(),
            data,
        };
        if let Err(e) = self.store.add_session_event(&event).await {
            tracing::warn!(error = %e, session = %s.id, "could not keep the session's token in its history");
        }
    }

    /// Tells the session's subscribers what a change did, in Genesys's terms: who joined
    /// (agents, the customer's device), and whether it activated or deactivated.
    fn notify_controllers(&self, before: &Session, after: &Session) {
        let mut notices = vec![];
        if before.device_id.is_none() {
            if let Some(device) = &after.device_id {
                notices.push((
                    "controller.joined",
                    json!({"userId": device, "role": MASTER}),
                ));
            }
        }
        for agent in &after.agents {
            if !before.agents.iter().any(|a| a.id == agent.id) {
                notices.push((
                    "controller.joined",
                    json!({"userId": agent.id, "role": SLAVE, "name": agent.name}),
                ));
            }
        }
        if before.state != SessionState::Active && after.state == SessionState::Active {
            let at = after.activated.map(ms);
            notices.push(("controller.activated", json!({ "activationTime": at })));
        }
        if before.is_live() && !after.is_live() {
            let times = GenesysDeactivation::of(after);
            notices.push(("controller.deactivated", json!(times)));
        }
        for (event, data) in notices {
            self.publish_notice(after, event, data);
        }
    }

    fn publish_notice(&self, s: &Session, event: &'static str, data: serde_json::Value) {
        self.bus
            .publish(Event::Controller(Arc::new(ControllerNotice {
                account_id: s.account_id.clone(),
                session_id: s.id.clone(),
                event,
                data,
            })));
    }

    /// A session's record for the Genesys History REST API, by its id (the session history id;
    /// not a code or token). Agents only, as their policy lets them read it.
    pub async fn genesys_history(
        &self,
        caller: &Caller,
        history_id: &str,
    ) -> Result<GenesysSessionHistory> {
        if !matches!(caller, Caller::Agent { .. })
            || AccessToken::parse(history_id).is_some()
            || crate::secrets::SessionCode::parse(history_id).is_some()
        {
            return Err(Error::NotFound("session"));
        }
        let s = self.get_session(caller, history_id).await?;
        let events = self
            .store
            .session_events(&s.account_id, &s.id, MAX_EVENTS)
            .await?;
        let mut token = s.access_token.clone();
        let mut pages = vec![];
        for e in events {
            let text = |k: &str| e.data.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            match e.kind.as_str() {
                TOKEN_EVENT => token = token.or_else(|| text("token")),
                "page" => pages.push((text("url").unwrap_or_default(), e.at)),
                _ => {}
            }
        }
        let entered: Vec<Micros> = pages.iter().map(|(_, at)| *at).collect();
        let seconds = durations(&entered, s.activated, s.ended.unwrap_or_else(time::now));
        Ok(GenesysSessionHistory {
            id: s.id,
            session_token: token,
            creation_time: ms(s.created),
            activation_time: s.activated.map(ms),
            deactivation_time: s.ended.map(ms),
            pages: pages
                .into_iter()
                .zip(seconds)
                .map(|((url, at), duration)| GenesysPage {
                    url,
                    entered_timestamp: ms(at),
                    duration,
                })
                .collect(),
        })
    }

    /// Creates a session for the Genesys live API (`POST /cobrowse/rest/live/sessions`): a
    /// pending session whose token a customer's page or an agent can then use.
    pub async fn genesys_create(&self, caller: &Caller) -> Result<Session> {
        self.create_session(caller, NewSession::default()).await
    }

    /// A live session by its 9-digit token (the Genesys live session id), within the budget of
    /// failed lookups. Anything that is not nine digits is simply not found.
    pub async fn genesys_live(&self, caller: &Caller, token: &str) -> Result<Session> {
        let Some(token) = AccessToken::parse(token) else {
            return Err(Error::NotFound("session"));
        };
        self.get_session(caller, token.as_str()).await
    }

    /// A controller (the calling agent's application) joins the live session with this token:
    /// it gets the session's control token as its `userToken`, and those already in the session
    /// hear `controller.joined` with role 3.
    pub async fn controller_join(&self, caller: &Caller, token: &str) -> Result<ControllerJoin> {
        let Caller::Agent { user, .. } = caller else {
            return Err(Error::Forbidden("only agents join as a controller".into()));
        };
        let s = self.genesys_live(caller, token).await?;
        self.publish_notice(
            &s,
            "controller.joined",
            json!({"userId": user.id, "role": CONTROLLER}),
        );
        Ok(ControllerJoin {
            user_token: s.control_token.clone(),
            user_id: user.id.clone(),
            users: users(&s),
            session_history_id: s.id,
        })
    }

    /// The controller's stop: ends the session its `userToken` (the control token) names, as
    /// the agent, and returns it. A session that has already ended is returned as it is, so a
    /// controller that stops after the customer left still learns the session's times.
    pub async fn controller_stop(&self, caller: &Caller, user_token: &str) -> Result<Session> {
        if !matches!(caller, Caller::Agent { .. }) || user_token.is_empty() {
            return Err(Error::NotFound("session"));
        }
        let account_id = &caller.account().id;
        let s = self
            .store
            .session_by_control_token(account_id, user_token)
            .await?;
        // Read as the caller: another account's token or one their policy hides is not found.
        let s = self.get_session(caller, &s.id).await?;
        if !s.is_live() {
            return Ok(s);
        }
        let end = SessionPatch {
            state: Some(SessionState::Ended),
            ..SessionPatch::default()
        };
        match self.update_session(caller, &s.id, end).await {
            // Ended by someone else in the meantime: it is stopped all the same.
            Err(Error::Conflict(_)) => {
                let now = self.get_session(caller, &s.id).await?;
                if now.is_live() {
                    return Err(Error::Conflict(
                        "the session is changing too fast; try again".into(),
                    ));
                }
                Ok(now)
            }
            done => done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    #[test]
    fn first_page_counts_from_activation_and_last_until_the_end() {
        // The seed's example: activated at 712.516 s, pages at 712.594, 723.764 and 731.685,
        // deactivated at 743.522: 11, 7 and 11 seconds.
        let at = |ms: i64| ms * 1000;
        let entered = [at(1369939712594), at(1369939723764), at(1369939731685)];
        let d = durations(&entered, Some(at(1369939712516)), at(1369939743522));
        assert_eq!(d, vec![11, 7, 11]);
    }

    #[test]
    fn the_first_page_starts_with_the_session_even_when_entered_later() {
        // Entered 3 s after activation, next page 10 s after activation: 10 s, not 7.
        let d = durations(&[13 * S, 20 * S], Some(10 * S), 25 * S);
        assert_eq!(d, vec![10, 5]);
        // One page: from activation to the end.
        assert_eq!(durations(&[12 * S], Some(10 * S), 40 * S), vec![30]);
        // Never activated: from when it was entered; a page after the end lasts nothing.
        assert_eq!(durations(&[12 * S, 50 * S], None, 40 * S), vec![38, 0]);
        assert!(durations(&[], Some(S), 2 * S).is_empty());
    }

    #[test]
    fn milliseconds_round_down() {
        assert_eq!(ms(1_369_939_707_527_999), 1_369_939_707_527);
        assert_eq!(ms(-1), -1);
    }
}
