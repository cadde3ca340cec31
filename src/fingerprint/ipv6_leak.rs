//! IPv6 link-local sources (fe80::/10): what their interface identifier
//! gives away, and which IPv4 address the same MAC was seen with.
//!
//! A link-local source on a decky's segment means the sender is on the same
//! layer-2 link. A modified EUI-64 identifier (RFC 4291 appendix A) embeds
//! the interface's MAC with the universal/local bit inverted; anything else
//! is taken as a stable opaque (RFC 7217) or temporary (RFC 8981) identifier.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::util::lru::{Located, Lru};

/// A 48-bit MAC address.
pub type Mac = [u8; 6];

/// fe80::/10.
pub fn is_link_local(addr: &Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IidKind {
    /// Modified EUI-64: `ff:fe` in the middle of the identifier.
    Eui64 {
        mac: Mac,
    },
    StablePrivacy,
}

impl IidKind {
    /// The `iid_kind` field value.
    pub fn name(&self) -> &'static str {
        match self {
            IidKind::Eui64 { .. } => "eui64",
            IidKind::StablePrivacy => "stable_privacy",
        }
    }

    /// The `mac_oui` field: `aa:bb:cc` of the embedded MAC, else empty.
    pub fn mac_oui(&self) -> String {
        match self {
            IidKind::Eui64 { mac } => format!("{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2]),
            IidKind::StablePrivacy => String::new(),
        }
    }
}

/// Classifies the interface identifier (low 64 bits) of `addr`.
pub fn classify_iid(addr: &Ipv6Addr) -> IidKind {
    let o = addr.octets();
    if o[11] == 0xff && o[12] == 0xfe {
        // Flip the universal/local bit back to recover the MAC.
        IidKind::Eui64 {
            mac: [o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]],
        }
    } else {
        IidKind::StablePrivacy
    }
}

/// What a link-local source leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leak {
    pub iid: IidKind,
    /// The MAC to look up in [`MacIpv4Table`]: the frame's source MAC when
    /// the link layer had one, else the MAC embedded in an EUI-64 identifier.
    pub mac: Option<Mac>,
}

/// `None` unless `src` is link-local.
pub fn classify(src: &Ipv6Addr, frame_src_mac: Option<Mac>) -> Option<Leak> {
    if !is_link_local(src) {
        return None;
    }
    let iid = classify_iid(src);
    let embedded = match iid {
        IidKind::Eui64 { mac } => Some(mac),
        IidKind::StablePrivacy => None,
    };
    Some(Leak {
        iid,
        mac: frame_src_mac.filter(is_unicast_mac).or(embedded),
    })
}

/// A unicast MAC that names one interface: not multicast/broadcast, not zero.
pub fn is_unicast_mac(mac: &Mac) -> bool {
    mac[0] & 0x01 == 0 && *mac != [0; 6]
}

/// How a MAC↔IPv4 pairing was learned. ARP states it for the sender
/// itself; the source MAC of an IPv4 frame may be a router's, forwarding
/// for many addresses, so ARP wins when both are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provenance {
    Ipv4Frame,
    Arp,
}

/// Bounded MAC → IPv4 table (LRU), fed from ARP and IPv4 frames, read for
/// `attacker_v4`.
pub struct MacIpv4Table {
    map: Lru<Mac, (Ipv4Addr, Provenance)>,
    /// The last two MACs recorded, the latest first, with where they are
    /// stored and their current values: the table's two most recent
    /// entries. A connection's two sides alternate between them, so which
    /// of the two is the more recent, and their values, are kept here and
    /// written into the table (a touch and a store) only before an entry
    /// is added, the one time the order matters (eviction): no hashing,
    /// no relinking and no store per frame, the same evictions. Only
    /// entries still in the table are here ([`Self::forget_evicted`]).
    recent: [Option<Recent>; 2],
    /// Entries dropped to make room (the cap or the memory budget).
    pub evictions: u64,
    /// Charged to the memory budget (`link_local`).
    charge: crate::util::budget::Charge,
}

/// One of [`MacIpv4Table::recent`]: its value is the entry's, newer than
/// the table's copy.
#[derive(Debug, Clone, Copy)]
struct Recent {
    mac: Mac,
    at: Located,
    value: (Ipv4Addr, Provenance),
}

