//! The budget of code and token redemptions: attempts counted per key in a window, in one
//! statement whichever replica asks. The keys name no account row, so these run outside any
//! scope.

use async_trait::async_trait;

use super::sql::SqlStore;
use crate::time::Micros;
use crate::Result;

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Takes one attempt from `key`'s budget, in one step whichever replica asks: the window
    /// that started after `window_from`, or a new one from `now` when it is older. Returns the
    /// attempts taken in the window, this one included.
    async fn take_attempt(&self, key: &str, window_from: Micros, now: Micros) -> Result<i64>;
    /// Gives back an attempt taken with [`BudgetStore::take_attempt`].
    async fn refund_attempt(&self, key: &str) -> Result<()>;
    /// Forgets budgets whose window started before `before`; returns how many.
    async fn purge_attempts(&self, before: Micros) -> Result<u64>;
}

#[async_trait]
impl BudgetStore for SqlStore {
    async fn take_attempt(&self, key: &str, window_from: Micros, now: Micros) -> Result<i64> {
        let used = sqlx::query_scalar(
            "INSERT INTO redeem_budget (key, window_start, used) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               used = CASE WHEN redeem_budget.window_start < $3 THEN 1 \
                      ELSE redeem_budget.used + 1 END, \
               window_start = CASE WHEN redeem_budget.window_start < $3 THEN $2 \
                              ELSE redeem_budget.window_start END \
             RETURNING used",
        )
        .bind(key)
        .bind(now)
        .bind(window_from)
        .fetch_one(&self.tenant)
        .await?;
        Ok(used)
    }

    async fn refund_attempt(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE redeem_budget SET used = used - 1 WHERE key = $1 AND used > 0")
            .bind(key)
            .execute(&self.tenant)
            .await?;
        Ok(())
    }

    async fn purge_attempts(&self, before: Micros) -> Result<u64> {
        let done = sqlx::query("DELETE FROM redeem_budget WHERE window_start < $1")
            .bind(before)
            .execute(&self.tenant)
            .await?;
        Ok(done.rows_affected())
    }
}
