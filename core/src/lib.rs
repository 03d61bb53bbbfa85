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
