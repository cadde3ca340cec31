//! Checksum validation, so a segment the decky's kernel dropped for its bad
//! checksum (an insertion: a harmless decoy ClientHello or User-Agent sent
//! first with a broken checksum, the real one after it at the same
//! sequence numbers) never reaches reassembly or fingerprinting.
//!
//! Captures taken on a host with checksum offload carry bad checksums on
//! that host's own packets (the NIC fills them in after the capture), so
//! validation follows Suricata's `checksum-validation: auto` idea for each
//! direction of each connection (a host may offload TCP and not UDP, so
//! nothing wider is safe): its packets are validated while most of its
//! checked packets carry good checksums, and not once most carry bad ones
//! (counted when that happens). An offloaded direction is bad from its
//! first packet on; an inserted decoy after a good SYN is dropped. Only
//! packets that reach an analyzer are checked: TCP segments with data or
//! SYN, UDP datagrams with data.
//!
//! A TCP direction whose SYN (or SYN-ACK) carried a good checksum is not
//! offloaded, and stays validated whatever follows: the decky's kernel only
//! accepted the connection because that SYN was good, so an attacker cannot
//! open a real connection, send a few bad-checksum segments to make the
//! majority bad, and then slip a decoy past the gate. (Offload makes every
//! packet of the capturing host bad, its SYNs included.)

use std::net::IpAddr;

use crate::decode::{IpView, Packet, Transport};

use super::{Counter, Stats};

/// Good and bad checksums seen from one pool of senders.
#[derive(Debug, Default, Clone, Copy)]
struct Pool {
    good: u64,
    bad: u64,
    off: bool,
    /// The direction's SYN or SYN-ACK had a good checksum: never offloaded.
    pinned: bool,
}

impl Pool {
    /// Records one verdict; returns whether the packet is admitted.
    fn admit(&mut self, good: bool, handshake: bool, stats: &mut Stats) -> bool {
        if handshake && good {
            self.pinned = true;
        }
        if self.pinned {
            if !good {
                stats.bump(Counter::ChecksumBadDropped);
            }
            return good;
        }
        if good {
            self.good += 1;
        } else {
            self.bad += 1;
        }
        let off = self.bad > self.good;
        if off && !self.off {
            stats.bump(Counter::ChecksumValidationTurnedOff);
        }
        self.off = off;
        if good {
            return true;
        }
        if off {
            stats.bump(Counter::ChecksumBadAcceptedOffload);
            true
        } else {
            stats.bump(Counter::ChecksumBadDropped);
            false
        }
    }
}

/// The largest IP packet an Ethernet link carries without jumbo frames.
const WIRE_MTU: usize = 1500;

/// Directions tracked at most; when full the table starts over (counted
/// as `checksum_directions_reset`), which only forgets past verdicts.
const MAX_DIRECTIONS: usize = 16_384;

/// One direction of an IPv6 connection: source and destination address,
/// then ports and protocol. Plain integers hash in three steps where the
/// `IpAddr` tuple took eleven.
type OneWay6 = (u128, u128, u64);

/// One direction of an IPv4 connection: source and destination address,
/// then ports and protocol; 16 bytes, so the table's entries are half the
/// size of the IPv6 ones and hash in two steps.
type OneWay4 = (u64, u64);

/// One direction of a connection, keyed by its address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneWay {
    V4(OneWay4),
    V6(OneWay6),
}

fn one_way(src: &IpAddr, sport: u16, dst: &IpAddr, dport: u16, proto: u8) -> OneWay {
    let ports = u64::from(sport) << 32 | u64::from(dport) << 16 | u64::from(proto) << 8;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => OneWay::V4((
            u64::from(u32::from(*s)) << 32 | u64::from(u32::from(*d)),
            ports,
        )),
        _ => {
            // An IPv4 address beside an IPv6 one does not come out of the
            // decoder; keyed by its mapped form and the source's family.
            let addr = |a: &IpAddr| match a {
                IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                IpAddr::V6(v6) => u128::from(*v6),
            };
            OneWay::V6((addr(src), addr(dst), ports | u64::from(src.is_ipv4())))
        }
    }
}

/// Direction -> its pool's place in [`ChecksumGate::pools`].
type Table<K> = hashbrown::HashMap<K, u32, ahash::RandomState>;

/// Pairs of slots of [`ChecksumGate::recent4`] (a power of two).
const RECENT_PAIRS: usize = 128;

