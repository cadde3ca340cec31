//! IPv4 and IPv6 fragment reassembly, by the rules of the Linux kernel the
//! deckies run on (net/ipv4/inet_fragment.c, ip_fragment.c and
//! net/ipv6/reassembly.c, Linux 4.19 and later), so the sensor sees the
//! datagram the decky accepted and nothing it refused:
//!
//! - a piece that overlaps another discards the whole datagram (RFC 5722
//!   for IPv6, Linux 4.19 for IPv4), except that a piece lying wholly
//!   within a run of pieces already received is a duplicate: it alone is
//!   dropped;
//! - a last piece that contradicts the known end, a piece past the known
//!   end, or an empty piece is dropped alone;
//! - an IPv4 piece with more to come is cut to a multiple of 8 bytes; an
//!   IPv6 one that is not a multiple of 8 is dropped (RFC 8200 4.5);
//! - an IPv6 first piece without the whole upper-layer header is dropped
//!   (RFC 8200 4.5); an IPv4 one is kept (Linux does) and counted as tiny;
//! - a datagram still incomplete 30 s (packet time) after its first piece
//!   arrived is dropped.
//!
//! Bounded: a byte cap counting the pieces' real allocations and each
//! datagram's bookkeeping, a share of it per source address, and at most
//! [`MAX_PIECES`] pieces per datagram. Every drop has a named counter.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::decode::{self, Fragment, Packet, Transport};
use crate::stats::Stats;
use crate::util::budget::{heap_cost, Budget, Charge, Pool};
use crate::util::counter::Counter;
use crate::util::time::Timestamp;

/// Default byte cap (Linux's `ipfrag_high_thresh` is 4 MiB too).
pub const DEFAULT_BYTES: usize = 4 << 20;
/// Linux's `ipfrag_time`: a datagram's pieces are kept this long.
pub const TIMEOUT_SECS: i64 = 30;
/// Pieces per datagram. `nmap --mtu 8` cuts a SYN into 3 to 5; a 1500-byte
/// ClientHello in 8-byte pieces needs 188.
pub const MAX_PIECES: usize = 256;
/// Bookkeeping per datagram beyond its pieces: the entry, its key in the
/// order index, its source's entry in the per-source index, hash and tree
/// overhead.
const DATAGRAM_OVERHEAD: usize = std::mem::size_of::<Datagram>()
    + 2 * std::mem::size_of::<Key>()
    + std::mem::size_of::<(IpAddr, usize)>()
    + 64;
const PIECE_OVERHEAD: usize = std::mem::size_of::<Piece>() + std::mem::size_of::<(u32, u32)>();
/// Largest IPv6 payload and IPv4 total length.
const MAX_LEN: u32 = 65_535;

/// A datagram put back together, with what the frames carrying its first
/// piece told about the link.
#[derive(Debug)]
pub struct Reassembled {
    /// The whole IP packet, header rewritten as unfragmented.
    pub bytes: Vec<u8>,
    pub src_mac: Option<[u8; 6]>,
    pub tunnel_depth: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    /// IPv4's protocol (part of its key); 0 for IPv6.
    protocol: u8,
}

struct Piece {
    offset: u32,
    data: Box<[u8]>,
}

struct Datagram {
    /// Position in the creation order.
    seq: u64,
    created: Timestamp,
    /// Fragmentable length: exact once the last piece came, else the
    /// furthest end seen.
    len: u32,
    last_in: bool,
    /// Bytes of payload held (no overlaps, so full when it equals `len`).
    meat: u32,
    /// Pieces by offset.
    pieces: Vec<Piece>,
    /// Runs of pieces appended end to end at the tail, as Linux keeps them:
    /// a piece wholly inside one is a duplicate.
    runs: Vec<(u32, u32)>,
    /// Start and end of the piece with the furthest end.
    tail: (u32, u32),
    /// The unfragmentable part from the first piece: the IPv4 header, or
    /// the IPv6 header and extension headers before the Fragment header.
    head: Option<Box<[u8]>>,
    /// IPv6: the Next Header byte to rewrite in `head`, and its value.
    v6_next_at: usize,
    v6_next: u8,
    src_mac: Option<[u8; 6]>,
    tunnel_depth: u8,
    /// Bytes charged to the cap for this datagram.
    bytes: usize,
}

