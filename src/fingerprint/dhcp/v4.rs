//! DHCPv4 messages (RFC 2131 section 2, options RFC 2132).

use std::net::{IpAddr, Ipv4Addr};

use super::{dns_name_text, Family, Message, ParseError, Shape, MAX_ITEMS, MAX_TYPES};

/// op, htype, hlen, hops, xid, secs, flags, 4 addresses, chaddr, sname, file.
const FIXED_LEN: usize = 236;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
const BOOTREPLY: u8 = 2;
const HTYPE_ETHERNET: u8 = 1;

const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_PARAMETER_LIST: u8 = 55;
const OPT_MAX_SIZE: u8 = 57;
const OPT_VENDOR_CLASS: u8 = 60;
const OPT_CLIENT_FQDN: u8 = 81;
const OPT_END: u8 = 255;

/// Parses a DHCPv4 message (the UDP payload). BOOTP without a message
/// type option is not DHCP: the reference fingerprints only DHCP.
pub fn parse(b: &[u8]) -> Result<Message, ParseError> {
    if b.len() < FIXED_LEN {
        return Err(ParseError::Short);
    }
    if b.get(FIXED_LEN..FIXED_LEN + 4) != Some(&MAGIC[..]) {
        return Err(ParseError::NoCookie);
    }
    let addr = |at: usize| -> Option<IpAddr> {
        let a = Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        (!a.is_unspecified()).then_some(IpAddr::V4(a))
    };
    let client_mac =
        (b[1] == HTYPE_ETHERNET && b[2] == 6).then(|| [b[28], b[29], b[30], b[31], b[32], b[33]]);
    let mut msg = Message {
        shape: Shape::new(Family::V4),
        message_type: 0,
        from_server: b[0] == BOOTREPLY,
        client_mac,
        requested_ip: None,
        offered_ip: addr(16),
        client_ip: addr(12),
        hostname: Vec::new(),
        vendor_class: Vec::new(),
        truncated: false,
    };
    let mut fqdn_name = Vec::new();
    let mut at = FIXED_LEN + 4;
    while let Some(&code) = b.get(at) {
        match code {
            OPT_PAD => {
                at += 1;
                continue;
            }
            OPT_END => break,
            _ => {}
        }
        let Some(&len) = b.get(at + 1) else {
            msg.truncated = true;
            break;
        };
        let shape = &mut msg.shape;
        // The reference lists an option whose value runs past the end of
        // the datagram, and reads nothing of that value.
        if !matches!(code, OPT_REQUESTED_IP | OPT_MESSAGE_TYPE | OPT_CLIENT_FQDN)
            && shape.options.len() < MAX_ITEMS
        {
            shape.options.push(u16::from(code));
        }
        let Some(value) = b.get(at + 2..at + 2 + usize::from(len)) else {
            msg.truncated = true;
            break;
        };
        at += 2 + value.len();
        match code {
            OPT_MESSAGE_TYPE => {
                if let Some(&t) = value.first() {
                    if shape.types.len() < MAX_TYPES {
                        shape.types.push(t);
                    }
                }
            }
            OPT_MAX_SIZE => {
                if let [hi, lo] = *value {
                    if shape.sizes.len() < MAX_TYPES {
                        shape.sizes.push(u32::from(u16::from_be_bytes([hi, lo])));
                    }
                }
            }
            OPT_REQUESTED_IP => {
                if let [a, b, c, d] = *value {
                    shape.requests_ip = true;
                    msg.requested_ip = Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
                }
            }
            OPT_CLIENT_FQDN => {
                // Flags, two result codes, then the name (RFC 4702 2).
                if let Some(name) = value.get(3..).filter(|n| !n.is_empty()) {
                    shape.has_fqdn = true;
                    if fqdn_name.is_empty() {
                        fqdn_name = if value[0] & 0x04 != 0 {
                            dns_name_text(name)
                        } else {
                            name.to_vec()
                        };
                    }
                }
            }
            OPT_PARAMETER_LIST => {
                let room = MAX_ITEMS.saturating_sub(shape.request_list.len());
                shape
                    .request_list
                    .extend(value.iter().take(room).map(|&c| u16::from(c)));
            }
            OPT_HOSTNAME if msg.hostname.is_empty() => msg.hostname = value.to_vec(),
            OPT_VENDOR_CLASS if msg.vendor_class.is_empty() => {
                msg.vendor_class = value.to_vec();
            }
            _ => {}
        }
    }
    msg.message_type = *msg.shape.types.first().ok_or(ParseError::NoMessageType)?;
    if msg.hostname.is_empty() {
        msg.hostname = fqdn_name;
    }
    Ok(msg)
}

