//! The flow table: TCP connections keyed by their canonical 4-tuple, kept in
//! least-recently-used order so that idle expiry and eviction are O(1).
//!
//! Generic over `S`, the per-flow application state the engine hangs on
//! each flow, so this layer knows nothing of fingerprints.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use crate::util::budget::{Budget, Pool};
use crate::util::lru::{Absent, Lru};
use crate::util::time::Timestamp;

/// A connection's endpoints in canonical order (lower endpoint first), so
/// both directions of a connection find the same entry with one lookup.
/// Addresses are kept as bytes (38 bytes in all, against 64 for two
/// `SocketAddr`s): the key is stored once per flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    lo_ip: [u8; 16],
    hi_ip: [u8; 16],
    lo_port: u16,
    hi_port: u16,
    /// IPv6, so that an IPv6 flow between IPv4-mapped addresses is not
    /// the IPv4 flow.
    v6: bool,
}

impl FlowKey {
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        Self::of(&a.ip(), a.port(), &b.ip(), b.port())
    }

    /// The key of a packet from `a_ip:a_port` to `b_ip:b_port` (either
    /// way round), without building socket addresses.
    pub fn of(a_ip: &IpAddr, a_port: u16, b_ip: &IpAddr, b_port: u16) -> Self {
        // Addresses compare as big-endian integers: the order of their bytes.
        let (ea, eb) = ((address(a_ip), a_port), (address(b_ip), b_port));
        let (lo, hi) = if ea <= eb { (ea, eb) } else { (eb, ea) };
        FlowKey {
            lo_ip: lo.0.to_be_bytes(),
            hi_ip: hi.0.to_be_bytes(),
            lo_port: lo.1,
            hi_port: hi.1,
            v6: a_ip.is_ipv6(),
        }
    }
}

/// An address as the integer of its 16 key bytes (IPv4 in the first four).
fn address(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(*v4)) << 96,
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

/// Three integer writes where the derived hash took a length prefix and
/// a byte slice per address (the flow lookup hashes once per packet).
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_ne_bytes(self.lo_ip));
        state.write_u128(u128::from_ne_bytes(self.hi_ip));
        state.write_u64(
            u64::from(self.lo_port) << 32 | u64::from(self.hi_port) << 16 | u64::from(self.v6),
        );
    }
}

/// Which way a packet travels relative to the connection's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Client to server.
    Client = 0,
    /// Server to client.
    Server = 1,
}

/// Handshake milestones (packet time, TTL) for JA4L and RTT.
#[derive(Debug, Default, Clone, Copy)]
pub struct Handshake {
    pub syn: Option<(Timestamp, u8)>,
    pub synack: Option<(Timestamp, u8)>,
    pub ack: Option<(Timestamp, u8)>,
}

/// Counters for `tcp_flow_timing`.
#[derive(Debug, Clone, Copy)]
pub struct FlowStats {
    pub first: Timestamp,
    pub last: Timestamp,
    pub packets: u64,
    /// TCP payload bytes, both directions.
    pub bytes: u64,
    pub iat_sum_us: u64,
    pub iat_min_us: u64,
    pub iat_max_us: u64,
    pub retransmits: u32,
}

impl FlowStats {
    fn new(ts: Timestamp) -> Self {
        FlowStats {
            first: ts,
            last: ts,
            packets: 0,
            bytes: 0,
            iat_sum_us: 0,
            iat_min_us: u64::MAX,
            iat_max_us: 0,
            retransmits: 0,
        }
    }

    /// Accounts one packet seen at `ts` carrying `payload` bytes.
    pub fn record(&mut self, ts: Timestamp, payload: usize) {
        if self.packets > 0 {
            let iat = ts.micros_since(self.last).max(0) as u64;
            self.iat_sum_us += iat;
            self.iat_min_us = self.iat_min_us.min(iat);
            self.iat_max_us = self.iat_max_us.max(iat);
        }
        self.packets += 1;
        self.bytes += payload as u64;
        if ts > self.last {
            self.last = ts;
        }
    }

    pub fn duration_us(&self) -> i64 {
        self.last.micros_since(self.first).max(0)
    }
}

/// Per-direction sequence tracking: retransmissions and FIN handshakes.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqTrack {
    /// One past the highest sequence number seen (SYN and FIN count one).
    pub high: Option<u32>,
    /// Sequence number just past this direction's FIN.
    pub fin_end: Option<u32>,
}

