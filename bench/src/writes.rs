//! The write side of the list indexes: sessions inserted one at a time through
//! `Store::insert_session` (which also writes their filter rows), each with the five custom data
//! keys of the seeded data, into an account of their own that is deleted afterwards, so the
//! seeded data stays as it was. A faster list must not cost writes more than a fifth.

use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use tandem_core::model::{AccountSettings, EndedReason, Session, SessionState, Toggle, COLOURS};
use tandem_core::secrets;
use tandem_core::store::{SessionStore, SqlStore};

use crate::data::{CHANNELS, COUNTRIES, PLANS, TEAMS};

const ACCOUNT: &str = "00000000-0000-4000-9000-00000000beef";

fn session(i: usize, now: i64) -> Session {
    Session {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: ACCOUNT.to_owned(),
        code: None,
        access_token: None,
        state: SessionState::Ended,
        custom_data: json!({
            "user_id": format!("writer-{i}"),
            "team": format!("team-{}", i as i64 % TEAMS),
            "plan": PLANS[i % PLANS.len()],
            "country": COUNTRIES[i % COUNTRIES.len()],
            "channel": CHANNELS[i % CHANNELS.len()],
        })
        .as_object()
        .cloned()
        .expect("custom data is an object"),
        device: None,
        device_id: None,
        agent: None,
        agents: vec![],
        full_device: Toggle::Off,
        remote_control: Toggle::Off,
        ended_reason: Some(EndedReason::AgentEnded),
        region: None,
        recorded: false,
        colours: COLOURS.iter().map(|c| c.to_string()).collect(),
        control_token: secrets::bearer_token(),
        created: now,
        updated: now,
        activated: Some(now),
        ended: Some(now),
        expires: None,
        last_activity: now,
        version: 0,
    }
}

/// Inserts `count` sessions one after another and returns how many per second.
pub async fn insert_rate(store: &SqlStore, count: usize) -> Result<f64> {
    let pool = store.pool();
    sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(ACCOUNT)
        .execute(pool)
        .await
        .context("removing an earlier run's writer account")?;
    sqlx::query(
        "INSERT INTO accounts (id, name, license_key, settings, created) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ACCOUNT)
    .bind("bench writer")
    .bind("benchwriter0000000000")
    .bind(serde_json::to_string(&AccountSettings::default())?)
    .bind(tandem_core::time::now())
    .execute(pool)
    .await
    .context("creating the writer account")?;
    let sessions: Vec<Session> = (0..count)
        .map(|i| session(i, tandem_core::time::now() + i as i64))
        .collect();
    let started = Instant::now();
    let mut result = Ok(());
    for s in &sessions {
        if let Err(e) = store.insert_session(s).await {
            result = Err(e).context("inserting a session");
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(ACCOUNT)
        .execute(pool)
        .await
        .context("deleting the writer account")?;
    result?;
    Ok(count as f64 / elapsed)
}
