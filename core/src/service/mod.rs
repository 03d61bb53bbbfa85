//! The one path for every change: sessions and devices are created and changed here, written to
//! the Store, then published on the Bus. REST, sockets and the reaper all come through this.

mod admin;
mod history;
mod sockets;

pub use crate::store::{NotificationToken, SessionEvent, StreamToken};
pub use history::{AgentVisit, History, PageVisit};
pub use sockets::{Subscription, Watcher, PRESENCE_TTL};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::bus::{Bus, Event};
use crate::custom_data;
use crate::model::{
    Account, AgentRef, Device, EndedReason, Json, Session, SessionState, Toggle, User, COLOURS,
};
use crate::policy::Policy;
use crate::query::{AgentParam, DeviceFilter, DeviceQuery, SessionFilter, SessionQuery};
use crate::secrets::{self, AccessToken, SessionCode};
use crate::state::{self, Actor};
use crate::store::{Saved, Store};
use crate::time::{self, Micros};
use crate::{Error, Result};

/// Who is calling, already authenticated, always inside one account.
#[derive(Debug, Clone)]
pub enum Caller {
    Agent {
        account: Account,
        user: User,
        policy: Option<Policy>,
    },
    Device {
        account: Account,
        device: Device,
    },
}

impl Caller {
    pub fn account(&self) -> &Account {
        match self {
            Caller::Agent { account, .. } | Caller::Device { account, .. } => account,
        }
    }
    fn actor(&self) -> Actor {
        match self {
            Caller::Agent { .. } => Actor::Agent,
            Caller::Device { .. } => Actor::Device,
        }
    }
    fn policy_allows(&self, resource: &str, action: &str, id: &str, data: &Json) -> bool {
        match self {
            Caller::Agent {
                policy: Some(p), ..
            } => p.allows(resource, action, id, data),
            _ => true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Live sessions with no activity for this long are ended.
    pub inactivity_timeout: Duration,
    /// How often the reaper looks for idle sessions (and activity is flushed).
    pub reaper_interval: Duration,
    /// Failed code/token redemptions allowed per agent, and per account, in `redeem_window`.
    pub redeem_failures_per_agent: u32,
    pub redeem_failures_per_account: u32,
    pub redeem_window: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(300),
            reaper_interval: Duration::from_secs(5),
            redeem_failures_per_agent: 10,
            redeem_failures_per_account: 100,
            redeem_window: Duration::from_secs(60),
        }
    }
}