impl SeqTrack {
    /// Notes a segment occupying `[seq, seq+len)`; true if every byte of
    /// it was seen before (a retransmission).
    pub fn advance(&mut self, seq: u32, len: u32) -> bool {
        if len == 0 {
            return false;
        }
        let end = seq.wrapping_add(len);
        match self.high {
            Some(high) if (end.wrapping_sub(high) as i32) <= 0 => true,
            _ => {
                self.high = Some(end);
                false
            }
        }
    }
}

/// One tracked connection.
#[derive(Debug)]
pub struct Flow<S> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub stats: FlowStats,
    pub handshake: Handshake,
    /// Indexed by [`Side`].
    pub seq: [SeqTrack; 2],
    /// Whether the connection began with a SYN we saw.
    pub saw_syn: bool,
    /// Initial sequence numbers from the SYN and SYN-ACK, by [`Side`].
    pub isn: [Option<u32>; 2],
    /// The engine's per-flow state (attribution, stream analyzers).
    pub app: S,
    /// Number of the frame that last touched the flow: with workers, flows
    /// idle at the same packet and time are reported in this order, as one
    /// engine's recency list would.
    pub last_frame: u64,
}

impl<S> Flow<S> {
    pub fn side_of(&self, src: SocketAddr) -> Side {
        self.side_of_parts(&src.ip(), src.port())
    }

    /// [`Self::side_of`] the sender `ip:port`, without building a socket
    /// address per packet.
    pub fn side_of_parts(&self, ip: &IpAddr, port: u16) -> Side {
        if port == self.client.port() && *ip == self.client.ip() {
            Side::Client
        } else {
            Side::Server
        }
    }
}

/// Why a flow left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEnd {
    Closed,
    Reset,
    Idle,
    /// Pushed out by a newer flow while the table was full.
    Evicted,
    /// End of input or shutdown.
    Shutdown,
}

/// The bounded table, in two parts.
///
/// A connection that has shown nothing but its client's SYN is half-open
/// and lives in its own, smaller table (the pending-handshakes cap): a SYN
/// flood or a port scan churns that table and never pushes established
/// connections out. The first other segment promotes the flow.
pub struct FlowTable<S> {
    established: Lru<FlowKey, Flow<S>>,
    half_open: Lru<FlowKey, Flow<S>>,
    /// Established flows pushed out by newer ones.
    pub evictions: u64,
    /// Half-open flows pushed out by newer ones.
    pub half_open_evictions: u64,
    /// The last key [`Self::get_mut`] missed in the half-open table, with
    /// its hash there: a new SYN is looked up then inserted, hashed once.
    half_open_miss: Option<(FlowKey, Absent)>,
    /// Each entry is charged to [`Pool::Flows`] or [`Pool::HalfOpenFlows`]
    /// (the per-flow state hanging on it charges its own pools).
    budget: Budget,
}

impl<S> FlowTable<S> {
    /// A table of at most `cap` established and `cap` half-open flows.
    pub fn new(cap: usize) -> Self {
        Self::with_half_open_cap(cap, cap)
    }

    pub fn with_half_open_cap(cap: usize, half_open_cap: usize) -> Self {
        FlowTable {
            established: Lru::new(cap),
            half_open: Lru::new(half_open_cap),
            evictions: 0,
            half_open_evictions: 0,
            half_open_miss: None,
            budget: Budget::unlimited(),
        }
    }

    /// Charges entries to `budget` from now on (before any insert).
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// Bytes one flow entry takes in its table (slot and index share).
    pub const fn entry_bytes() -> usize {
        Lru::<FlowKey, Flow<S>>::entry_bytes()
    }

    /// The least recently used established flows, oldest first, without
    /// touching their recency, until `visit` returns false or `n` were seen.
    pub fn for_each_oldest_mut(&mut self, n: usize, visit: impl FnMut(&mut Flow<S>) -> bool) {
        let mut visit = visit;
        self.established
            .for_each_oldest_mut(n, |_, flow| visit(flow));
    }

    /// Removes the least recently used flow, half-open ones first (they
    /// are the partial state), for the memory budget.
    pub fn pop_for_memory(&mut self) -> Option<(Flow<S>, bool)> {
        if let Some((_, f)) = self.half_open.pop_oldest() {
            self.budget
                .release(Pool::HalfOpenFlows, Self::entry_bytes());
            self.budget.note_eviction(Pool::HalfOpenFlows);
            return Some((f, true));
        }
        let (_, f) = self.established.pop_oldest()?;
        self.budget.release(Pool::Flows, Self::entry_bytes());
        self.budget.note_eviction(Pool::Flows);
        Some((f, false))
    }