enum Insert {
    Ok,
    Duplicate,
    Overlap,
}

/// Datagrams being reassembled.
pub struct DefragTable {
    datagrams: HashMap<Key, Datagram>,
    /// Creation order, for timeouts and eviction.
    order: BTreeMap<u64, Key>,
    /// Bytes held per source address.
    per_source: HashMap<IpAddr, usize>,
    next_seq: u64,
    bytes: usize,
    cap: usize,
    source_cap: usize,
    /// Datagrams evicted to stay within the byte cap or the budget.
    pub evictions: u64,
    /// `bytes`, charged to the memory budget (`--memcap`).
    budget: Charge,
}

impl Default for DefragTable {
    fn default() -> Self {
        DefragTable::new(DEFAULT_BYTES)
    }
}

impl DefragTable {
    /// A table holding at most `cap` bytes of pieces and bookkeeping (the
    /// share of the global memory budget for fragments); one source may
    /// hold a quarter of it (at least 256 KiB, four largest datagrams, when
    /// the cap allows).
    pub fn new(cap: usize) -> Self {
        DefragTable {
            datagrams: HashMap::new(),
            order: BTreeMap::new(),
            per_source: HashMap::new(),
            next_seq: 0,
            bytes: 0,
            cap,
            source_cap: (cap / 4).max(cap.min(256 * 1024)),
            evictions: 0,
            budget: Charge::new(Budget::unlimited(), Pool::Fragments),
        }
    }

    /// Charges `budget` (pool `ip_fragments`) from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget.set_budget(budget);
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// Bytes charged to the cap.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops datagrams whose time is up at `now`.
    #[inline]
    pub fn expire(&mut self, now: Timestamp, stats: &mut Stats) {
        // Called at every new packet time; usually no datagram is waiting.
        if !self.order.is_empty() {
            self.expire_some(now, stats);
        }
    }

    fn expire_some(&mut self, now: Timestamp, stats: &mut Stats) {
        while let Some((&seq, &key)) = self.order.iter().next() {
            let created = self.datagrams.get(&key).map_or(now, |d| d.created);
            if now.secs.saturating_sub(created.secs) < TIMEOUT_SECS
                || (now.secs - created.secs == TIMEOUT_SECS && now.nanos < created.nanos)
            {
                break;
            }
            self.order.remove(&seq);
            self.remove(&key);
            stats.bump(Counter::IpFragmentDatagramsExpired);
        }
    }

