//! DTLS framing (RFC 6347 4.1 and 4.2.2, RFC 9147 4): finding an
//! unfragmented ClientHello in a UDP datagram.

use super::wire::Reader;
use super::{handshake_type, ClientHello, TlsError};

const RECORD_HEADER_LEN: usize = 13;
const HANDSHAKE_HEADER_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsError {
    /// Not a DTLS handshake record carrying a ClientHello.
    NotClientHello,
    /// A ClientHello spread over several fragments (not reassembled).
    Fragmented,
    /// A DTLS ClientHello whose body does not parse.
    Malformed(TlsError),
}

/// The ClientHello body of the first DTLS handshake record of epoch 0 in
/// `datagram` that carries one, parsed.
pub fn client_hello(datagram: &[u8]) -> Result<ClientHello<'_>, DtlsError> {
    let mut r = Reader::new(datagram);
    while r.rest().len() >= RECORD_HEADER_LEN {
        let header = r
            .take(RECORD_HEADER_LEN)
            .map_err(|_| DtlsError::NotClientHello)?;
        let content_type = header[0];
        let version = u16::from_be_bytes([header[1], header[2]]);
        let epoch = u16::from_be_bytes([header[3], header[4]]);
        let len = usize::from(u16::from_be_bytes([header[11], header[12]]));
        // DTLS record versions are 0xfeff (1.0) and below; 1.3 keeps 0xfefd.
        if !(0xfe00..=0xfeff).contains(&version) {
            return Err(DtlsError::NotClientHello);
        }
        let fragment = r.take(len).map_err(|_| DtlsError::NotClientHello)?;
        if content_type != 22 || epoch != 0 {
            continue;
        }
        return hello_from_fragment(fragment);
    }
    Err(DtlsError::NotClientHello)
}

fn hello_from_fragment(fragment: &[u8]) -> Result<ClientHello<'_>, DtlsError> {
    let mut r = Reader::new(fragment);
    let header = r
        .take(HANDSHAKE_HEADER_LEN)
        .map_err(|_| DtlsError::NotClientHello)?;
    if header[0] != handshake_type::CLIENT_HELLO {
        return Err(DtlsError::NotClientHello);
    }
    let u24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
    let length = u24(&header[1..4]);
    let frag_offset = u24(&header[6..9]);
    let frag_len = u24(&header[9..12]);
    if frag_offset != 0 || frag_len != length {
        return Err(DtlsError::Fragmented);
    }
    let body = r.take(length).map_err(|_| DtlsError::NotClientHello)?;
    ClientHello::parse_dtls(body).map_err(DtlsError::Malformed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn datagram(version: u16, frag: Option<(u32, u32)>) -> Vec<u8> {
        let mut body = 0xfefdu16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 0, 4, 0xc0, 0x2b, 0xc0, 0x2f, 1, 0, 0, 0]);
        let (off, flen) = frag.unwrap_or((0, body.len() as u32));
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&[0, 0]);
        hs.extend_from_slice(&off.to_be_bytes()[1..]);
        hs.extend_from_slice(&flen.to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut d = vec![22];
        d.extend_from_slice(&version.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        d.extend_from_slice(&hs);
        d
    }

    #[test]
    fn finds_unfragmented_hello() {
        let d = datagram(0xfeff, None);
        let ch = client_hello(&d).unwrap();
        assert_eq!(ch.legacy_version, 0xfefd);
        assert_eq!(ch.ciphers().collect::<Vec<_>>(), [0xc02b, 0xc02f]);
        assert_eq!(ch.cookie, Some(&[][..]));
    }

    #[test]
    fn refuses_fragments_tls_and_garbage() {
        assert_eq!(
            client_hello(&datagram(0xfefd, Some((0, 10)))).err(),
            Some(DtlsError::Fragmented)
        );
        assert_eq!(
            client_hello(&datagram(0x0303, None)).err(),
            Some(DtlsError::NotClientHello)
        );
        let d = datagram(0xfefd, None);
        for cut in 0..d.len() {
            assert!(client_hello(&d[..cut]).is_err());
        }
        assert!(client_hello(b"\x16\xfe\xfd garbage that is long enough").is_err());
    }
}
