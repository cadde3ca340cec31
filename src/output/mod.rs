//! DECNET's wire formats ([`syslog`], [`json`]), dedup ([`dedup`]), append-only
//! file sinks ([`sink`]) and the [`pipeline`] that ties them together:
//! event → dedup → RFC 5424 line → JSON record → bus; [`thread`] runs it
//! beside the engine.

pub mod dedup;
pub mod formatted;
pub mod json;
pub mod metrics;
pub mod pipeline;
pub mod sink;
pub mod syslog;
pub mod thread;

pub use pipeline::{Output, OutputStats, Publish};
pub use thread::OutputThread;
