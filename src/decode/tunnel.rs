//! Tunnels whose inner packet is what the attacker sent: GRE (with ERSPAN
//! types I-III), VXLAN, Geneve and IP-in-IP.

use super::{DecodeError, Inner, IpView, Layer};
use crate::util::wire::be16;

const PROTO_IPIP: u8 = 4;
const PROTO_IPV6: u8 = 41;
const PROTO_GRE: u8 = 47;
const PROTO_UDP: u8 = 17;
const VXLAN_PORTS: [u16; 2] = [4789, 8472];
const GENEVE_PORT: u16 = 6081;

/// The packet's inner payload when `ip` is a tunnel, else `None`.
pub(crate) fn decapsulate<'a>(ip: &IpView<'a>) -> Result<Option<Inner<'a>>, DecodeError> {
    match ip.protocol {
        PROTO_IPIP | PROTO_IPV6 => Ok(Some(Inner::Ip(ip.payload))),
        PROTO_GRE => gre(ip.payload).map(Some),
        PROTO_UDP => udp_tunnel(ip.payload),
        _ => Ok(None),
    }
}

fn gre(b: &[u8]) -> Result<Inner<'_>, DecodeError> {
    let flags = be16(b, 0).ok_or(DecodeError::Truncated(Layer::Tunnel))?;
    let proto = be16(b, 2).ok_or(DecodeError::Truncated(Layer::Tunnel))?;
    if flags & 0x0007 != 0 {
        // Version 1 is PPTP's enhanced GRE: not a tunnel we decode.
        return Err(DecodeError::NotIp);
    }
    let has_seq = flags & 0x1000 != 0;
    let mut at = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            at += 4; // checksum+reserved, key, sequence number
        }
    }
    let rest = b.get(at..).ok_or(DecodeError::Truncated(Layer::Tunnel))?;
    match proto {
        0x0800 | 0x86dd => Ok(Inner::Ip(rest)),
        0x6558 => Ok(Inner::Ethernet(rest)),
        // ERSPAN type II has an 8-byte header (and GRE carries a sequence
        // number); type I has neither.
        0x88be => {
            let skip = if has_seq { 8 } else { 0 };
            Ok(Inner::Ethernet(
                rest.get(skip..)
                    .ok_or(DecodeError::Truncated(Layer::Tunnel))?,
            ))
        }
        // ERSPAN type III: 12-byte header, plus an 8-byte platform sub-header when O is set.
        0x22eb => {
            let o_bit = rest.get(11).ok_or(DecodeError::Truncated(Layer::Tunnel))? & 0x01 != 0;
            let skip = if o_bit { 20 } else { 12 };
            Ok(Inner::Ethernet(
                rest.get(skip..)
                    .ok_or(DecodeError::Truncated(Layer::Tunnel))?,
            ))
        }
        _ => Err(DecodeError::NotIp),
    }
}

fn udp_tunnel(b: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let (Some(sport), Some(dport)) = (be16(b, 0), be16(b, 2)) else {
        return Ok(None);
    };
    let body = match b.get(8..) {
        Some(body) => body,
        None => return Ok(None),
    };
    // VXLAN is told by either port: some encapsulators send from 4789.
    if VXLAN_PORTS.contains(&dport) || VXLAN_PORTS.contains(&sport) {
        // Flags byte must have the I bit; 8-byte header, then Ethernet.
        if body.len() < 8 || body[0] & 0x08 == 0 {
            return Ok(None);
        }
        return Ok(Some(Inner::Ethernet(&body[8..])));
    }
    if dport == GENEVE_PORT {
        if body.len() < 8 || body[0] >> 6 != 0 {
            return Ok(None);
        }
        let opt_len = usize::from(body[0] & 0x3f) * 4;
        let proto = u16::from_be_bytes([body[2], body[3]]);
        let inner = body
            .get(8 + opt_len..)
            .ok_or(DecodeError::Truncated(Layer::Tunnel))?;
        return match proto {
            0x6558 => Ok(Some(Inner::Ethernet(inner))),
            0x0800 | 0x86dd => Ok(Some(Inner::Ip(inner))),
            _ => Err(DecodeError::NotIp),
        };
    }
    Ok(None)
}
