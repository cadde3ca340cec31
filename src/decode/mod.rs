//! Zero-copy decoding of link, tunnel, IP and transport headers.
//!
//! [`decode`] walks a captured frame down to the innermost IP packet
//! (stripping VLAN tags and GRE/ERSPAN/VXLAN/Geneve/IP-in-IP tunnels) and
//! returns borrowed views of its headers. Nothing is copied or allocated;
//! every length is checked against the bytes actually present.

mod detached;
mod ip;
mod link;
mod transport;
mod tunnel;

pub use detached::DetachedPacket;
pub use ip::{Fragment, FragmentInfo, IpView};
pub use link::{link_payload, LinkPayload};
pub use transport::{tcp_field, udp_field, TcpFlags, TcpOption, TcpOptions, TcpView, UdpView};

use crate::capture::RawPacket;

/// How deep tunnels may nest before the packet is refused.
const MAX_ENCAPSULATION: usize = 4;

/// A decoded packet: the innermost IP header and its transport.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Source MAC of the Ethernet frame that carried the innermost IP packet.
    pub src_mac: Option<[u8; 6]>,
    pub ip: IpView<'a>,
    pub transport: Transport<'a>,
    /// Encapsulation layers removed to reach `ip` (0 for a plain packet).
    pub tunnel_depth: u8,
}

#[derive(Debug, Clone, Copy)]
pub enum Transport<'a> {
    Tcp(TcpView<'a>),
    Udp(UdpView<'a>),
    /// ICMPv6 (type, code); NDP and friends, for link-local observations.
    Icmpv6 {
        kind: u8,
        code: u8,
    },
    /// Any other protocol.
    Other {
        protocol: u8,
    },
    /// A piece of a fragmented datagram (`ip.fragment`): nothing to parse
    /// until [`crate::flow::defrag`] has the whole datagram.
    Fragment,
}

/// Why a frame yielded no packet. Counted by kind in the summary and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// The frame ends inside the named header.
    Truncated(Layer),
    /// A header field holds an impossible value.
    Malformed(Layer),
    /// Not IPv4/IPv6 (ARP, LLDP, ...): not an error, just nothing to do.
    NotIp,
    UnsupportedLinkType,
    TooManyTunnels,
    /// More IPv6 extension headers than the decoder follows.
    TooManyExtensionHeaders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Link,
    Vlan,
    Ipv4,
    Ipv6,
    Tunnel,
    Tcp,
    Udp,
}

impl Layer {
    /// Every layer, in declaration order (`layer as usize` is its position).
    pub const ALL: [Layer; 7] = [
        Layer::Link,
        Layer::Vlan,
        Layer::Ipv4,
        Layer::Ipv6,
        Layer::Tunnel,
        Layer::Tcp,
        Layer::Udp,
    ];
}

impl DecodeError {
    /// A stable name for counters: `truncated_tcp`, `not_ip`, ...
    pub fn kind(self) -> &'static str {
        use DecodeError::*;
        use Layer::*;
        match self {
            Truncated(Link) => "truncated_link",
            Truncated(Vlan) => "truncated_vlan",
            Truncated(Ipv4) => "truncated_ipv4",
            Truncated(Ipv6) => "truncated_ipv6",
            Truncated(Tunnel) => "truncated_tunnel",
            Truncated(Tcp) => "truncated_tcp",
            Truncated(Udp) => "truncated_udp",
            Malformed(Link) => "malformed_link",
            Malformed(Vlan) => "malformed_vlan",
            Malformed(Ipv4) => "malformed_ipv4",
            Malformed(Ipv6) => "malformed_ipv6",
            Malformed(Tunnel) => "malformed_tunnel",
            Malformed(Tcp) => "malformed_tcp",
            Malformed(Udp) => "malformed_udp",
            NotIp => "not_ip",
            UnsupportedLinkType => "unsupported_linktype",
            TooManyTunnels => "too_many_tunnels",
            TooManyExtensionHeaders => "too_many_extension_headers",
        }
    }

    /// Every kind, in counter order: `ALL[e.index()] == e`.
    pub const ALL: [DecodeError; 2 * Layer::ALL.len() + 4] = {
        use DecodeError::*;
        use Layer::*;
        [
            Truncated(Link),
            Truncated(Vlan),
            Truncated(Ipv4),
            Truncated(Ipv6),
            Truncated(Tunnel),
            Truncated(Tcp),
            Truncated(Udp),
            Malformed(Link),
            Malformed(Vlan),
            Malformed(Ipv4),
            Malformed(Ipv6),
            Malformed(Tunnel),
            Malformed(Tcp),
            Malformed(Udp),
            NotIp,
            UnsupportedLinkType,
            TooManyTunnels,
            TooManyExtensionHeaders,
        ]
    };

    pub const COUNT: usize = Self::ALL.len();

    /// The slot of this kind in a `[u64; DecodeError::COUNT]`: truncations
    /// by layer, then malformations by layer, then the rest.
    pub const fn index(self) -> usize {
        const LAYERS: usize = Layer::ALL.len();
        match self {
            DecodeError::Truncated(layer) => layer as usize,
            DecodeError::Malformed(layer) => LAYERS + layer as usize,
            DecodeError::NotIp => 2 * LAYERS,
            DecodeError::UnsupportedLinkType => 2 * LAYERS + 1,
            DecodeError::TooManyTunnels => 2 * LAYERS + 2,
            DecodeError::TooManyExtensionHeaders => 2 * LAYERS + 3,
        }
    }
}

