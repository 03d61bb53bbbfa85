//! Tandem's domain: accounts, users, sessions and devices, the session state machine, codes and
//! tokens, list queries and policies, the storage trait with its SQLite and PostgreSQL backends,
//! the event bus, and the one service through which every change flows.

pub mod bus;
pub mod custom_data;
pub mod email;
pub mod error;
pub mod model;
pub mod policy;
pub mod query;
pub mod schemas;
pub mod secrets;
pub mod service;
pub mod state;
// The Store is reached only through `Service`: outside this crate it is not even nameable, except
// by test suites and benchmarks that turn on the `testing` feature to set up or measure it.
#[cfg(feature = "testing")]
pub mod store;
#[cfg(not(feature = "testing"))]
mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use error::{Error, Result};
pub use store::Backend;

/// Connects to the database `url` names and asks it to answer, changing nothing (no migration;
/// a SQLite file that does not exist yet is not created): what `tandem check` reports.
pub async fn probe_database(url: &str) -> Result<Backend> {
    let backend = Backend::from_url(url).ok_or_else(|| {
        Error::invalid(
            "invalid_database_url",
            "the database URL must start with sqlite: or postgres://",
        )
    })?;
    if backend == Backend::Sqlite {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or("");
        if path != ":memory:" && !std::path::Path::new(path).exists() {
            return Err(Error::NotFound(
                "SQLite database file (`tandem serve` creates it)",
            ));
        }
    }
    use store::Store as _;
    store::SqlStore::connect(url).await?.ping().await?;
    Ok(backend)
}