    fn uncharge(&self, half_open: bool) {
        let pool = if half_open {
            Pool::HalfOpenFlows
        } else {
            Pool::Flows
        };
        self.budget.release(pool, Self::entry_bytes());
    }

    /// Flows of both kinds.
    pub fn len(&self) -> usize {
        self.established.len() + self.half_open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn established_len(&self) -> usize {
        self.established.len()
    }

    pub fn half_open_len(&self) -> usize {
        self.half_open.len()
    }

    /// The flow of this packet, marked most recently used, without
    /// promoting a half-open one.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<S>> {
        if let Some(at) = self.established.locate(key) {
            return self.established.get_mut_at(at);
        }
        match self.half_open.probe(key) {
            Ok(at) => self.half_open.get_mut_at(at),
            Err(absent) => {
                self.half_open_miss = Some((*key, absent));
                None
            }
        }
    }

    /// The flow, without changing its recency.
    pub fn peek(&self, key: &FlowKey) -> Option<&Flow<S>> {
        self.established
            .peek(key)
            .or_else(|| self.half_open.peek(key))
    }

    /// The flow of this packet, marked most recently used; a half-open flow
    /// is promoted to the established table first. Returns, beside it, the
    /// established flow the promotion pushed out, if the table was full.
    pub fn get_mut_promoting(&mut self, key: &FlowKey) -> (Option<&mut Flow<S>>, Option<Flow<S>>) {
        if let Some(at) = self.established.locate(key) {
            return (self.established.get_mut_at(at), None);
        }
        let Some(flow) = self.half_open.remove(key) else {
            return (None, None);
        };
        self.uncharge(true);
        let evicted = self.push_established(*key, flow);
        (self.established.get_mut(key), evicted)
    }

    /// Inserts a new established flow; returns the least recently used
    /// flow it pushed out when the table was full.
    pub fn insert(
        &mut self,
        key: FlowKey,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        app: S,
    ) -> (&mut Flow<S>, Option<Flow<S>>) {
        let evicted = self.push_established(key, new_flow(client, server, ts, app));
        let flow = self.established.get_mut(&key).expect("just inserted");
        (flow, evicted)
    }

    /// Inserts a new half-open flow (its first segment is the client's SYN).
    pub fn insert_half_open(
        &mut self,
        key: FlowKey,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        app: S,
    ) -> (&mut Flow<S>, Option<Flow<S>>) {
        // The hash of the lookup that just missed, when it was this key's.
        let probed = match self.half_open_miss.take() {
            Some((missed, absent)) if missed == key => self.half_open.reprobe(absent, &key),
            _ => self.half_open.probe(&key),
        };
        let (at, evicted, added) = match probed {
            Ok(at) => (at, None, false),
            Err(absent) => {
                let (at, evicted) = self
                    .half_open
                    .insert_absent_with(absent, key, || new_flow(client, server, ts, app));
                (at, evicted, true)
            }
        };
        let flow = self.half_open.get_mut_at(at).expect("just located");
        if evicted.is_some() {
            // The newcomer took the evicted flow's place: the bytes
            // charged stay as they were (no charge and release, four
            // atomic updates per SYN of a flood at the cap).
            self.half_open_evictions += 1;
        } else if added {
            self.budget
                .charge(Pool::HalfOpenFlows, Lru::<FlowKey, Flow<S>>::entry_bytes());
        }
        (flow, evicted.map(|(_, f)| f))
    }