/// What a link or tunnel layer found inside itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Inner<'a> {
    Ethernet(&'a [u8]),
    Ip(&'a [u8]),
}

/// Whether a tunnel packet is opened: called with the outer IP header of
/// every packet that is a tunnel (see [`crate::engine::Decap`]).
pub type OpensTunnel<'p> = &'p dyn Fn(&IpView<'_>) -> bool;

/// Decodes one captured frame down to its innermost IP packet, opening
/// every tunnel.
pub fn decode<'a>(pkt: &RawPacket<'a>) -> Result<Packet<'a>, DecodeError> {
    decode_with(pkt, &|_| true)
}

/// Decodes one captured frame, opening the tunnels `opens` accepts; a
/// tunnel it refuses is the packet itself (a datagram to its address).
pub fn decode_with<'a>(
    pkt: &RawPacket<'a>,
    opens: OpensTunnel<'_>,
) -> Result<Packet<'a>, DecodeError> {
    let (inner, src_mac) = link::strip(pkt.linktype, pkt.data)?;
    decode_from(inner, src_mac, 0, opens)
}

/// Decodes a datagram that [`crate::flow::defrag`] put back together from
/// pieces found `depth` tunnels deep in frames from `src_mac`.
pub fn decode_reassembled<'a>(
    datagram: &'a [u8],
    src_mac: Option<[u8; 6]>,
    depth: u8,
    opens: OpensTunnel<'_>,
) -> Result<Packet<'a>, DecodeError> {
    decode_from(Inner::Ip(datagram), src_mac, depth, opens)
}

fn decode_from<'a>(
    mut inner: Inner<'a>,
    mut src_mac: Option<[u8; 6]>,
    mut depth: u8,
    opens: OpensTunnel<'_>,
) -> Result<Packet<'a>, DecodeError> {
    loop {
        let ip_bytes = match inner {
            Inner::Ethernet(frame) => {
                let (mac, ip) = link::ethernet(frame)?;
                src_mac = Some(mac);
                ip
            }
            Inner::Ip(ip) => ip,
        };
        let ip = IpView::parse(ip_bytes)?;
        if ip.fragment != Fragment::None {
            // A piece: its payload is not a whole transport header or
            // tunnel, so nothing below the IP header is looked at yet.
            return Ok(Packet {
                src_mac,
                ip,
                transport: Transport::Fragment,
                tunnel_depth: depth,
            });
        }
        // The policy is asked only about packets that are tunnels, so the
        // common packet costs no lookup.
        match tunnel::decapsulate(&ip) {
            Ok(Some(next)) if opens(&ip) => {
                depth += 1;
                if usize::from(depth) > MAX_ENCAPSULATION {
                    return Err(DecodeError::TooManyTunnels);
                }
                inner = next;
                continue;
            }
            Err(e) if opens(&ip) => return Err(e),
            _ => {}
        }
        let transport = transport::parse(&ip)?;
        return Ok(Packet {
            src_mac,
            ip,
            transport,
            tunnel_depth: depth,
        });
    }
}

/// The big-endian `u16` at `at` of a header whose length the view's
/// constructor checked (`at` is one of the named field places).
#[inline]
fn u16_at<const N: usize>(header: &[u8; N], at: usize) -> u16 {
    u16::from_be_bytes([header[at], header[at + 1]])
}

/// The big-endian `u32` at `at` of a checked header.
#[inline]
fn u32_at<const N: usize>(header: &[u8; N], at: usize) -> u32 {
    u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
}

#[cfg(test)]
mod error_index_tests {
    use super::DecodeError;

    #[test]
    fn index_is_the_position_in_all() {
        for (i, e) in DecodeError::ALL.into_iter().enumerate() {
            assert_eq!(e.index(), i, "{e:?}");
        }
    }

    /// The summary and `/metrics` list kinds in this order.
    #[test]
    fn kinds_keep_their_counter_order() {
        let kinds: Vec<&str> = DecodeError::ALL.iter().map(|e| e.kind()).collect();
        assert_eq!(
            &kinds[..3],
            ["truncated_link", "truncated_vlan", "truncated_ipv4"]
        );
        assert_eq!(kinds[7], "malformed_link");
        assert_eq!(
            kinds[14..],
            [
                "not_ip",
                "unsupported_linktype",
                "too_many_tunnels",
                "too_many_extension_headers"
            ]
        );
    }
}