    /// Takes one piece; returns the datagram when this piece completes it.
    pub fn push(
        &mut self,
        pkt: &Packet<'_>,
        now: Timestamp,
        stats: &mut Stats,
    ) -> Option<Reassembled> {
        let Fragment::Piece(info) = pkt.ip.fragment else {
            return None;
        };
        self.expire(now, stats);
        stats.bump(Counter::IpFragments);
        let ip = &pkt.ip;
        let v6 = ip.version == 6;
        // The bytes the IP header vouches for must all be in the capture.
        let stated = (ip.total_len as usize).saturating_sub(ip.header_len());
        if ip.payload.len() < stated {
            stats.bump(Counter::IpFragmentsTruncated);
            return None;
        }
        let mut data = ip.payload;
        if info.more && data.len() % 8 != 0 {
            if v6 {
                stats.bump(Counter::IpFragmentsBadLength);
                return None;
            }
            data = &data[..data.len() & !7];
        }
        let offset = info.offset;
        let end = offset + data.len() as u32;
        if end == offset {
            stats.bump(Counter::IpFragmentsEmpty);
            return None;
        }
        let head_len = if v6 {
            usize::from(info.v6_frag_at)
        } else {
            ip.header_len()
        };
        if end as usize + if v6 { head_len - 40 + 8 } else { head_len } > MAX_LEN as usize {
            stats.bump(Counter::IpFragmentsOversize);
            return None;
        }
        if offset == 0 && upper_header_short(ip.protocol, data) {
            stats.bump(Counter::IpFragmentsTiny);
            if v6 {
                return None;
            }
        }
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: info.id,
            protocol: if v6 { 0 } else { ip.protocol },
        };
        if let Some(d) = self.datagrams.get(&key) {
            if !consistent_end(d.len, d.last_in, end, info.more) {
                stats.bump(Counter::IpFragmentsInconsistent);
                return None;
            }
        }
        let charge = heap_cost(data.len())
            + PIECE_OVERHEAD
            + if offset == 0 { heap_cost(head_len) } else { 0 };
        if !self.datagrams.contains_key(&key) {
            if !self.make_room(&key, charge + DATAGRAM_OVERHEAD, stats) {
                return None;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.order.insert(seq, key);
            self.datagrams.insert(key, Datagram::new(seq, now));
            self.charge(&key, DATAGRAM_OVERHEAD);
        } else if !self.make_room(&key, charge, stats) {
            return None;
        }
        let d = self.datagrams.get_mut(&key)?;
        match d.insert(offset, end) {
            Insert::Duplicate => {
                stats.bump(Counter::IpFragmentsDuplicate);
                return None;
            }
            Insert::Overlap => {
                stats.bump(Counter::IpFragmentDatagramsOverlap);
                self.discard(&key);
                return None;
            }
            Insert::Ok => {}
        }
        if info.more {
            d.len = d.len.max(end);
        } else {
            d.last_in = true;
            d.len = end;
        }
        d.meat += end - offset;
        let at = d.pieces.partition_point(|p| p.offset < offset);
        d.pieces.insert(
            at,
            Piece {
                offset,
                data: data.into(),
            },
        );
        if offset == 0 {
            d.head = Some(ip.header_bytes()[..head_len].into());
            d.v6_next_at = usize::from(info.v6_next_at);
            d.v6_next = info.v6_next;
            d.src_mac = pkt.src_mac;
            d.tunnel_depth = pkt.tunnel_depth;
        }
        let too_many = d.pieces.len() > MAX_PIECES;
        let complete = d.last_in && d.head.is_some() && d.meat == d.len;
        self.charge(&key, charge);
        self.shed_for_budget(&key, stats);
        if too_many {
            stats.bump(Counter::IpFragmentDatagramsTooManyPieces);
            self.discard(&key);
            return None;
        }
        if !complete {
            return None;
        }
        let d = self.discard(&key)?;
        stats.bump(Counter::IpFragmentDatagramsReassembled);
        Some(d.assemble(v6))
    }

    /// [`Self::push`], and when the datagram it completes is itself a
    /// piece (a fragmented packet inside a fragmented tunnel), that piece
    /// too, and so on: the datagram returned decodes to a whole packet or
    /// to an error for the caller to count.
    pub fn push_nested(
        &mut self,
        pkt: &Packet<'_>,
        now: Timestamp,
        stats: &mut Stats,
        opens: decode::OpensTunnel<'_>,
    ) -> Option<Reassembled> {
        let mut whole = self.push(pkt, now, stats)?;
        // Each round peels a tunnel, so the decoder's tunnel limit ends it.
        loop {
            let next = match decode::decode_reassembled(
                &whole.bytes,
                whole.src_mac,
                whole.tunnel_depth,
                opens,
            ) {
                Ok(inner) if matches!(inner.transport, Transport::Fragment) => {
                    if inner.tunnel_depth <= whole.tunnel_depth {
                        // A fragment inside itself: no tunnel was peeled.
                        stats.bump(Counter::IpFragmentsNestedWithoutTunnel);
                        return None;
                    }
                    self.push(&inner, now, stats)
                }
                _ => return Some(whole),
            };
            whole = next?;
        }
    }