    fn push_established(&mut self, key: FlowKey, flow: Flow<S>) -> Option<Flow<S>> {
        // Callers insert only keys absent from the table.
        let evicted = self.established.insert(key, flow).map(|(_, f)| f);
        // In the evicted flow's place, the charge stays as it was.
        if evicted.is_some() {
            self.evictions += 1;
        } else {
            self.budget.charge(Pool::Flows, Self::entry_bytes());
        }
        evicted
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<Flow<S>> {
        if let Some(f) = self.established.remove(key) {
            self.uncharge(false);
            return Some(f);
        }
        let f = self.half_open.remove(key)?;
        self.uncharge(true);
        Some(f)
    }

    /// Removes the least recently used flow if it has been idle for longer
    /// than `idle_us` at time `now` (of the two tables, the one idle longer).
    /// With it, whether it came from the half-open table.
    pub fn pop_idle(&mut self, now: Timestamp, idle_us: i64) -> Option<(Flow<S>, bool)> {
        let half_open = self.older_is_half_open()?;
        let table = if half_open {
            &mut self.half_open
        } else {
            &mut self.established
        };
        let last = table.peek_oldest()?.1.stats.last;
        if now.micros_since(last) > idle_us {
            let popped = table.pop_oldest().map(|(_, f)| (f, half_open));
            if popped.is_some() {
                self.uncharge(half_open);
            }
            popped
        } else {
            None
        }
    }

    /// The last activity of the least recently used flow of either
    /// table (the earlier of the two); `None` when both are empty.
    pub fn least_recent_activity(&self) -> Option<Timestamp> {
        let e = self.established.peek_oldest().map(|(_, f)| f.stats.last);
        let h = self.half_open.peek_oldest().map(|(_, f)| f.stats.last);
        match (e, h) {
            (Some(e), Some(h)) => Some(e.min(h)),
            (one, other) => one.or(other),
        }
    }

    /// Removes every flow, least recently active first.
    pub fn drain(&mut self) -> impl Iterator<Item = Flow<S>> + '_ {
        std::iter::from_fn(move || self.pop_oldest())
    }

    fn pop_oldest(&mut self) -> Option<Flow<S>> {
        let half_open = self.older_is_half_open()?;
        let table = if half_open {
            &mut self.half_open
        } else {
            &mut self.established
        };
        let popped = table.pop_oldest().map(|(_, f)| f);
        if popped.is_some() {
            self.uncharge(half_open);
        }
        popped
    }

    /// Which table's least recently used flow was active longer ago (the
    /// established one on a tie); `None` when both are empty.
    fn older_is_half_open(&self) -> Option<bool> {
        match (self.established.peek_oldest(), self.half_open.peek_oldest()) {
            (Some((_, e)), Some((_, h))) => Some(h.stats.last < e.stats.last),
            (Some(_), None) => Some(false),
            (None, Some(_)) => Some(true),
            (None, None) => None,
        }
    }
}

