//! The resources: accounts, users, devices and sessions, with the wire shapes the Cobrowse.io
//! agent SDK expects.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::{self, Micros};

mod login;
mod settings;
mod sso;
pub use login::{Invitation, KeyInfo, LoginLink, LoginSession, Member};
pub use settings::AccountSettings;
pub use sso::{GroupRole, SamlRequest, SsoConfig, SsoIdentity, MAX_IDP_CERTIFICATES};

pub type Json = Map<String, Value>;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub license_key: String,
    pub settings: AccountSettings,
    #[serde(serialize_with = "time::serialize")]
    pub created: Micros,
    /// A disabled account's JWTs, devices, dashboard sign-ins and sockets are all refused.
    pub disabled: bool,
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

/// An agent's role in the account, from the JWT's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// An agent of the account (created on the first request with their JWT).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// The user's id.
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    /// The agent's email, from the JWT's `sub` (lower-cased).
    #[schema(format = Email)]
    pub email: String,
    /// From the JWT's `displayName`, else the email's local part.
    pub name: String,
    pub role: Role,
    /// The agent's drawing colour, `#rrggbb`.
    pub colour: String,
    /// When the user was first seen.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
}

/// An agent as shown on a session (`agent`, `agents[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentRef {
    /// The user's id.
    pub id: String,
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    /// The agent's drawing colour, `#rrggbb`.
    #[schema(example = "#4f46e5")]
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

/// The lifecycle state of a session; see the Session schema for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The request/consent state of remote control or full-device mode: agents request, the customer
/// accepts (`on`) or rejects, either side turns it `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Why a session ended: by the customer's device (`device_ended`), by an agent (`agent_ended`),
/// after inactivity in the named state or an expired code (`pending_timeout`,
/// `authorizing_timeout`, `active_timeout`), or by a usage limit (`limit_enforcement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// A co-browsing session between one customer device and one or more agents.
///
/// **States.** `pending` -> `authorizing` -> `active` -> `ended`, where `authorizing` may be
/// skipped and any live state (`pending`, `authorizing`, `active`) may move straight to `ended`.
/// `ended` is final: any further change is refused with `409`. There are no backward moves. A
/// pending session starts on its own once it has both a device and at least one agent: it becomes
/// `authorizing` when the account requires the customer's consent (the default), `active`
/// otherwise. Changes through `PUT /api/1/sessions/{id}`: an agent may move a session to
/// `authorizing`, and to `active` only when the account does not require consent; only the
/// customer's device accepts (`authorizing` -> `active`); either side may end it (`ended_reason`
/// `agent_ended` or `device_ended`). The server ends sessions with no activity from device or
/// agents for the inactivity timeout (5 minutes by default) with `pending_timeout`,
/// `authorizing_timeout` or `active_timeout`, and ends a pending session whose code has expired
/// with `pending_timeout`.
///
/// **Code.** `code` is a random 6-digit number, unique among pending sessions, that the customer
/// reads out to an agent. It exists only while the session is `pending` (it is `null` in every
/// other state) and only until `expires` (20 minutes after creation by default, configurable per
/// account); an expired code no longer finds the session.
///
/// **Access token.** `access_token` is a random 9-digit number, unique among live sessions, that
/// identifies the session while it is live (e.g. read out by a customer or sent by a chat widget)
/// and is `null` once the session has ended.
///
/// Wherever a session id is accepted, an agent of the same account may pass the 6-digit code or
/// the 9-digit access token instead; devices may not. Failed code and access-token lookups are
/// rate-limited per agent and per account (`429`).
///
/// **Control token.** `control_token` is a bearer secret that subscribes a socket client to live
/// updates of this session (`subscribe` on `/sockets/1/ws`).
///
/// **Remote control and full-device mode** (`remote_control`, `full_device`) go `off` ->
/// `requested` -> `on` or `rejected`: an agent requests (the device may also offer), only the
/// customer's device accepts (`on`) or rejects, and either side may turn them `off`. After a
/// rejection they may be requested again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    /// The session's id.
    #[schema(format = "uuid")]
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    /// The 6-digit code; only while the session is `pending` (until `expires`), otherwise `null`.
    #[schema(required = true, pattern = "^[0-9]{6}$", example = "482913")]
    pub code: Option<String>,
    /// The 9-digit access token; only while the session is live, `null` once it has ended.
    #[schema(required = true, pattern = "^[0-9]{9}$", example = "305718264")]
    pub access_token: Option<String>,
    pub state: SessionState,
    #[schema(value_type = crate::schemas::CustomData)]
    pub custom_data: Json,
    /// The customer's device information, once known.
    #[schema(value_type = Option<crate::schemas::DeviceInfo>, required = true)]
    pub device: Option<Json>,
    #[serde(skip)]
    pub device_id: Option<String>,
    /// The first agent who joined, or `null` before any has.
    #[schema(required = true)]
    pub agent: Option<AgentRef>,
    /// Every agent who has joined, in joining order.
    pub agents: Vec<AgentRef>,
    /// Full-device (whole screen) sharing.
    pub full_device: Toggle,
    /// Remote control by the agent.
    pub remote_control: Toggle,
    /// Why the session ended; `null` while it is live.
    #[schema(required = true)]
    pub ended_reason: Option<EndedReason>,
    /// The region the session was created for (see `GET /api/1/regions/closest`), if any.
    #[schema(required = true)]
    pub region: Option<String>,
    /// Whether the session is recorded.
    pub recorded: bool,
    /// The drawing colours agents may pick from.
    #[schema(pattern = "^#[0-9a-f]{6}$")]
    pub colours: Vec<String>,
    /// A bearer secret that subscribes a socket client to this session's live updates.
    pub control_token: String,
    /// When the session was created.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
    /// When the session last changed.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated: Micros,
    /// When the session first became `active`; `null` before.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub activated: Option<Micros>,
    /// When the session ended; `null` while it is live.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub ended: Option<Micros>,
    /// When `code` stops working; `null` once the session has left `pending`.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
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

/// A customer device (browser or app) registered by the device SDK.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    /// The device's id, chosen by the device SDK.
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    #[schema(value_type = crate::schemas::DeviceInfo)]
    pub device: Json,
    #[schema(value_type = crate::schemas::CustomData)]
    pub custom_data: Json,
    /// Whether agents can ask the device to join a session.
    pub connectable: bool,
    /// Whether the device holds a notification socket on some replica right now (presence). Also
    /// pushed over the socket as `presence` events.
    pub online: bool,
    /// A bearer secret that subscribes a socket client to this device's updates and presence.
    pub notification_token: String,
    #[serde(skip)]
    pub token_hash: String,
    /// When the device last registered, or its notification socket last opened, closed or
    /// renewed its presence.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub last_active: Micros,
    /// When the device first registered.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created: Micros,
    /// When the device's record last changed.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated: Micros,
    /// Presence lease: online while this is in the future.
    #[serde(skip)]
    pub online_until: Micros,
}
