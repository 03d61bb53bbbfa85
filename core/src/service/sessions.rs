//! Sessions: created, found by id, code or access token, listed, and changed through the state
//! machine; the stream tokens agents open a session's stream with.

use std::sync::Arc;
use std::time::Duration;

use super::devices::validate_device_info;
use super::{scoped, Caller, NewSession, Service, SessionPatch, MAX_RETRIES};
use crate::bus::Event;
use crate::custom_data;
use crate::model::{AgentRef, EndedReason, Json, Session, SessionState, Toggle, COLOURS};
use crate::query::{AgentParam, SessionFilter, SessionQuery};
use crate::secrets::{self, AccessToken, SessionCode};
use crate::state::{self, Actor};
use crate::store::{Saved, StreamToken};
use crate::time::{self, Micros};
use crate::{Error, Result};

fn agent_ref(caller: &Caller) -> Option<AgentRef> {
    match caller {
        Caller::Agent { user, .. } => Some(AgentRef::from(user)),
        Caller::Device { .. } => None,
    }
}

/// Moves a session to `to`, with the fields that go with each state.
pub(super) fn enter_state(
    s: &mut Session,
    to: SessionState,
    reason: Option<EndedReason>,
    now: Micros,
) {
    s.state = to;
    if to != SessionState::Pending {
        s.code = None;
        s.expires = None;
    }
    match to {
        SessionState::Active => s.activated = s.activated.or(Some(now)),
        SessionState::Ended => {
            s.ended = Some(now);
            s.ended_reason = reason;
            s.access_token = None;
        }
        _ => {}
    }
}

/// A pending session starts once it has both a device and an agent.
fn start_if_ready(s: &mut Session, require_consent: bool, now: Micros) {
    if s.state == SessionState::Pending && s.device_id.is_some() && !s.agents.is_empty() {
        let to = if require_consent {
            SessionState::Authorizing
        } else {
            SessionState::Active
        };
        enter_state(s, to, None, now);
    }
}

impl Service {
    pub(super) fn publish_session(&self, s: &Session) {
        self.bus.publish(Event::Session(Arc::new(s.clone())));
    }

    pub async fn create_session(&self, caller: &Caller, input: NewSession) -> Result<Session> {
        custom_data::validate(&input.custom_data)?;
        if let Some(info) = &input.device {
            validate_device_info(info)?;
        }
        let account = caller.account();
        if !caller.policy_allows("sessions", "create", "", &input.custom_data) {
            return Err(Error::Forbidden(
                "your policy does not allow creating this session".into(),
            ));
        }
        let actor = caller.actor();
        for toggle in [input.full_device, input.remote_control]
            .into_iter()
            .flatten()
        {
            state::check_toggle(actor, "full_device/remote_control", Toggle::Off, toggle)?;
        }
        let now = time::now();
        let mut agents = vec![];
        if input.agent_me {
            agents.extend(agent_ref(caller));
        }
        let (device_id, device) = match caller {
            Caller::Device { device, .. } => (
                Some(device.id.clone()),
                Some(input.device.unwrap_or_else(|| device.device.clone())),
            ),
            Caller::Agent { .. } => (None, input.device),
        };
        for _ in 0..MAX_RETRIES {
            let mut s = Session {
                id: uuid::Uuid::new_v4().to_string(),
                account_id: account.id.clone(),
                code: Some(SessionCode::generate().as_str().to_owned()),
                access_token: Some(AccessToken::generate().as_str().to_owned()),
                state: SessionState::Pending,
                custom_data: input.custom_data.clone(),
                device: device.clone(),
                device_id: device_id.clone(),
                agent: agents.first().cloned(),
                agents: agents.clone(),
                full_device: input.full_device.unwrap_or(Toggle::Off),
                remote_control: input.remote_control.unwrap_or(Toggle::Off),
                ended_reason: None,
                region: input.region.clone(),
                recorded: false,
                colours: COLOURS.iter().map(|c| c.to_string()).collect(),
                control_token: secrets::bearer_token(),
                created: now,
                updated: now,
                activated: None,
                ended: None,
                expires: Some(now + i64::from(account.settings.code_expiry_secs) * 1_000_000),
                last_activity: now,
                version: 0,
            };
            start_if_ready(&mut s, account.settings.require_consent, now);
            match self.store.insert_session(&s).await {
                Ok(()) => {
                    metrics::counter!("tandem_sessions_created_total").increment(1);
                    self.publish_session(&s);
                    self.announce_visitor(account, None, &s);
                    return Ok(s);
                }
                // A code or token clashed with a live one: draw again.
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            "could not allocate a unique session code; try again".into(),
        ))
    }

