//! HTTP/1.x request fingerprints: request heads read from the client's
//! byte stream, DECNET's bridge fields and, with `ja4plus`, JA4H.
//!
//! - [`head`]: a complete request head viewed in place.
//! - [`reader`]: the client direction of a connection (several requests,
//!   bodies skipped, bounded head buffer).
//! - [`ja4h`]: JA4H (FoxIO License 1.1).

pub mod head;
#[cfg(feature = "ja4plus")]
pub mod ja4h;
pub mod reader;

pub use head::{Header, RequestHead, RequestLine};
pub use reader::{HttpItem, Progress, RequestReader};
