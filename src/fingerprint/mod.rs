//! Pure fingerprint algorithms. Nothing here knows about flows, deckies or
//! output: each module turns wire bytes into fingerprint values.

pub mod budgeted;
pub mod clients;
pub mod dhcp;
pub mod http;
pub mod http2;
pub mod ipv6_leak;
#[cfg(feature = "ja4plus")]
pub mod ja4t;
pub mod p0f;
pub mod print_cache;
pub mod quic;
pub mod scanner;
pub mod seqclass;
pub mod ssh;
pub mod tcpip;
pub mod tls;
