//! Link layers: Ethernet with 802.1Q/802.1ad tags, Linux cooked v1/v2,
//! BSD NULL/loopback and raw IP.

use super::{DecodeError, Inner, Layer};
use crate::capture::linktype;
use crate::util::wire::be16;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// Tags beyond this are refused (QinQ uses two).
const MAX_VLAN_TAGS: usize = 8;

/// What a link header announces and carries: the EtherType (or SLL
/// protocol) and the bytes after the header and any VLAN tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPayload<'a> {
    pub ethertype: u16,
    pub payload: &'a [u8],
}

/// The payload of a frame whose link layer names its protocol (Ethernet,
/// Linux cooked v1/v2), IP or not: ARP is read from here.
pub fn link_payload(lt: u32, data: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    match lt {
        linktype::ETHERNET => ethernet_layer(data).map(|(_, link)| link),
        linktype::LINUX_SLL | linktype::LINUX_SLL2 => cooked(lt, data),
        _ => Err(DecodeError::NotIp),
    }
}

/// Removes the capture's link header; returns what it carries and, for
/// Ethernet, nothing yet (the MAC is taken when the frame is parsed).
pub(crate) fn strip(lt: u32, data: &[u8]) -> Result<(Inner<'_>, Option<[u8; 6]>), DecodeError> {
    match lt {
        linktype::ETHERNET => Ok((Inner::Ethernet(data), None)),
        linktype::RAW | linktype::IPV4 | linktype::IPV6 | 12 | 14 => Ok((Inner::Ip(data), None)),
        linktype::NULL | linktype::LOOP => {
            // The 4-byte address family is in host order (NULL) or network
            // order (LOOP) and its values differ between systems; the IP
            // version nibble that follows is unambiguous.
            let ip = data.get(4..).ok_or(DecodeError::Truncated(Layer::Link))?;
            Ok((Inner::Ip(ip), None))
        }
        linktype::LINUX_SLL | linktype::LINUX_SLL2 => {
            Ok((Inner::Ip(only_ip(cooked(lt, data)?)?), None))
        }
        _ => Err(DecodeError::UnsupportedLinkType),
    }
}

/// Linux cooked capture v1 (protocol at 14, 16-byte header) or v2
/// (protocol first, 20-byte header).
fn cooked(lt: u32, data: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    let (proto_at, header_len) = if lt == linktype::LINUX_SLL {
        (14, 16)
    } else {
        (0, 20)
    };
    let ethertype = be16(data, proto_at).ok_or(DecodeError::Truncated(Layer::Link))?;
    let payload = data
        .get(header_len..)
        .ok_or(DecodeError::Truncated(Layer::Link))?;
    Ok(LinkPayload { ethertype, payload })
}

/// Parses an Ethernet frame: (source MAC, IP bytes after any VLAN tags).
#[inline]
pub(crate) fn ethernet(frame: &[u8]) -> Result<([u8; 6], &[u8]), DecodeError> {
    let (mac, link) = ethernet_layer(frame)?;
    Ok((mac, only_ip(link)?))
}

/// An Ethernet frame's source MAC and what it carries after VLAN tags.
/// Always inlined: it is on every Ethernet frame's path.
#[inline(always)]
fn ethernet_layer(frame: &[u8]) -> Result<([u8; 6], LinkPayload<'_>), DecodeError> {
    let Some((header, _)) = frame.split_first_chunk::<14>() else {
        return Err(DecodeError::Truncated(Layer::Link));
    };
    let mac = [
        header[6], header[7], header[8], header[9], header[10], header[11],
    ];
    let mut ethertype = u16::from_be_bytes([header[12], header[13]]);
    let mut at = 14;
    let mut tags = 0;
    while ETHERTYPE_VLAN.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(DecodeError::Malformed(Layer::Vlan));
        }
        ethertype = be16(frame, at + 2).ok_or(DecodeError::Truncated(Layer::Vlan))?;
        at += 4;
    }
    let payload = &frame[at..];
    Ok((mac, LinkPayload { ethertype, payload }))
}

#[inline]
fn only_ip(link: LinkPayload<'_>) -> Result<&[u8], DecodeError> {
    match link.ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(link.payload),
        _ => Err(DecodeError::NotIp),
    }
}
