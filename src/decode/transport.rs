//! TCP and UDP header views.

use super::{be16, be32, DecodeError, IpView, Layer, Transport};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

pub(crate) fn parse<'a>(ip: &IpView<'a>) -> Result<Transport<'a>, DecodeError> {
    let b = ip.payload;
    match ip.protocol {
        PROTO_TCP => {
            if b.len() < 20 {
                return Err(DecodeError::Truncated(Layer::Tcp));
            }
            let hlen = usize::from(b[12] >> 4) * 4;
            if hlen < 20 {
                return Err(DecodeError::Malformed(Layer::Tcp));
            }
            if b.len() < hlen {
                return Err(DecodeError::Truncated(Layer::Tcp));
            }
            Ok(Transport::Tcp(TcpView {
                header: &b[..hlen],
                payload: &b[hlen..],
            }))
        }
        PROTO_UDP => {
            if b.len() < 8 {
                return Err(DecodeError::Truncated(Layer::Udp));
            }
            let len = usize::from(be16(b, 4).unwrap_or(0));
            // A length below the header is corrupt; 0 happens with jumbograms.
            let end = if len == 0 {
                b.len()
            } else if len < 8 {
                return Err(DecodeError::Malformed(Layer::Udp));
            } else {
                len.min(b.len())
            };
            Ok(Transport::Udp(UdpView {
                header: &b[..8],
                payload: &b[8..end],
            }))
        }
        PROTO_ICMPV6 if ip.version == 6 && b.len() >= 2 => Ok(Transport::Icmpv6 {
            kind: b[0],
            code: b[1],
        }),
        protocol => Ok(Transport::Other { protocol }),
    }
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

/// A TCP header (with options) and the payload it carries.
#[derive(Debug, Clone, Copy)]
pub struct TcpView<'a> {
    pub header: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> TcpView<'a> {
    pub fn src_port(&self) -> u16 {
        be16(self.header, 0).unwrap_or(0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.header, 2).unwrap_or(0)
    }
    pub fn seq(&self) -> u32 {
        be32(self.header, 4).unwrap_or(0)
    }
    pub fn ack(&self) -> u32 {
        be32(self.header, 8).unwrap_or(0)
    }
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(be16(self.header, 12).unwrap_or(0) & 0x01ff)
    }
    /// The three reserved bits between data offset and NS.
    pub fn reserved(&self) -> u8 {
        (self.header[12] >> 1) & 0x07
    }
    pub fn window(&self) -> u16 {
        be16(self.header, 14).unwrap_or(0)
    }
    pub fn urgent_ptr(&self) -> u16 {
        be16(self.header, 18).unwrap_or(0)
    }
    pub fn options(&self) -> TcpOptions<'a> {
        TcpOptions {
            rest: &self.header[20..],
            ended: false,
        }
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

/// Iterates the options in wire order. After EOL the remaining bytes are
/// padding and iteration stops; a malformed option ends it too.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
    ended: bool,
}

impl<'a> TcpOptions<'a> {
    /// Bytes after an EOL option (p0f reports them as `eol+N`).
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        if self.ended {
            return None;
        }
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            0 => {
                self.rest = after;
                self.ended = true;
                Some(TcpOption::Eol)
            }
            1 => {
                self.rest = after;
                Some(TcpOption::Nop)
            }
            _ => {
                let len = match after.first() {
                    Some(&l) if usize::from(l) >= 2 && usize::from(l) <= self.rest.len() => {
                        usize::from(l)
                    }
                    _ => {
                        self.rest = &[];
                        return Some(TcpOption::Malformed { kind });
                    }
                };
                let data = &self.rest[2..len];
                self.rest = &self.rest[len..];
                Some(match (kind, data.len()) {
                    (2, 2) => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
                    (3, 1) => TcpOption::WindowScale(data[0]),
                    (4, 0) => TcpOption::SackPermitted,
                    (5, _) => TcpOption::Sack(data),
                    (8, 8) => TcpOption::Timestamps {
                        value: u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                        echo: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
                    },
                    _ => TcpOption::Other { kind, data },
                })
            }
        }
    }
}

/// A UDP header and its payload (bounded by the UDP length field).
#[derive(Debug, Clone, Copy)]
pub struct UdpView<'a> {
    pub header: &'a [u8],
    pub payload: &'a [u8],
}

impl UdpView<'_> {
    pub fn src_port(&self) -> u16 {
        be16(self.header, 0).unwrap_or(0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.header, 2).unwrap_or(0)
    }
}
