//! The domain error. The API maps each variant to a status and an `{id, message}` body.

/// What went wrong, in terms a client can act on. Storage failures are kept apart so that they
/// are logged in full and shown to clients only as an internal error; a database that cannot be
/// reached is told apart from a failed query, so clients can be asked to try again.
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
    /// The database cannot be reached right now: refused, dropped, shutting down, or no
    /// connection free within the pool's acquire timeout.
    #[error("database unavailable ({kind}): {source}")]
    Unavailable {
        kind: &'static str,
        source: sqlx::Error,
    },
    #[error("storage error: {0}")]
    Storage(sqlx::Error),
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

/// Every database error comes through here: an outage becomes [`Error::Unavailable`], counted in
/// `tandem_database_errors_total{kind}`; anything else is a [`Error::Storage`].
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match outage_kind(&e) {
            Some(kind) => {
                metrics::counter!("tandem_database_errors_total", "kind" => kind).increment(1);
                Error::Unavailable { kind, source: e }
            }
            None => Error::Storage(e),
        }
    }
}

/// Whether an error says the database is out of reach (rather than that a query failed), and
/// which way.
fn outage_kind(e: &sqlx::Error) -> Option<&'static str> {
    match e {
        sqlx::Error::PoolTimedOut => Some("pool_timeout"),
        sqlx::Error::PoolClosed => Some("pool_closed"),
        sqlx::Error::WorkerCrashed => Some("worker_crashed"),
        sqlx::Error::Io(_) => Some("io"),
        sqlx::Error::Tls(_) => Some("tls"),
        sqlx::Error::Database(db) => match db.code()?.as_ref() {
            // admin_shutdown (a terminated backend, a fast stop), crash_shutdown,
            // cannot_connect_now (starting up or shutting down)
            "57P01" | "57P02" | "57P03" => Some("shutdown"),
            "53300" => Some("too_many_connections"),
            code if code.starts_with("08") => Some("connection"),
            _ => None,
        },
        _ => None,
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_apart_from_failed_queries() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for (e, kind) in [
            (sqlx::Error::PoolTimedOut, "pool_timeout"),
            (sqlx::Error::PoolClosed, "pool_closed"),
            (sqlx::Error::Io(refused), "io"),
        ] {
            match Error::from(e) {
                Error::Unavailable { kind: k, .. } => assert_eq!(k, kind),
                other => panic!("{other:?} is not an outage"),
            }
        }
        assert!(matches!(
            Error::from(sqlx::Error::RowNotFound),
            Error::Storage(_)
        ));
        assert!(matches!(
            Error::from(sqlx::Error::Protocol("bad".into())),
            Error::Storage(_)
        ));
    }
}
