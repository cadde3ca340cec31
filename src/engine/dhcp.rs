//! `dhcp_client_fingerprint`: DHCP and DHCPv6 messages seen on the capture
//! link. Like the link-local leaks these are about the LAN, not about a
//! connection to a decky: the engine (or the router of a sharded engine)
//! sees every packet before any per-flow work, so one table sees every
//! message of a client whichever addresses it used.
//!
//! A message is reported once per client MAC and fingerprint: a client
//! that renews its lease every hour does not repeat itself. The table of
//! MACs is bounded (least recently seen goes first) and so is the number of
//! fingerprints kept per MAC.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::Counter;
use super::{Context, DeckyMap};
use crate::decode::{Packet, Transport};
use crate::event::{Event, EventKind};
use crate::fingerprint::dhcp::{self, Family, Mac, Message};
use crate::util::budget::{Budget, Charge, Pool};
use crate::util::lru::Lru;
use crate::util::time::Timestamp;

/// MACs remembered by default (about 100 bytes each with the LRU links).
pub const DEFAULT_MACS: usize = 16_384;
/// Fingerprints remembered per MAC; a client has a handful (discover,
/// request, inform, release, its DHCPv6 messages).
const PER_MAC: usize = 8;
/// The HOSTNAME of a message that names no decky.
const LAN: &str = "lan";

/// The fingerprints one MAC was reported with, oldest replaced first.
#[derive(Debug, Default)]
struct Seen {
    keys: [u64; PER_MAC],
    len: u8,
    next: u8,
}

impl Seen {
    /// Records `key`; false when it was there already. The second value
    /// tells whether an older key had to go.
    fn insert(&mut self, key: u64) -> (bool, bool) {
        if self.keys[..usize::from(self.len)].contains(&key) {
            return (false, false);
        }
        let replaced = usize::from(self.len) == PER_MAC;
        self.keys[usize::from(self.next)] = key;
        self.next = (self.next + 1) % PER_MAC as u8;
        if !replaced {
            self.len += 1;
        }
        (true, replaced)
    }
}

pub struct DhcpTracker {
    seen: Lru<Mac, Seen>,
    pub evictions: u64,
    /// Charged to the memory budget (`dhcp_clients`).
    charge: Charge,
}