    /// Whether the caller may see the session by its id: an agent as their policy allows, a
    /// device only once the session is bound to it (it joins an unbound one by its code).
    fn readable(&self, caller: &Caller, s: &Session) -> bool {
        match caller {
            Caller::Agent { .. } => caller.policy_allows("sessions", "read", &s.id, &s.custom_data),
            Caller::Device { device, .. } => s.device_id.as_deref() == Some(device.id.as_str()),
        }
    }

    /// Finds a session by id, 6-digit code or 9-digit access token. Codes are redeemed by the
    /// account's agents, and by its devices to join a session an agent created; access tokens
    /// by agents only. Every redemption draws on a budget of failures (see [`Self::redeem`]).
    pub async fn get_session(&self, caller: &Caller, handle: &str) -> Result<Session> {
        let account_id = &caller.account().id;
        let found = if let Some(code) = SessionCode::parse(handle) {
            let s = self
                .redeem(caller, async {
                    let s = self
                        .store
                        .session_by_code(account_id, code.as_str())
                        .await?;
                    // An expired code is gone even before the reaper ends its session.
                    match s.expires {
                        Some(e) if e <= time::now() => Err(Error::NotFound("session")),
                        _ => Ok(s),
                    }
                })
                .await?;
            // A device redeems a code to join: it sees the session it is about to bind.
            let joinable = matches!(caller, Caller::Device { .. }) && s.device_id.is_none();
            if joinable {
                return Ok(s);
            }
            s
        } else if let Some(token) = AccessToken::parse(handle) {
            if !matches!(caller, Caller::Agent { .. }) {
                return Err(Error::NotFound("session"));
            }
            self.redeem(
                caller,
                self.store
                    .session_by_access_token(account_id, token.as_str()),
            )
            .await?
        } else {
            self.store.session(account_id, handle).await?
        };
        if self.readable(caller, &found) {
            Ok(found)
        } else {
            Err(Error::NotFound("session"))
        }
    }

    /// Issues a token for the caller's socket on the session's stream, and returns it with
    /// what is stored of it (its hash). Only an agent on the session, or an administrator whose
    /// policy lets them read it, gets one, and only while the session is live; what passes on
    /// the stream waits for the session to be `active` (the relay's business).
    pub async fn stream_token(
        &self,
        caller: &Caller,
        handle: &str,
        ttl: Duration,
    ) -> Result<(String, StreamToken)> {
        let Caller::Agent { user, .. } = caller else {
            return Err(Error::Forbidden(
                "only agents open a session's stream".into(),
            ));
        };
        let session = self.get_session(caller, handle).await?;
        if !session.is_live() {
            return Err(Error::Conflict(
                "the session has ended; it has no stream".into(),
            ));
        }
        let on_session = session.agents.iter().any(|a| a.id == user.id);
        if !on_session && user.role != crate::model::Role::Administrator {
            return Err(Error::Forbidden(
                "join the session first (PUT it with agent: \"me\")".into(),
            ));
        }
        let token = secrets::bearer_token();
        let stored = crate::store::StreamToken {
            token_hash: secrets::hash_token(&token),
            account_id: session.account_id,
            session_id: session.id,
            user_id: user.id.clone(),
            expires: time::now() + ttl.as_micros() as i64,
        };
        self.store.add_stream_token(&stored).await?;
        Ok((token, stored))
    }

    pub async fn list_sessions(
        &self,
        caller: &Caller,
        query: SessionQuery,
    ) -> Result<Vec<Session>> {
        let Caller::Agent {
            user,
            policy,
            account,
        } = caller
        else {
            return Err(Error::Forbidden("devices cannot list sessions".into()));
        };
        let agent_id = match query.agent {
            AgentParam::Me => Some(user.id.clone()),
            AgentParam::All if user.role == crate::model::Role::Administrator => None,
            AgentParam::All => {
                return Err(Error::Forbidden(
                    "agent=all is for administrators; agents list their own sessions".into(),
                ))
            }
        };
        let Some((filters, ids)) = scoped(policy.as_ref(), "sessions", query.filters) else {
            return Ok(vec![]);
        };
        let filter = SessionFilter {
            filters,
            states: query.states,
            agent_id,
            ids,
            page: query.page,
        };
        self.store.list_sessions(&account.id, &filter).await
    }

