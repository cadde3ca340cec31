//! QUIC long headers (RFC 9000 section 17.2, RFC 9369 section 3) and the
//! packets coalesced into one UDP datagram (RFC 9000 section 12.2).
//!
//! Only the header fields up to the packet number are visible before header
//! protection is removed; the packet number and the low bits of the first
//! byte are left to [`super::protect`].

use super::varint::{ByteReader, ReadVarint};

/// The QUIC versions whose Initial packets we can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 9000 / RFC 9001.
    V1,
    /// RFC 9369.
    V2,
}

impl Version {
    pub const V1_WIRE: u32 = 0x0000_0001;
    pub const V2_WIRE: u32 = 0x6b33_43cf;

    pub fn from_wire(v: u32) -> Option<Version> {
        match v {
            Self::V1_WIRE => Some(Version::V1),
            Self::V2_WIRE => Some(Version::V2),
            _ => None,
        }
    }

    pub fn wire(self) -> u32 {
        match self {
            Version::V1 => Self::V1_WIRE,
            Version::V2 => Self::V2_WIRE,
        }
    }

    /// The `quic_version` field value.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "1",
            Version::V2 => "2",
        }
    }

    /// The long packet type from the two type bits of the first byte;
    /// version 2 permutes them (RFC 9369 section 3.2).
    pub fn packet_type(self, first: u8) -> LongType {
        let bits = (first >> 4) & 0x03;
        match (self, bits) {
            (Version::V1, 0) | (Version::V2, 1) => LongType::Initial,
            (Version::V1, 1) | (Version::V2, 2) => LongType::ZeroRtt,
            (Version::V1, 2) | (Version::V2, 3) => LongType::Handshake,
            _ => LongType::Retry,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// Connection IDs of QUIC v1 and v2 are at most 20 bytes (RFC 9000 section 17.2).
pub const MAX_CID_LEN: usize = 20;

/// Why a datagram's packets could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The header or the payload its Length announces is cut short.
    Truncated,
    /// A connection ID longer than 20 bytes.
    CidTooLong,
}

/// An Initial packet, header protection still on.
#[derive(Debug, Clone, Copy)]
pub struct InitialPacket<'a> {
    pub version: Version,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    pub token: &'a [u8],
    /// The whole packet: header, protected packet number, payload and tag.
    pub bytes: &'a [u8],
    /// Where the (protected) packet number starts within `bytes`.
    pub pn_offset: usize,
}

/// One packet of a datagram.
#[derive(Debug, Clone, Copy)]
pub enum LongHeaderPacket<'a> {
    Initial(InitialPacket<'a>),
    /// A 0-RTT or Handshake packet of a known version: skipped.
    OtherLong {
        version: Version,
        dcid: &'a [u8],
        scid: &'a [u8],
    },
}

impl<'a> LongHeaderPacket<'a> {
    pub fn version(&self) -> Version {
        match self {
            LongHeaderPacket::Initial(p) => p.version,
            LongHeaderPacket::OtherLong { version, .. } => *version,
        }
    }

    pub fn dcid(&self) -> &'a [u8] {
        match self {
            LongHeaderPacket::Initial(p) => p.dcid,
            LongHeaderPacket::OtherLong { dcid, .. } => dcid,
        }
    }

    pub fn scid(&self) -> &'a [u8] {
        match self {
            LongHeaderPacket::Initial(p) => p.scid,
            LongHeaderPacket::OtherLong { scid, .. } => scid,
        }
    }
}

/// How the walk over a datagram ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Every byte was accounted for.
    Clean,
    /// A short-header packet, or trailing bytes that are not a long header
    /// (padding after coalesced packets), end the datagram.
    ShortOrPadding,
    /// A long header whose layout we cannot follow: version negotiation,
    /// an unknown version, or a Retry (which has no Length field).
    Unparsed {
        version: u32,
    },
    /// A later packet with another destination connection ID, which
    /// receivers ignore (RFC 9000 section 12.2).
    OtherConnection,
    Error(HeaderError),
}

/// Iterator over the packets of one UDP datagram. It yields packets of the
/// versions we know until the datagram ends or a packet cannot be delimited;
/// [`Packets::tail`] then tells why it stopped.
pub struct Packets<'a> {
    rest: &'a [u8],
    first_dcid: Option<&'a [u8]>,
    tail: Option<Tail>,
}

