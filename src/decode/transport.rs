//! TCP and UDP header views. A view's constructor checks the length once;
//! every field is then read from its named place in a fixed-size header
//! array, so no accessor can fail or quietly return 0.

use super::{u16_at, u32_at, DecodeError, IpView, Layer, Transport};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

pub(crate) fn parse<'a>(ip: &IpView<'a>) -> Result<Transport<'a>, DecodeError> {
    let b = ip.payload;
    match ip.protocol {
        PROTO_TCP => TcpView::new(b).map(Transport::Tcp),
        PROTO_UDP => UdpView::new(b).map(Transport::Udp),
        PROTO_ICMPV6 if ip.version == 6 && b.len() >= 2 => Ok(Transport::Icmpv6 {
            kind: b[0],
            code: b[1],
        }),
        protocol => Ok(Transport::Other { protocol }),
    }
}

/// Where each field of the fixed 20-byte TCP header starts (RFC 9293
/// section 3.1); 16-bit fields take two bytes, 32-bit ones four.
pub mod tcp_field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    /// Data offset (high nibble), reserved bits and NS (low nibble).
    pub const DATA_OFFSET: usize = 12;
    /// NS in the low bit of [`DATA_OFFSET`], then CWR ... FIN.
    pub const FLAGS: usize = 12;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
    /// Length of the fixed header; options follow.
    pub const FIXED_LEN: usize = 20;
}

/// Where each field of the 8-byte UDP header starts (RFC 768).
pub mod udp_field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const LEN: usize = 8;
}

/// TCP header flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const NS: u16 = 0x100;

    #[inline]
    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
}

/// A TCP segment: its fixed header, its options and the payload it carries.
#[derive(Debug, Clone, Copy)]
pub struct TcpView<'a> {
    fixed: &'a [u8; tcp_field::FIXED_LEN],
    options: &'a [u8],
    /// The bytes after the header (to the end of the IP payload).
    pub payload: &'a [u8],
}

impl<'a> TcpView<'a> {
    /// Checks that `segment` holds a whole TCP header (fixed part and the
    /// options its data offset announces).
    pub fn new(segment: &'a [u8]) -> Result<Self, DecodeError> {
        use tcp_field::{DATA_OFFSET, FIXED_LEN};
        let Some((fixed, _)) = segment.split_first_chunk::<FIXED_LEN>() else {
            return Err(DecodeError::Truncated(Layer::Tcp));
        };
        let header_len = usize::from(fixed[DATA_OFFSET] >> 4) * 4;
        if header_len < FIXED_LEN {
            return Err(DecodeError::Malformed(Layer::Tcp));
        }
        if segment.len() < header_len {
            return Err(DecodeError::Truncated(Layer::Tcp));
        }
        Ok(TcpView {
            fixed,
            options: &segment[FIXED_LEN..header_len],
            payload: &segment[header_len..],
        })
    }

