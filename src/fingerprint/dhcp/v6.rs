//! DHCPv6 messages (RFC 8415 sections 8, 9 and 21).
//!
//! Options are walked in the reference's tree order: an option, then the
//! options nested in it (IA_NA, IA_TA, IA_PD, IA Address, IA Prefix), and
//! a Relay Message option's whole message, whose type counts again.

use std::net::{IpAddr, Ipv6Addr};

use super::{dns_name_text, Family, Mac, Message, ParseError, Shape, MAX_ITEMS, MAX_TYPES};

const RELAY_FORW: u8 = 12;
const RELAY_REPL: u8 = 13;
/// msg-type, hop-count, link-address, peer-address.
const RELAY_HEADER: usize = 34;
/// msg-type, transaction-id.
const CLIENT_HEADER: usize = 4;
/// Relay Message options nested deeper are not walked (RFC 8415 allows
/// 8 relays by default, HOP_COUNT_LIMIT 8; Wireshark stops at 32).
const MAX_DEPTH: u8 = 12;

const OPT_CLIENTID: u16 = 1;
const OPT_SERVERID: u16 = 2;
const OPT_IA_NA: u16 = 3;
const OPT_IA_TA: u16 = 4;
const OPT_IAADDR: u16 = 5;
const OPT_ORO: u16 = 6;
const OPT_RELAY_MSG: u16 = 9;
const OPT_VENDOR_CLASS: u16 = 16;
const OPT_IA_PD: u16 = 25;
const OPT_IAPREFIX: u16 = 26;
const OPT_CLIENT_FQDN: u16 = 39;
const OPT_RELAY_ID: u16 = 53;

const DUID_LLT: u16 = 1;
const DUID_LL: u16 = 3;
const HWTYPE_ETHERNET: u16 = 1;

/// Parses a DHCPv6 message (the UDP payload).
pub fn parse(b: &[u8]) -> Result<Message, ParseError> {
    let &message_type = b.first().ok_or(ParseError::Short)?;
    if b.len() < CLIENT_HEADER {
        return Err(ParseError::Short);
    }
    let mut walk = Walk {
        msg: Message {
            shape: Shape::new(Family::V6),
            message_type,
            from_server: from_server(message_type),
            client_mac: None,
            requested_ip: None,
            offered_ip: None,
            client_ip: None,
            hostname: Vec::new(),
            vendor_class: Vec::new(),
            truncated: false,
        },
        client_id_seen: false,
        client_duid_seen: false,
    };
    walk.message(b, 0);
    Ok(walk.msg)
}

struct Walk {
    msg: Message,
    /// A Client Identifier option type was read: the next DUID is sized.
    client_id_seen: bool,
    client_duid_seen: bool,
}

impl Walk {
    fn message(&mut self, b: &[u8], depth: u8) {
        let Some(&t) = b.first() else {
            return;
        };
        if self.msg.shape.types.len() < MAX_TYPES {
            self.msg.shape.types.push(t);
        }
        let header = match t {
            RELAY_FORW | RELAY_REPL => RELAY_HEADER,
            _ => CLIENT_HEADER,
        };
        if let Some(options) = b.get(header..) {
            self.options(options, depth);
        }
    }

    fn options(&mut self, mut b: &[u8], depth: u8) {
        while !b.is_empty() {
            let Some(&[c0, c1, l0, l1]) = b.get(..4) else {
                self.msg.truncated = true;
                return;
            };
            let code = u16::from_be_bytes([c0, c1]);
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            let Some(value) = b.get(4..4 + len) else {
                self.msg.truncated = true;
                return;
            };
            b = &b[4 + len..];
            self.option(code, value, b.first().copied(), depth);
        }
    }

