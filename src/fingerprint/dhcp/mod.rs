//! DHCP (RFC 2131/2132) and DHCPv6 (RFC 8415) messages: what a client
//! says about itself (MAC, host name, vendor class, the address it wants)
//! and the shape JA4D/JA4D6 fingerprints.
//!
//! The shape follows FoxIO's Wireshark plugin, the reference that computes
//! both JA4D and JA4D6: it reads the dissector's fields in tree order, so
//! every occurrence of a field counts (a second message-type option adds a
//! second type code) and DHCPv6 options nested in IA_NA, IA_TA, IA_PD,
//! IA Address, IA Prefix and Relay Message options are listed after their
//! parent. [`v4`] and [`v6`] walk the options the same way.

use std::net::IpAddr;

pub use super::ipv6_leak::Mac;

#[cfg(feature = "ja4plus")]
pub mod ja4d;
pub mod v4;
pub mod v6;

/// Options and list items kept per message; a datagram holds at most a
/// few hundred, so this only bounds crafted input.
pub const MAX_ITEMS: usize = 512;
/// Message-type fields kept (nested relay messages add one each).
pub const MAX_TYPES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

/// What JA4D/JA4D6 is made of, in the order the reference reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    pub family: Family,
    /// Message types, one per message-type field.
    pub types: Vec<u8>,
    /// DHCPv4: each Maximum Message Size (option 57); DHCPv6: the length
    /// of the first DUID seen once a Client Identifier option was.
    pub sizes: Vec<u32>,
    /// DHCPv4 Requested IP Address (50); DHCPv6 an IA_TA option.
    pub requests_ip: bool,
    /// A client FQDN name (DHCPv4 option 81, DHCPv6 option 39).
    pub has_fqdn: bool,
    /// Option codes in order (DHCPv4 without 0, 50, 53, 81 and 255).
    pub options: Vec<u16>,
    /// Parameter Request List (DHCPv4 55) / Option Request (DHCPv6 6).
    pub request_list: Vec<u16>,
}

impl Shape {
    fn new(family: Family) -> Self {
        Shape {
            family,
            types: Vec::new(),
            sizes: Vec::new(),
            requests_ip: false,
            has_fqdn: false,
            options: Vec::new(),
            request_list: Vec::new(),
        }
    }
}

/// One DHCP or DHCPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub shape: Shape,
    /// The first message type.
    pub message_type: u8,
    /// Sent by a server (or relay) rather than a client.
    pub from_server: bool,
    /// DHCPv4 `chaddr` (Ethernet); DHCPv6 the link-layer address in the
    /// client's DUID (types LLT and LL, Ethernet).
    pub client_mac: Option<Mac>,
    /// DHCPv4 option 50; DHCPv6 the first IA Address.
    pub requested_ip: Option<IpAddr>,
    /// DHCPv4 `yiaddr` when set.
    pub offered_ip: Option<IpAddr>,
    /// DHCPv4 `ciaddr` when set.
    pub client_ip: Option<IpAddr>,
    /// DHCPv4 Host Name (12), else the Client FQDN name; DHCPv6 the
    /// Client FQDN name, dotted.
    pub hostname: Vec<u8>,
    /// DHCPv4 Vendor Class Identifier (60); DHCPv6 Vendor Class (16) as
    /// `enterprise:data[,data]`.
    pub vendor_class: Vec<u8>,
    /// The option list ended early (a length past the end of the datagram).
    pub truncated: bool,
}

impl Message {
    /// The `message_type` field: the RFC name of the first message type,
    /// else its number.
    pub fn type_name(&self) -> String {
        let name = match self.shape.family {
            Family::V4 => v4::type_name(self.message_type),
            Family::V6 => v6::type_name(self.message_type),
        };
        name.map_or_else(|| self.message_type.to_string(), str::to_owned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("shorter than the fixed header")]
    Short,
    #[error("no DHCP magic cookie")]
    NoCookie,
    #[error("no DHCP message type")]
    NoMessageType,
}

/// A DNS wire-format name (RFC 1035 3.1, no compression, as RFC 4704 and
/// RFC 4702 require) as dotted text; a name that does not parse is kept as
/// the raw bytes.
pub(crate) fn dns_name_text(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            return out;
        }
        let Some(label) = wire.get(at + 1..at + 1 + usize::from(len)) else {
            return wire.to_vec();
        };
        if len & 0xc0 != 0 {
            return wire.to_vec();
        }
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(label);
        at += 1 + usize::from(len);
    }
    // A partial name (RFC 4704 section 4.1): no terminating root label.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert_eq!(
            dns_name_text(b"\x04host\x07example\x03com\x00"),
            b"host.example.com"
        );
        assert_eq!(dns_name_text(b"\x04host"), b"host");
        assert_eq!(dns_name_text(b"\x09host"), b"\x09host");
        assert_eq!(dns_name_text(b"\xc0\x0c"), b"\xc0\x0c");
        assert_eq!(dns_name_text(b""), b"");
    }
}