/// The validation state of one capture (engine or router).
#[derive(Debug)]
pub struct ChecksumGate {
    /// IPv4 and IPv6 directions, `MAX_DIRECTIONS` of both together, with
    /// where their pools are.
    v4: Table<OneWay4>,
    v6: Table<OneWay6>,
    /// The pools, in the order their directions came.
    pools: Vec<Pool>,
    /// Recently judged IPv4 directions and their pools' places, in a pair
    /// of slots chosen by a multiplicative hash of the direction (`(0,
    /// 0)`: empty; a real key's ports word holds its protocol); a newcomer
    /// takes the first of its pair and moves the first to the second.
    /// A pool stays where it is until the tables start over, which
    /// empties the slots too: so the busy directions of a transfer are
    /// judged without a table lookup.
    recent4: Box<[[(OneWay4, u32); 2]; RECENT_PAIRS]>,
}

impl Default for ChecksumGate {
    fn default() -> Self {
        ChecksumGate {
            v4: Table::default(),
            v6: Table::default(),
            pools: Vec::new(),
            recent4: Box::new([[((0, 0), 0); 2]; RECENT_PAIRS]),
        }
    }
}

/// The [`ChecksumGate::recent4`] pair of an IPv4 direction.
fn recent_pair(k: &OneWay4) -> usize {
    let mixed = (k.0 ^ k.1.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - RECENT_PAIRS.trailing_zeros())) as usize
}

impl ChecksumGate {
    /// Whether `pkt` may go on to the analyzers.
    pub fn admit(&mut self, pkt: &Packet<'_>, stats: &mut Stats) -> bool {
        let Some(good) = verdict(pkt) else {
            return true;
        };
        let (key, handshake) = match pkt.transport {
            Transport::Tcp(t) => (
                one_way(&pkt.ip.src, t.src_port(), &pkt.ip.dst, t.dst_port(), 6),
                t.is_syn() || t.is_synack(),
            ),
            Transport::Udp(u) => (
                one_way(&pkt.ip.src, u.src_port(), &pkt.ip.dst, u.dst_port(), 17),
                false,
            ),
            _ => return true,
        };
        self.admit_key(key, good, handshake, stats)
    }

    /// Records a verdict on `key`'s direction; whether the packet is
    /// admitted.
    fn admit_key(&mut self, key: OneWay, good: bool, handshake: bool, stats: &mut Stats) -> bool {
        let at = match key {
            OneWay::V4(k) => {
                let pair = recent_pair(&k);
                match self.recent4[pair] {
                    [(known, at), _] | [_, (known, at)] if known == k => at as usize,
                    _ => {
                        let at = self.pool_index(key, stats);
                        // Read after: a reset there empties the pair.
                        let first = self.recent4[pair][0];
                        self.recent4[pair] = [(k, at as u32), first];
                        at
                    }
                }
            }
            OneWay::V6(_) => self.pool_index(key, stats),
        };
        self.pools[at].admit(good, handshake, stats)
    }

    /// Where the pool of `key`'s direction is, a new one when it is new
    /// (the tables start over first when full).
    fn pool_index(&mut self, key: OneWay, stats: &mut Stats) -> usize {
        let known = |gate: &Self| match &key {
            OneWay::V4(k) => gate.v4.contains_key(k),
            OneWay::V6(k) => gate.v6.contains_key(k),
        };
        if self.len() >= MAX_DIRECTIONS && !known(self) {
            self.v4.clear();
            self.v6.clear();
            self.pools.clear();
            self.recent4.fill([((0, 0), 0); 2]);
            stats.bump(Counter::ChecksumDirectionsReset);
        }
        let next = self.pools.len() as u32;
        let at = match key {
            OneWay::V4(k) => *self.v4.entry(k).or_insert(next),
            OneWay::V6(k) => *self.v6.entry(k).or_insert(next),
        };
        if at == next {
            self.pools.push(Pool::default());
        }
        at as usize
    }