impl<'a> Packets<'a> {
    pub fn new(datagram: &'a [u8]) -> Self {
        Packets {
            rest: datagram,
            first_dcid: None,
            tail: None,
        }
    }

    /// Why iteration stopped (`None` while packets remain).
    pub fn tail(&self) -> Option<Tail> {
        self.tail
    }

    fn stop(&mut self, tail: Tail) -> Option<LongHeaderPacket<'a>> {
        self.tail = Some(tail);
        self.rest = &[];
        None
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = LongHeaderPacket<'a>;

    fn next(&mut self) -> Option<LongHeaderPacket<'a>> {
        if self.tail.is_some() {
            return None;
        }
        let Some(&first) = self.rest.first() else {
            return self.stop(Tail::Clean);
        };
        if first & 0x80 == 0 {
            return self.stop(Tail::ShortOrPadding);
        }
        match parse_long(self.rest) {
            Ok((packet, len)) => {
                let dcid = packet.dcid();
                match self.first_dcid {
                    Some(d) if d != dcid => return self.stop(Tail::OtherConnection),
                    None => self.first_dcid = Some(dcid),
                    _ => {}
                }
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                Some(packet)
            }
            Err(LongError::Unparsed(version)) => self.stop(Tail::Unparsed { version }),
            Err(LongError::Header(e)) => self.stop(Tail::Error(e)),
        }
    }
}

enum LongError {
    Unparsed(u32),
    Header(HeaderError),
}

impl From<HeaderError> for LongError {
    fn from(e: HeaderError) -> Self {
        LongError::Header(e)
    }
}

/// Parses the long-header packet at the start of `buf`; returns it and its
/// length in bytes.
fn parse_long(buf: &[u8]) -> Result<(LongHeaderPacket<'_>, usize), LongError> {
    let mut r = ByteReader::new(buf);
    let first = r.u8().map_err(|_| HeaderError::Truncated)?;
    let wire_version = r.u32().map_err(|_| HeaderError::Truncated)?;
    let Some(version) = Version::from_wire(wire_version) else {
        return Err(LongError::Unparsed(wire_version));
    };
    let dcid = cid(&mut r)?;
    let scid = cid(&mut r)?;
    let ty = version.packet_type(first);
    let token = match ty {
        LongType::Initial => {
            let len = r.varint().map_err(|_| HeaderError::Truncated)?;
            r.take_u64(len).map_err(|_| HeaderError::Truncated)?
        }
        LongType::Retry => return Err(LongError::Unparsed(wire_version)),
        LongType::ZeroRtt | LongType::Handshake => &[],
    };
    let length = r.varint().map_err(|_| HeaderError::Truncated)?;
    let pn_offset = r.pos();
    r.take_u64(length).map_err(|_| HeaderError::Truncated)?;
    let end = r.pos();
    let bytes = buf.get(..end).ok_or(HeaderError::Truncated)?;
    let packet = match ty {
        LongType::Initial => LongHeaderPacket::Initial(InitialPacket {
            version,
            dcid,
            scid,
            token,
            bytes,
            pn_offset,
        }),
        _ => LongHeaderPacket::OtherLong {
            version,
            dcid,
            scid,
        },
    };
    Ok((packet, end))
}

fn cid<'a>(r: &mut ByteReader<'a>) -> Result<&'a [u8], HeaderError> {
    let len = r.u8().map_err(|_| HeaderError::Truncated)?;
    if usize::from(len) > MAX_CID_LEN {
        return Err(HeaderError::CidTooLong);
    }
    r.take(usize::from(len)).map_err(|_| HeaderError::Truncated)
}