/// What a create request may set.
#[derive(Debug, Default, Clone)]
pub struct NewSession {
    pub custom_data: Json,
    pub agent_me: bool,
    pub full_device: Option<Toggle>,
    pub remote_control: Option<Toggle>,
    pub region: Option<String>,
    pub device: Option<Json>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct SessionPatch {
    pub state: Option<SessionState>,
    pub custom_data: Option<Json>,
    pub full_device: Option<Toggle>,
    pub remote_control: Option<Toggle>,
    pub agent_me: bool,
    pub device: Option<Json>,
    pub region: Option<String>,
}

/// A device registration or refresh.
#[derive(Debug, Default, Clone)]
pub struct DeviceRegistration {
    pub device: Option<Json>,
    pub custom_data: Option<Json>,
}

pub struct Service {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    config: ServiceConfig,
    activity: Mutex<HashMap<String, Micros>>,
}

const MAX_RETRIES: usize = 8;

fn agent_ref(caller: &Caller) -> Option<AgentRef> {
    match caller {
        Caller::Agent { user, .. } => Some(AgentRef::from(user)),
        Caller::Device { .. } => None,
    }
}

/// Moves a session to `to`, with the fields that go with each state.
fn enter_state(s: &mut Session, to: SessionState, reason: Option<EndedReason>, now: Micros) {
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

fn validate_device_info(info: &Json) -> Result<()> {
    let size = serde_json::to_string(info)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > custom_data::MAX_TOTAL_BYTES {
        return Err(Error::invalid(
            "invalid_device",
            format!(
                "device is larger than {} bytes",
                custom_data::MAX_TOTAL_BYTES
            ),
        ));
    }
    if info.values().any(|v| v.is_object() || v.is_array()) {
        return Err(Error::invalid(
            "invalid_device",
            "device must be a flat object of strings, numbers and booleans",
        ));
    }
    Ok(())
}

fn valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Service {
    /// Opens (and migrates) the database at `database_url` and serves it with `bus`.
    pub async fn open(
        database_url: &str,
        bus: Arc<dyn Bus>,
        config: ServiceConfig,
    ) -> Result<Self> {
        let store = crate::store::open(database_url).await?;
        Ok(Self::assemble(store, bus, config))
    }

    /// A service over a store that is already open: for test suites and benchmarks, which also
    /// reach the Store to set up and check what they measure.
    #[cfg(feature = "testing")]
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: ServiceConfig) -> Self {
        Self::assemble(store, bus, config)
    }

    fn assemble(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: ServiceConfig) -> Self {
        Self {
            store,
            bus,
            config,
            activity: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    fn publish_session(&self, s: &Session) {
        self.bus.publish(Event::Session(Arc::new(s.clone())));
    }

    // ---- sessions ----------------------------------------------------------------------------

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

    /// Runs one redemption of a code or token within the budget of failed ones, per caller
    /// and per account in `redeem_window`. The attempt is taken from the budget before the
    /// lookup, in the Store (so concurrent guesses, on any replica, cannot overdraw it) and
    /// given back unless the lookup found nothing.
    async fn redeem<T>(
        &self,
        caller: &Caller,
        lookup: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let account_id = &caller.account().id;
        let who = match caller {
            Caller::Agent { user, .. } => format!("agent:{account_id}:{}", user.id),
            Caller::Device { device, .. } => format!("device:{account_id}:{}", device.id),
        };
        let c = &self.config;
        let budgets = [
            (who, c.redeem_failures_per_agent),
            (
                format!("account:{account_id}"),
                c.redeem_failures_per_account,
            ),
        ];
        let now = time::now();
        let window_from = now - c.redeem_window.as_micros() as i64;
        let mut taken = Vec::with_capacity(budgets.len());
        for (key, max) in &budgets {
            let used = match self.store.take_attempt(key, window_from, now).await {
                Ok(used) => used,
                Err(e) => {
                    self.refund(&taken).await;
                    return Err(e);
                }
            };
            taken.push(key.as_str());
            if used > i64::from(*max) {
                // Over budget: this attempt is not made, so it is not counted either.
                self.refund(&taken).await;
                metrics::counter!("tandem_session_redeem_refusals_total").increment(1);
                return Err(Error::RateLimited);
            }
        }
        let found = lookup.await;
        if matches!(found, Err(Error::NotFound(_))) {
            metrics::counter!("tandem_session_redeem_failures_total").increment(1);
        } else {
            self.refund(&taken).await;
        }
        found
    }

    async fn refund(&self, keys: &[&str]) {
        for key in keys {
            if let Err(e) = self.store.refund_attempt(key).await {
                tracing::warn!(error = %e, "could not give back a redemption attempt");
            }
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
                    return Ok(next);
                }
                Saved::Stale => continue,
            }
        }
        Err(Error::Conflict(
            "the session is changing too fast; try again".into(),
        ))
    }

    fn count_end(s: &Session) {
        let reason = s.ended_reason.map(|r| r.as_str()).unwrap_or("unknown");
        metrics::counter!("tandem_sessions_ended_total", "reason" => reason).increment(1);
        let secs = (s.ended.unwrap_or(s.updated) - s.created) as f64 / 1e6;
        metrics::histogram!("tandem_session_duration_seconds").record(secs);
    }

    /// Records activity on a live session. Cheap: batched and written by [`Self::flush_activity`].
    pub fn touch(&self, session_id: &str) {
        self.activity
            .lock()
            .expect("activity lock")
            .insert(session_id.to_owned(), time::now());
    }

    pub async fn flush_activity(&self) -> Result<()> {
        let batch: Vec<(String, Micros)> = {
            let mut map = self.activity.lock().expect("activity lock");
            map.drain().collect()
        };
        self.store.touch_sessions(&batch).await
    }

    /// Ends every idle session (and pending session with an expired code). Returns how many.
    pub async fn reap_once(&self) -> Result<usize> {
        self.flush_activity().await?;
        let now = time::now();
        let idle_before = now - self.config.inactivity_timeout.as_micros() as i64;
        self.store.purge_stream_tokens(now).await?;
        self.store
            .purge_attempts(now - self.config.redeem_window.as_micros() as i64)
            .await?;
        let mut ended = 0;
        for candidate in self.store.idle_sessions(idle_before, now, 1000).await? {
            if self.end_idle(candidate, idle_before, now).await? {
                ended += 1;
            }
        }
        self.expire_presence(now).await?;
        Ok(ended)
    }

    async fn end_idle(&self, mut s: Session, idle_before: Micros, now: Micros) -> Result<bool> {
        for _ in 0..MAX_RETRIES {
            let code_expired =
                s.state == SessionState::Pending && s.expires.is_some_and(|e| e <= now);
            if s.state == SessionState::Ended || (s.last_activity >= idle_before && !code_expired) {
                return Ok(false);
            }
            let reason = EndedReason::timeout_in(s.state);
            state::check_state(Actor::System, s.state, SessionState::Ended, false)?;
            let mut next = s.clone();
            enter_state(&mut next, SessionState::Ended, Some(reason), now);
            next.updated = now;
            match self.store.save_session(&next).await? {
                Saved::Yes => {
                    next.version += 1;
                    Self::count_end(&next);
                    tracing::info!(session = %next.id, account = %next.account_id, reason = reason.as_str(), "session ended by the reaper");
                    self.publish_session(&next);
                    return Ok(true);
                }
                Saved::Stale => s = self.store.session(&s.account_id, &s.id).await?,
            }
        }
        Ok(false)
    }

    /// Runs the reaper until `shutdown` resolves. Only the replica holding the lease reaps.
    pub async fn run_reaper(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut lease = None;
        let mut tick = tokio::time::interval(self.config.reaper_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            if let Some(l) = lease.as_mut() {
                if !self.store.lease_alive(l).await {
                    tracing::warn!("lost the reaper lease; will try to take it again");
                    lease = None;
                }
            }
            if lease.is_none() {
                match self.store.reaper_lease().await {
                    Ok(Some(l)) => {
                        tracing::info!("this replica now reaps idle sessions");
                        lease = Some(l);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not ask for the reaper lease"),
                }
            }
            let result = if lease.is_some() {
                self.reap_once().await.map(|_| ())
            } else {
                self.flush_activity().await
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "reaper pass failed");
            }
        }
        if let Err(e) = self.flush_activity().await {
            tracing::warn!(error = %e, "could not flush activity at shutdown");
        }
    }

    // ---- devices -----------------------------------------------------------------------------

    /// Registers a device (first call, returns its new bearer token) or refreshes it (the caller
    /// must present that token). The license key has already chosen the account.
    pub async fn register_device(
        &self,
        account: &Account,
        id: &str,
        token: Option<&str>,
        reg: DeviceRegistration,
    ) -> Result<(Device, Option<String>)> {
        if !valid_device_id(id) {
            return Err(Error::invalid(
                "invalid_device_id",
                "a device id is 1-128 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        if let Some(cd) = &reg.custom_data {
            custom_data::validate(cd)?;
        }
        if let Some(info) = &reg.device {
            validate_device_info(info)?;
        }
        let now = time::now();
        match self.store.device(&account.id, id).await {
            Ok(mut d) => {
                let presented = token.map(secrets::hash_token);
                if !presented.is_some_and(|h| secrets::constant_time_eq(&h, &d.token_hash)) {
                    return Err(Error::Forbidden(
                        "this device is registered; present its device token".into(),
                    ));
                }
                if let Some(info) = reg.device {
                    d.device = info;
                }
                if let Some(cd) = reg.custom_data {
                    d.custom_data = cd;
                }
                d.last_active = now;
                d.updated = now;
                self.store.save_device(&d).await?;
                self.bus.publish(Event::Device(Arc::new(d.clone())));
                Ok((d, None))
            }
            Err(Error::NotFound(_)) => {
                let token = secrets::bearer_token();
                let d = Device {
                    id: id.to_owned(),
                    account_id: account.id.clone(),
                    device: reg.device.unwrap_or_default(),
                    custom_data: reg.custom_data.unwrap_or_default(),
                    connectable: true,
                    online: false,
                    online_until: 0,
                    notification_token: secrets::bearer_token(),
                    token_hash: secrets::hash_token(&token),
                    last_active: now,
                    created: now,
                    updated: now,
                };
                self.store.insert_device(&d).await?;
                self.bus.publish(Event::Device(Arc::new(d.clone())));
                Ok((d, Some(token)))
            }
            Err(e) => Err(e),
        }
    }

    /// Authenticates a device by its bearer token.
    pub async fn authenticate_device(
        &self,
        account: &Account,
        id: &str,
        token: &str,
    ) -> Result<Device> {
        let d = self.store.device(&account.id, id).await?;
        if secrets::constant_time_eq(&secrets::hash_token(token), &d.token_hash) {
            Ok(d)
        } else {
            Err(Error::NotFound("device"))
        }
    }

    pub async fn get_device(&self, caller: &Caller, id: &str) -> Result<Device> {
        let d = match caller {
            Caller::Device { device, .. } if device.id == id => return Ok(device.clone()),
            Caller::Device { .. } => return Err(Error::NotFound("device")),
            Caller::Agent { account, .. } => self.store.device(&account.id, id).await?,
        };
        if caller.policy_allows("devices", "read", &d.id, &d.custom_data) {
            Ok(d)
        } else {
            Err(Error::NotFound("device"))
        }
    }

    pub async fn list_devices(&self, caller: &Caller, query: DeviceQuery) -> Result<Vec<Device>> {
        let Caller::Agent {
            account, policy, ..
        } = caller
        else {
            return Err(Error::Forbidden("devices cannot list devices".into()));
        };
        let Some((filters, ids)) = scoped(policy.as_ref(), "devices", query.filters) else {
            return Ok(vec![]);
        };
        let filter = DeviceFilter {
            filters,
            ids,
            page: query.page,
        };
        self.store.list_devices(&account.id, &filter).await
    }
}

type Scoped = (Vec<(String, String)>, Option<Vec<String>>);

/// Narrows a list's filters by the caller's policy; `None` when nothing can match.
fn scoped(
    policy: Option<&Policy>,
    resource: &str,
    mut filters: Vec<(String, String)>,
) -> Option<Scoped> {
    let Some(policy) = policy else {
        return Some((filters, None));
    };
    let scope = policy.scope(resource);
    if scope.none {
        return None;
    }
    for (k, v) in scope.custom_data {
        match filters.iter().find(|(fk, _)| *fk == k) {
            Some((_, fv)) if *fv != v => return None,
            Some(_) => {}
            None => filters.push((k, v)),
        }
    }
    Some((filters, scope.ids))
}

/// Reads an optional JSON object field, naming it in the error.
pub fn object_field(body: &Json, name: &str) -> Result<Option<Json>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(_) => Err(Error::invalid(
            "invalid_body",
            format!("{name} must be an object"),
        )),
    }
}