    /// Directions tracked.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the packet's checksums are right; `None` when it is not checked
/// (nothing for an analyzer, or cut short by the snap length).
fn verdict(pkt: &Packet<'_>) -> Option<bool> {
    let ip = &pkt.ip;
    let (proto, field_at) = match pkt.transport {
        Transport::Tcp(tcp) if !tcp.payload.is_empty() || tcp.is_syn() || tcp.is_synack() => {
            (6u8, 16)
        }
        Transport::Udp(udp) if !udp.payload.is_empty() => (17u8, 6),
        _ => return None,
    };
    let segment = ip.payload;
    let stated = (ip.total_len as usize).checked_sub(ip.header_len())?;
    if segment.len() != stated || segment.len() < field_at + 2 {
        return None;
    }
    if ip.total_len as usize > WIRE_MTU {
        // Larger than an Ethernet frame carries: coalesced by the capturing
        // host (GRO) or not yet segmented (TSO), checksum never final.
        return None;
    }
    if ip.version == 4 && fold(header_sum(ip.header_bytes())) != 0xffff {
        return Some(false);
    }
    if proto == 17 && segment[6] == 0 && segment[7] == 0 {
        // No checksum: allowed for IPv4, never for IPv6 (RFC 8200 8.1).
        return Some(ip.version == 4);
    }
    Some(fold(pseudo_header(ip, proto, segment.len()) + sum(segment)) == 0xffff)
}

fn pseudo_header(ip: &IpView<'_>, proto: u8, len: usize) -> u64 {
    addr_words(&ip.src) + addr_words(&ip.dst) + u64::from(proto) + len as u64
}

/// The sum of an address's 16-bit big-endian words, unfolded (the same
/// value as [`sum`] of its octets in one's complement arithmetic).
fn addr_words(a: &IpAddr) -> u64 {
    let halves = |w: u32| u64::from(w >> 16) + u64::from(w & 0xffff);
    match a {
        IpAddr::V4(v4) => halves(u32::from(*v4)),
        IpAddr::V6(v6) => v6
            .octets()
            .chunks_exact(4)
            .map(|w| halves(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
            .sum(),
    }
}

/// [`sum`] of an IPv4 header: the usual 20 bytes as five 32-bit words,
/// inline (the general loop's set-up was most of its cost there).
#[inline]
fn header_sum(header: &[u8]) -> u64 {
    match <&[u8; 20]>::try_from(header) {
        Ok(h) => {
            let acc = h
                .chunks_exact(4)
                .map(|w| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
                .sum::<u64>();
            u64::from(u16::from_be(fold(acc)))
        }
        Err(_) => sum(header),
    }
}

/// One's complement sum of 16-bit big-endian words, folded to 16 bits.
///
/// Native-endian words are summed and the result byte-swapped at the end:
/// a one's complement sum does not depend on byte order (RFC 1071 section
/// 2). Whole 32-byte blocks are summed as 64-bit words into four 128-bit
/// totals (an add and an add-with-carry per word, four independent
/// chains: half the instructions of the vectorised 32-bit loop on a
/// baseline x86-64), which cannot overflow; the total's 32-bit pieces are
/// added up after (2^32 is 1 in one's complement arithmetic).
fn sum(bytes: &[u8]) -> u64 {
    let mut totals = [0u128; 4];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (i, total) in totals.iter_mut().enumerate() {
            let w = &b[8 * i..8 * i + 8];
            *total += u128::from(u64::from_ne_bytes([
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
            ]));
        }
    }
    let total: u128 = totals.iter().sum();
    let mut acc = (0..4)
        .map(|piece| (total >> (32 * piece)) as u64 & 0xffff_ffff)
        .sum::<u64>();
    let mut words = blocks.remainder().chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    // The rest starts at an even offset, so its pairs are the words.
    for pair in words.remainder().chunks(2) {
        acc += u64::from(u16::from_ne_bytes([
            pair[0],
            pair.get(1).copied().unwrap_or(0),
        ]));
    }
    u64::from(u16::from_be(fold(acc)))
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{linktype, RawPacket};
    use crate::decode::decode;
    use crate::util::time::Timestamp;

    /// IPv4 + TCP (PSH/ACK with `payload`) with correct checksums; `break_it`
    /// flips one bit of the TCP checksum.
    fn segment(payload: &[u8], break_it: bool) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 5]);
        let c = !fold(sum(&p[..20]));
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&443u16.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = 0x18;
        p.extend_from_slice(payload);
        let pseudo = sum(&p[12..20]) + 6 + (20 + payload.len()) as u64;
        let c = !fold(pseudo + sum(&p[20..]));
        p[36..38].copy_from_slice(&(c ^ u16::from(break_it)).to_be_bytes());
        p
    }

    fn check(frame: &[u8]) -> Option<bool> {
        let raw = RawPacket {
            ts: Timestamp::default(),
            linktype: linktype::RAW,
            data: frame,
            orig_len: frame.len() as u32,
        };
        verdict(&decode(&raw).unwrap())
    }