    /// Makes room for `need` more bytes for `key`'s source, evicting the
    /// oldest other datagrams from the global cap; false (and counted)
    /// when the source's share or the cap cannot hold them.
    fn make_room(&mut self, key: &Key, need: usize, stats: &mut Stats) -> bool {
        let held = self.per_source.get(&key.src).copied().unwrap_or(0);
        // With a cap too small to share, one source may use it all (and
        // evict its own oldest datagrams).
        if self.source_cap < self.cap && held + need > self.source_cap {
            stats.bump(Counter::IpFragmentsSourceBudget);
            return false;
        }
        while self.bytes + need > self.cap {
            let oldest = self.order.values().copied().find(|k| k != key);
            let Some(oldest) = oldest else {
                stats.bump(Counter::IpFragmentsMemcap);
                return false;
            };
            self.discard(&oldest);
            self.evictions += 1;
            stats.bump(Counter::IpFragmentDatagramsEvicted);
        }
        true
    }

    /// While the memory budget is over its cap, drops the oldest
    /// datagrams other than `key`'s (the piece at hand is never refused).
    fn shed_for_budget(&mut self, key: &Key, stats: &mut Stats) {
        while self.budget.budget().over() {
            let Some(oldest) = self.order.values().copied().find(|k| k != key) else {
                return;
            };
            self.discard(&oldest);
            self.evictions += 1;
            self.budget.note_eviction();
            stats.bump(Counter::IpFragmentDatagramsMemcapEvicted);
        }
    }

    /// While the memory budget is over its cap, drops the oldest
    /// datagrams (the engine's shedding: pieces waiting for the rest of
    /// a datagram go before any flow's state).
    pub fn shed(&mut self, stats: &mut Stats) {
        while self.budget.budget().over() {
            let Some((_, &oldest)) = self.order.iter().next() else {
                return;
            };
            self.discard(&oldest);
            self.evictions += 1;
            self.budget.note_eviction();
            stats.bump(Counter::IpFragmentDatagramsMemcapEvicted);
        }
    }

    fn charge(&mut self, key: &Key, n: usize) {
        self.bytes += n;
        self.budget.settle(self.bytes);
        *self.per_source.entry(key.src).or_insert(0) += n;
        if let Some(d) = self.datagrams.get_mut(key) {
            d.bytes += n;
        }
    }

    /// Removes a datagram and its order entry, releasing its bytes.
    fn discard(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.remove(key)?;
        self.order.remove(&d.seq);
        Some(d)
    }

    /// Removes a datagram (not its order entry), releasing its bytes.
    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.datagrams.remove(key)?;
        self.bytes -= d.bytes;
        self.budget.settle(self.bytes);
        if let Some(held) = self.per_source.get_mut(&key.src) {
            *held -= d.bytes;
            if *held == 0 {
                self.per_source.remove(&key.src);
            }
        }
        Some(d)
    }
}

/// Linux's end checks: a last piece may not end before data already seen
/// nor move a known end; a piece may not reach past a known end.
fn consistent_end(len: u32, last_in: bool, end: u32, more: bool) -> bool {
    if more {
        !(end > len && last_in)
    } else {
        !(end < len || (last_in && end != len))
    }
}

/// The first piece stops inside the upper-layer header (an IPv6 first piece
/// must hold it whole; IPv4 tiny fragments are RFC 1858's filter evasion).
fn upper_header_short(protocol: u8, data: &[u8]) -> bool {
    let need = match protocol {
        6 => 20,
        17 | 58 | 1 => 8,
        _ => 0,
    };
    data.len() < need
}

impl Datagram {
    fn new(seq: u64, created: Timestamp) -> Self {
        Datagram {
            seq,
            created,
            len: 0,
            last_in: false,
            meat: 0,
            pieces: Vec::new(),
            runs: Vec::new(),
            tail: (0, 0),
            head: None,
            v6_next_at: 0,
            v6_next: 0,
            src_mac: None,
            tunnel_depth: 0,
            bytes: 0,
        }
    }

