//! QUIC Initial packets (RFC 9000, RFC 9001; version 2: RFC 9369): from a
//! client's UDP datagrams to its complete TLS ClientHello.
//!
//! The pipeline, one module per step:
//! - [`header`]: long headers, versions, coalesced packets;
//! - [`keys`]: Initial secrets from the Destination Connection ID;
//! - [`protect`]: header protection removal, packet number decoding;
//! - [`decrypt`]: AES-128-GCM payload decryption;
//! - [`frames`]: the frames an Initial may carry;
//! - [`crypto_stream`]: CRYPTO frames, in any order and across packets,
//!   into one bounded ClientHello;
//! - [`budget`]: per-source and global limits on decryption work;
//! - [`collector`]: the bounded per-connection state tying them together.
//!
//! The ClientHello bytes go to [`crate::fingerprint::tls`] for JA4 (`q`)
//! and JA3.

pub mod budget;
pub mod collector;
pub mod crypto_stream;
pub mod decrypt;
pub mod frames;
pub mod header;
pub mod keys;
pub mod protect;
pub mod varint;

#[cfg(test)]
pub(crate) mod test_vectors;

pub use collector::{CollectorConfig, Counters, InitialCollector, Outcome, ReassembledHello};
pub use header::Version;
