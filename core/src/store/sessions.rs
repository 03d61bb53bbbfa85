//! Sessions: their row, writes with optimistic versions, lookups by id, code and token, and the
//! filter and agent rows that index them for lists (the list query itself is in `list`).

use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::signature;
use super::sql::{json, json_object, parsed, unique_violation, Query, Scope, SqlStore};
use super::Saved;
use crate::custom_data;
use crate::model::{AgentRef, EndedReason, Session, SessionState, Toggle, COLOURS};
use crate::query::SessionFilter;
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a new session. A clash of code or access token is `Error::Conflict`.
    async fn insert_session(&self, session: &Session) -> Result<()>;
    async fn session(&self, account_id: &str, id: &str) -> Result<Session>;
    async fn session_by_code(&self, account_id: &str, code: &str) -> Result<Session>;
    async fn session_by_access_token(&self, account_id: &str, token: &str) -> Result<Session>;
    async fn session_by_control_token(&self, account_id: &str, token: &str) -> Result<Session>;
    /// Writes `session` if the stored version is still `session.version`, bumping it.
    async fn save_session(&self, session: &Session) -> Result<Saved>;
    async fn list_sessions(&self, account_id: &str, filter: &SessionFilter)
        -> Result<Vec<Session>>;
}

/// What a session is read as, from `sessions s`.
pub(super) const SESSION_COLUMNS: &str = "s.id, s.account_id, s.state, s.code, s.code_expires, \
     s.access_token, s.control_token, s.custom_data, s.device_id, s.device, s.agents, \
     s.full_device, s.remote_control, s.ended_reason, s.region, s.created, s.updated, \
     s.activated, s.ended, s.last_activity, s.version";

/// The columns that both an insert and a save write, in the order [`bind_fields`] binds them.
const FIELDS: [&str; 17] = [
    "state",
    "code",
    "code_expires",
    "access_token",
    "custom_data",
    "device_id",
    "device",
    "agents",
    "full_device",
    "remote_control",
    "ended_reason",
    "region",
    "updated",
    "activated",
    "ended",
    "last_activity",
    "sort_at",
];

/// [`FIELDS`] as `$1` to `$17`, then what only a new session sets.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let extra = ["id", "account_id", "control_token", "created", "version"];
    let values: Vec<String> = (1..=FIELDS.len() + extra.len())
        .map(|i| format!("${i}"))
        .collect();
    format!(
        "INSERT INTO sessions ({}, {}) VALUES ({})",
        FIELDS.join(", "),
        extra.join(", "),
        values.join(", ")
    )
});

/// [`FIELDS`] as `$1` to `$17`, of the session whose id is `$18`.
static SAVE: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ${}", i + 1))
        .collect();
    format!(
        "UPDATE sessions SET {} WHERE id = ${}",
        set.join(", "),
        FIELDS.len() + 1
    )
});

/// Binds the values of [`FIELDS`] of `s`, in order.
fn bind_fields<'q>(q: Query<'q>, s: &'q Session) -> Query<'q> {
    q.bind(s.state.as_str())
        .bind(s.code.as_deref())
        .bind(s.expires)
        .bind(s.access_token.as_deref())
        .bind(json(&s.custom_data))
        .bind(s.device_id.as_deref())
        .bind(s.device.as_ref().map(json))
        .bind(json(&s.agents))
        .bind(s.full_device.as_str())
        .bind(s.remote_control.as_str())
        .bind(s.ended_reason.map(|r| r.as_str()))
        .bind(s.region.as_deref())
        .bind(s.updated)
        .bind(s.activated)
        .bind(s.ended)
        .bind(s.last_activity)
        .bind(s.sort_at())
}

/// A row of [`SESSION_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    account_id: String,
    state: String,
    code: Option<String>,
    code_expires: Option<Micros>,
    access_token: Option<String>,
    control_token: String,
    custom_data: String,
    device_id: Option<String>,
    device: Option<String>,
    agents: String,
    full_device: String,
    remote_control: String,
    ended_reason: Option<String>,
    region: Option<String>,
    created: Micros,
    updated: Micros,
    activated: Option<Micros>,
    ended: Option<Micros>,
    last_activity: Micros,
    version: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;
    fn try_from(r: SessionRow) -> Result<Self> {
        let agents: Vec<AgentRef> = serde_json::from_str(&r.agents)?;
        Ok(Session {
            id: r.id,
            account_id: r.account_id,
            code: r.code,
            expires: r.code_expires,
            access_token: r.access_token,
            control_token: r.control_token,
            state: parsed("state", &r.state, SessionState::parse)?,
            custom_data: json_object(&r.custom_data)?,
            device_id: r.device_id,
            device: r.device.as_deref().map(json_object).transpose()?,
            agent: agents.first().cloned(),
            agents,
            full_device: parsed("full_device", &r.full_device, Toggle::parse)?,
            remote_control: parsed("remote_control", &r.remote_control, Toggle::parse)?,
            ended_reason: r
                .ended_reason
                .map(|v| parsed("ended_reason", &v, EndedReason::parse))
                .transpose()?,
            region: r.region,
            recorded: false,
            colours: COLOURS.iter().map(|c| c.to_string()).collect(),
            created: r.created,
            updated: r.updated,
            activated: r.activated,
            ended: r.ended,
            last_activity: r.last_activity,
            version: r.version,
        })
    }
}