impl MacIpv4Table {
    pub fn new(cap: usize) -> Self {
        MacIpv4Table {
            map: Lru::new(cap),
            recent: [None; 2],
            evictions: 0,
            charge: crate::util::budget::Charge::new(
                crate::util::budget::Budget::unlimited(),
                crate::util::budget::Pool::LinkLocal,
            ),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: crate::util::budget::Budget) {
        self.charge.set_budget(budget);
    }

    /// Records that `mac` was seen using `ip`. Ignores multicast MACs and
    /// unspecified, broadcast and multicast addresses. An ARP-learned
    /// address is not replaced by one learned from an IPv4 frame. Returns
    /// whether another entry was evicted to make room.
    #[inline]
    pub fn record(&mut self, mac: Mac, ip: Ipv4Addr, how: Provenance) -> bool {
        // The latest MAC again (every frame of one side): inline.
        if let Some(r) = self.recent[0].as_mut().filter(|r| r.mac == mac) {
            if !ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast() && how >= r.value.1
            {
                r.value = (ip, how);
            }
            return false;
        }
        self.record_other(mac, ip, how)
    }

    fn record_other(&mut self, mac: Mac, ip: Ipv4Addr, how: Provenance) -> bool {
        if !is_unicast_mac(&mac) || ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
            return false;
        }
        if let Some(r) = self.recent[1].as_mut().filter(|r| r.mac == mac) {
            if how >= r.value.1 {
                r.value = (ip, how);
            }
            self.recent.swap(0, 1);
            return false;
        }
        self.settle_order();
        if let Some(at) = self.map.locate(&mac) {
            let mut value = (ip, how);
            if let Some(entry) = self.map.get_mut_at(at) {
                if how >= entry.1 {
                    *entry = (ip, how);
                }
                value = *entry;
            }
            self.recent = [Some(Recent { mac, at, value }), self.recent[0]];
            return false;
        }
        let evicted = self.map.insert(mac, (ip, how)).is_some();
        let shed = self.map.settle_budget(&mut self.charge);
        if let Some(at) = self.map.locate(&mac) {
            let value = (ip, how);
            self.recent = [Some(Recent { mac, at, value }), self.recent[0]];
        }
        self.forget_evicted();
        if evicted {
            self.evictions += 1;
        }
        self.evictions += shed;
        evicted || shed > 0
    }

    /// Makes the table's order that of `recent` (the latest most recent)
    /// and its values theirs, before it decides an eviction.
    fn settle_order(&mut self) {
        for r in [self.recent[1], self.recent[0]].into_iter().flatten() {
            if let Some(entry) = self.map.get_mut_hinted(r.at, &r.mac) {
                *entry = r.value;
            }
        }
    }

    /// Drops from `recent` the entries an insertion evicted.
    fn forget_evicted(&mut self) {
        for slot in &mut self.recent {
            if let Some(r) = slot {
                if self.map.peek_mut_hinted(r.at, &r.mac).is_none() {
                    *slot = None;
                }
            }
        }
    }

