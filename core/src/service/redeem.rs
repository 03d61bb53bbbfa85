//! The budget of code and token redemptions: failed ones are counted per caller and per account
//! in a window, in the Store, so no replica can overdraw it.

use super::{Caller, Service};
use crate::time;
use crate::{Error, Result};

impl Service {
    /// Runs one redemption of a code or token within the budget of failed ones, per caller
    /// and per account in `redeem_window`. The attempt is taken from the budget before the
    /// lookup, in the Store (so concurrent guesses, on any replica, cannot overdraw it) and
    /// given back unless the lookup found nothing.
    pub(super) async fn redeem<T>(
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
}