    /// Places `[offset, end)` among the runs the way Linux's
    /// `inet_frag_queue_insert` does.
    fn insert(&mut self, offset: u32, end: u32) -> Insert {
        if self.runs.is_empty() {
            self.runs.push((offset, end));
            self.tail = (offset, end);
            return Insert::Ok;
        }
        if self.tail.1 < end {
            // Past the tail: appended to its run when it starts where the
            // tail ends, a new run when after it, an overlap otherwise.
            if offset < self.tail.1 {
                return Insert::Overlap;
            }
            if offset == self.tail.1 {
                if let Some(run) = self.runs.iter_mut().find(|r| r.1 == offset) {
                    run.1 = end;
                }
            } else {
                self.runs.push((offset, end));
            }
            self.tail = (offset, end);
            return Insert::Ok;
        }
        for &(start, stop) in &self.runs {
            if end <= start || offset >= stop {
                continue;
            }
            return if offset >= start && end <= stop {
                Insert::Duplicate
            } else {
                Insert::Overlap
            };
        }
        self.runs.push((offset, end));
        Insert::Ok
    }

    /// The whole packet: the first piece's header marked unfragmented,
    /// then the pieces in order (they cover `[0, len)` exactly).
    fn assemble(self, v6: bool) -> Reassembled {
        let head = self.head.unwrap_or_default();
        let mut bytes = Vec::with_capacity(head.len() + self.len as usize);
        bytes.extend_from_slice(&head);
        if v6 {
            if let Some(b) = bytes.get_mut(self.v6_next_at) {
                *b = self.v6_next;
            }
            let payload = (head.len() - 40) as u32 + self.len;
            bytes[4..6].copy_from_slice(&(payload as u16).to_be_bytes());
        } else {
            let total = (head.len() as u32 + self.len) as u16;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            bytes[6] &= 0x40; // keep DF, clear MF and the offset
            bytes[7] = 0;
            bytes[10] = 0;
            bytes[11] = 0;
            let sum = ipv4_header_checksum(&bytes);
            bytes[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        for p in self.pieces {
            bytes.extend_from_slice(&p.data);
        }
        Reassembled {
            bytes,
            src_mac: self.src_mac,
            tunnel_depth: self.tunnel_depth,
        }
    }
}

/// The Internet checksum of an IPv4 header whose checksum field is zero.
fn ipv4_header_checksum(header: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in header.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        sum += hi | u32::from(pair.get(1).copied().unwrap_or(0));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{linktype, RawPacket};

    const SRC: [u8; 4] = [198, 51, 100, 7];
    const DST: [u8; 4] = [10, 0, 0, 5];

    /// A TCP segment of `len` bytes (header and payload, arbitrary bytes
    /// with a valid data offset).
    fn segment(len: usize) -> Vec<u8> {
        let mut t: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        t[12] = 5 << 4;
        t
    }

    /// An IPv4 piece of `l4` starting at `offset` bytes.
    fn v4_piece(id: u16, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut ip = vec![0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        let ff = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
        ip[6..8].copy_from_slice(&ff.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&SRC);
        ip[16..20].copy_from_slice(&DST);
        let c = ipv4_header_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(data);
        ip
    }

    /// An IPv6 piece: header, a destination-options header (unfragmentable
    /// part), the Fragment header, then `data`.
    fn v6_piece(id: u32, offset: usize, more: bool, next: u8, data: &[u8]) -> Vec<u8> {
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&((8 + 8 + data.len()) as u16).to_be_bytes());
        ip[6] = 60;
        ip[7] = 64;
        ip[8] = 0x20;
        ip[9] = 0x01;
        ip[23] = 7;
        ip[24] = 0x20;
        ip[25] = 0x01;
        ip[39] = 5;
        ip.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // dest opts, PadN
        let of = ((offset / 8) as u16) << 3 | u16::from(more);
        ip.extend_from_slice(&[next, 0]);
        ip.extend_from_slice(&of.to_be_bytes());
        ip.extend_from_slice(&id.to_be_bytes());
        ip.extend_from_slice(data);
        ip
    }

    fn feed(t: &mut DefragTable, stats: &mut Stats, secs: i64, frame: &[u8]) -> Option<Vec<u8>> {
        let raw = RawPacket {
            ts: Timestamp::new(secs, 0),
            linktype: linktype::RAW,
            data: frame,
            orig_len: frame.len() as u32,
        };
        let pkt = decode::decode(&raw).expect("decodes");
        assert!(matches!(pkt.transport, Transport::Fragment));
        t.push(&pkt, raw.ts, stats).map(|r| r.bytes)
    }

    fn payload_of(datagram: &[u8]) -> Vec<u8> {
        let raw = RawPacket {
            ts: Timestamp::default(),
            linktype: linktype::RAW,
            data: datagram,
            orig_len: datagram.len() as u32,
        };
        let pkt = decode::decode(&raw).expect("whole packet decodes");
        assert_eq!(pkt.ip.fragment, Fragment::None);
        pkt.ip.payload.to_vec()
    }

    #[test]
    fn syn_split_in_two_ipv4_pieces() {
        let seg = segment(40);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        assert!(feed(&mut t, &mut s, 1, &v4_piece(9, 0, true, &seg[..8])).is_none());
        let whole = feed(&mut t, &mut s, 1, &v4_piece(9, 8, false, &seg[8..])).unwrap();
        assert_eq!(payload_of(&whole), seg);
        assert_eq!(&whole[2..4], &60u16.to_be_bytes());
        assert_eq!(
            ipv4_header_checksum(&whole[..20]),
            0,
            "header checksum valid"
        );
        assert_eq!(
            s.get(Counter::IpFragmentsTiny),
            1,
            "8-byte TCP header piece"
        );
        assert_eq!(s.get(Counter::IpFragmentDatagramsReassembled), 1);
        assert!(t.is_empty() && t.bytes() == 0);
    }

    #[test]
    fn pieces_in_any_order() {
        let seg = segment(200);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        let pieces = [(64, true), (128, false), (0, true), (8, true)];
        let mut out = None;
        for (i, &(off, more)) in pieces.iter().enumerate() {
            let end = pieces
                .iter()
                .map(|p| p.0)
                .filter(|&o| o > off)
                .min()
                .unwrap_or(200);
            out = feed(&mut t, &mut s, 1, &v4_piece(3, off, more, &seg[off..end]));
            assert_eq!(out.is_some(), i == 3);
        }
        // 0..8 and 8..64 each; the 64..128 and 128..200 runs were first.
        assert_eq!(payload_of(&out.unwrap()), seg);
    }

    #[test]
    fn overlap_discards_the_datagram() {
        let seg = segment(48);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        feed(&mut t, &mut s, 1, &v4_piece(4, 0, true, &seg[..24]));
        // Starts inside the first piece and runs past it: an overlap.
        assert!(feed(&mut t, &mut s, 1, &v4_piece(4, 16, true, &seg[16..32])).is_none());
        assert_eq!(s.get(Counter::IpFragmentDatagramsOverlap), 1);
        assert!(t.is_empty());
        // The rest alone cannot complete anything.
        assert!(feed(&mut t, &mut s, 1, &v4_piece(4, 24, false, &seg[24..])).is_none());
    }

    #[test]
    fn overlap_by_a_different_rewrite_discards_too() {
        // RFC 1858's offset-1 overwrite of the TCP flags, as a piece that
        // starts inside the first and differs: Linux throws both away.
        let seg = segment(40);
        let mut evil = seg.clone();
        evil[13] = 0x02;
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        feed(&mut t, &mut s, 1, &v4_piece(5, 0, true, &seg[..16]));
        assert!(feed(&mut t, &mut s, 1, &v4_piece(5, 8, false, &evil[8..])).is_none());
        assert_eq!(s.get(Counter::IpFragmentDatagramsOverlap), 1);
    }

    #[test]
    fn duplicate_inside_a_run_is_dropped_alone() {
        let seg = segment(48);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        feed(&mut t, &mut s, 1, &v4_piece(6, 0, true, &seg[..16]));
        feed(&mut t, &mut s, 1, &v4_piece(6, 16, true, &seg[16..32]));
        // Inside the run 0..32 made of both: a duplicate, even with other
        // bytes; the first copy stays.
        let mut other = seg.clone();
        other[10] ^= 0xff;
        assert!(feed(&mut t, &mut s, 1, &v4_piece(6, 8, true, &other[8..24])).is_none());
        assert_eq!(s.get(Counter::IpFragmentsDuplicate), 1);
        let whole = feed(&mut t, &mut s, 1, &v4_piece(6, 32, false, &seg[32..])).unwrap();
        assert_eq!(payload_of(&whole), seg);
    }

    #[test]
    fn inconsistent_ends_drop_the_piece() {
        let seg = segment(48);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        feed(&mut t, &mut s, 1, &v4_piece(7, 32, false, &seg[32..]));
        // A second "last" piece ending elsewhere, and a piece past the end.
        assert!(feed(&mut t, &mut s, 1, &v4_piece(7, 24, false, &seg[24..40])).is_none());
        assert!(feed(&mut t, &mut s, 1, &v4_piece(7, 48, true, &seg[..8])).is_none());
        assert_eq!(s.get(Counter::IpFragmentsInconsistent), 2);
        feed(&mut t, &mut s, 1, &v4_piece(7, 0, true, &seg[..16]));
        let whole = feed(&mut t, &mut s, 1, &v4_piece(7, 16, true, &seg[16..32])).unwrap();
        assert_eq!(payload_of(&whole), seg);
    }

    #[test]
    fn ipv4_pieces_are_cut_to_eight_bytes() {
        let seg = segment(30);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        // 13 bytes with more to come: the kernel keeps 8.
        feed(&mut t, &mut s, 1, &v4_piece(8, 0, true, &seg[..13]));
        let whole = feed(&mut t, &mut s, 1, &v4_piece(8, 8, false, &seg[8..])).unwrap();
        assert_eq!(payload_of(&whole), seg);
    }

    #[test]
    fn timeout_in_packet_time() {
        let seg = segment(40);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        feed(&mut t, &mut s, 100, &v4_piece(9, 0, true, &seg[..24]));
        assert!(feed(&mut t, &mut s, 130, &v4_piece(9, 24, false, &seg[24..])).is_none());
        assert_eq!(s.get(Counter::IpFragmentDatagramsExpired), 1);
        // Within 30 s it completes.
        feed(&mut t, &mut s, 200, &v4_piece(9, 0, true, &seg[..24]));
        assert!(feed(&mut t, &mut s, 229, &v4_piece(9, 24, false, &seg[24..])).is_some());
    }

    #[test]
    fn too_many_pieces() {
        let n = MAX_PIECES + 1;
        let seg = segment(8 * (n + 1));
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        for i in 0..n {
            let off = 8 * i;
            feed(
                &mut t,
                &mut s,
                1,
                &v4_piece(10, off, true, &seg[off..off + 8]),
            );
        }
        assert_eq!(s.get(Counter::IpFragmentDatagramsTooManyPieces), 1);
        assert!(t.is_empty() && t.bytes() == 0);
    }

    #[test]
    fn byte_cap_evicts_oldest_and_source_share_refuses() {
        let seg = segment(1024);
        let piece = |id| v4_piece(id, 0, true, &seg[..1000]);
        // Room for about three datagrams; one source may fill all of it.
        let cap = 3 * (heap_cost(1000) + heap_cost(20) + PIECE_OVERHEAD + DATAGRAM_OVERHEAD);
        let mut t = DefragTable::new(cap);
        let mut s = Stats::default();
        for id in 0..5 {
            feed(&mut t, &mut s, 1, &piece(id));
            assert!(t.bytes() <= cap);
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.evictions, 2);
        assert_eq!(s.get(Counter::IpFragmentDatagramsEvicted), 2);
        // A big table: one source holds at most a quarter.
        let mut t = DefragTable::new(4 << 20);
        let big = segment(60_000);
        for id in 0..40 {
            feed(&mut t, &mut s, 1, &v4_piece(id, 0, true, &big[..32_000]));
        }
        assert!(t.bytes() <= 1 << 20, "{}", t.bytes());
        assert!(s.get(Counter::IpFragmentsSourceBudget) > 0);
    }

    #[test]
    fn budget_charge_is_released_and_oldest_shed() {
        let seg = segment(1024);
        let budget = Budget::unlimited();
        let mut t = DefragTable::new(DEFAULT_BYTES);
        t.set_budget(budget.clone());
        let mut s = Stats::default();
        // Pieces of datagrams that complete, time out, overlap.
        let whole = segment(40);
        for id in 0..10 {
            feed(&mut t, &mut s, 1, &v4_piece(id, 0, true, &whole[..16]));
            assert_eq!(budget.pool_used(Pool::Fragments), t.bytes());
        }
        assert!(feed(&mut t, &mut s, 1, &v4_piece(3, 16, false, &whole[16..])).is_some());
        feed(&mut t, &mut s, 1, &v4_piece(4, 8, true, &whole[8..24]));
        assert_eq!(budget.pool_used(Pool::Fragments), t.bytes());
        assert!(budget.used() > 0);
        feed(&mut t, &mut s, 100, &v4_piece(99, 8, true, &whole[8..16]));
        t.expire(Timestamp::new(1000, 0), &mut s);
        assert!(t.is_empty());
        assert_eq!(budget.used(), 0, "everything charged is given back");

        // A small budget: the oldest datagrams go, the newcomer stays.
        let one = heap_cost(1000) + heap_cost(20) + PIECE_OVERHEAD + DATAGRAM_OVERHEAD;
        let budget = Budget::new(3 * one);
        let mut t = DefragTable::new(DEFAULT_BYTES);
        t.set_budget(budget.clone());
        for id in 0..6 {
            feed(&mut t, &mut s, 1, &v4_piece(id, 0, true, &seg[..1000]));
            assert!(!budget.over());
        }
        assert_eq!(t.len(), 3);
        assert_eq!(budget.evictions(Pool::Fragments), 3);
        assert_eq!(s.get(Counter::IpFragmentDatagramsMemcapEvicted), 3);
        // The newest is among those kept: completing it works.
        assert!(feed(&mut t, &mut s, 1, &v4_piece(5, 1000, false, &seg[1000..])).is_some());
        drop(t);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn ipv6_pieces() {
        let seg = segment(100);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        assert!(feed(&mut t, &mut s, 1, &v6_piece(77, 48, false, 6, &seg[48..])).is_none());
        let whole = feed(&mut t, &mut s, 1, &v6_piece(77, 0, true, 6, &seg[..48])).unwrap();
        // Header + destination options, then the TCP segment; the options'
        // Next Header now names TCP.
        assert_eq!(whole.len(), 48 + 100);
        assert_eq!(whole[40], 6);
        assert_eq!(&whole[4..6], &108u16.to_be_bytes());
        assert_eq!(payload_of(&whole), seg);
    }

    #[test]
    fn ipv6_rules_differ_from_ipv4() {
        let seg = segment(100);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        // First piece without the whole TCP header: dropped (RFC 8200).
        assert!(feed(&mut t, &mut s, 1, &v6_piece(1, 0, true, 6, &seg[..16])).is_none());
        assert_eq!(s.get(Counter::IpFragmentsTiny), 1);
        assert!(t.is_empty());
        // A non-last piece not a multiple of 8: dropped.
        assert!(feed(&mut t, &mut s, 1, &v6_piece(2, 0, true, 6, &seg[..44])).is_none());
        assert_eq!(s.get(Counter::IpFragmentsBadLength), 1);
        // Overlap: discarded (RFC 5722).
        feed(&mut t, &mut s, 1, &v6_piece(3, 0, true, 6, &seg[..48]));
        feed(&mut t, &mut s, 1, &v6_piece(3, 40, false, 6, &seg[40..]));
        assert_eq!(s.get(Counter::IpFragmentDatagramsOverlap), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn truncated_capture_and_empty_pieces() {
        let seg = segment(40);
        let mut t = DefragTable::default();
        let mut s = Stats::default();
        let mut cut = v4_piece(11, 0, true, &seg[..24]);
        cut.truncate(30);
        assert!(feed(&mut t, &mut s, 1, &cut).is_none());
        assert_eq!(s.get(Counter::IpFragmentsTruncated), 1);
        assert!(feed(&mut t, &mut s, 1, &v4_piece(11, 8, true, &[])).is_none());
        assert_eq!(s.get(Counter::IpFragmentsEmpty), 1);
        assert!(t.is_empty());
    }
}
