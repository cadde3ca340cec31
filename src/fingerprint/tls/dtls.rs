//! DTLS framing (RFC 6347 4.1 and 4.2.2, RFC 9147 4 and 5.5): finding the
//! ClientHello in a UDP datagram, whole or as handshake fragments.
//!
//! A datagram may hold several records, and a record several handshake
//! fragments. DTLS 1.3 sends its ClientHello in a DTLSPlaintext record like
//! 1.2 (record version 0xfefd); its encrypted records have a unified header
//! and end the walk. A ClientHello larger than the path MTU comes as
//! fragments of one `message_seq`, each giving the message's total length
//! and its own offset and length; [`hello_fragments`] hands them out,
//! checked, for the engine's reassembly table.

use super::wire::ByteReader;
use super::{handshake_type, ClientHello, TlsError};

const RECORD_HEADER_LEN: usize = 13;
/// The record version of OpenSSL's DTLS before 0.9.8f (RFC 4347 draft era),
/// still spoken by some embedded devices; the framing is DTLS 1.0's.
pub const DTLS_OPENSSL_PRE_0_9_8F: u16 = 0x0100;
const CONTENT_HANDSHAKE: u8 = 22;
/// RFC 9147 4.1: a record whose first byte is `001CSLEE` is a DTLS 1.3
/// DTLSCiphertext with a unified header (encrypted, epoch >= 1), not a
/// DTLSPlaintext: its second and third bytes are a connection id or an
/// encrypted sequence number, never a version.
const UNIFIED_HEADER_MASK: u8 = 0b1110_0000;
const UNIFIED_HEADER_BITS: u8 = 0b0010_0000;
/// RFC 9146: a DTLS 1.2 record with a connection id, whose length sits
/// after a CID of a length only the peers know.
const CONTENT_TLS12_CID: u8 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsError {
    /// Not a DTLS handshake record carrying a ClientHello.
    NotClientHello,
    /// The first ClientHello of the datagram is a fragment: see
    /// [`hello_fragments`].
    Fragmented,
    /// A DTLS ClientHello whose body does not parse.
    Malformed(TlsError),
}

/// The ClientHello of the datagram when its first ClientHello fragment is
/// the whole message, parsed: the common case, which needs no state.
pub fn client_hello(datagram: &[u8]) -> Result<ClientHello<'_>, DtlsError> {
    let Some(first) = hello_fragments(datagram).next() else {
        return Err(DtlsError::NotClientHello);
    };
    if !first.is_whole() {
        return Err(DtlsError::Fragmented);
    }
    ClientHello::parse_dtls(first.bytes).map_err(DtlsError::Malformed)
}

/// One piece of a ClientHello handshake message, as one record carried it.
/// Always `offset + bytes.len() <= length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloFragment<'a> {
    pub message_seq: u16,
    /// Length of the whole ClientHello body (without handshake header).
    pub length: usize,
    /// Where `bytes` start in the body.
    pub offset: usize,
    pub bytes: &'a [u8],
}

impl HelloFragment<'_> {
    pub fn is_whole(&self) -> bool {
        self.offset == 0 && self.bytes.len() == self.length
    }
}

/// The ClientHello fragments of every epoch-0 handshake record of
/// `datagram`, in order. Other handshake messages are stepped over; empty
/// fragments of non-empty messages are left out. A record whose fragment
/// headers do not add up is abandoned at the first bad one; a record
/// header that does not fit ends the walk.
pub fn hello_fragments(datagram: &[u8]) -> HelloFragments<'_> {
    HelloFragments {
        records: ByteReader::new(datagram),
        record: ByteReader::new(&[]),
        malformed: false,
    }
}

pub struct HelloFragments<'a> {
    /// The records not yet opened.
    records: ByteReader<'a>,
    /// The rest of the handshake record being walked.
    record: ByteReader<'a>,
    malformed: bool,
}

