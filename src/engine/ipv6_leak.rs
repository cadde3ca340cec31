//! `ipv6_link_local_leak`. Every decoded packet passes through
//! [`LeakTracker::observe`]: IPv4 frames (and ARP, through
//! [`LeakTracker::observe_non_ip`]) teach the MAC-to-IPv4 table; IPv6
//! packets with a link-local source to or from a decky, NDP included,
//! produce the event.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::Counter;
use super::{Context, DeckyMap, Limits};
use crate::capture::RawPacket;
use crate::decode::{IpView, Packet, Transport};
use crate::event::{Event, EventKind};
use crate::fingerprint::ipv6_leak::{
    self, arp_sender, DeckyMacs, IidKind, Leak, Mac, MacIpv4Table, Provenance,
};
use crate::util::budget::{Budget, Charge, Pool};
use crate::util::lru::Lru;
use crate::util::time::Timestamp;

const ETHERTYPE_ARP: u16 = 0x0806;
/// MACs remembered with their IPv4 address.
const MAC_TABLE_CAP: usize = 65_536;

pub struct LeakTracker {
    macs: MacIpv4Table,
    /// Link-local address -> the source MAC of the frames it came in:
    /// lets a packet *to* a stable-privacy address be tied to its owner.
    link_local_macs: Lru<Ipv6Addr, Mac>,
    pub link_local_evictions: u64,
    /// `link_local_macs`, charged to the memory budget (`link_local`).
    link_local_charge: Charge,
    /// MACs of frames sent from a decky's own address: link-local packets
    /// from them are the decky's own, never a leak.
    decky_macs: DeckyMacs,
    /// The last two IPv4 sources checked against the deckies (a flow's
    /// two directions), so a flow's frames cost no lookup; packed by
    /// [`v4_source`] (two integer compares where the tuples took a loop),
    /// 0 for none.
    last_v4_sources: [u128; 2],
    /// The capture interface, for `on_iface` (empty when reading files).
    iface: Arc<str>,
}