    /// The word-wise sum against RFC 1071's 16-bit loop, on every length
    /// and alignment up to 80 bytes and on all-ones words (the carries).
    #[test]
    fn sum_matches_the_16_bit_definition() {
        fn reference(bytes: &[u8]) -> u16 {
            let mut acc = 0u64;
            for pair in bytes.chunks(2) {
                acc += u64::from(pair[0]) << 8 | u64::from(pair.get(1).copied().unwrap_or(0));
            }
            fold(acc)
        }
        let mut data: Vec<u8> = (0..96u32)
            .map(|i| (i.wrapping_mul(151) ^ 0x5a) as u8)
            .collect();
        for start in 0..8 {
            for end in start..=80 {
                let b = &data[start..end];
                assert_eq!(fold(sum(b)), reference(b), "{start}..{end}");
            }
        }
        data.iter_mut().for_each(|b| *b = 0xff);
        for len in [0, 1, 2, 7, 8, 9, 16, 65, 96] {
            assert_eq!(
                fold(sum(&data[..len])),
                reference(&data[..len]),
                "ones {len}"
            );
        }
        let big = vec![0xffu8; 65_535];
        assert_eq!(fold(sum(&big)), reference(&big));
        // A long run of blocks.
        let huge: Vec<u8> = (0..300_001u32).map(|i| (i % 251) as u8 | 0xc0).collect();
        assert_eq!(fold(sum(&huge)), reference(&huge));
    }