impl<'a> HelloFragments<'a> {
    /// Whether the walk met bytes that do not frame as DTLS (so far).
    pub fn malformed(&self) -> bool {
        self.malformed
    }

    /// Opens the next epoch-0 handshake record; false at the end.
    fn next_record(&mut self) -> bool {
        while self.records.rest().len() >= RECORD_HEADER_LEN {
            // A unified header or a DTLS 1.2 CID record ends the walk:
            // without the connection id's length, which only the handshake
            // told the peers, the record cannot be framed, and what follows
            // it in the datagram is encrypted too (a ClientHello always
            // leads its flight).
            let first = self.records.rest().first().copied().unwrap_or_default();
            if first & UNIFIED_HEADER_MASK == UNIFIED_HEADER_BITS || first == CONTENT_TLS12_CID {
                break;
            }
            let Ok(header) = self.records.take(RECORD_HEADER_LEN) else {
                break;
            };
            let content_type = header[0];
            let version = u16::from_be_bytes([header[1], header[2]]);
            let epoch = u16::from_be_bytes([header[3], header[4]]);
            let len = usize::from(u16::from_be_bytes([header[11], header[12]]));
            // DTLS record versions are 0xfeff (1.0) and below; 1.3 keeps 0xfefd.
            if !(0xfe00..=0xfeff).contains(&version) && version != DTLS_OPENSSL_PRE_0_9_8F {
                self.malformed = true;
                break;
            }
            let Ok(body) = self.records.take(len) else {
                self.malformed = true;
                break;
            };
            if content_type == CONTENT_HANDSHAKE && epoch == 0 {
                self.record = ByteReader::new(body);
                return true;
            }
        }
        self.records = ByteReader::new(&[]);
        false
    }

    /// The next handshake fragment of the open record, checked.
    fn next_in_record(&mut self) -> Option<(u8, HelloFragment<'a>)> {
        let parsed = (|| {
            let msg_type = self.record.u8()?;
            let length = self.record.u24()? as usize;
            let message_seq = self.record.u16()?;
            let offset = self.record.u24()? as usize;
            let frag_len = self.record.u24()? as usize;
            // u24 values: these sums cannot overflow.
            if offset + frag_len > length {
                return Err(TlsError::Malformed("fragment beyond its message"));
            }
            let bytes = self.record.take(frag_len)?;
            Ok((
                msg_type,
                HelloFragment {
                    message_seq,
                    length,
                    offset,
                    bytes,
                },
            ))
        })();
        match parsed {
            Ok(f) => Some(f),
            Err(_) => {
                self.malformed = true;
                self.record = ByteReader::new(&[]);
                None
            }
        }
    }
}