    pub fn lookup(&self, mac: &Mac) -> Option<Ipv4Addr> {
        match self.recent.iter().flatten().find(|r| r.mac == *mac) {
            Some(r) => Some(r.value.0),
            None => self.map.peek(mac).map(|e| e.0),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Bounded set of the MACs that frames from a decky's own address came
/// from: a link-local packet from one of them is the decky itself (its
/// router solicitation, its DAD), never a leak of an attacker.
pub struct DeckyMacs {
    map: Lru<Mac, ()>,
    /// The last MAC recorded: a decky's bulk transfer records it once.
    last: Option<Mac>,
    /// Entries dropped to make room (the cap or the memory budget).
    pub evictions: u64,
    /// Charged to the memory budget (`link_local`).
    charge: crate::util::budget::Charge,
}

impl DeckyMacs {
    pub fn new(cap: usize) -> Self {
        DeckyMacs {
            map: Lru::new(cap),
            last: None,
            evictions: 0,
            charge: crate::util::budget::Charge::new(
                crate::util::budget::Budget::unlimited(),
                crate::util::budget::Pool::LinkLocal,
            ),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: crate::util::budget::Budget) {
        self.charge.set_budget(budget);
    }

    /// Records `mac` as a decky's; ignores multicast and zero MACs.
    /// Returns whether another entry was evicted to make room.
    pub fn record(&mut self, mac: Mac) -> bool {
        if self.last == Some(mac) || !is_unicast_mac(&mac) {
            return false;
        }
        self.last = Some(mac);
        let evicted = self.map.insert(mac, ()).is_some();
        let shed = self.map.settle_budget(&mut self.charge);
        if evicted {
            self.evictions += 1;
        }
        self.evictions += shed;
        evicted || shed > 0
    }

    pub fn contains(&self, mac: &Mac) -> bool {
        self.map.contains(mac)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The sender of an ARP message over Ethernet/IPv4 (RFC 826): its MAC and
/// IPv4 address. `None` for other hardware or protocol types and for
/// probes (sender address 0.0.0.0, which `record` ignores anyway).
pub fn arp_sender(arp: &[u8]) -> Option<(Mac, Ipv4Addr)> {
    let header = arp.get(..8)?;
    // htype 1 (Ethernet), ptype 0x0800 (IPv4), hlen 6, plen 4.
    if header[..6] != [0x00, 0x01, 0x08, 0x00, 6, 4] {
        return None;
    }
    let mac: Mac = arp.get(8..14)?.try_into().ok()?;
    let ip: [u8; 4] = arp.get(14..18)?.try_into().ok()?;
    Some((mac, Ipv4Addr::from(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// The two sides of a connection alternating leave the table in the
    /// order of their last records: the one recorded less recently goes
    /// first when the table is full.
    #[test]
    fn mac_table_evicts_in_record_order_while_two_macs_alternate() {
        let mac = |b: u8| [2, 0, 0, 0, 0, b];
        let ip = |b: u8| Ipv4Addr::new(192, 0, 2, b);
        for (tail, gone, kept) in [(1u8, 2u8, 1u8), (2, 1, 2)] {
            let mut t = MacIpv4Table::new(3);
            for b in [1, 2, 1, 2, 1, 2, tail] {
                assert!(!t.record(mac(b), ip(b), Provenance::Ipv4Frame));
            }
            // A value change on a recent entry is kept.
            t.record(mac(kept), ip(kept + 100), Provenance::Ipv4Frame);
            assert!(!t.record(mac(3), ip(3), Provenance::Ipv4Frame));
            assert!(t.record(mac(4), ip(4), Provenance::Ipv4Frame), "full");
            assert_eq!(t.lookup(&mac(gone)), None, "tail {tail}");
            assert_eq!(t.lookup(&mac(kept)), Some(ip(kept + 100)));
            assert_eq!(t.evictions, 1);
        }
    }

    #[test]
    fn link_local_prefix_is_fe80_slash_10() {
        assert!(is_link_local(&v6("fe80::1")));
        assert!(is_link_local(&v6("febf:ffff::1")));
        assert!(!is_link_local(&v6("fec0::1")));
        assert!(!is_link_local(&v6("fe7f::1")));
        assert!(!is_link_local(&v6("2001:db8::1")));
        assert!(!is_link_local(&v6("::1")));
    }

    #[test]
    fn eui64_gives_back_the_mac() {
        // RFC 4291 appendix A: MAC 00:1b:21:3c:4d:5e -> IID 021b:21ff:fe3c:4d5e
        // (the universal/local bit 0x02 of the first byte inverted).
        let a = v6("fe80::21b:21ff:fe3c:4d5e");
        let k = classify_iid(&a);
        assert_eq!(
            k,
            IidKind::Eui64 {
                mac: [0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]
            }
        );
        assert_eq!(k.name(), "eui64");
        assert_eq!(k.mac_oui(), "00:1b:21");
        // A locally administered MAC (bit set) shows up with the bit clear.
        let k = classify_iid(&v6("fe80::5054:ff:fe12:3456"));
        assert_eq!(
            k,
            IidKind::Eui64 {
                mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
            }
        );
        assert_eq!(k.mac_oui(), "52:54:00");
    }

    #[test]
    fn other_identifiers_are_stable_privacy() {
        for a in [
            "fe80::1",
            "fe80::8c3a:91ff:1e22:7b10",
            "fe80::ff:fe00:0:1",
            "fe80::ffff:ff00:1",
        ] {
            let k = classify_iid(&v6(a));
            assert_eq!(k, IidKind::StablePrivacy, "{a}");
            assert_eq!(k.name(), "stable_privacy");
            assert_eq!(k.mac_oui(), "");
        }
    }

    #[test]
    fn classify_prefers_the_frame_mac_for_lookup() {
        let frame_mac = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
        let leak = classify(&v6("fe80::21b:21ff:fe3c:4d5e"), Some(frame_mac)).unwrap();
        assert_eq!(leak.mac, Some(frame_mac));
        let leak = classify(&v6("fe80::21b:21ff:fe3c:4d5e"), None).unwrap();
        assert_eq!(leak.mac, Some([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]));
        // A multicast frame MAC is useless; fall back to the embedded one.
        let leak = classify(
            &v6("fe80::21b:21ff:fe3c:4d5e"),
            Some([0x33, 0x33, 0, 0, 0, 1]),
        );
        assert_eq!(
            leak.unwrap().mac,
            Some([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e])
        );
        let leak = classify(&v6("fe80::1234"), None).unwrap();
        assert_eq!(
            leak,
            Leak {
                iid: IidKind::StablePrivacy,
                mac: None
            }
        );
        assert!(classify(&v6("2001:db8::21b:21ff:fe3c:4d5e"), Some(frame_mac)).is_none());
    }

    #[test]
    fn mac_table_prefers_arp_and_is_bounded() {
        let mac = [0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e];
        let mut t = MacIpv4Table::new(2);
        t.record(mac, Ipv4Addr::new(10, 0, 0, 5), Provenance::Ipv4Frame);
        assert_eq!(t.lookup(&mac), Some(Ipv4Addr::new(10, 0, 0, 5)));
        t.record(mac, Ipv4Addr::new(10, 0, 0, 7), Provenance::Arp);
        t.record(mac, Ipv4Addr::new(8, 8, 8, 8), Provenance::Ipv4Frame);
        assert_eq!(t.lookup(&mac), Some(Ipv4Addr::new(10, 0, 0, 7)));
        t.record(mac, Ipv4Addr::new(10, 0, 0, 9), Provenance::Arp);
        assert_eq!(t.lookup(&mac), Some(Ipv4Addr::new(10, 0, 0, 9)));
        // Junk is ignored.
        t.record([0xff; 6], Ipv4Addr::new(10, 0, 0, 1), Provenance::Arp);
        t.record([0; 6], Ipv4Addr::new(10, 0, 0, 1), Provenance::Arp);
        t.record([2, 0, 0, 0, 0, 1], Ipv4Addr::UNSPECIFIED, Provenance::Arp);
        t.record(
            [2, 0, 0, 0, 0, 1],
            Ipv4Addr::new(224, 0, 0, 1),
            Provenance::Arp,
        );
        assert_eq!(t.len(), 1);
        for i in 0..10u8 {
            t.record(
                [2, 0, 0, 0, 0, i],
                Ipv4Addr::new(10, 0, 1, i),
                Provenance::Arp,
            );
        }
        assert_eq!(t.len(), 2);
        assert_eq!(t.evictions, 9);
        assert_eq!(
            t.lookup(&[2, 0, 0, 0, 0, 9]),
            Some(Ipv4Addr::new(10, 0, 1, 9))
        );
    }

    #[test]
    fn decky_macs_are_unicast_and_bounded() {
        let mut t = DeckyMacs::new(2);
        assert!(!t.record([0x33, 0x33, 0, 0, 0, 1]));
        assert!(!t.record([0; 6]));
        assert!(t.is_empty());
        assert!(!t.record([2, 0, 0, 0, 0, 1]));
        assert!(!t.record([2, 0, 0, 0, 0, 1]));
        assert!(!t.record([2, 0, 0, 0, 0, 2]));
        assert!(t.contains(&[2, 0, 0, 0, 0, 1]));
        assert!(t.record([2, 0, 0, 0, 0, 3]));
        assert_eq!((t.len(), t.evictions), (2, 1));
        assert!(!t.contains(&[2, 0, 0, 0, 0, 1]));
        assert!(t.contains(&[2, 0, 0, 0, 0, 3]));
    }

    #[test]
    fn arp_sender_fields() {
        // An ARP reply: 10.0.0.7 is at 00:1b:21:3c:4d:5e.
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 2];
        arp.extend([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 10, 0, 0, 7]);
        arp.extend([0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
        assert_eq!(
            arp_sender(&arp),
            Some((
                [0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e],
                Ipv4Addr::new(10, 0, 0, 7)
            ))
        );
        assert_eq!(arp_sender(&arp[..17]), None);
        arp[5] = 16; // IPv6-sized protocol addresses: not ours
        assert_eq!(arp_sender(&arp), None);
    }

    /// The table against a plain model (entries in the order of their
    /// last records, the first evicted, ARP not replaced by a frame's
    /// address) over random records of a few MACs and addresses, junk
    /// included, at small caps: the two recent entries' values and order
    /// kept beside the table give the same lookups, sizes and evictions.
    #[test]
    fn mac_table_matches_a_plain_lru_model() {
        let macs: [Mac; 6] = [
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            [2, 0, 0, 0, 0, 3],
            [2, 0, 0, 0, 0, 4],
            [1, 0, 0, 0, 0, 5],
            [0; 6],
        ];
        let ips = [
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 1),
        ];
        let mut next = crate::util::test_rng::xorshift(0x5851_f42d_4c95_7f2d);
        for cap in 1..=4 {
            let mut t = MacIpv4Table::new(cap);
            let mut model: Vec<(Mac, (Ipv4Addr, Provenance))> = Vec::new();
            let mut model_evictions = 0u64;
            for step in 0..20_000 {
                let r = next();
                // Mostly the first two MACs, as a connection's two sides.
                let mac = macs[if r & 3 != 0 { (r >> 2) as usize % 2 } else { (r >> 2) as usize % 6 }];
                let ip = ips[(r >> 8) as usize % if r >> 12 & 7 == 0 { 6 } else { 3 }];
                let how = if r >> 16 & 7 == 0 {
                    Provenance::Arp
                } else {
                    Provenance::Ipv4Frame
                };
                let want = if !is_unicast_mac(&mac)
                    || ip.is_unspecified()
                    || ip.is_broadcast()
                    || ip.is_multicast()
                {
                    false
                } else if let Some(i) = model.iter().position(|(m, _)| *m == mac) {
                    let (m, mut v) = model.remove(i);
                    if how >= v.1 {
                        v = (ip, how);
                    }
                    model.push((m, v));
                    false
                } else {
                    model.push((mac, (ip, how)));
                    if model.len() > cap {
                        model.remove(0);
                        model_evictions += 1;
                        true
                    } else {
                        false
                    }
                };
                assert_eq!(t.record(mac, ip, how), want, "cap {cap} step {step}");
                assert_eq!(t.len(), model.len(), "cap {cap} step {step}");
                assert_eq!(t.evictions, model_evictions, "cap {cap} step {step}");
                for m in &macs {
                    let in_model = model.iter().find(|(k, _)| k == m).map(|(_, v)| v.0);
                    assert_eq!(t.lookup(m), in_model, "cap {cap} step {step}");
                }
            }
        }
    }

    #[test]
    fn mac_table_budget_sheds_the_oldest() {
        use crate::util::budget::{Budget, Pool};
        let per = Lru::<Mac, (Ipv4Addr, Provenance)>::entry_bytes();
        let budget = Budget::new(4 * per);
        let mut t = MacIpv4Table::new(1000);
        t.set_budget(budget.clone());
        for i in 0..10u8 {
            t.record(
                [2, 0, 0, 0, 0, i],
                Ipv4Addr::new(10, 0, 0, i + 1),
                Provenance::Arp,
            );
        }
        assert_eq!((t.len(), t.evictions), (4, 6));
        assert_eq!(budget.evictions(Pool::LinkLocal), 6);
        assert_eq!(budget.pool_used(Pool::LinkLocal), 4 * per);
        assert_eq!(
            t.lookup(&[2, 0, 0, 0, 0, 9]),
            Some(Ipv4Addr::new(10, 0, 0, 10))
        );
        drop(t);
        assert_eq!(budget.used(), 0);
    }
}
