//! SSH_MSG_KEXINIT (RFC 4253 section 7.1): the algorithm lists each side
//! offers, sent in the clear before any key exists.
//!
//! ```text
//! byte         SSH_MSG_KEXINIT (20)
//! byte[16]     cookie
//! name-list    kex_algorithms
//! name-list    server_host_key_algorithms
//! name-list    encryption_algorithms_client_to_server
//! name-list    encryption_algorithms_server_to_client
//! name-list    mac_algorithms_client_to_server
//! name-list    mac_algorithms_server_to_client
//! name-list    compression_algorithms_client_to_server
//! name-list    compression_algorithms_server_to_client
//! name-list    languages_client_to_server
//! name-list    languages_server_to_client
//! boolean      first_kex_packet_follows
//! uint32       0 (reserved)
//! ```
//! A name-list is a uint32 length and that many bytes of comma-separated
//! names. Every length is checked against the bytes present.

use std::fmt;

use crate::util::wire::{ByteReader, Truncated};

/// SSH_MSG_KEXINIT.
pub const MSG_KEXINIT: u8 = 20;
/// SSH_MSG_NEWKEYS: after it, the sender's packets are encrypted.
pub const MSG_NEWKEYS: u8 = 21;

/// Why a KEXINIT payload could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KexInitError {
    /// The first byte is not SSH_MSG_KEXINIT.
    NotKexInit,
    /// A length points past the end of the payload.
    Truncated,
}

impl fmt::Display for KexInitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KexInitError::NotKexInit => "not an SSH_MSG_KEXINIT",
            KexInitError::Truncated => "SSH_MSG_KEXINIT truncated",
        })
    }
}

impl std::error::Error for KexInitError {}

/// A borrowed view of a KEXINIT payload. Name-lists are the raw bytes
/// (normally ASCII names separated by commas; anything is possible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KexInit<'a> {
    pub cookie: &'a [u8],
    pub kex: &'a [u8],
    pub host_key: &'a [u8],
    pub enc_c2s: &'a [u8],
    pub enc_s2c: &'a [u8],
    pub mac_c2s: &'a [u8],
    pub mac_s2c: &'a [u8],
    pub comp_c2s: &'a [u8],
    pub comp_s2c: &'a [u8],
    pub lang_c2s: &'a [u8],
    pub lang_s2c: &'a [u8],
    /// `None` when the payload ends right after the name-lists (seen from
    /// broken implementations; the lists are all a fingerprint needs).
    pub first_kex_packet_follows: Option<bool>,
}

impl From<Truncated> for KexInitError {
    fn from(_: Truncated) -> Self {
        KexInitError::Truncated
    }
}

impl<'a> KexInit<'a> {
    /// Parses the payload of a KEXINIT packet (message byte included,
    /// padding excluded).
    pub fn parse(payload: &'a [u8]) -> Result<KexInit<'a>, KexInitError> {
        let mut r = ByteReader::new(payload);
        if r.u8()? != MSG_KEXINIT {
            return Err(KexInitError::NotKexInit);
        }
        let cookie = r.take(16)?;
        let kex = r.vec32()?;
        let host_key = r.vec32()?;
        let enc_c2s = r.vec32()?;
        let enc_s2c = r.vec32()?;
        let mac_c2s = r.vec32()?;
        let mac_s2c = r.vec32()?;
        let comp_c2s = r.vec32()?;
        let comp_s2c = r.vec32()?;
        let lang_c2s = r.vec32()?;
        let lang_s2c = r.vec32()?;
        let first_kex_packet_follows = r.u8().ok().map(|b| b != 0);
        Ok(KexInit {
            cookie,
            kex,
            host_key,
            enc_c2s,
            enc_s2c,
            mac_c2s,
            mac_s2c,
            comp_c2s,
            comp_s2c,
            lang_c2s,
            lang_s2c,
            first_kex_packet_follows,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a KEXINIT payload from name-lists (test helper, also used by
    /// the reader and HASSH tests).
    pub(crate) fn build(lists: [&str; 10]) -> Vec<u8> {
        let mut p = vec![MSG_KEXINIT];
        p.extend_from_slice(&[0x11; 16]);
        for l in lists {
            p.extend_from_slice(&(l.len() as u32).to_be_bytes());
            p.extend_from_slice(l.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&[0, 0, 0, 0]);
        p
    }

    pub(crate) const OPENSSH_LIKE: [&str; 10] = [
        "curve25519-sha256,ext-info-c",
        "ssh-ed25519",
        "chacha20-poly1305@openssh.com,aes128-ctr",
        "aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com",
        "hmac-sha2-256",
        "none,zlib@openssh.com",
        "none",
        "",
        "",
    ];

    #[test]
    fn parses_every_list() {
        let p = build(OPENSSH_LIKE);
        let k = KexInit::parse(&p).unwrap();
        assert_eq!(k.cookie, &[0x11; 16]);
        assert_eq!(k.kex, b"curve25519-sha256,ext-info-c");
        assert_eq!(k.host_key, b"ssh-ed25519");
        assert_eq!(k.enc_c2s, b"chacha20-poly1305@openssh.com,aes128-ctr");
        assert_eq!(k.enc_s2c, b"aes256-gcm@openssh.com");
        assert_eq!(k.mac_c2s, b"umac-64-etm@openssh.com");
        assert_eq!(k.mac_s2c, b"hmac-sha2-256");
        assert_eq!(k.comp_c2s, b"none,zlib@openssh.com");
        assert_eq!(k.comp_s2c, b"none");
        assert_eq!(k.lang_c2s, b"");
        assert_eq!(k.first_kex_packet_follows, Some(false));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let p = build(OPENSSH_LIKE);
        // Cutting anywhere inside the ten lists fails; cutting after them
        // still yields the lists.
        let lists_end = p.len() - 5;
        for cut in 0..p.len() {
            let r = KexInit::parse(&p[..cut]);
            assert_eq!(r.is_ok(), cut >= lists_end, "cut at {cut}");
        }
        assert_eq!(
            KexInit::parse(&p[..lists_end])
                .unwrap()
                .first_kex_packet_follows,
            None
        );
    }

    #[test]
    fn lying_lengths() {
        let mut p = build(OPENSSH_LIKE);
        // kex list length says 4 GiB.
        p[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(KexInit::parse(&p), Err(KexInitError::Truncated));
        let mut p = build(OPENSSH_LIKE);
        let too_long = (p.len() - 20) as u32;
        p[17..21].copy_from_slice(&too_long.to_be_bytes());
        assert_eq!(KexInit::parse(&p), Err(KexInitError::Truncated));
    }

    #[test]
    fn wrong_message() {
        let mut p = build(OPENSSH_LIKE);
        p[0] = MSG_NEWKEYS;
        assert_eq!(KexInit::parse(&p), Err(KexInitError::NotKexInit));
        assert_eq!(KexInit::parse(&[]), Err(KexInitError::Truncated));
    }
}
