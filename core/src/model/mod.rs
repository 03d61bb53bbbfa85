//! The resources: accounts, users, devices and sessions, with the wire shapes the Cobrowse.io
//! agent SDK expects.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::{self, Micros};

mod settings;
pub use settings::AccountSettings;

pub type Json = Map<String, Value>;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub license_key: String,
    pub settings: AccountSettings,
    #[serde(serialize_with = "time::serialize")]
    pub created: Micros,
}

/// A public key that verifies the account's JWTs. The private half is kept only when Tandem
/// generated the pair (the dashboard's "Generate" button, `tandem keys generate`). Read from
/// its row as it is.
#[derive(Clone, sqlx::FromRow)]
pub struct AccountKey {
    pub account_id: String,
    pub kid: String,
    pub algorithm: String,
    pub public_pem: String,
    pub private_pem: Option<String>,
    pub created: Micros,
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKey")
            .field("account_id", &self.account_id)
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field(
                "private_pem",
                &self.private_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Administrator,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Agent => "agent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "administrator" => Some(Role::Administrator),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub colour: String,
    #[serde(serialize_with = "time::serialize")]
    pub created: Micros,
}

/// How an agent appears on a session (`agent`, `agents[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
    pub email: String,
    pub colour: String,
}

impl From<&User> for AgentRef {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            colour: u.colour.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Pending,
    Authorizing,
    Active,
    Ended,
}

impl SessionState {
    pub const ALL: [SessionState; 4] = [
        SessionState::Pending,
        SessionState::Authorizing,
        SessionState::Active,
        SessionState::Ended,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "pending",
            SessionState::Authorizing => "authorizing",
            SessionState::Active => "active",
            SessionState::Ended => "ended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The request/consent states of remote control and full-device mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toggle {
    Off,
    Requested,
    Rejected,
    On,
}

impl Toggle {
    pub fn as_str(self) -> &'static str {
        match self {
            Toggle::Off => "off",
            Toggle::Requested => "requested",
            Toggle::Rejected => "rejected",
            Toggle::On => "on",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Toggle::Off, Toggle::Requested, Toggle::Rejected, Toggle::On]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedReason {
    DeviceEnded,
    AgentEnded,
    PendingTimeout,
    AuthorizingTimeout,
    ActiveTimeout,
    LimitEnforcement,
}

impl EndedReason {
    pub const ALL: [EndedReason; 6] = [
        EndedReason::DeviceEnded,
        EndedReason::AgentEnded,
        EndedReason::PendingTimeout,
        EndedReason::AuthorizingTimeout,
        EndedReason::ActiveTimeout,
        EndedReason::LimitEnforcement,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EndedReason::DeviceEnded => "device_ended",
            EndedReason::AgentEnded => "agent_ended",
            EndedReason::PendingTimeout => "pending_timeout",
            EndedReason::AuthorizingTimeout => "authorizing_timeout",
            EndedReason::ActiveTimeout => "active_timeout",
            EndedReason::LimitEnforcement => "limit_enforcement",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The reason an idle session in `state` ends with.
    pub fn timeout_in(state: SessionState) -> Self {
        match state {
            SessionState::Pending | SessionState::Ended => EndedReason::PendingTimeout,
            SessionState::Authorizing => EndedReason::AuthorizingTimeout,
            SessionState::Active => EndedReason::ActiveTimeout,
        }
    }
}

/// Agent drawing colours offered on every session.
pub const COLOURS: [&str; 6] = [
    "#4f46e5", "#db2777", "#059669", "#d97706", "#0891b2", "#7c3aed",
];

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    /// The 6-digit code, present only while the session is pending.
    pub code: Option<String>,
    /// The 9-digit access token, present while the session is live.
    pub access_token: Option<String>,
    pub state: SessionState,
    pub custom_data: Json,
    /// The customer's device information, as the device SDK reports it.
    pub device: Option<Json>,
    #[serde(skip)]
    pub device_id: Option<String>,
    pub agent: Option<AgentRef>,
    pub agents: Vec<AgentRef>,
    pub full_device: Toggle,
    pub remote_control: Toggle,
    pub ended_reason: Option<EndedReason>,
    pub region: Option<String>,
    pub recorded: bool,
    pub colours: Vec<String>,
    pub control_token: String,
    #[serde(serialize_with = "time::serialize")]
    pub created: Micros,
    #[serde(serialize_with = "time::serialize")]
    pub updated: Micros,
    #[serde(serialize_with = "time::serialize_opt")]
    pub activated: Option<Micros>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub ended: Option<Micros>,
    /// When the code stops being redeemable (pending sessions only).
    #[serde(serialize_with = "time::serialize_opt")]
    pub expires: Option<Micros>,
    #[serde(skip)]
    pub last_activity: Micros,
    #[serde(skip)]
    pub version: i64,
}

impl Session {
    /// The paging key: when the session became active, or was created if it never did.
    pub fn sort_at(&self) -> Micros {
        self.activated.unwrap_or(self.created)
    }
    pub fn is_live(&self) -> bool {
        self.state != SessionState::Ended
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    pub device: Json,
    pub custom_data: Json,
    pub connectable: bool,
    /// Whether the device holds a notification socket on some replica right now.
    pub online: bool,
    pub notification_token: String,
    #[serde(skip)]
    pub token_hash: String,
    #[serde(serialize_with = "time::serialize")]
    pub last_active: Micros,
    #[serde(serialize_with = "time::serialize")]
    pub created: Micros,
    #[serde(serialize_with = "time::serialize")]
    pub updated: Micros,
    /// Presence lease: online while this is in the future.
    #[serde(skip)]
    pub online_until: Micros,
}