impl DhcpTracker {
    /// A tracker remembering at most `macs` client MACs (at least one).
    pub fn new(macs: usize) -> Self {
        DhcpTracker {
            seen: Lru::new(macs.max(1)),
            evictions: 0,
            charge: Charge::new(Budget::unlimited(), Pool::DhcpClients),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.charge.set_budget(budget);
    }

    /// Table size and evictions, for table statistics.
    pub fn table_stats(&self) -> [(&'static str, usize, u64); 1] {
        [("dhcp_clients", self.seen.len(), self.evictions)]
    }

    pub fn observe(
        &mut self,
        cx: &mut Context,
        deckies: &DeckyMap,
        pkt: &Packet<'_>,
        ts: Timestamp,
    ) {
        // Only the link the sensor sits on: a tunnelled DHCP message is
        // someone else's LAN.
        if pkt.tunnel_depth != 0 {
            return;
        }
        let Transport::Udp(udp) = pkt.transport else {
            return;
        };
        let (src_port, dst_port) = (udp.src_port(), udp.dst_port());
        let parsed = match pkt.ip.src {
            IpAddr::V4(_) if is_dhcp_port(src_port, dst_port, 67, 68) => {
                dhcp::v4::parse(udp.payload)
            }
            IpAddr::V6(_) if is_dhcp_port(src_port, dst_port, 546, 547) => {
                dhcp::v6::parse(udp.payload)
            }
            _ => return,
        };
        let msg = match parsed {
            Ok(msg) => msg,
            Err(_) => {
                cx.stats.bump(Counter::DhcpParseErrors);
                return;
            }
        };
        if msg.truncated {
            cx.stats.bump(Counter::DhcpTruncatedOptions);
        }
        // A DHCPv6 server message names its client only through the DUID.
        let mac = msg
            .client_mac
            .or(if msg.from_server { None } else { pkt.src_mac })
            .unwrap_or_default();
        let before = self.seen.len();
        let (_, evicted) = self.seen.get_or_insert_with(mac, Seen::default);
        let mut evicted = u64::from(evicted.is_some());
        if self.seen.len() != before {
            // A new MAC: charge it, shedding the oldest others.
            evicted += self.seen.settle_budget(&mut self.charge);
        }
        if evicted > 0 {
            self.evictions += evicted;
            cx.stats.add(Counter::DhcpClientEvictions, evicted);
        }
        let (seen, _) = self.seen.get_or_insert_with(mac, Seen::default);
        let (new, replaced) = seen.insert(shape_key(&msg));
        if replaced {
            cx.stats.bump(Counter::DhcpFingerprintsReplaced);
        }
        if !new {
            cx.stats.bump(Counter::DhcpRepeatsSuppressed);
            return;
        }
        let decky = attribute(deckies, &msg, pkt);
        let mut ev = Event::new(EventKind::DhcpClientFingerprint, ts, decky);
        ev.push("src_ip", pkt.ip.src)
            .push("src_port", src_port)
            .push("dst_ip", pkt.ip.dst)
            .push("dst_port", dst_port)
            .push_with("client_mac", |out| {
                if msg.client_mac.is_some() || mac != Mac::default() {
                    write_mac(&mac, out);
                }
            })
            .push_with("requested_ip", |out| {
                if let Some(ip) = msg.requested_ip.or(msg.offered_ip) {
                    crate::event::FieldValue::write_to(&ip, out);
                }
            })
            .push_text("hostname", &msg.hostname)
            .push_text("vendor_class", &msg.vendor_class)
            .push("message_type", msg.type_name().as_str())
            .push_with("ja4d", |_out| {
                #[cfg(feature = "ja4plus")]
                dhcp::ja4d::write(&msg.shape, _out);
            })
            .push(
                "dhcp_version",
                match msg.shape.family {
                    Family::V4 => "4",
                    Family::V6 => "6",
                },
            );
        // Not a connection: no `direction`.
        cx.emit_unattributed(ev);
    }
}

fn is_dhcp_port(src: u16, dst: u16, server: u16, client: u16) -> bool {
    [src, dst].iter().any(|p| *p == server || *p == client)
}

/// The dedup key of a message: its whole fingerprint shape, with a fixed
/// hash so runs agree.
fn shape_key(msg: &Message) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    msg.shape.hash(&mut h);
    h.finish()
}

/// The decky whose address the message requests, offers, renews or comes
/// from; else `lan`. Observing every host, the first such address names it.
fn attribute(deckies: &DeckyMap, msg: &Message, pkt: &Packet<'_>) -> Arc<str> {
    let candidates = [
        msg.requested_ip,
        msg.offered_ip,
        msg.client_ip,
        Some(pkt.ip.src),
    ];
    let mut usable = candidates.into_iter().flatten().filter(is_host_address);
    if deckies.is_observe_all() {
        return usable
            .next()
            .map_or_else(|| Arc::from(LAN), |a| Arc::from(a.to_string()));
    }
    usable
        .find_map(|a| deckies.get(&a).cloned())
        .unwrap_or_else(|| Arc::from(LAN))
}

/// Not `0.0.0.0`, `::`, a link-local or a multicast address.
fn is_host_address(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => *v4 != Ipv4Addr::UNSPECIFIED && !v4.is_broadcast() && !v4.is_multicast(),
        IpAddr::V6(v6) => {
            *v6 != Ipv6Addr::UNSPECIFIED
                && !v6.is_multicast()
                && !crate::fingerprint::ipv6_leak::is_link_local(v6)
        }
    }
}

