//! The socket client (`tandem-testkit`): speaks `/sockets/1/ws` as the SDKs do.

pub use tandem_testkit::ws::*;