    /// `next`: the byte after the option, which the reference reads as the
    /// low half of an odd-length Option Request's last code.
    fn option(&mut self, code: u16, value: &[u8], next: Option<u8>, depth: u8) {
        let shape = &mut self.msg.shape;
        if shape.options.len() < MAX_ITEMS {
            shape.options.push(code);
        }
        let nested = |skip: usize| value.get(skip..).filter(|_| depth < MAX_DEPTH);
        match code {
            OPT_CLIENTID | OPT_SERVERID | OPT_RELAY_ID => {
                if code == OPT_CLIENTID {
                    self.client_id_seen = true;
                }
                if value.len() < 2 {
                    return;
                }
                if self.client_id_seen && shape.sizes.is_empty() {
                    shape.sizes.push(value.len() as u32);
                }
                if code == OPT_CLIENTID && !self.client_duid_seen {
                    self.client_duid_seen = true;
                    self.msg.client_mac = duid_mac(value);
                }
            }
            OPT_IA_NA | OPT_IA_PD => {
                if let Some(inner) = nested(12) {
                    self.options(inner, depth + 1);
                }
            }
            OPT_IA_TA => {
                if value.len() >= 4 {
                    shape.requests_ip = true;
                }
                if let Some(inner) = nested(4) {
                    self.options(inner, depth + 1);
                }
            }
            OPT_IAADDR => {
                // Address, preferred and valid lifetimes, then options.
                if let Some(inner) = nested(24) {
                    if self.msg.requested_ip.is_none() {
                        let addr: [u8; 16] = value[..16].try_into().unwrap_or_default();
                        self.msg.requested_ip = Some(IpAddr::V6(Ipv6Addr::from(addr)));
                    }
                    self.options(inner, depth + 1);
                }
            }
            OPT_IAPREFIX => {
                if let Some(inner) = nested(25) {
                    self.options(inner, depth + 1);
                }
            }
            OPT_ORO => {
                let room = MAX_ITEMS.saturating_sub(shape.request_list.len());
                let pairs = value.chunks(2).filter_map(|p| match *p {
                    [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
                    [hi] => next.map(|lo| u16::from_be_bytes([hi, lo])),
                    _ => None,
                });
                shape.request_list.extend(pairs.take(room));
            }
            OPT_RELAY_MSG if depth < MAX_DEPTH => self.message(value, depth + 1),
            OPT_CLIENT_FQDN => {
                // Flags, then the name (RFC 4704 section 4).
                if let Some(name) = value.get(1..).filter(|n| !n.is_empty()) {
                    shape.has_fqdn = true;
                    if self.msg.hostname.is_empty() {
                        self.msg.hostname = dns_name_text(name);
                    }
                }
            }
            OPT_VENDOR_CLASS if self.msg.vendor_class.is_empty() => {
                self.msg.vendor_class = vendor_class_text(value);
            }
            _ => {}
        }
    }
}

/// The Ethernet address in a DUID-LLT or DUID-LL (RFC 8415 11.2, 11.4).
fn duid_mac(duid: &[u8]) -> Option<Mac> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*duid.get(at)?, *duid.get(at + 1)?]));
    let addr = match (be16(0)?, be16(2)?) {
        (DUID_LLT, HWTYPE_ETHERNET) => duid.get(8..)?,
        (DUID_LL, HWTYPE_ETHERNET) => duid.get(4..)?,
        _ => return None,
    };
    addr.try_into().ok()
}

/// `enterprise-number:data[,data]` (RFC 8415 21.16): the opaque class
/// data items as sent.
fn vendor_class_text(value: &[u8]) -> Vec<u8> {
    let Some(enterprise) = value.get(..4) else {
        return value.to_vec();
    };
    let enterprise =
        u32::from_be_bytes([enterprise[0], enterprise[1], enterprise[2], enterprise[3]]);
    let mut out = enterprise.to_string().into_bytes();
    out.push(b':');
    let mut rest = &value[4..];
    let mut first = true;
    while let Some(&[h, l]) = rest.get(..2) {
        let len = usize::from(u16::from_be_bytes([h, l]));
        let Some(item) = rest.get(2..2 + len) else {
            break;
        };
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(item);
        rest = &rest[2 + len..];
    }
    out
}

/// Messages only servers and relays send (RFC 8415 section 7.3).
fn from_server(t: u8) -> bool {
    matches!(t, 2 | 7 | 10 | 13 | 15 | 16 | 17 | 19 | 21)
}