    /// Applies a partial update through the state machine, retrying on concurrent writes.
    /// `handle` is what [`Self::get_session`] takes: a device binds itself to an unbound
    /// session only through its code.
    pub async fn update_session(
        &self,
        caller: &Caller,
        handle: &str,
        patch: SessionPatch,
    ) -> Result<Session> {
        if let Some(cd) = &patch.custom_data {
            // Checked up front so a bad patch fails before anything is read or written.
            custom_data::merge(&Json::new(), cd)?;
        }
        if let Some(info) = &patch.device {
            validate_device_info(info)?;
        }
        let account = caller.account();
        let actor = caller.actor();
        let found = self.get_session(caller, handle).await?;
        let id = found.id.as_str();
        // Reached by its code: this device may bind the session to itself.
        let joining = !self.readable(caller, &found);
        for _ in 0..MAX_RETRIES {
            let current = self.store.session(&account.id, id).await?;
            let binds = joining && current.device_id.is_none();
            if !self.readable(caller, &current) && !binds {
                return Err(Error::NotFound("session"));
            }
            if !caller.policy_allows("sessions", "write", &current.id, &current.custom_data) {
                return Err(Error::Forbidden(
                    "your policy does not allow changing this session".into(),
                ));
            }
            let mut next = current.clone();
            let now = time::now();
            if current.state == SessionState::Ended {
                return Err(Error::Conflict(
                    "the session has ended; an ended session cannot change".into(),
                ));
            }
            if let Some(cd) = &patch.custom_data {
                next.custom_data = custom_data::merge(&current.custom_data, cd)?;
                if !caller.policy_allows("sessions", "write", &next.id, &next.custom_data) {
                    return Err(Error::Forbidden(
                        "your policy does not allow this custom_data".into(),
                    ));
                }
            }
            if let Some(to) = patch.full_device {
                state::check_toggle(actor, "full_device", current.full_device, to)?;
                next.full_device = to;
            }
            if let Some(to) = patch.remote_control {
                state::check_toggle(actor, "remote_control", current.remote_control, to)?;
                next.remote_control = to;
            }
            if let Some(region) = &patch.region {
                next.region = Some(region.clone());
            }
            if let Some(info) = &patch.device {
                next.device = Some(info.clone());
            }
            match caller {
                Caller::Agent { user, .. } if patch.agent_me => {
                    if !next.agents.iter().any(|a| a.id == user.id) {
                        next.agents.push(AgentRef::from(user));
                    }
                    next.agent = next.agents.first().cloned();
                }
                Caller::Device { device, .. } if next.device_id.is_none() => {
                    next.device_id = Some(device.id.clone());
                    next.device = next.device.or_else(|| Some(device.device.clone()));
                }
                _ => {}
            }
            if let Some(to) = patch.state {
                let reason = match actor {
                    Actor::Device => EndedReason::DeviceEnded,
                    _ => EndedReason::AgentEnded,
                };
                if state::check_state(actor, current.state, to, account.settings.require_consent)? {
                    enter_state(&mut next, to, Some(reason), now);
                }
            }
            start_if_ready(&mut next, account.settings.require_consent, now);
            next.updated = now;
            next.last_activity = now;
            match self.store.save_session(&next).await? {
                Saved::Yes => {
                    next.version += 1;
                    if next.state == SessionState::Ended {
                        Self::count_end(&next);
                    }
                    self.publish_session(&next);
                    self.genesys_change(&current, &next).await;
                    self.announce_visitor(account, Some(&current), &next);
                    return Ok(next);
                }
                Saved::Stale => continue,
            }
        }
        Err(Error::Conflict(
            "the session is changing too fast; try again".into(),
        ))
    }

    pub(super) fn count_end(s: &Session) {
        let reason = s.ended_reason.map(|r| r.as_str()).unwrap_or("unknown");
        metrics::counter!("tandem_sessions_ended_total", "reason" => reason).increment(1);
        let secs = (s.ended.unwrap_or(s.updated) - s.created) as f64 / 1e6;
        metrics::histogram!("tandem_session_duration_seconds").record(secs);
    }
}
