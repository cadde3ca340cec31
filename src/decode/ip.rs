//! IPv4 (with options) and IPv6 (with extension headers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{u16_at, DecodeError, Layer};
use crate::util::wire::{be16, be32};

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

/// A view of an IPv4 or IPv6 header: its fields, read once when the view
/// is made, and `payload`, the transport bytes that the length fields vouch
/// for (Ethernet padding excluded).
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
    /// IPv4 reserved flag (the "evil bit"); false for IPv6.
    pub reserved_flag: bool,
    /// IPv6 flow label; 0 for IPv4.
    pub flow_label: u32,
    /// Total length from the header (IPv4 total length, IPv6 40 + payload length).
    pub total_len: u32,
    pub fragment: Fragment,
    /// The fixed header plus IPv4 options or IPv6 extension headers.
    header: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> IpView<'a> {
    #[inline]
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
        self.header.len()
            - if self.version == 4 {
                V4_FIXED_LEN
            } else {
                V6_FIXED_LEN
            }
    }

    /// Bytes from the version nibble to the transport header.
    pub fn header_len(&self) -> usize {
        self.header.len()
    }

    /// The header as sent, options or extension headers included: for
    /// checksumming and for rebuilding a reassembled datagram, not for
    /// reading fields (they are on the view).
    pub fn header_bytes(&self) -> &'a [u8] {
        self.header
    }
}

/// An [`IpView`] apart from its bytes, put back over a copy of them with
/// [`DetachedIp::attach`] (the sharded engine hands packets over decoded).
#[derive(Debug, Clone, Copy)]
pub(super) struct DetachedIp {
    /// The fields as read; its slices are empty and never read.
    fields: IpView<'static>,
    header_len: usize,
    payload_len: usize,
}

impl<'a> IpView<'a> {
    /// The fields, and the header and payload bytes to carry with them.
    pub(super) fn detach(&self) -> (DetachedIp, [&'a [u8]; 2]) {
        let f = self;
        let fields = IpView {
            version: f.version,
            src: f.src,
            dst: f.dst,
            ttl: f.ttl,
            tos: f.tos,
            protocol: f.protocol,
            ident: f.ident,
            df: f.df,
            reserved_flag: f.reserved_flag,
            flow_label: f.flow_label,
            total_len: f.total_len,
            fragment: f.fragment,
            header: &[],
            payload: &[],
        };
        let detached = DetachedIp {
            fields,
            header_len: self.header.len(),
            payload_len: self.payload.len(),
        };
        (detached, [self.header, self.payload])
    }
}

impl DetachedIp {
    /// The view again over `bytes`: its header then its payload, as
    /// [`IpView::detach`] gave them.
    pub(super) fn attach<'b>(&self, bytes: &'b [u8]) -> Result<IpView<'b>, DecodeError> {
        if bytes.len() != self.header_len + self.payload_len {
            return Err(DecodeError::Truncated(Layer::Ipv4));
        }
        let (header, payload) = bytes.split_at(self.header_len);
        Ok(IpView {
            header,
            payload,
            ..self.fields
        })
    }
}

const V4_FIXED_LEN: usize = 20;
const V6_FIXED_LEN: usize = 40;