    #[test]
    fn header_sum_is_sum() {
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        for len in [0usize, 19, 20, 21, 24, 60] {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                assert_eq!(fold(header_sum(&bytes)), fold(sum(&bytes)), "{len}");
            }
        }
        let ones = [0xffu8; 20];
        assert_eq!(fold(header_sum(&ones)), fold(sum(&ones)));
    }

    #[test]
    fn address_words_sum_as_their_octets() {
        for a in [
            "0.0.0.0",
            "198.51.100.1",
            "255.255.255.255",
            "::",
            "2001:db8::ffff:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            let octets = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            assert_eq!(fold(addr_words(&ip)), fold(sum(&octets)), "{a}");
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(check(&segment(b"hello, odd length", false)), Some(true));
        assert_eq!(check(&segment(b"hello, odd length", true)), Some(false));
        let mut bad_ip = segment(b"x", false);
        bad_ip[8] = 63; // TTL changed, header checksum not updated
        assert_eq!(check(&bad_ip), Some(false));
        // A bare ACK is not checked; a packet cut by the snap length neither.
        let mut ack = segment(b"", true);
        ack[33] = 0x10;
        assert_eq!(check(&ack), None);
        let mut cut = segment(b"0123456789", false);
        cut.truncate(45);
        assert_eq!(check(&cut), None);
    }

    #[test]
    fn pools_turn_validation_off_when_most_are_bad() {
        let mut stats = Stats::default();
        let mut pool = Pool::default();
        assert!(pool.admit(true, false, &mut stats));
        assert!(
            !pool.admit(false, false, &mut stats),
            "most good: bad dropped"
        );
        assert!(
            pool.admit(false, false, &mut stats),
            "most bad now: offload"
        );
        assert_eq!(stats.get(Counter::ChecksumValidationTurnedOff), 1);
        assert_eq!(stats.get(Counter::ChecksumBadDropped), 1);
        assert_eq!(stats.get(Counter::ChecksumBadAcceptedOffload), 1);
        // A good SYN pins the direction: later bad segments are dropped
        // however many there are.
        let mut pool = Pool::default();
        assert!(pool.admit(true, true, &mut stats));
        assert!((0..10).all(|_| !pool.admit(false, false, &mut stats)));
        assert_eq!(stats.get(Counter::ChecksumValidationTurnedOff), 1);
        // An offloaded capture from its first packet: nothing dropped.
        let mut pool = Pool::default();
        assert!((0..10).all(|_| pool.admit(false, false, &mut stats)));
    }

    type Direction = (IpAddr, u16, IpAddr, u16, u8);

    /// Good, bad, offloaded, pinned.
    type ReferencePool = (u64, u64, bool, bool);

    /// The pool logic and the table's reset, written out plainly over
    /// `IpAddr` keys, for [`split_tables_match_one_table_keyed_by_address`].
    #[derive(Default)]
    struct Reference {
        directions: std::collections::HashMap<Direction, ReferencePool>,
        turned_off: u64,
        dropped: u64,
        accepted: u64,
        resets: u64,
    }

    impl Reference {
        fn admit(
            &mut self,
            key: (IpAddr, u16, IpAddr, u16, u8),
            good: bool,
            handshake: bool,
        ) -> bool {
            if self.directions.len() >= MAX_DIRECTIONS && !self.directions.contains_key(&key) {
                self.directions.clear();
                self.resets += 1;
            }
            let (g, b, off, pinned) = self.directions.entry(key).or_default();
            *pinned |= handshake && good;
            if *pinned {
                self.dropped += u64::from(!good);
                return good;
            }
            *g += u64::from(good);
            *b += u64::from(!good);
            let now_off = *b > *g;
            self.turned_off += u64::from(now_off && !*off);
            *off = now_off;
            if !good && now_off {
                self.accepted += 1;
            } else if !good {
                self.dropped += 1;
            }
            good || now_off
        }
    }

    /// IPv4 and IPv6 directions in their two tables give the verdicts and
    /// counters of one table keyed by the whole addresses, over a random
    /// mix of families, mapped addresses, ports, protocols, handshakes and
    /// bad checksums, and across resets of the full table (the recent
    /// IPv4 directions' slots included).
    #[test]
    fn split_tables_match_one_table_keyed_by_address() {
        let addrs: Vec<IpAddr> = [
            "192.0.2.1",
            "192.0.2.2",
            "10.0.0.5",
            "::ffff:192.0.2.1",
            "::ffff:192.0.2.2",
            "2001:db8::1",
            "2001:db8::2",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        let mut gate = ChecksumGate::default();
        let mut stats = Stats::default();
        let mut reference = Reference::default();
        let mut next = crate::util::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for step in 0..60_000u32 {
            let r = next();
            let v6 = r & 1 == 1;
            let pick = |i: u64| {
                addrs[(i % 3) as usize + if v6 { 3 } else { 0 } + usize::from(v6 && i % 3 == 2)]
            };
            let (src, dst) = (pick(r >> 1), pick(r >> 3));
            // Now and then a never-seen port, to fill the table past its cap.
            let sport = if step % 2 == 0 {
                (step % 65_536) as u16
            } else {
                1000 + (r >> 5) as u16 % 3
            };
            let dport = [80, 443, 1000][(r >> 9) as usize % 3];
            let proto = if r >> 12 & 1 == 0 { 6 } else { 17 };
            let good = r >> 13 & 3 != 0;
            let handshake = proto == 6 && r >> 15 & 7 == 0;
            let got = gate.admit_key(
                one_way(&src, sport, &dst, dport, proto),
                good,
                handshake,
                &mut stats,
            );
            let want = reference.admit((src, sport, dst, dport, proto), good, handshake);
            assert_eq!(got, want, "step {step}");
            assert_eq!(gate.len(), reference.directions.len(), "step {step}");
        }
        assert!(reference.resets > 0, "the table filled up");
        assert!(reference.accepted > 0 && reference.turned_off > 0 && reference.dropped > 0);
        assert_eq!(
            stats.get(Counter::ChecksumDirectionsReset),
            reference.resets
        );
        assert_eq!(
            stats.get(Counter::ChecksumValidationTurnedOff),
            reference.turned_off
        );
        assert_eq!(stats.get(Counter::ChecksumBadDropped), reference.dropped);
        assert_eq!(
            stats.get(Counter::ChecksumBadAcceptedOffload),
            reference.accepted
        );
    }

    /// A direction judged from its recent slot is forgotten with the
    /// table: after the reset its first bad packet is a new direction's
    /// (mostly bad: taken for offload), not a pinned one's.
    #[test]
    fn recent_slots_start_over_with_the_table() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "10.0.0.5".parse().unwrap();
        let mut gate = ChecksumGate::default();
        let mut stats = Stats::default();
        let pinned = one_way(&a, 40000, &b, 80, 6);
        assert!(gate.admit_key(pinned, true, true, &mut stats));
        assert!(!gate.admit_key(pinned, false, false, &mut stats));
        assert!(gate.admit_key(pinned, true, false, &mut stats));
        assert_eq!(stats.get(Counter::ChecksumBadDropped), 1);
        for port in 0..MAX_DIRECTIONS as u16 {
            gate.admit_key(one_way(&b, port, &a, 80, 17), true, false, &mut stats);
        }
        assert_eq!(stats.get(Counter::ChecksumDirectionsReset), 1);
        assert!(gate.admit_key(pinned, false, false, &mut stats));
        assert_eq!(stats.get(Counter::ChecksumBadAcceptedOffload), 1);
        assert_eq!(stats.get(Counter::ChecksumBadDropped), 1);
    }

    #[test]
    fn directions_keep_every_part_of_the_key_apart() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let base = one_way(&v4, 1000, &other, 80, 6);
        let variants = [
            one_way(&mapped, 1000, &other, 80, 6),
            one_way(&other, 1000, &v4, 80, 6),
            one_way(&v4, 80, &other, 1000, 6),
            one_way(&v4, 1001, &other, 80, 6),
            one_way(&v4, 1000, &other, 81, 6),
            one_way(&v4, 1000, &other, 80, 17),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
        assert_eq!(one_way(&v4, 1000, &other, 80, 6), base);
    }
}
