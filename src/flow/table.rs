//! The flow table: TCP connections keyed by their canonical 4-tuple, kept in
//! least-recently-used order so that idle expiry and eviction are O(1).
//!
//! Generic over `S`, the per-flow application state the engine hangs on
//! each flow, so this layer knows nothing of fingerprints.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use ahash::RandomState;
use lru::LruCache;

use crate::util::time::Timestamp;

/// A connection's endpoints in canonical order (lower endpoint first), so
/// both directions of a connection find the same entry with one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: SocketAddr,
    hi: SocketAddr,
}

impl FlowKey {
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
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
}

impl<S> Flow<S> {
    pub fn side_of(&self, src: SocketAddr) -> Side {
        if src == self.client {
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

/// The bounded table.
pub struct FlowTable<S> {
    flows: LruCache<FlowKey, Flow<S>, RandomState>,
    cap: usize,
    pub evictions: u64,
}

impl<S> FlowTable<S> {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        FlowTable {
            flows: LruCache::with_hasher(
                NonZeroUsize::new(cap).unwrap_or(NonZeroUsize::MIN),
                RandomState::new(),
            ),
            cap,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The flow of this packet, marked most recently used.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<S>> {
        self.flows.get_mut(key)
    }

    /// Inserts a new flow; returns the least recently used flow it pushed
    /// out when the table was full.
    pub fn insert(
        &mut self,
        key: FlowKey,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        app: S,
    ) -> (&mut Flow<S>, Option<Flow<S>>) {
        let evicted = if self.flows.len() >= self.cap {
            self.evictions += 1;
            self.flows.pop_lru().map(|(_, f)| f)
        } else {
            None
        };
        let flow = Flow {
            client,
            server,
            stats: FlowStats::new(ts),
            handshake: Handshake::default(),
            seq: [SeqTrack::default(); 2],
            saw_syn: false,
            isn: [None; 2],
            app,
        };
        self.flows.put(key, flow);
        let flow = self.flows.get_mut(&key).expect("just inserted");
        (flow, evicted)
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<Flow<S>> {
        self.flows.pop(key)
    }

    /// Removes the least recently used flow if it has been idle for longer
    /// than `idle_us` at time `now`.
    pub fn pop_idle(&mut self, now: Timestamp, idle_us: i64) -> Option<Flow<S>> {
        let (_, lru) = self.flows.peek_lru()?;
        if now.micros_since(lru.stats.last) > idle_us {
            self.flows.pop_lru().map(|(_, f)| f)
        } else {
            None
        }
    }

    /// Removes every flow, least recently used first.
    pub fn drain(&mut self) -> impl Iterator<Item = Flow<S>> + '_ {
        std::iter::from_fn(move || self.flows.pop_lru().map(|(_, f)| f))
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

    #[test]
    fn retransmission_detection_wraps() {
        let mut s = SeqTrack::default();
        assert!(!s.advance(u32::MAX - 5, 10));
        assert!(s.advance(u32::MAX - 5, 10));
        assert!(!s.advance(4, 10));
    }
}
