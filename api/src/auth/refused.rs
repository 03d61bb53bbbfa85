//! Why a token was refused, and the one answer its presenter gets.

use tandem_core::model::Account;

use crate::error::ApiError;

/// Why a JWT was refused: a `reason` from a fixed few (the metric's label), and the detail, for
/// the log only. The caller is told "invalid token" whatever the reason, except that a token
/// which verifies but has expired says "jwt expired" (the Cobrowse.io SDK relies on it).
pub(super) struct Refused {
    pub(super) reason: &'static str,
    account_id: Option<String>,
    detail: String,
}

pub(super) fn refused(reason: &'static str, detail: impl Into<String>) -> Refused {
    Refused {
        reason,
        account_id: None,
        detail: detail.into(),
    }
}

pub(super) enum Failure {
    Refused(Refused),
    /// Not about the token: the database failed, say.
    Internal(ApiError),
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Failure::Refused(r)
    }
}

impl From<tandem_core::Error> for Failure {
    fn from(e: tandem_core::Error) -> Self {
        Failure::Internal(e.into())
    }
}

impl Refused {
    pub(super) fn of(mut self, account: &Account) -> Self {
        self.account_id = Some(account.id.clone());
        self
    }

    /// Logs the detail, counts the reason, and gives the caller the one answer.
    pub(super) fn report(self) -> ApiError {
        metrics::counter!("tandem_auth_failures_total", "reason" => self.reason).increment(1);
        tracing::info!(
            reason = self.reason,
            account_id = self.account_id.as_deref().unwrap_or(""),
            detail = %self.detail,
            "agent token refused"
        );
        if self.reason == "expired" {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "token_expired",
                "jwt expired",
            )
        } else {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_token",
                "invalid token",
            )
        }
    }
}