    pub fn src_port(&self) -> u16 {
        u16_at(self.fixed, tcp_field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        u16_at(self.fixed, tcp_field::DST_PORT)
    }
    pub fn seq(&self) -> u32 {
        u32_at(self.fixed, tcp_field::SEQ)
    }
    /// The acknowledgment number field (whatever the ACK flag says).
    pub fn ack(&self) -> u32 {
        u32_at(self.fixed, tcp_field::ACK)
    }
    /// The first byte of the acknowledgment field on the wire (p0f tests
    /// its lowest bit).
    pub fn ack_first_byte(&self) -> u8 {
        self.fixed[tcp_field::ACK]
    }
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(u16_at(self.fixed, tcp_field::FLAGS) & 0x01ff)
    }
    /// The three reserved bits between data offset and NS.
    pub fn reserved(&self) -> u8 {
        (self.fixed[tcp_field::DATA_OFFSET] >> 1) & 0x07
    }
    pub fn window(&self) -> u16 {
        u16_at(self.fixed, tcp_field::WINDOW)
    }
    pub fn checksum(&self) -> u16 {
        u16_at(self.fixed, tcp_field::CHECKSUM)
    }
    pub fn urgent_ptr(&self) -> u16 {
        u16_at(self.fixed, tcp_field::URGENT)
    }
    /// Header length in bytes (data offset times four, options included).
    pub fn header_len(&self) -> usize {
        tcp_field::FIXED_LEN + self.options.len()
    }
    /// The option bytes as sent (0 to 40 bytes).
    pub fn option_bytes(&self) -> &'a [u8] {
        self.options
    }
    /// The options, each option sized by its length byte (RFC 9293).
    pub fn options(&self) -> TcpOptions<'a> {
        TcpOptions::new(self.options)
    }
    /// The options as p0f 3.09b reads them (see [`TcpOptions::as_p0f_reads`]).
    pub fn p0f_options(&self) -> TcpOptions<'a> {
        TcpOptions::as_p0f_reads(self.options)
    }
    /// True for SYN without ACK: a connection attempt.
    pub fn is_syn(&self) -> bool {
        let f = self.flags();
        f.has(TcpFlags::SYN) && !f.has(TcpFlags::ACK)
    }
    pub fn is_synack(&self) -> bool {
        let f = self.flags();
        f.has(TcpFlags::SYN) && f.has(TcpFlags::ACK)
    }
}

/// One TCP option as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    Eol,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    Sack(&'a [u8]),
    Timestamps {
        value: u32,
        echo: u32,
    },
    /// Any other kind, with its data (or a known kind with a wrong length).
    Other {
        kind: u8,
        data: &'a [u8],
    },
    /// The option list ends inside this option (its kind).
    Malformed {
        kind: u8,
    },
}

impl TcpOption<'_> {
    pub fn kind(&self) -> u8 {
        match *self {
            TcpOption::Eol => 0,
            TcpOption::Nop => 1,
            TcpOption::Mss(_) => 2,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 4,
            TcpOption::Sack(_) => 5,
            TcpOption::Timestamps { .. } => 8,
            TcpOption::Other { kind, .. } | TcpOption::Malformed { kind } => kind,
        }
    }
}

/// How an option's size is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sizing {
    /// By its length byte (RFC 9293; Wireshark and FoxIO's JA4T do this).
    LengthByte,
    /// As p0f 3.09b: MSS, window scale, SACK-permitted and timestamps take
    /// their fixed size whatever their length byte says; SACK must declare
    /// 10 to 34 bytes.
    P0f,
}

/// The one TCP option walker: iterates the options in wire order. After EOL
/// the remaining bytes are padding ([`TcpOptions::remaining`]) and
/// iteration stops; a malformed option ends it too.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
    ended: bool,
    sizing: Sizing,
    length_byte_agreed: bool,
}

impl<'a> TcpOptions<'a> {
    /// Walks `options`, sizing each option by its length byte.
    #[inline]
    pub fn new(options: &'a [u8]) -> Self {
        TcpOptions {
            rest: options,
            ended: false,
            sizing: Sizing::LengthByte,
            length_byte_agreed: true,
        }
    }

    /// Walks `options` as p0f 3.09b does, so that its signatures come out
    /// the same: a known option whose length byte is wrong still takes its
    /// fixed size (see [`TcpOptions::length_byte_agreed`]), and SACK with a
    /// length outside 10..=34 is malformed.
    #[inline]
    pub fn as_p0f_reads(options: &'a [u8]) -> Self {
        TcpOptions {
            sizing: Sizing::P0f,
            ..TcpOptions::new(options)
        }
    }

    /// Bytes not yet walked: after an EOL option its padding (p0f reports
    /// them as `eol+N`), after a malformed one nothing.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether the option just returned had the length byte its kind
    /// requires (always true when sized by the length byte).
    pub fn length_byte_agreed(&self) -> bool {
        self.length_byte_agreed
    }