/// Whether the datagram starts with a long header of a QUIC version we know
/// (cheap test, no allocation, before any cryptography).
pub fn starts_with_known_long_header(datagram: &[u8]) -> bool {
    let mut r = ByteReader::new(datagram);
    match (r.u8().ok(), r.u32().ok()) {
        (Some(first), Some(v)) => first & 0x80 != 0 && Version::from_wire(v).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(first: u8, version: u32, dcid: &[u8], token: &[u8], payload_len: usize) -> Vec<u8> {
        let mut p = vec![first];
        p.extend_from_slice(&version.to_be_bytes());
        p.push(dcid.len() as u8);
        p.extend_from_slice(dcid);
        p.push(0); // empty SCID
        if (first >> 4) & 3 == 0 && version == 1 || (first >> 4) & 3 == 1 && version != 1 {
            p.push(token.len() as u8);
            p.extend_from_slice(token);
        }
        p.push(0x40 | (payload_len >> 8) as u8);
        p.push(payload_len as u8);
        p.extend(std::iter::repeat_n(0xaa, payload_len));
        p
    }

    #[test]
    fn v1_initial_fields() {
        let pkt = long(0xc3, 1, &[1, 2, 3, 4, 5, 6, 7, 8], b"tok", 40);
        let mut it = Packets::new(&pkt);
        let Some(LongHeaderPacket::Initial(p)) = it.next() else {
            panic!("no initial")
        };
        assert_eq!(p.version, Version::V1);
        assert_eq!(p.dcid, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(p.scid.is_empty());
        assert_eq!(p.token, b"tok");
        assert_eq!(p.pn_offset, 1 + 4 + 1 + 8 + 1 + 1 + 3 + 2);
        assert_eq!(p.bytes.len(), pkt.len());
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::Clean));
    }

    #[test]
    fn v2_type_bits_are_permuted() {
        // 0xd0: long header, fixed bit, type bits 01 = Initial in v2.
        let pkt = long(0xd0, Version::V2_WIRE, &[9; 8], b"", 30);
        let Some(LongHeaderPacket::Initial(p)) = Packets::new(&pkt).next() else {
            panic!("no initial")
        };
        assert_eq!(p.version, Version::V2);
        // The same bits in v1 are 0-RTT.
        assert_eq!(Version::V1.packet_type(0xd0), LongType::ZeroRtt);
        assert_eq!(Version::V2.packet_type(0xc0), LongType::Retry);
    }

    #[test]
    fn coalesced_initial_handshake_then_short() {
        let mut dgram = long(0xc0, 1, &[7; 8], b"", 25);
        dgram.extend(long(0xe0, 1, &[7; 8], b"", 25)); // Handshake
        dgram.extend([0x40, 1, 2, 3]); // short header
        let mut it = Packets::new(&dgram);
        assert!(matches!(it.next(), Some(LongHeaderPacket::Initial(_))));
        assert!(matches!(
            it.next(),
            Some(LongHeaderPacket::OtherLong { .. })
        ));
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::ShortOrPadding));
    }

    #[test]
    fn later_packet_of_another_connection_is_ignored() {
        let mut dgram = long(0xc0, 1, &[7; 8], b"", 25);
        dgram.extend(long(0xc0, 1, &[8; 8], b"", 25));
        let mut it = Packets::new(&dgram);
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::OtherConnection));
    }

    #[test]
    fn hostile_headers_stop_cleanly() {
        // Length beyond the datagram.
        let mut pkt = long(0xc0, 1, &[7; 8], b"", 25);
        pkt.truncate(pkt.len() - 1);
        let mut it = Packets::new(&pkt);
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::Error(HeaderError::Truncated)));
        // DCID length 21.
        let mut pkt = vec![0xc0, 0, 0, 0, 1, 21];
        pkt.extend([0; 30]);
        let mut it = Packets::new(&pkt);
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::Error(HeaderError::CidTooLong)));
        // Token length announced as 2^62-1.
        let pkt = [
            0xc0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let mut it = Packets::new(&pkt);
        assert!(it.next().is_none());
        assert_eq!(it.tail(), Some(Tail::Error(HeaderError::Truncated)));
        // Unknown version, version negotiation.
        for v in [0u32, 0xff00_001d, 0x1a2a_3a4a] {
            let pkt = long(0xc0, v, &[1; 8], b"", 25);
            let mut it = Packets::new(&pkt);
            assert!(it.next().is_none());
            assert_eq!(it.tail(), Some(Tail::Unparsed { version: v }));
        }
        // Every prefix of a valid packet.
        let pkt = long(0xc0, 1, &[7; 8], b"abc", 25);
        for n in 0..pkt.len() {
            let mut it = Packets::new(&pkt[..n]);
            assert!(it.next().is_none(), "prefix {n}");
        }
    }

    #[test]
    fn known_long_header_probe() {
        assert!(starts_with_known_long_header(&[0xc0, 0, 0, 0, 1]));
        assert!(starts_with_known_long_header(&[
            0xd0, 0x6b, 0x33, 0x43, 0xcf
        ]));
        assert!(!starts_with_known_long_header(&[0x40, 0, 0, 0, 1]));
        assert!(!starts_with_known_long_header(&[0xc0, 0, 0, 0, 2]));
        assert!(!starts_with_known_long_header(&[0xc0, 0, 0]));
    }
}
