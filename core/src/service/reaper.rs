//! The reaper: batched activity, idle sessions and expired codes ended, expired tokens and lapsed
//! presence cleared. One replica at a time reaps, by the Store's lease.

use std::sync::Arc;

use super::sessions::enter_state;
use super::{Service, MAX_RETRIES};
use crate::model::{EndedReason, Session, SessionState};
use crate::state::{self, Actor};
use crate::store::Saved;
use crate::time::{self, Micros};
use crate::Result;

impl Service {
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
        // Budgets outlive the longest window that counts them (code redemptions, sign-in links).
        let longest = self
            .config
            .redeem_window
            .max(super::login::LINK_WINDOW)
            .max(super::sso::SAML_REQUEST_TTL);
        self.store
            .purge_attempts(now - longest.as_micros() as i64)
            .await?;
        self.store.purge_login(now).await?;
        self.store.purge_saml(now).await?;
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
                    self.genesys_change(&s, &next).await;
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
                let pass = self.reap_once().await.map(|_| ());
                if pass.is_ok() {
                    // Only the replica that reaps sets it: alerts take the freshest replica's.
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_secs_f64());
                    metrics::gauge!("tandem_reaper_last_pass_timestamp_seconds").set(now);
                }
                pass
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
}