impl<'a> Iterator for HelloFragments<'a> {
    type Item = HelloFragment<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            while self.record.is_empty() {
                if !self.next_record() {
                    return None;
                }
            }
            let Some((msg_type, frag)) = self.next_in_record() else {
                continue;
            };
            let empty_piece = frag.bytes.is_empty() && frag.length > 0;
            if msg_type == handshake_type::CLIENT_HELLO && !empty_piece {
                return Some(frag);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with two cipher suites and no extensions.
    fn hello_body() -> Vec<u8> {
        let mut body = 0xfefdu16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 0, 4, 0xc0, 0x2b, 0xc0, 0x2f, 1, 0, 0, 0]);
        body
    }

    /// A handshake fragment: header (type, length, seq, offset, fragment
    /// length) and `bytes`.
    fn fragment(msg_type: u8, length: u32, seq: u16, offset: u32, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![msg_type];
        f.extend_from_slice(&length.to_be_bytes()[1..]);
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&offset.to_be_bytes()[1..]);
        f.extend_from_slice(&(bytes.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(bytes);
        f
    }

    fn record(content_type: u8, version: u16, epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut d = vec![content_type];
        d.extend_from_slice(&version.to_be_bytes());
        d.extend_from_slice(&epoch.to_be_bytes());
        d.extend_from_slice(&[0; 6]);
        d.extend_from_slice(&(body.len() as u16).to_be_bytes());
        d.extend_from_slice(body);
        d
    }

    fn datagram(version: u16) -> Vec<u8> {
        let body = hello_body();
        record(22, version, 0, &fragment(1, body.len() as u32, 0, 0, &body))
    }

    fn pieces(d: &[u8]) -> Vec<(u16, usize, usize, Vec<u8>)> {
        hello_fragments(d)
            .map(|f| (f.message_seq, f.length, f.offset, f.bytes.to_vec()))
            .collect()
    }

    #[test]
    fn finds_unfragmented_hello() {
        let d = datagram(0xfeff);
        let ch = client_hello(&d).unwrap();
        assert_eq!(ch.legacy_version, 0xfefd);
        assert_eq!(ch.ciphers().collect::<Vec<_>>(), [0xc02b, 0xc02f]);
        assert_eq!(ch.cookie, Some(&[][..]));
    }

    #[test]
    fn refuses_fragments_tls_and_garbage() {
        let body = hello_body();
        let first = record(
            22,
            0xfefd,
            0,
            &fragment(1, body.len() as u32, 0, 0, &body[..10]),
        );
        assert_eq!(client_hello(&first).err(), Some(DtlsError::Fragmented));
        assert_eq!(
            client_hello(&datagram(0x0303)).err(),
            Some(DtlsError::NotClientHello)
        );
        let d = datagram(0xfefd);
        for cut in 0..d.len() {
            assert!(client_hello(&d[..cut]).is_err());
        }
        assert!(client_hello(b"\x16\xfe\xfd garbage that is long enough").is_err());
    }

    #[test]
    fn walks_every_fragment_of_every_record() {
        let body = hello_body();
        let len = body.len() as u32;
        // Record 1: two fragments; record 2 (a ChangeCipherSpec) skipped;
        // record 3 (epoch 1) skipped; record 4: the last fragment after a
        // HelloVerifyRequest-like message of another type.
        let mut r1 = fragment(1, len, 0, 0, &body[..10]);
        r1.extend(fragment(1, len, 0, 10, &body[10..20]));
        let mut r4 = fragment(3, 3, 0, 0, &[0xfe, 0xfd, 0]);
        r4.extend(fragment(1, len, 0, 20, &body[20..]));
        let mut d = record(22, 0xfefd, 0, &r1);
        d.extend(record(20, 0xfefd, 0, &[1]));
        d.extend(record(22, 0xfefd, 1, &fragment(1, len, 0, 0, &body)));
        d.extend(record(22, 0xfefd, 0, &r4));
        let got = pieces(&d);
        let len = body.len();
        assert_eq!(
            got,
            [
                (0, len, 0, body[..10].to_vec()),
                (0, len, 10, body[10..20].to_vec()),
                (0, len, 20, body[20..].to_vec()),
            ]
        );
        let mut walk = hello_fragments(&d);
        walk.by_ref().for_each(drop);
        assert!(!walk.malformed());
    }

    #[test]
    fn hostile_fragment_headers() {
        let body = hello_body();
        let len = body.len() as u32;
        // Fragment claiming to extend past its message: the record is
        // abandoned there, the next record is still read.
        let mut bad = fragment(1, 10, 0, 8, &body[..5]);
        bad.extend(fragment(1, len, 0, 0, &body[..4]));
        let mut d = record(22, 0xfefd, 0, &bad);
        d.extend(record(22, 0xfefd, 0, &fragment(1, len, 0, 4, &body[4..9])));
        assert_eq!(pieces(&d), [(0, body.len(), 4, body[4..9].to_vec())]);
        let mut walk = hello_fragments(&d);
        walk.by_ref().for_each(drop);
        assert!(walk.malformed());
        // Offset at u24 max with a non-zero length: no overflow, refused.
        let mut huge = fragment(1, 0xff_ffff, 0, 0xff_ffff, &[]);
        huge[9..12].copy_from_slice(&[0, 0, 2]);
        huge.extend([1, 2]);
        assert!(pieces(&record(22, 0xfefd, 0, &huge)).is_empty());
        // Fragment length beyond the record: truncated.
        let mut short = fragment(1, len, 0, 0, &body[..20]);
        short.truncate(30);
        assert!(pieces(&record(22, 0xfefd, 0, &short)).is_empty());
        // Every truncation of a header or of the record.
        let whole = record(22, 0xfefd, 0, &fragment(1, len, 3, 7, &body[7..30]));
        for cut in 0..whole.len() {
            assert!(pieces(&whole[..cut]).is_empty(), "cut {cut}");
        }
        assert_eq!(pieces(&whole), [(3, body.len(), 7, body[7..30].to_vec())]);
        // A record length larger than the datagram.
        let mut d = whole.clone();
        d[12] = d[12].wrapping_add(1);
        assert!(pieces(&d).is_empty());
    }

    /// A DTLS 1.3 unified header (RFC 9147 4) whose encrypted sequence
    /// number reads 0xfefd and whose ciphertext, read as a DTLSPlaintext
    /// header, would point at a ClientHello record: nothing is found. The
    /// same for a DTLS 1.2 record with a connection id (RFC 9146).
    #[test]
    fn unified_header_records_are_never_framed_as_plaintext() {
        let body = hello_body();
        let hello = record(22, 0xfefd, 0, &fragment(1, body.len() as u32, 0, 0, &body));
        let mut ciphertext = vec![0, 0, 0, 0, 0, 0, 0, 4, 0xaa, 0xbb, 0xcc, 0xdd];
        ciphertext.extend(&hello);
        for first in [0x2e, 0x2f, 0x3e, 0x20, 0x3f, CONTENT_TLS12_CID] {
            // 001CSLEE: sequence number 0xfefd, then the length (L set).
            let mut d = vec![first, 0xfe, 0xfd];
            d.extend((ciphertext.len() as u16).to_be_bytes());
            d.extend(&ciphertext);
            assert!(pieces(&d).is_empty(), "first byte {first:#x}");
            assert_eq!(client_hello(&d).err(), Some(DtlsError::NotClientHello));
            // The same bytes behind a DTLSPlaintext first byte (application
            // data) do frame: the test is not vacuous.
            d[0] = 23;
            assert_eq!(pieces(&d).len(), 1);
        }
        // A ClientHello before a unified-header record, and after an ACK
        // record (content type 26), is still found.
        let mut d = record(26, 0xfefd, 0, &[0, 0]);
        d.extend(&hello);
        d.extend([0x2f, 0x12, 0x34, 0, 3, 1, 2, 3]);
        assert_eq!(pieces(&d), [(0, body.len(), 0, body.clone())]);
        let mut walk = hello_fragments(&d);
        walk.by_ref().for_each(drop);
        assert!(!walk.malformed());
    }

    #[test]
    fn empty_fragments_are_left_out() {
        let body = hello_body();
        let len = body.len() as u32;
        let mut r = fragment(1, len, 0, 0, &[]);
        r.extend(fragment(1, len, 0, len, &[]));
        r.extend(fragment(1, len, 0, 5, &body[5..6]));
        let d = record(22, 0xfefd, 0, &r);
        assert_eq!(pieces(&d), [(0, body.len(), 5, vec![body[5]])]);
        // An empty message is whole (and does not parse).
        let empty = record(22, 0xfefd, 0, &fragment(1, 0, 0, 0, &[]));
        assert_eq!(pieces(&empty), [(0, 0, 0, vec![])]);
        assert!(matches!(client_hello(&empty), Err(DtlsError::Malformed(_))));
        // An empty record among others.
        let mut d2 = record(22, 0xfefd, 0, &[]);
        d2.extend(&d);
        assert_eq!(pieces(&d2).len(), 1);
    }
}