/// Where each field of the fixed IPv4 header starts (RFC 791).
mod v4_field {
    pub const VERSION_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAGMENT: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// Where each field of the fixed IPv6 header starts (RFC 8200).
mod v6_field {
    /// Version, traffic class and flow label.
    pub const VERSION_CLASS_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

#[inline]
fn addr_at<const N: usize, const A: usize>(h: &[u8; N], at: usize) -> [u8; A] {
    let mut a = [0u8; A];
    a.copy_from_slice(&h[at..at + A]);
    a
}

// Inlined into the decoder: the view is then built in place, where a
// returned one was copied field by field (store-forwarding stalls).
#[inline]
fn parse_v4(b: &[u8]) -> Result<IpView<'_>, DecodeError> {
    use v4_field::*;
    let Some((fixed, _)) = b.split_first_chunk::<V4_FIXED_LEN>() else {
        return Err(DecodeError::Truncated(Layer::Ipv4));
    };
    let ihl = usize::from(fixed[VERSION_IHL] & 0x0f) * 4;
    if ihl < V4_FIXED_LEN {
        return Err(DecodeError::Malformed(Layer::Ipv4));
    }
    if b.len() < ihl {
        return Err(DecodeError::Truncated(Layer::Ipv4));
    }
    let mut total = usize::from(u16_at(fixed, TOTAL_LEN));
    if total == 0 {
        // Captured on a sender with TCP segmentation offload: the NIC fills
        // the length in later. Trust the captured bytes, as Wireshark does.
        total = b.len();
    }
    if total < ihl {
        return Err(DecodeError::Malformed(Layer::Ipv4));
    }
    let ident = u16_at(fixed, IDENT);
    let flags_frag = u16_at(fixed, FLAGS_FRAGMENT);
    let more_fragments = flags_frag & 0x2000 != 0;
    let offset = u32::from(flags_frag & 0x1fff) * 8;
    let end = total.min(b.len());
    Ok(IpView {
        version: 4,
        src: IpAddr::V4(Ipv4Addr::from(addr_at::<V4_FIXED_LEN, 4>(fixed, SRC))),
        dst: IpAddr::V4(Ipv4Addr::from(addr_at::<V4_FIXED_LEN, 4>(fixed, DST))),
        ttl: fixed[TTL],
        tos: fixed[TOS],
        protocol: fixed[PROTOCOL],
        ident,
        df: flags_frag & 0x4000 != 0,
        reserved_flag: flags_frag & 0x8000 != 0,
        flow_label: 0,
        total_len: total as u32,
        fragment: if more_fragments || offset != 0 {
            Fragment::Piece(FragmentInfo {
                id: u32::from(ident),
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
    let Some((fixed, _)) = b.split_first_chunk::<V6_FIXED_LEN>() else {
        return Err(DecodeError::Truncated(Layer::Ipv6));
    };
    let payload_len = usize::from(u16_at(fixed, v6_field::PAYLOAD_LEN));
    let end = if payload_len == 0 {
        b.len()
    } else {
        (40 + payload_len).min(b.len())
    };
    let mut next = fixed[v6_field::NEXT_HEADER];
    let mut next_at = v6_field::NEXT_HEADER;
    let mut at = V6_FIXED_LEN;
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
                let id = be32(b, at + 4).ok_or(DecodeError::Truncated(Layer::Ipv6))?;
                let offset = u32::from(off_flags >> 3) * 8;
                let more = off_flags & 1 != 0;
                if offset != 0 || more {
                    if at + 8 > end {
                        return Err(DecodeError::Truncated(Layer::Ipv6));
                    }
                    return Ok(v6_view(
                        fixed,
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
    Ok(v6_view(fixed, b, next, at, end, fragment))
}

fn is_extension_header(next: u8) -> bool {
    matches!(next, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

/// The view of an IPv6 packet whose headers end at `at` with `next`.
fn v6_view<'a>(
    fixed: &[u8; V6_FIXED_LEN],
    b: &'a [u8],
    next: u8,
    at: usize,
    end: usize,
    fragment: Fragment,
) -> IpView<'a> {
    use v6_field::*;
    let payload_len = u32::from(u16_at(fixed, PAYLOAD_LEN));
    let class_flow = u32::from_be_bytes(addr_at(fixed, VERSION_CLASS_FLOW));
    IpView {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(addr_at::<V6_FIXED_LEN, 16>(fixed, SRC))),
        dst: IpAddr::V6(Ipv6Addr::from(addr_at::<V6_FIXED_LEN, 16>(fixed, DST))),
        ttl: fixed[HOP_LIMIT],
        tos: (class_flow >> 20) as u8,
        protocol: next,
        ident: 0,
        df: true,
        reserved_flag: false,
        flow_label: class_flow & 0x000f_ffff,
        total_len: V6_FIXED_LEN as u32 + payload_len,
        fragment,
        header: &b[..at],
        payload: &b[at..end],
    }
}
