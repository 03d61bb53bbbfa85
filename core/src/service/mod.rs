//! The one path for every change: sessions and devices are created and changed here, written to
//! the Store, then published on the Bus. REST, sockets and the reaper all come through this.

mod admin;
mod devices;
mod genesys;
mod glance;
mod history;
mod login;
mod members;
mod reaper;
mod redeem;
mod sessions;
mod sockets;
mod sso;

pub use crate::store::{NotificationToken, SessionEvent, StreamToken};
pub use admin::{new_account, new_agent};
pub use genesys::{
    ControllerJoin, GenesysDeactivation, GenesysPage, GenesysSessionHistory, GenesysUser,
};
pub use glance::{started_visitor, valid_visitor_id, MAX_VISITOR_ID};
pub use history::{AgentVisit, History, PageVisit};
pub use login::{SignedIn, LINK_TTL, LOGIN_IDLE, LOGIN_MAX};
pub use members::AccountPatch;
pub use sockets::{Subscription, Watcher, PRESENCE_TTL};
pub use sso::{SamlSignIn, SsoLookup, SAML_REQUEST_TTL};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bus::Bus;
use crate::model::{Account, Device, Json, SessionState, Toggle, User};
use crate::policy::Policy;
use crate::state::Actor;
use crate::store::Store;
use crate::time::Micros;
use crate::Result;

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
    /// Emails (any case) of the instance's superusers: they see every account and can create
    /// and disable accounts.
    pub superuser_emails: Vec<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(300),
            reaper_interval: Duration::from_secs(5),
            redeem_failures_per_agent: 10,
            redeem_failures_per_account: 100,
            redeem_window: Duration::from_secs(60),
            superuser_emails: Vec::new(),
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
}

/// A list's filters narrowed by a policy, and the ids it is limited to (if any).
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
