//! The test harness: a real `tandem` server on port 0 over a fresh database of either backend,
//! and fresh tenants with keys and tokens. It lives in `tandem-testkit`, which the benchmarks
//! start their servers with too.

pub(crate) use tandem_core::both_backends;
pub use tandem_testkit::{eventually, read, Redis, Server, Tenant};
