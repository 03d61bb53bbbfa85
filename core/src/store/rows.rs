//! Reading rows into resources. Columns are named in one place per table.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::{
    Account, AccountKey, AgentRef, Device, EndedReason, Json, Role, Session, SessionState, Toggle,
    User, COLOURS,
};
use crate::{Error, Result};

pub const ACCOUNT_COLUMNS: &str = "id, name, license_key, settings, created";
pub const KEY_COLUMNS: &str = "account_id, kid, algorithm, public_pem, private_pem, created";
pub const USER_COLUMNS: &str = "id, account_id, email, name, role, colour, created";
pub const DEVICE_COLUMNS: &str = "d.account_id, d.id, d.info, d.custom_data, d.token_hash, \
     d.notification_token, d.connectable, d.last_active, d.created, d.updated, d.online_until";
pub const SESSION_COLUMNS: &str = "s.id, s.account_id, s.state, s.code, s.code_expires, \
     s.access_token, s.control_token, s.custom_data, s.device_id, s.device, s.agents, \
     s.full_device, s.remote_control, s.ended_reason, s.region, s.created, s.updated, \
     s.activated, s.ended, s.last_activity, s.version";

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt(format!("{what} {value:?}"))
}

fn json_object(text: &str) -> Result<Json> {
    Ok(serde_json::from_str(text)?)
}

pub fn account(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        license_key: row.try_get("license_key")?,
        settings: serde_json::from_str(row.try_get::<&str, _>("settings")?)?,
        created: row.try_get("created")?,
    })
}

pub fn key(row: &AnyRow) -> Result<AccountKey> {
    Ok(AccountKey {
        account_id: row.try_get("account_id")?,
        kid: row.try_get("kid")?,
        algorithm: row.try_get("algorithm")?,
        public_pem: row.try_get("public_pem")?,
        private_pem: row.try_get("private_pem")?,
        created: row.try_get("created")?,
    })
}

pub fn user(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        colour: row.try_get("colour")?,
        created: row.try_get("created")?,
    })
}

pub fn device(row: &AnyRow) -> Result<Device> {
    let online_until: i64 = row.try_get("online_until")?;
    Ok(Device {
        account_id: row.try_get("account_id")?,
        id: row.try_get("id")?,
        device: json_object(row.try_get("info")?)?,
        custom_data: json_object(row.try_get("custom_data")?)?,
        token_hash: row.try_get("token_hash")?,
        notification_token: row.try_get("notification_token")?,
        connectable: row.try_get::<i64, _>("connectable")? != 0,
        online: online_until > crate::time::now(),
        online_until,
        last_active: row.try_get("last_active")?,
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
    })
}

fn toggle(row: &AnyRow, col: &str) -> Result<Toggle> {
    let v: String = row.try_get(col)?;
    Toggle::parse(&v).ok_or_else(|| corrupt(col, &v))
}

pub fn session(row: &AnyRow) -> Result<Session> {
    let state: String = row.try_get("state")?;
    let agents: Vec<AgentRef> = serde_json::from_str(row.try_get("agents")?)?;
    let ended_reason: Option<String> = row.try_get("ended_reason")?;
    let device: Option<String> = row.try_get("device")?;
    Ok(Session {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        code: row.try_get("code")?,
        expires: row.try_get("code_expires")?,
        access_token: row.try_get("access_token")?,
        control_token: row.try_get("control_token")?,
        state: SessionState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        custom_data: json_object(row.try_get("custom_data")?)?,
        device_id: row.try_get("device_id")?,
        device: device.as_deref().map(json_object).transpose()?,
        agent: agents.first().cloned(),
        agents,
        full_device: toggle(row, "full_device")?,
        remote_control: toggle(row, "remote_control")?,
        ended_reason: ended_reason
            .map(|r| EndedReason::parse(&r).ok_or_else(|| corrupt("ended_reason", &r)))
            .transpose()?,
        region: row.try_get("region")?,
        recorded: false,
        colours: COLOURS.iter().map(|c| c.to_string()).collect(),
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
        activated: row.try_get("activated")?,
        ended: row.try_get("ended")?,
        last_activity: row.try_get("last_activity")?,
        version: row.try_get("version")?,
    })
}
