//! The domain error. The API maps each variant to a status and an `{id, message}` body.

/// What went wrong, in terms a client can act on. Storage failures are kept apart so that they
/// are logged in full and shown to clients only as an internal error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Invalid { id: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request is valid but the state of things refuses it (409 with this id).
    #[error("{message}")]
    Refused { id: &'static str, message: String },
    #[error("too many failed attempts, try again later")]
    RateLimited,
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(id: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            id,
            message: message.into(),
        }
    }
}

impl Error {
    pub fn refused(id: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            id,
            message: message.into(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}
