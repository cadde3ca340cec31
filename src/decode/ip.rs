//! IPv4 (with options) and IPv6 (with extension headers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{be16, DecodeError, Layer};

/// Extension headers followed before giving up (RFC 8200 sets no limit).
const MAX_EXT_HEADERS: usize = 16;

/// Where this packet sits in a fragmented datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    None,
    /// One piece of a datagram, for [`crate::flow::defrag`]: its payload
    /// starts `offset` bytes into the datagram's fragmentable part.
    Piece(FragmentInfo),
}

/// The fragment header fields (IPv4 flags/offset/ID, IPv6 Fragment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
    /// Byte offset of this piece's payload in the datagram.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// IPv6: where the Fragment header starts (the unfragmentable part
    /// ends), where the Next Header byte pointing at it sits, and the Next
    /// Header the Fragment header names. Unused for IPv4.
    pub v6_frag_at: u16,
    pub v6_next_at: u16,
    pub v6_next: u8,
}

/// A view of an IPv4 or IPv6 header; `header` spans the fixed header plus
/// options or extension headers, `payload` the transport bytes that the
/// length fields vouch for (Ethernet padding excluded).
#[derive(Debug, Clone, Copy)]
pub struct IpView<'a> {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// Type of service or traffic class.
    pub tos: u8,
    /// Upper-layer protocol after extension headers.
    pub protocol: u8,
    /// IPv4 identification; 0 for IPv6.
    pub ident: u16,
    pub df: bool,
    /// Total length from the header (IPv4 total length, IPv6 40 + payload length).
    pub total_len: u32,
    pub fragment: Fragment,
    pub header: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> IpView<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Self, DecodeError> {
        match b.first().map(|v| v >> 4) {
            Some(4) => parse_v4(b),
            Some(6) => parse_v6(b),
            Some(_) => Err(DecodeError::NotIp),
            None => Err(DecodeError::Truncated(Layer::Ipv4)),
        }
    }

    /// IPv4 option bytes or IPv6 extension header bytes.
    pub fn options_len(&self) -> usize {
        self.header.len() - if self.version == 4 { 20 } else { 40 }
    }

    /// The IPv6 flow label (0 for IPv4).
    pub fn flow_label(&self) -> u32 {
        if self.version == 6 && self.header.len() >= 4 {
            u32::from_be_bytes([0, self.header[1] & 0x0f, self.header[2], self.header[3]])
        } else {
            0
        }
    }
}

fn parse_v4(b: &[u8]) -> Result<IpView<'_>, DecodeError> {
    if b.len() < 20 {
        return Err(DecodeError::Truncated(Layer::Ipv4));
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(DecodeError::Malformed(Layer::Ipv4));
    }
    if b.len() < ihl {
        return Err(DecodeError::Truncated(Layer::Ipv4));
    }
    let mut total = usize::from(be16(b, 2).unwrap_or(0));
    if total == 0 {
        // Captured on a sender with TCP segmentation offload: the NIC fills
        // the length in later. Trust the captured bytes, as Wireshark does.
        total = b.len();
    }
    if total < ihl {
        return Err(DecodeError::Malformed(Layer::Ipv4));
    }
    let flags_frag = be16(b, 6).unwrap_or(0);
    let more_fragments = flags_frag & 0x2000 != 0;
    let offset = u32::from(flags_frag & 0x1fff) * 8;
    let end = total.min(b.len());
    Ok(IpView {
        version: 4,
        src: IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15])),
        dst: IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19])),
        ttl: b[8],
        tos: b[1],
        protocol: b[9],
        ident: be16(b, 4).unwrap_or(0),
        df: flags_frag & 0x4000 != 0,
        total_len: total as u32,
        fragment: if more_fragments || offset != 0 {
            Fragment::Piece(FragmentInfo {
                id: u32::from(be16(b, 4).unwrap_or(0)),
                offset,
                more: more_fragments,
                v6_frag_at: 0,
                v6_next_at: 0,
                v6_next: 0,
            })
        } else {
            Fragment::None
        },
        header: &b[..ihl],
        payload: &b[ihl..end],
    })
}

fn parse_v6(b: &[u8]) -> Result<IpView<'_>, DecodeError> {
    if b.len() < 40 {
        return Err(DecodeError::Truncated(Layer::Ipv6));
    }
    let payload_len = usize::from(be16(b, 4).unwrap_or(0));
    let end = if payload_len == 0 {
        b.len()
    } else {
        (40 + payload_len).min(b.len())
    };
    let mut next = b[6];
    let mut next_at = 6;
    let mut at = 40;
    let fragment = Fragment::None;
    for _ in 0..MAX_EXT_HEADERS {
        match next {
            // Hop-by-hop, routing, destination options, mobility: (next, len8).
            0 | 43 | 60 | 135 | 139 | 140 => {
                let len = usize::from(*b.get(at + 1).ok_or(DecodeError::Truncated(Layer::Ipv6))?);
                next = b[at];
                next_at = at;
                at += (len + 1) * 8;
            }
            // Fragment header: fixed 8 bytes. An atomic fragment (offset 0,
            // no more) is a whole packet (RFC 6946); any other is a piece
            // whose fragmentable part follows this header.
            44 => {
                let off_flags = be16(b, at + 2).ok_or(DecodeError::Truncated(Layer::Ipv6))?;
                let id = super::be32(b, at + 4).ok_or(DecodeError::Truncated(Layer::Ipv6))?;
                let offset = u32::from(off_flags >> 3) * 8;
                let more = off_flags & 1 != 0;
                if offset != 0 || more {
                    if at + 8 > end {
                        return Err(DecodeError::Truncated(Layer::Ipv6));
                    }
                    return Ok(v6_view(
                        b,
                        b[at],
                        at + 8,
                        end,
                        Fragment::Piece(FragmentInfo {
                            id,
                            offset,
                            more,
                            v6_frag_at: at as u16,
                            v6_next_at: next_at as u16,
                            v6_next: b[at],
                        }),
                    ));
                }
                next = b[at];
                next_at = at;
                at += 8;
            }
            // Authentication header: length in 4-byte units minus 2.
            51 => {
                let len = usize::from(*b.get(at + 1).ok_or(DecodeError::Truncated(Layer::Ipv6))?);
                next = b[at];
                next_at = at;
                at += (len + 2) * 4;
            }
            _ => break,
        }
        if at > end {
            return Err(DecodeError::Truncated(Layer::Ipv6));
        }
    }
    if is_extension_header(next) {
        // More extension headers than we follow: refused, and counted.
        return Err(DecodeError::TooManyExtensionHeaders);
    }
    Ok(v6_view(b, next, at, end, fragment))
}

fn is_extension_header(next: u8) -> bool {
    matches!(next, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

/// The view of an IPv6 packet whose headers end at `at` with `next`.
fn v6_view(b: &[u8], next: u8, at: usize, end: usize, fragment: Fragment) -> IpView<'_> {
    let payload_len = usize::from(be16(b, 4).unwrap_or(0));
    let mut src = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&b[24..40]);
    IpView {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        ttl: b[7],
        tos: ((b[0] & 0x0f) << 4) | (b[1] >> 4),
        protocol: next,
        ident: 0,
        df: true,
        total_len: (40 + payload_len) as u32,
        fragment,
        header: &b[..at],
        payload: &b[at..end],
    }
}
