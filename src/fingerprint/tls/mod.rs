//! TLS and DTLS handshake parsing and the fingerprints built from it: JA3,
//! JA3S, JA4 (BSD-3) and, under the `ja4plus` feature, JA4S and JA4X
//! (FoxIO License 1.1).
//!
//! Everything here is pure: handshake bytes in, values out. The parsers are
//! zero-copy views over `&[u8]` (our own rather than tls-parser's, which
//! allocates a `Vec` per list and per extension and refuses a whole hello
//! when one extension's contents are malformed; fingerprints only need the
//! framing and a handful of extension bodies).

pub mod cert_prints;
pub mod certificate;
pub mod client_hello;
pub mod dtls;
pub mod grease;
pub mod hello_prints;
pub mod ja3;
pub mod ja4;
#[cfg(feature = "ja4plus")]
pub mod ja4l;
#[cfg(feature = "ja4plus")]
pub mod ja4s;
#[cfg(feature = "ja4plus")]
pub mod ja4x;
pub mod prelude;
pub mod record;
pub mod server_hello;
pub mod server_prints;
pub mod version;
mod wire;

pub use client_hello::{ClientHello, Resumption};
pub use record::{HandshakeReader, Next, ReaderError, ReaderStatus};
pub use server_hello::ServerHello;
pub use wire::{Extension, Extensions, U16List};

/// Why handshake bytes could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsError {
    /// A length points past the end of the data.
    Truncated,
    /// The structure is impossible (odd list length, oversized field ...).
    Malformed(&'static str),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Truncated => f.write_str("truncated"),
            TlsError::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Handshake message types used here (RFC 8446 4, RFC 5246 7.4).
pub mod handshake_type {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const HELLO_VERIFY_REQUEST: u8 = 3;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_HELLO_DONE: u8 = 14;
}

/// Extension types used here (IANA TLS ExtensionType Values).
pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const EC_POINT_FORMATS: u16 = 11;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const ALPN: u16 = 16;
    pub const SESSION_TICKET: u16 = 35;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(bytes, &mut out);
    ascii_string(out)
}

/// Appends the lower-case hex of `bytes`.
pub fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]]);
    }
}

/// The first 12 hex digits of SHA-256(`s`), or `000000000000` for an empty
/// string (JA4+: an empty list is shown as zeros, not as a hash).
pub fn hash12(s: &str) -> String {
    let mut out = Vec::with_capacity(12);
    push_hash12(s.as_bytes(), &mut out);
    ascii_string(out)
}

/// Appends [`hash12`] of `text`.
pub fn push_hash12(text: &[u8], out: &mut Vec<u8>) {
    use sha2::{Digest, Sha256};
    if text.is_empty() {
        out.extend_from_slice(b"000000000000");
    } else {
        push_hex(&Sha256::digest(text)[..6], out);
    }
}

/// Lower-case hex MD5 of `s` (JA3).
pub fn md5_hex(s: &str) -> String {
    let mut out = Vec::with_capacity(32);
    push_md5_hex(s.as_bytes(), &mut out);
    ascii_string(out)
}

/// Appends [`md5_hex`] of `text`.
pub fn push_md5_hex(text: &[u8], out: &mut Vec<u8>) {
    use md5::{Digest, Md5};
    push_hex(&Md5::digest(text), out);
}

/// SHA-256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// Text the fingerprint writers produced (ASCII by construction) as a
/// `String`, without a panic path.
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from tests/corpus/foxio/spec-vectors.tsv (the JA4
    /// specification's worked examples and FoxIO's unit tests).
    #[test]
    fn hash12_spec_vectors() {
        let cases = [
            (
                "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9",
                "8daaf6152771",
            ),
            (
                "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
                "e5627efa2ab1",
            ),
            (
                "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01",
                "6d807ffa2a79",
            ),
            ("0005,0017,ff01,0000", "4e8089b08790"),
            ("551d0f,551d25,551d11", "aae71e8db6d7"),
            ("", "000000000000"),
        ];
        for (input, want) in cases {
            assert_eq!(hash12(input), want, "{input}");
        }
    }

    #[test]
    fn hex_and_digests() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        // RFC 1321 and FIPS 180-2 test vectors.
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
