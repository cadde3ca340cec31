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
        linktype::LINUX_SLL => {
            let proto = be16(data, 14).ok_or(DecodeError::Truncated(Layer::Link))?;
            Ok((Inner::Ip(by_ethertype(proto, &data[16..])?), None))
        }
        linktype::LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or(DecodeError::Truncated(Layer::Link))?;
            let rest = data.get(20..).ok_or(DecodeError::Truncated(Layer::Link))?;
            Ok((Inner::Ip(by_ethertype(proto, rest)?), None))
        }
        _ => Err(DecodeError::UnsupportedLinkType),
    }
}

/// Parses an Ethernet frame: (source MAC, IP bytes after any VLAN tags).
pub(crate) fn ethernet(frame: &[u8]) -> Result<([u8; 6], &[u8]), DecodeError> {
    if frame.len() < 14 {
        return Err(DecodeError::Truncated(Layer::Link));
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&frame[6..12]);
    let mut ethertype = be16(frame, 12).ok_or(DecodeError::Truncated(Layer::Link))?;
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
    Ok((mac, by_ethertype(ethertype, &frame[at..])?))
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<&[u8], DecodeError> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(rest),
        _ => Err(DecodeError::NotIp),
    }
}