fn new_flow<S>(client: SocketAddr, server: SocketAddr, ts: Timestamp, app: S) -> Flow<S> {
    Flow {
        client,
        server,
        stats: FlowStats::new(ts),
        handshake: Handshake::default(),
        seq: [SeqTrack::default(); 2],
        saw_syn: false,
        isn: [None; 2],
        app,
        last_frame: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn both_directions_share_a_key() {
        let a = addr("10.0.0.1:40000");
        let b = addr("10.0.0.2:443");
        assert_eq!(FlowKey::new(a, b), FlowKey::new(b, a));
        // An IPv4-mapped IPv6 flow is another flow.
        let (a6, b6) = (
            addr("[::ffff:10.0.0.1]:40000"),
            addr("[::ffff:10.0.0.2]:443"),
        );
        assert_ne!(FlowKey::new(a6, b6), FlowKey::new(a, b));
        assert_ne!(FlowKey::new(a, b), FlowKey::new(addr("10.0.0.1:40001"), b));
    }

    /// The integer comparison orders endpoints as their bytes would.
    #[test]
    fn keys_order_endpoints_by_their_bytes() {
        let a = addr("10.0.0.2:1");
        let b = addr("9.255.255.255:65535");
        let k = FlowKey::new(a, b);
        assert_eq!(
            (k.lo_ip[..4].to_vec(), k.lo_port),
            (vec![9, 255, 255, 255], 65535)
        );
        let (a6, b6) = (addr("[2001:db8::1]:80"), addr("[2001:db8::1]:79"));
        let k = FlowKey::new(a6, b6);
        assert_eq!((k.lo_port, k.hi_port), (79, 80));
        assert_eq!(
            k.lo_ip,
            "2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(
            FlowKey::of(&a.ip(), a.port(), &b.ip(), b.port()),
            FlowKey::new(b, a)
        );
    }

    #[test]
    fn half_open_flows_are_promoted_and_kept_apart() {
        let mut t: FlowTable<()> = FlowTable::with_half_open_cap(2, 1);
        let ts = Timestamp::new(1, 0);
        let s = addr("2.2.2.2:80");
        let (c1, c2, c3) = (addr("1.1.1.1:1"), addr("1.1.1.1:2"), addr("1.1.1.1:3"));
        t.insert(FlowKey::new(c1, s), c1, s, ts, ());
        t.insert_half_open(FlowKey::new(c2, s), c2, s, ts, ());
        // A second SYN flood entry pushes out the first half-open one only.
        let (_, evicted) = t.insert_half_open(FlowKey::new(c3, s), c3, s, ts, ());
        assert_eq!(evicted.unwrap().client, c2);
        assert_eq!((t.half_open_evictions, t.evictions), (1, 0));
        assert_eq!((t.established_len(), t.half_open_len()), (1, 1));
        // The SYN-ACK promotes c3.
        let (flow, evicted) = t.get_mut_promoting(&FlowKey::new(c3, s));
        assert_eq!(flow.unwrap().client, c3);
        assert!(evicted.is_none());
        assert_eq!((t.established_len(), t.half_open_len()), (2, 0));
        assert!(t.peek(&FlowKey::new(c3, s)).is_some());
    }

    #[test]
    fn idle_expiry_takes_the_older_of_both_tables() {
        let mut t: FlowTable<()> = FlowTable::new(4);
        let s = addr("2.2.2.2:80");
        let (c1, c2) = (addr("1.1.1.1:1"), addr("1.1.1.1:2"));
        t.insert(FlowKey::new(c1, s), c1, s, Timestamp::new(10, 0), ());
        t.insert_half_open(FlowKey::new(c2, s), c2, s, Timestamp::new(5, 0), ());
        assert!(t.pop_idle(Timestamp::new(12, 0), 6_000_000).is_some());
        assert!(t.pop_idle(Timestamp::new(12, 0), 6_000_000).is_none());
        let order: Vec<_> = t.drain().map(|f| f.client).collect();
        assert_eq!(order, vec![c1]);
    }

    #[test]
    fn full_table_evicts_least_recent_and_counts() {
        let mut t: FlowTable<()> = FlowTable::new(2);
        let ts = Timestamp::new(1, 0);
        let (c1, s) = (addr("1.1.1.1:1"), addr("2.2.2.2:80"));
        let (c2, c3) = (addr("1.1.1.1:2"), addr("1.1.1.1:3"));
        t.insert(FlowKey::new(c1, s), c1, s, ts, ());
        t.insert(FlowKey::new(c2, s), c2, s, ts, ());
        t.get_mut(&FlowKey::new(c1, s)); // c1 becomes most recent
        let (_, evicted) = t.insert(FlowKey::new(c3, s), c3, s, ts, ());
        assert_eq!(evicted.unwrap().client, c2);
        assert_eq!(t.evictions, 1);
        assert_eq!(t.len(), 2);
    }

    /// A flow evicted by the cap hands its bytes to the newcomer: the
    /// pools hold what the tables hold, charged once per entry.
    #[test]
    fn evictions_at_the_cap_keep_the_charge_exact() {
        let budget = Budget::unlimited();
        let mut t: FlowTable<()> = FlowTable::with_half_open_cap(2, 3);
        t.set_budget(budget.clone());
        let ts = Timestamp::new(1, 0);
        let s = addr("2.2.2.2:80");
        let per = FlowTable::<()>::entry_bytes();
        for port in 1..=10u16 {
            let c = SocketAddr::new("1.1.1.1".parse().unwrap(), port);
            t.insert_half_open(FlowKey::new(c, s), c, s, ts, ());
            let half_open = usize::from(port).min(3);
            assert_eq!(budget.pool_used(Pool::HalfOpenFlows), half_open * per);
            let c = SocketAddr::new("3.3.3.3".parse().unwrap(), port);
            t.insert(FlowKey::new(c, s), c, s, ts, ());
            assert_eq!(
                budget.pool_used(Pool::Flows),
                usize::from(port).min(2) * per
            );
        }
        assert_eq!((t.half_open_evictions, t.evictions), (7, 8));
        assert_eq!(budget.used(), 5 * per);
        // Promotion and removal give back exactly what was charged.
        let c = SocketAddr::new("1.1.1.1".parse().unwrap(), 10);
        t.get_mut_promoting(&FlowKey::new(c, s));
        assert_eq!(budget.pool_used(Pool::HalfOpenFlows), 2 * per);
        assert_eq!(budget.pool_used(Pool::Flows), 2 * per);
        while t.pop_for_memory().is_some() {}
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn retransmission_detection_wraps() {
        let mut s = SeqTrack::default();
        assert!(!s.advance(u32::MAX - 5, 10));
        assert!(s.advance(u32::MAX - 5, 10));
        assert!(!s.advance(4, 10));
    }
}