    /// The fixed size p0f gives a known kind.
    #[inline]
    fn p0f_fixed_size(kind: u8) -> Option<usize> {
        match kind {
            2 => Some(4),
            3 => Some(3),
            4 => Some(2),
            8 => Some(10),
            _ => None,
        }
    }

    #[cold]
    fn malformed(&mut self, kind: u8) -> Option<TcpOption<'a>> {
        self.rest = &[];
        self.ended = true;
        Some(TcpOption::Malformed { kind })
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    // Inlined so that each caller's sizing is known where it walks.
    #[inline]
    fn next(&mut self) -> Option<TcpOption<'a>> {
        if self.ended {
            return None;
        }
        self.length_byte_agreed = true;
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            0 => {
                self.rest = after;
                self.ended = true;
                return Some(TcpOption::Eol);
            }
            1 => {
                self.rest = after;
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let length_byte = after.first().map(|&l| usize::from(l));
        let fixed = match self.sizing {
            Sizing::P0f => Self::p0f_fixed_size(kind),
            Sizing::LengthByte => None,
        };
        let len = match (fixed, length_byte) {
            (Some(size), _) => {
                self.length_byte_agreed = length_byte == Some(size);
                size
            }
            (None, Some(l)) => l,
            (None, None) => return self.malformed(kind),
        };
        let sack_ok = self.sizing == Sizing::LengthByte || (10..=34).contains(&len);
        if len < 2 || len > self.rest.len() || (kind == 5 && !sack_ok) {
            return self.malformed(kind);
        }
        let (option, rest) = self.rest.split_at(len);
        self.rest = rest;
        let data = &option[2..];
        let known_size = fixed.is_some();
        Some(match (kind, data) {
            (2, &[a, b]) => TcpOption::Mss(u16::from_be_bytes([a, b])),
            (3, &[shift]) => TcpOption::WindowScale(shift),
            (4, []) => TcpOption::SackPermitted,
            (5, _) => TcpOption::Sack(data),
            (8, &[v0, v1, v2, v3, e0, e1, e2, e3]) => TcpOption::Timestamps {
                value: u32::from_be_bytes([v0, v1, v2, v3]),
                echo: u32::from_be_bytes([e0, e1, e2, e3]),
            },
            _ => {
                debug_assert!(!known_size);
                TcpOption::Other { kind, data }
            }
        })
    }
}

/// A UDP header and its payload (bounded by the UDP length field).
#[derive(Debug, Clone, Copy)]
pub struct UdpView<'a> {
    fixed: &'a [u8; udp_field::LEN],
    /// The bytes the UDP length vouches for (all that was captured when
    /// the length is 0, as in jumbograms).
    pub payload: &'a [u8],
}

impl<'a> UdpView<'a> {
    /// Checks that `datagram` holds a UDP header with a possible length.
    pub fn new(datagram: &'a [u8]) -> Result<Self, DecodeError> {
        let Some((fixed, _)) = datagram.split_first_chunk::<{ udp_field::LEN }>() else {
            return Err(DecodeError::Truncated(Layer::Udp));
        };
        let len = usize::from(u16_at(fixed, udp_field::LENGTH));
        // A length below the header is corrupt; 0 happens with jumbograms.
        let end = if len == 0 {
            datagram.len()
        } else if len < udp_field::LEN {
            return Err(DecodeError::Malformed(Layer::Udp));
        } else {
            len.min(datagram.len())
        };
        Ok(UdpView {
            fixed,
            payload: &datagram[udp_field::LEN..end],
        })
    }

    pub fn src_port(&self) -> u16 {
        u16_at(self.fixed, udp_field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        u16_at(self.fixed, udp_field::DST_PORT)
    }
    /// The length field (header included; 0 for a jumbogram).
    pub fn length(&self) -> u16 {
        u16_at(self.fixed, udp_field::LENGTH)
    }
    pub fn checksum(&self) -> u16 {
        u16_at(self.fixed, udp_field::CHECKSUM)
    }
}
