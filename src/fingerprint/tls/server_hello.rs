//! A zero-copy view of a ServerHello body (also HelloRetryRequest, which
//! TLS 1.3 encodes as a ServerHello with a fixed random).

use super::client_hello::AlpnList;
use super::wire::{ByteReader, Extensions};
use super::{ext, TlsError};

/// SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest
/// (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

#[derive(Debug, Clone)]
pub struct ServerHello<'a> {
    pub legacy_version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher: u16,
    pub compression: u8,
    extensions: Extensions<'a>,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body (TLS and DTLS share the layout).
    pub fn parse(body: &'a [u8]) -> Result<Self, TlsError> {
        let mut r = ByteReader::new(body);
        let legacy_version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec8()?;
        if session_id.len() > 32 {
            return Err(TlsError::Malformed("session id longer than 32 bytes"));
        }
        let cipher = r.u16()?;
        let compression = r.u8()?;
        let extensions = if r.is_empty() {
            Extensions::empty()
        } else {
            Extensions::validate(r.vec16()?)?
        };
        Ok(ServerHello {
            legacy_version,
            random,
            session_id,
            cipher,
            compression,
            extensions,
        })
    }

    pub fn extensions(&self) -> Extensions<'a> {
        self.extensions.clone()
    }

    /// The version chosen in supported_versions (TLS 1.3), if any.
    pub fn selected_version(&self) -> Option<u16> {
        let d = self.extensions.find(ext::SUPPORTED_VERSIONS)?;
        ByteReader::new(d).u16().ok()
    }

    /// The negotiated version: supported_versions, else the legacy field.
    pub fn version(&self) -> u16 {
        self.selected_version().unwrap_or(self.legacy_version)
    }

    /// The protocol the server selected with ALPN.
    pub fn alpn_selected(&self) -> Option<&'a [u8]> {
        AlpnList::from_extension(self.extensions.find(ext::ALPN)).next()
    }

    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn build(
        version: u16,
        random: [u8; 32],
        cipher: u16,
        exts: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&cipher.to_be_bytes());
        b.push(0);
        let mut block = Vec::new();
        for (ty, data) in exts {
            block.extend_from_slice(&ty.to_be_bytes());
            block.extend_from_slice(&(data.len() as u16).to_be_bytes());
            block.extend_from_slice(data);
        }
        b.extend_from_slice(&(block.len() as u16).to_be_bytes());
        b.extend_from_slice(&block);
        b
    }

    #[test]
    fn tls13_server_hello() {
        let body = build(
            0x0303,
            [5; 32],
            0x1301,
            &[(43, vec![3, 4]), (51, vec![0, 29, 0, 0])],
        );
        let sh = ServerHello::parse(&body).unwrap();
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.cipher, 0x1301);
        assert!(!sh.is_hello_retry_request());
        assert_eq!(sh.alpn_selected(), None);
    }

    #[test]
    fn hello_retry_request_and_alpn() {
        let alpn = vec![0, 3, 2, b'h', b'2'];
        let body = build(0x0303, HRR_RANDOM, 0x1302, &[(16, alpn)]);
        let sh = ServerHello::parse(&body).unwrap();
        assert!(sh.is_hello_retry_request());
        assert_eq!(sh.version(), 0x0303);
        assert_eq!(sh.alpn_selected(), Some(&b"h2"[..]));
    }

    #[test]
    fn truncation_is_an_error() {
        let body = build(0x0303, [5; 32], 0x1301, &[(43, vec![3, 4])]);
        for cut in 0..38 {
            assert!(ServerHello::parse(&body[..cut]).is_err(), "cut {cut}");
        }
        assert!(ServerHello::parse(&body[..body.len() - 1]).is_err());
    }
}
