//! SSH fingerprints: the identification line, HASSH/HASSH-server from the
//! cleartext KEXINIT messages and, with `ja4plus`, JA4SSH.
//!
//! - [`ident`]: collecting and splitting identification lines.
//! - [`reader`]: one direction of a connection as a byte stream (banner,
//!   binary packets up to NEWKEYS, packet boundaries for JA4SSH).
//! - [`kexinit`]: SSH_MSG_KEXINIT parsing.
//! - [`hassh`]: HASSH and HASSH-server.
//! - [`ja4ssh`]: JA4SSH windows (FoxIO License 1.1).

pub mod hassh;
pub mod ident;
#[cfg(feature = "ja4plus")]
pub mod ja4ssh;
pub mod kexinit;
pub mod reader;

pub use hassh::Hassh;
pub use ident::{Ident, ProtoFamily, MAX_IDENT_LEN};
pub use kexinit::{KexInit, KexInitError};
pub use reader::{Role, SshItem, SshReader};