fn write_mac(mac: &Mac, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keeps_the_latest_fingerprints() {
        let mut s = Seen::default();
        for k in 0..PER_MAC as u64 {
            assert_eq!(s.insert(k), (true, false));
        }
        assert_eq!(s.insert(3), (false, false));
        assert_eq!(s.insert(100), (true, true));
        // 0 went first.
        assert_eq!(s.insert(0), (true, true));
        assert_eq!(s.insert(100), (false, false));
    }

    /// A DHCP discover from `mac` in an Ethernet frame.
    fn discover(mac: Mac) -> Vec<u8> {
        let mut dhcp = vec![0u8; 236];
        dhcp[0] = 1;
        dhcp[1] = 1;
        dhcp[2] = 6;
        dhcp[28..34].copy_from_slice(&mac);
        dhcp.extend([99, 130, 83, 99, 53, 1, 1, 255]);
        let mut f = vec![0xff; 6];
        f.extend(mac);
        f.extend([0x08, 0x00, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend([0, 0, 0, 0, 255, 255, 255, 255]);
        let udp_len = (8 + dhcp.len()) as u16;
        f[16..18].copy_from_slice(&(20 + udp_len).to_be_bytes());
        f.extend([0, 68, 0, 67]);
        f.extend(udp_len.to_be_bytes());
        f.extend([0, 0]);
        f.extend(dhcp);
        f
    }

    #[test]
    fn the_mac_table_is_bounded() {
        let mut t = DhcpTracker::new(4);
        let mut cx = Context::for_tests();
        let deckies = DeckyMap::observe_all();
        for i in 0..10u8 {
            let frame = discover([2, 0, 0, 0, 0, i]);
            let raw = crate::capture::RawPacket {
                ts: Timestamp::new(1, 0),
                linktype: crate::capture::linktype::ETHERNET,
                data: &frame,
                orig_len: frame.len() as u32,
            };
            let pkt = crate::decode::decode(&raw).unwrap();
            t.observe(&mut cx, &deckies, &pkt, raw.ts);
        }
        assert_eq!(cx.out.len(), 10);
        assert_eq!(t.table_stats()[0], ("dhcp_clients", 4, 6));
        assert_eq!(cx.stats.get(Counter::DhcpClientEvictions), 6);
        assert_eq!(&*cx.out[0].decky, "lan");
        assert_eq!(cx.out[9].get("client_mac"), Some(&b"02:00:00:00:00:09"[..]));
    }

    #[test]
    fn mac_text() {
        let mut out = Vec::new();
        write_mac(&[0, 0x0b, 0x82, 1, 0xfc, 0x42], &mut out);
        assert_eq!(out, b"00:0b:82:01:fc:42");
    }

    #[test]
    fn the_mac_table_draws_on_the_budget() {
        use crate::util::budget::{Budget, Pool};
        let per = Lru::<Mac, Seen>::entry_bytes();
        let budget = Budget::new(3 * per);
        let mut t = DhcpTracker::new(100);
        t.set_budget(budget.clone());
        let mut cx = Context::for_tests();
        let deckies = DeckyMap::observe_all();
        for i in 0..10u8 {
            let frame = discover([2, 0, 0, 0, 0, i]);
            let raw = crate::capture::RawPacket {
                ts: Timestamp::new(1, 0),
                linktype: crate::capture::linktype::ETHERNET,
                data: &frame,
                orig_len: frame.len() as u32,
            };
            let pkt = crate::decode::decode(&raw).unwrap();
            t.observe(&mut cx, &deckies, &pkt, raw.ts);
        }
        // Every newcomer is reported; the oldest MACs made room.
        assert_eq!(cx.out.len(), 10);
        assert_eq!(t.table_stats()[0], ("dhcp_clients", 3, 7));
        assert_eq!(budget.evictions(Pool::DhcpClients), 7);
        assert_eq!(budget.pool_used(Pool::DhcpClients), 3 * per);
        drop(t);
        assert_eq!(budget.used(), 0);
    }
}