impl LeakTracker {
    pub fn new(limits: &Limits) -> Self {
        let cap = limits.seq_sources.clamp(1, MAC_TABLE_CAP);
        LeakTracker {
            macs: MacIpv4Table::new(cap),
            link_local_macs: Lru::new(cap),
            link_local_evictions: 0,
            link_local_charge: Charge::new(Budget::unlimited(), Pool::LinkLocal),
            decky_macs: DeckyMacs::new(cap),
            last_v4_sources: [0; 2],
            iface: Arc::from(""),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.macs.set_budget(budget.clone());
        self.decky_macs.set_budget(budget.clone());
        self.link_local_charge.set_budget(budget);
    }

    /// The capture interface: the one named with [`Self::set_interface`],
    /// else the state file's `config.interface`, else empty.
    fn interface<'a>(&'a self, deckies: &'a DeckyMap) -> &'a str {
        match (&*self.iface, &deckies.interface) {
            ("", Some(parent)) => parent,
            (own, _) => own,
        }
    }

    /// A new decky map: sources seen before may be deckies now.
    pub fn deckies_changed(&mut self) {
        self.last_v4_sources = [0; 2];
    }

    /// Names the interface the packets come from (`run`).
    pub fn set_interface(&mut self, name: &str) {
        self.iface = Arc::from(name);
    }

    /// Table sizes and evictions, for table statistics.
    pub fn table_stats(&self) -> [(&'static str, usize, u64); 3] {
        [
            ("mac_ipv4", self.macs.len(), self.macs.evictions),
            (
                "link_local_macs",
                self.link_local_macs.len(),
                self.link_local_evictions,
            ),
            (
                "decky_macs",
                self.decky_macs.len(),
                self.decky_macs.evictions,
            ),
        ]
    }

    /// Inline: an IPv4 frame, nearly every packet, is a few compares.
    #[inline]
    pub fn observe(
        &mut self,
        cx: &mut Context,
        deckies: &DeckyMap,
        pkt: &Packet<'_>,
        ts: Timestamp,
    ) {
        // Only the outer, link-level packet says who is on the link.
        if pkt.tunnel_depth != 0 {
            return;
        }
        match (pkt.ip.src, pkt.src_mac) {
            (IpAddr::V4(src), Some(mac)) => {
                if self.macs.record(mac, src, Provenance::Ipv4Frame) {
                    cx.stats.bump(Counter::Ipv6LeakMacEvictions);
                }
                let seen = v4_source(mac, src);
                if self.last_v4_sources[0] != seen && self.last_v4_sources[1] != seen {
                    self.last_v4_sources = [seen, self.last_v4_sources[0]];
                    self.learn_decky_mac(cx, deckies, IpAddr::V4(src), mac);
                }
            }
            (IpAddr::V4(_), None) => {}
            (IpAddr::V6(_), _) => self.observe_v6(cx, deckies, pkt, ts),
        }
    }

    fn observe_v6(
        &mut self,
        cx: &mut Context,
        deckies: &DeckyMap,
        pkt: &Packet<'_>,
        ts: Timestamp,
    ) {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (pkt.ip.src, pkt.ip.dst) else {
            return;
        };
        let Some(leak) = ipv6_leak::classify(&src, pkt.src_mac) else {
            if let Some(mac) = pkt.src_mac {
                self.learn_decky_mac(cx, deckies, IpAddr::V6(src), mac);
            }
            return;
        };
        if let Some(mac) = pkt.src_mac.filter(ipv6_leak::is_unicast_mac) {
            let mut evicted = u64::from(self.link_local_macs.insert(src, mac).is_some());
            evicted += self
                .link_local_macs
                .settle_budget(&mut self.link_local_charge);
            if evicted > 0 {
                self.link_local_evictions += evicted;
                cx.stats.add(Counter::Ipv6LeakLinkLocalEvictions, evicted);
            }
        }
        let Some(decky) = self.attribute(deckies, &src, &dst, pkt) else {
            return;
        };
        if self.is_decky_own(deckies, &src, &leak) {
            cx.stats.bump(Counter::Ipv6LeakDeckyOwn);
            return;
        }
        let attacker_v4 = leak
            .mac
            .and_then(|m| self.macs.lookup(&m))
            .filter(|v4| deckies.get(&IpAddr::V4(*v4)).is_none());
        let mut ev = Event::new(EventKind::Ipv6LinkLocalLeak, ts, decky);
        ev.push("src_ip", IpAddr::V6(src))
            .push("dst_ip", IpAddr::V6(dst))
            .push("iid_kind", leak.iid.name())
            .push("mac_oui", leak.iid.mac_oui())
            .push("on_iface", self.interface(deckies))
            .push(
                "attacker_v4",
                attacker_v4.map(|a| a.to_string()).unwrap_or_default(),
            )
            .push("observed_at", ts.rfc3339());
        // Not a connection: no `direction`.
        cx.emit_unattributed(ev);
    }

    /// Frames that are not IP: ARP replies and requests state the sender's
    /// MAC and IPv4 address.
    pub fn observe_non_ip(&mut self, cx: &mut Context, raw: &RawPacket<'_>) {
        if let Some((mac, ip)) = arp_payload(raw).and_then(arp_sender) {
            if self.macs.record(mac, ip, Provenance::Arp) {
                cx.stats.bump(Counter::Ipv6LeakMacEvictions);
            }
        }
    }
}

/// A MAC and IPv4 source in one integer, never 0.
fn v4_source(mac: Mac, ip: Ipv4Addr) -> u128 {
    let mac = mac.iter().fold(0u128, |acc, b| acc << 8 | u128::from(*b));
    1 << 80 | mac << 32 | u128::from(u32::from(ip))
}

impl LeakTracker {
    /// Remembers `mac` as a decky's when `src`, the address it sent from,
    /// is a decky's.
    fn learn_decky_mac(&mut self, cx: &mut Context, deckies: &DeckyMap, src: IpAddr, mac: Mac) {
        if deckies.get(&src).is_some() && self.decky_macs.record(mac) {
            cx.stats.bump(Counter::Ipv6LeakDeckyMacEvictions);
        }
    }

    /// Whether a link-local source is a decky's own: a decky's address, or
    /// sent from (or embedding, or last seen with) a decky's MAC, or from a
    /// MAC last seen with a decky's IPv4 address.
    fn is_decky_own(&self, deckies: &DeckyMap, src: &Ipv6Addr, leak: &Leak) -> bool {
        if deckies.get(&IpAddr::V6(*src)).is_some() {
            return true;
        }
        let embedded = match leak.iid {
            IidKind::Eui64 { mac } => Some(mac),
            IidKind::StablePrivacy => None,
        };
        let seen_with = self.link_local_macs.peek(src).copied();
        [leak.mac, embedded, seen_with]
            .into_iter()
            .flatten()
            .any(|m| {
                self.decky_macs.contains(&m)
                    || self
                        .macs
                        .lookup(&m)
                        .is_some_and(|v4| deckies.get(&IpAddr::V4(v4)).is_some())
            })
    }

    /// The decky a link-local packet concerns: its destination, the target
    /// of a neighbor solicitation/advertisement or redirect, or its source,
    /// by address; else by MAC, since deckies are usually known by their
    /// IPv4 address only: the MAC a link-local destination or target was
    /// seen sending from (or the one inside its EUI-64 identifier), or the
    /// frame's source MAC, seen with a decky's IPv4 address. With no
    /// decky map, a unicast destination or an NDP target stands for one.
    fn attribute(
        &self,
        deckies: &DeckyMap,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        pkt: &Packet<'_>,
    ) -> Option<Arc<str>> {
        let target = ndp_target(pkt);
        if deckies.is_observe_all() {
            let host = target.or((!dst.is_multicast()).then_some(*dst))?;
            return Some(Arc::from(host.to_string()));
        }
        let by_addr = [Some(*dst), target, Some(*src)];
        if let Some(d) = by_addr
            .iter()
            .flatten()
            .find_map(|a| deckies.get(&IpAddr::V6(*a)))
        {
            return Some(d.clone());
        }
        let owner_mac = |a: Ipv6Addr| -> Option<Mac> {
            if !ipv6_leak::is_link_local(&a) {
                return None;
            }
            self.link_local_macs
                .peek(&a)
                .copied()
                .or(match ipv6_leak::classify_iid(&a) {
                    IidKind::Eui64 { mac } => Some(mac),
                    IidKind::StablePrivacy => None,
                })
        };
        let by_mac = [Some(*dst), target]
            .into_iter()
            .flatten()
            .filter_map(owner_mac)
            .chain(pkt.src_mac);
        by_mac
            .filter_map(|m| self.macs.lookup(&m))
            .find_map(|v4| deckies.get(&IpAddr::V4(v4)))
            .cloned()
    }
}

/// NDP messages that name an address (RFC 4861: NS 135, NA 136,
/// Redirect 137) carry it 8 bytes into the ICMPv6 message.
fn ndp_target(pkt: &Packet<'_>) -> Option<Ipv6Addr> {
    let Transport::Icmpv6 {
        kind: 135..=137, ..
    } = pkt.transport
    else {
        return None;
    };
    icmpv6_target(&pkt.ip)
}

fn icmpv6_target(ip: &IpView<'_>) -> Option<Ipv6Addr> {
    let b: [u8; 16] = ip.payload.get(8..24)?.try_into().ok()?;
    Some(Ipv6Addr::from(b))
}

/// The ARP message of an Ethernet (802.1Q/QinQ tags allowed) or Linux
/// cooked frame.
fn arp_payload<'a>(raw: &RawPacket<'a>) -> Option<&'a [u8]> {
    // Decode's own link walker: VLAN tags and cooked headers as for IP.
    let link = crate::decode::link_payload(raw.linktype, raw.data).ok()?;
    (link.ethertype == ETHERTYPE_ARP).then_some(link.payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::linktype;

    fn arp_body() -> Vec<u8> {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 10, 0, 0, 7]);
        arp.extend([0; 6]);
        arp.extend([10, 0, 0, 1]);
        arp
    }

    fn raw(linktype: u32, data: &[u8]) -> RawPacket<'_> {
        RawPacket {
            ts: Timestamp::new(1, 0),
            linktype,
            data,
            orig_len: data.len() as u32,
        }
    }

    #[test]
    fn arp_is_found_behind_every_link_header() {
        let body = arp_body();
        // Ethernet with an 802.1ad and an 802.1Q tag.
        let mut eth = vec![0xff; 6];
        eth.extend([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]);
        eth.extend([0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x06]);
        eth.extend(&body);
        assert_eq!(arp_payload(&raw(linktype::ETHERNET, &eth)), Some(&body[..]));
        // Linux cooked v1 and v2.
        let mut sll = vec![0; 14];
        sll.extend([0x08, 0x06]);
        sll.extend(&body);
        assert_eq!(
            arp_payload(&raw(linktype::LINUX_SLL, &sll)),
            Some(&body[..])
        );
        let mut sll2 = vec![0x08, 0x06];
        sll2.extend([0; 18]);
        sll2.extend(&body);
        assert_eq!(
            arp_payload(&raw(linktype::LINUX_SLL2, &sll2)),
            Some(&body[..])
        );
        // Not ARP, truncated, or another link type.
        eth[20] = 0x08;
        eth[21] = 0x00;
        assert_eq!(arp_payload(&raw(linktype::ETHERNET, &eth)), None);
        assert_eq!(arp_payload(&raw(linktype::ETHERNET, &eth[..13])), None);
        assert_eq!(arp_payload(&raw(linktype::RAW, &body)), None);

        let mut t = LeakTracker::new(&Limits::default());
        let mut cx = Context::for_tests();
        t.observe_non_ip(&mut cx, &raw(linktype::LINUX_SLL, &sll));
        assert_eq!(
            t.macs.lookup(&[0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]),
            Some([10, 0, 0, 7].into())
        );
    }
}