/// RFC 2132 9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724.
pub fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        9 => "forcerenew",
        10 => "leasequery",
        11 => "leaseunassigned",
        12 => "leaseunknown",
        13 => "leaseactive",
        14 => "bulkleasequery",
        15 => "leasequerydone",
        16 => "activeleasequery",
        17 => "leasequerystatus",
        18 => "tls",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A DHCP message from `op`, `chaddr` and raw options (END appended).
    pub fn message(op: u8, chaddr: [u8; 6], options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; FIXED_LEN];
        b[0] = op;
        b[1] = HTYPE_ETHERNET;
        b[2] = 6;
        b[28..34].copy_from_slice(&chaddr);
        b.extend(MAGIC);
        b.extend(options);
        b.push(OPT_END);
        b
    }

    const MAC: [u8; 6] = [0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42];

    #[test]
    fn discover_fields() {
        let opts = [
            53, 1, 1, // discover
            0, // pad
            61, 7, 1, 0, 0x0b, 0x82, 0x01, 0xfc, 0x42, // client id
            50, 4, 192, 168, 0, 10, // requested ip
            57, 2, 0x05, 0xdc, // max size 1500
            12, 4, b'h', b'o', b's', b't', // host name
            60, 3, b'v', b'c', b'i', // vendor class
            55, 4, 1, 3, 6, 42, // parameter request list
            81, 3, 0, 0, 0, // FQDN without a name
        ];
        let m = parse(&message(1, MAC, &opts)).unwrap();
        assert_eq!(m.message_type, 1);
        assert!(!m.from_server);
        assert_eq!(m.client_mac, Some(MAC));
        assert_eq!(m.requested_ip, Some("192.168.0.10".parse().unwrap()));
        assert_eq!(m.hostname, b"host");
        assert_eq!(m.vendor_class, b"vci");
        assert_eq!(m.shape.types, [1]);
        assert_eq!(m.shape.sizes, [1500]);
        assert!(m.shape.requests_ip);
        assert!(!m.shape.has_fqdn);
        assert_eq!(m.shape.options, [61, 57, 12, 60, 55]);
        assert_eq!(m.shape.request_list, [1, 3, 6, 42]);
        assert_eq!(m.type_name(), "discover");
        assert!(!m.truncated);
    }

    #[test]
    fn fqdn_name_stands_for_a_missing_host_name() {
        let opts = [53, 1, 3, 81, 8, 0x05, 0, 0, 3, b'b', b'o', b'x', 0];
        let m = parse(&message(1, MAC, &opts)).unwrap();
        assert!(m.shape.has_fqdn);
        assert_eq!(m.hostname, b"box");
        assert_eq!(m.shape.options, Vec::<u16>::new());
    }

    #[test]
    fn refuses_what_is_not_dhcp() {
        assert_eq!(parse(&[0; 100]), Err(ParseError::Short));
        let mut b = message(1, MAC, &[53, 1, 1]);
        b[FIXED_LEN] = 0;
        assert_eq!(parse(&b), Err(ParseError::NoCookie));
        assert_eq!(
            parse(&message(1, MAC, &[12, 1, b'x'])),
            Err(ParseError::NoMessageType)
        );
    }

    #[test]
    fn truncated_option_keeps_what_came_before() {
        let mut b = message(2, MAC, &[53, 1, 2, 54, 4, 10, 0]);
        b.pop(); // no END: the server id runs past the end
        let m = parse(&b).unwrap();
        assert!(m.truncated);
        assert!(m.from_server);
        assert_eq!(m.shape.options, [54]);
    }

    #[test]
    fn every_prefix_parses_or_errs() {
        let b = message(1, MAC, &[53, 1, 1, 55, 3, 1, 3, 6, 57, 2, 2, 64]);
        for n in 0..=b.len() {
            let _ = parse(&b[..n]);
        }
    }
}