/// RFC 8415 7.3, RFC 5007, RFC 5460, RFC 6977, RFC 7341.
pub fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "solicit",
        2 => "advertise",
        3 => "request",
        4 => "confirm",
        5 => "renew",
        6 => "rebind",
        7 => "reply",
        8 => "release",
        9 => "decline",
        10 => "reconfigure",
        11 => "information-request",
        12 => "relay-forw",
        13 => "relay-repl",
        14 => "leasequery",
        15 => "leasequery-reply",
        16 => "leasequery-done",
        17 => "leasequery-data",
        18 => "reconfigure-request",
        19 => "reconfigure-reply",
        20 => "dhcpv4-query",
        21 => "dhcpv4-response",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(code: u16, value: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend((value.len() as u16).to_be_bytes());
        o.extend(value);
        o
    }

    const DUID_LLT_MAC: [u8; 14] = [
        0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 8, 0, 0x27, 0xfe, 0x8f, 0x95,
    ];

    #[test]
    fn solicit_like_the_corpus() {
        // dhcpv6.pcap frame 2: client id, ORO 23 24, elapsed time, IA_PD.
        let mut b = vec![1, 0x10, 0x08, 0x74];
        b.extend(opt(1, &DUID_LLT_MAC));
        b.extend(opt(6, &[0, 23, 0, 24]));
        b.extend(opt(8, &[0, 0]));
        b.extend(opt(
            25,
            &[0x27, 0xfe, 0x8f, 0x95, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18],
        ));
        let m = parse(&b).unwrap();
        assert_eq!(m.shape.types, [1]);
        assert_eq!(m.shape.sizes, [14]);
        assert_eq!(m.shape.options, [1, 6, 8, 25]);
        assert_eq!(m.shape.request_list, [23, 24]);
        assert_eq!(m.client_mac, Some([8, 0, 0x27, 0xfe, 0x8f, 0x95]));
        assert!(!m.from_server);
        assert_eq!(m.type_name(), "solicit");
    }

    #[test]
    fn nested_options_and_relayed_messages() {
        let mut iaaddr = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        iaaddr.extend([0; 8]);
        iaaddr.extend(opt(13, &[0, 0]));
        let mut iana = vec![0; 12];
        iana.extend(opt(5, &iaaddr));
        let mut inner = vec![3, 0, 0, 1];
        inner.extend(opt(2, &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6])); // server id first
        inner.extend(opt(1, &[0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        inner.extend(opt(3, &iana));
        inner.extend(opt(39, b"\x00\x04host\x00"));
        inner.extend(opt(16, b"\x00\x00\x01\x37\x00\x03abc\x00\x02de"));
        inner.extend(opt(4, &[0, 0, 0, 9]));
        let mut relay = vec![12, 0];
        relay.extend([0; 32]);
        relay.extend(opt(9, &inner));
        let m = parse(&relay).unwrap();
        assert_eq!(m.shape.types, [12, 3]);
        assert_eq!(m.shape.options, [9, 2, 1, 3, 5, 13, 39, 16, 4]);
        // The server DUID came before any Client Identifier: not sized.
        assert_eq!(m.shape.sizes, [10]);
        assert!(m.shape.requests_ip);
        assert!(m.shape.has_fqdn);
        assert_eq!(m.client_mac, Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        assert_eq!(m.requested_ip, Some("2001:db8::5".parse().unwrap()));
        assert_eq!(m.hostname, b"host");
        assert_eq!(m.vendor_class, b"311:abc,de");
        assert!(!m.truncated);
    }

    #[test]
    fn hostile_input() {
        assert_eq!(parse(&[]), Err(ParseError::Short));
        assert_eq!(parse(&[1, 2]), Err(ParseError::Short));
        // A length past the end.
        let mut b = vec![1, 0, 0, 1];
        b.extend([0, 1, 0xff, 0xff, 0]);
        assert!(parse(&b).unwrap().truncated);
        // Relay messages nested as deep as the datagram allows.
        let mut m = vec![1, 0, 0, 0];
        for _ in 0..200 {
            let mut r = vec![12, 0];
            r.extend([0; 32]);
            r.extend(opt(9, &m));
            m = r;
        }
        let parsed = parse(&m).unwrap();
        assert_eq!(parsed.shape.types.len(), MAX_TYPES);
        for n in 0..m.len().min(600) {
            let _ = parse(&m[..n]);
        }
    }
}
