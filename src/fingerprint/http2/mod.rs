//! Cleartext HTTP/2 (h2c) client fingerprints: the connection preface in
//! Akamai's format and the first request's header fields (for JA4H).
//!
//! - [`client`]: the client's frames from the preface to the first
//!   request's complete header block, bounded.
//! - [`hpack`]: header block decoding, bounded dynamic table and list.
//! - [`huffman`]: HPACK's Huffman code.
//! - [`preface`]: the `S|WU|P|PS` fingerprint.
//!
//! Both ways into HTTP/2 over cleartext end in the same bytes: prior
//! knowledge starts the connection with `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
//! and an `Upgrade: h2c` request is followed, once the server agrees, by
//! the same preface (RFC 9113 3.4; RFC 7540 3.2). The HTTP/1.x reader sees
//! `PRI * HTTP/2.0` as a request head and hands the rest to [`client`].

pub mod client;
pub mod hpack;
pub mod huffman;
pub mod preface;

pub use client::{ClientReader, Step, Stop};
pub use preface::Preface;

/// Whether a request line is the start of the HTTP/2 preface.
pub fn is_preface_head(method: &[u8], target: &[u8], version: (u8, u8)) -> bool {
    method == b"PRI" && target == b"*" && version == (2, 0)
}