impl SqlStore {
    async fn session_where(&self, account_id: &str, col: &str, value: &str) -> Result<Session> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.account_id = $1 AND s.{col} = $2"
        );
        let row: SessionRow = self.in_account(&sql, account_id, value, "session").await?;
        row.try_into()
    }
}

/// Writes the filter rows and agent rows that index a session for lists.
async fn write_session_index(
    tx: &mut AnyConnection,
    s: &Session,
    rewrite_filters: bool,
) -> Result<()> {
    if rewrite_filters {
        sqlx::query("DELETE FROM session_filters WHERE session_id = $1")
            .bind(&s.id)
            .execute(&mut *tx)
            .await?;
        let pairs = custom_data::filter_pairs(&s.custom_data);
        let sig = signature::signature(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (k, v) in pairs {
            sqlx::query(
                "INSERT INTO session_filters (session_id, key, value, account_id, sort_at, sig) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&s.id)
            .bind(k)
            .bind(v)
            .bind(&s.account_id)
            .bind(s.sort_at())
            .bind(sig)
            .execute(&mut *tx)
            .await?;
        }
    } else {
        sqlx::query(
            "UPDATE session_filters SET sort_at = $1 WHERE session_id = $2 AND sort_at <> $1",
        )
        .bind(s.sort_at())
        .bind(&s.id)
        .execute(&mut *tx)
        .await?;
    }
    for agent in &s.agents {
        sqlx::query(
            "INSERT INTO session_agents (session_id, user_id, account_id, sort_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (session_id, user_id) DO UPDATE SET sort_at = $4",
        )
        .bind(&s.id)
        .bind(&agent.id)
        .bind(&s.account_id)
        .bind(s.sort_at())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &Session) -> Result<()> {
        self.scoped(Scope::Account(&s.account_id), async |tx| {
            let inserted = bind_fields(sqlx::query(&INSERT), s)
                .bind(&s.id)
                .bind(&s.account_id)
                .bind(&s.control_token)
                .bind(s.created)
                .bind(s.version)
                .execute(&mut *tx)
                .await;
            match inserted {
                Err(e) if unique_violation(&e) => {
                    return Err(Error::Conflict(
                        "session code or token already in use".into(),
                    ))
                }
                other => other?,
            };
            write_session_index(tx, s, true).await
        })
        .await
    }

    async fn session(&self, account_id: &str, id: &str) -> Result<Session> {
        self.session_where(account_id, "id", id).await
    }

    async fn session_by_code(&self, account_id: &str, code: &str) -> Result<Session> {
        self.session_where(account_id, "code", code).await
    }

    async fn session_by_access_token(&self, account_id: &str, token: &str) -> Result<Session> {
        self.session_where(account_id, "access_token", token).await
    }

    async fn session_by_control_token(&self, account_id: &str, token: &str) -> Result<Session> {
        self.session_where(account_id, "control_token", token).await
    }

    async fn save_session(&self, s: &Session) -> Result<Saved> {
        self.scoped(Scope::Account(&s.account_id), async |tx| {
            let old: Option<String> = sqlx::query_scalar(
                "UPDATE sessions SET version = version + 1 \
                 WHERE id = $1 AND account_id = $2 AND version = $3 RETURNING custom_data",
            )
            .bind(&s.id)
            .bind(&s.account_id)
            .bind(s.version)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(old_custom_data) = old else {
                return Ok(Saved::Stale);
            };
            bind_fields(sqlx::query(&SAVE), s)
                .bind(&s.id)
                .execute(&mut *tx)
                .await?;
            let rewrite = old_custom_data != json(&s.custom_data);
            write_session_index(tx, s, rewrite).await?;
            Ok(Saved::Yes)
        })
        .await
    }

    async fn list_sessions(&self, account_id: &str, f: &SessionFilter) -> Result<Vec<Session>> {
        self.session_page(account_id, f).await
    }
}
