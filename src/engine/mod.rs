//! The engine: decky attribution, per-flow dispatch and event construction.
//!
//! One [`Engine`] consumes packets in capture order and produces events.
//! It is single-threaded and driven only by packet time, so the same input
//! yields the same events in `read` and `run` alike.

pub mod checksums;
pub mod client_mismatch;
pub mod dhcp;
pub mod ipv6_leak;
pub mod p0f_uptime;
pub mod stream;
pub mod syn;
pub mod tally;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;
use std::sync::Arc;

use crate::analyzers::{DatagramAnalyzers, Emitter};
use crate::capture::RawPacket;
use crate::decode::{self, Packet, Transport};
use crate::event::{Event, EventKind, EventPool};
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::fingerprint::seqclass::SeqClassTable;
use crate::flow::defrag::{self, DefragTable};
use crate::flow::table::FlowTable;
use crate::util::budget::{Budget, PoolStats};
use crate::util::time::Timestamp;
pub use tally::FingerprintTally;

/// Established flows looked at, oldest first, for partial stream state to
/// drop per packet over budget: bounded, so shedding stays O(1) per packet.
const SHED_SCAN: usize = 64;

pub use crate::analyzers::{Attribution, Direction};
pub use crate::deckies::{Decap, DeckyMap};
pub use crate::limits::Limits;
pub use crate::stats::{Counter, Stats};

/// What every event producer may touch: limits, counters, pending events.
pub struct Context {
    pub limits: Limits,
    pub stats: Stats,
    /// Events produced while processing the current packet.
    pub out: Vec<Event>,
    /// p0f HTTP heads read while processing the current packet, for host
    /// change scoring once the stream analyzers are done with it.
    pub p0f_http_heads: Vec<p0f_uptime::HttpHead>,
    /// Number of the frame being processed (the router's count with workers).
    pub frame: u64,
    /// p0f v3 signatures (TCP and HTTP).
    pub p0f_db: &'static P0fDatabase,
    /// The byte budget every table and buffer that grows with traffic
    /// draws from.
    pub budget: Budget,
    /// Buffers of the events already written, for new ones.
    pub events: EventPool,
    /// TLS fingerprints of recent clients and certificates (fixed size).
    pub tls_prints: crate::analyzers::tls::TlsPrints,
}

impl Context {
    /// A context with no events pending, drawing on `budget`.
    pub fn new(limits: Limits, p0f_db: &'static P0fDatabase, budget: Budget) -> Self {
        Context {
            limits,
            stats: Stats::default(),
            out: Vec::new(),
            p0f_http_heads: Vec::new(),
            frame: 0,
            p0f_db,
            budget,
            events: EventPool::new(),
            tls_prints: Default::default(),
        }
    }

    /// A context at the default limits with no budget, for unit tests of
    /// the pieces that emit through it.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Context::new(
            Limits::default(),
            P0fDatabase::bundled(),
            Budget::unlimited(),
        )
    }

    /// Queues an event through the one [`Emitter`], appending the
    /// `direction` field all connection events carry.
    pub fn emit(&mut self, ev: Event, direction: Direction) {
        Emitter::queue(&mut self.stats, &mut self.out, ev, Some(direction));
    }

    /// Queues an event about the LAN rather than a connection: no
    /// `direction`.
    pub fn emit_unattributed(&mut self, ev: Event) {
        Emitter::queue(&mut self.stats, &mut self.out, ev, None);
    }
}

/// The engine's per-flow state.
#[derive(Debug)]
pub struct FlowApp {
    pub attribution: Attribution,
    /// Created at the first payload byte.
    pub stream: Option<Box<stream::StreamState>>,
    /// MSS of the client's last SYN (p0f reads the SYN-ACK's window with it).
    pub syn_mss: Option<u16>,
    /// p0f OS name id of the client's last SYN, if it matched an OS.
    pub syn_os: Option<u32>,
    /// p0f's view of the connection, for its uptime module.
    pub p0f: p0f_uptime::P0fFlow,
    /// What the flow observers keep of every segment.
    pub observers: crate::analyzers::FlowObservers,
    /// Each side's FIN has been acknowledged by the other side.
    pub fin_acked: [bool; 2],
    /// The memory budget took the stream state: no more is made.
    pub stream_shed: bool,
}

/// Whether idle expiry can skip the flow tables at this time.
///
/// While packet times never go back, every packet touching a flow carries
/// the latest time, so the least recently used flow of each table is the
/// one active longest ago, and the earliest `last` over all flows never
/// decreases (touches raise it, new flows come in at the latest time).
/// After a check that expired all that was due, no flow is idle until
/// that earliest `last` plus the idle time: the checks before then are
/// skipped, with exactly the result they would have had. A packet from the
/// past (a capture out of time order) ends the shortcut for good.
#[derive(Debug, Default)]
struct IdleCheck {
    /// The earliest activity of any flow in microseconds, when known.
    earliest_us: Option<i64>,
    out_of_order: bool,
}

impl IdleCheck {
    /// Whether no flow can have been idle longer than `idle_us` at `now`.
    fn nothing_due(&self, now: Timestamp, idle_us: i64) -> bool {
        self.earliest_us.is_some_and(|t| {
            !self.out_of_order && now.as_micros().saturating_sub(t) <= idle_us
        })
    }

    /// Notes the earliest activity left after an expiry check (`None`:
    /// no flows).
    fn checked(&mut self, earliest: Option<Timestamp>) {
        self.earliest_us = earliest.map(Timestamp::as_micros);
    }

    fn out_of_order(&mut self) {
        self.out_of_order = true;
    }
}

/// The packet-to-event engine.
pub struct Engine {
    cx: Context,
    deckies: DeckyMap,
    flows: FlowTable<FlowApp>,
    seq_classes: SeqClassTable,
    /// The datagram analyzers' tables (QUIC, DTLS).
    datagrams: DatagramAnalyzers,
    leaks: ipv6_leak::LeakTracker,
    /// DHCP/DHCPv6 clients already reported, by MAC.
    dhcp: dhcp::DhcpTracker,
    /// Per-host TCP timestamp samples for p0f's uptime.
    p0f_hosts: crate::fingerprint::p0f::uptime::HostTsTable,
    /// IP datagrams arriving in pieces.
    defrag: DefragTable,
    /// Whether bad checksums are dropped (see [`checksums`]).
    checksums: checksums::ChecksumGate,
    /// Latest packet time seen, the engine's clock.
    now: Timestamp,
    /// No flow is idle before this time (see [`IdleCheck`]).
    idle_check: IdleCheck,
    /// `flow_idle_secs` in microseconds (computed once: expiry is
    /// checked at every new packet time).
    idle_us: i64,
    /// Off in a shard: the link-local and DHCP tables span every host, so the
    /// router in front of the shards keeps them.
    track_leaks: bool,
    /// In a shard: the router's IP-ID/ISN classes for the SYN at hand.
    routed_seq: Option<crate::fingerprint::seqclass::SeqClasses>,
    /// Headline fingerprints per decky, when asked for (`tally_fingerprints`).
    tally: Option<FingerprintTally>,
    /// Per-source client claims, for `client_mismatch`.
    clients: client_mismatch::ClientConsistency,
    /// What each distinct SYN construction gives p0f and the client labels.
    syn_memo: syn::SynMemo,
}

impl Engine {
    pub fn new(limits: Limits, deckies: DeckyMap) -> Self {
        let budget = Budget::new(crate::util::budget::traffic_share(limits.memcap));
        Self::with_budget(limits, deckies, budget)
    }

    /// An engine drawing on `budget` (a shard's share of `--memcap`).
    pub fn with_budget(limits: Limits, deckies: DeckyMap, budget: Budget) -> Self {
        let limits_tally = limits.tally_fingerprints;
        let idle_us =
            i64::try_from(limits.flow_idle_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let client_sources = limits.seq_sources.min(client_mismatch::DEFAULT_SOURCES);
        let mut flows = FlowTable::with_half_open_cap(limits.flows, limits.pending_handshakes);
        flows.set_budget(budget.clone());
        let datagrams = DatagramAnalyzers::new(&limits, &budget);
        let mut seq_classes = SeqClassTable::new(limits.seq_sources);
        seq_classes.set_budget(budget.clone());
        let mut leaks = ipv6_leak::LeakTracker::new(&limits);
        leaks.set_budget(budget.clone());
        let mut dhcp = dhcp::DhcpTracker::new(dhcp::DEFAULT_MACS);
        dhcp.set_budget(budget.clone());
        // As many hosts as sequence-sample sources, within its own cap.
        let mut p0f_hosts = crate::fingerprint::p0f::uptime::HostTsTable::with_memcap(
            (limits.seq_sources * crate::fingerprint::p0f::uptime::HOST_ENTRY_BYTES)
                .min(crate::fingerprint::p0f::uptime::DEFAULT_MEMCAP),
        );
        p0f_hosts.set_budget(budget.clone());
        let mut defrag = DefragTable::new(defrag::DEFAULT_BYTES);
        defrag.set_budget(budget.clone());
        let mut clients = client_mismatch::ClientConsistency::new(client_sources);
        clients.set_budget(budget.clone());
        Engine {
            flows,
            seq_classes,
            datagrams,
            leaks,
            dhcp,
            p0f_hosts,
            defrag,
            checksums: checksums::ChecksumGate::default(),
            cx: Context::new(limits, P0fDatabase::bundled(), budget),
            deckies,
            now: Timestamp::default(),
            idle_check: IdleCheck::default(),
            idle_us,
            track_leaks: true,
            routed_seq: None,
            tally: (limits_tally > 0).then(|| FingerprintTally::new(limits_tally)),
            clients,
            syn_memo: syn::SynMemo::default(),
        }
    }

    /// An engine for one shard behind a router (`crate::runtime`): it
    /// sees only the packets routed to it, already decoded and counted
    /// once by the router, and leaves link-local leaks to the router.
    pub fn for_shard(
        limits: Limits,
        deckies: DeckyMap,
        p0f_db: &'static P0fDatabase,
        budget: Budget,
    ) -> Self {
        let mut engine = Engine::with_budget(limits, deckies, budget);
        engine.cx.p0f_db = p0f_db;
        engine.track_leaks = false;
        engine
    }

    pub fn p0f_db(&self) -> &'static P0fDatabase {
        self.cx.p0f_db
    }

    /// Replaces the bundled p0f database (`--p0f-db`).
    pub fn set_p0f_db(&mut self, db: &'static P0fDatabase) {
        self.cx.p0f_db = db;
    }

    pub fn stats(&self) -> &Stats {
        &self.cx.stats
    }

    /// Adds `n` to a counter kept outside the engine (the capture file's
    /// skipped packets).
    pub fn count(&mut self, counter: Counter, n: u64) {
        self.cx.stats.add(counter, n);
    }

    pub fn limits(&self) -> &Limits {
        &self.cx.limits
    }

    pub fn deckies(&self) -> &DeckyMap {
        &self.deckies
    }

    /// Replaces the decky map; applies from the next packet. The
    /// `--decap` mode stays (a state file reload does not carry it).
    pub fn set_deckies(&mut self, mut deckies: DeckyMap) {
        deckies.decap = self.deckies.decap;
        self.deckies = deckies;
        self.leaks.deckies_changed();
    }

    /// Names the capture interface (`on_iface` of link-local leaks).
    pub fn set_interface(&mut self, name: &str) {
        self.leaks.set_interface(name);
    }

    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// The byte budget (`--memcap`) this engine draws from.
    pub fn budget(&self) -> &Budget {
        &self.cx.budget
    }

    /// Bytes used and evictions per memory pool, for the summary and metrics.
    pub fn memory_stats(&self) -> Vec<PoolStats> {
        self.cx.budget.stats()
    }

    /// Brings memory back under the budget after a packet that overshot
    /// it. Partial state goes first, oldest first: datagrams waiting for
    /// their other fragments, the half-finished
    /// handshakes being read on the least recently active flows, then
    /// half-open flows, then the least recently active flows themselves
    /// (reported as evicted, like a full table's). A new flow is never
    /// refused: it is the old state that makes room.
    #[inline]
    fn shed(&mut self) {
        // Every packet asks; the budget is almost never over.
        if self.cx.budget.over() {
            self.shed_over_budget();
        }
    }

    fn shed_over_budget(&mut self) {
        self.defrag.shed(&mut self.cx.stats);
        let budget = self.cx.budget.clone();
        let mut shed = 0u64;
        self.flows.for_each_oldest_mut(SHED_SCAN, |flow| {
            // Shedding fragments may have been enough.
            if !budget.over() {
                return false;
            }
            if flow.app.stream.take().is_some() {
                flow.app.stream_shed = true;
                shed += 1;
            }
            budget.over()
        });
        for _ in 0..shed {
            budget.note_eviction(crate::util::budget::Pool::StreamReaders);
        }
        while budget.over() {
            let Some((flow, half_open)) = self.flows.pop_for_memory() else {
                break;
            };
            self.cx.stats.bump(if half_open {
                Counter::HalfOpenFlowsMemcapEvicted
            } else {
                Counter::FlowsMemcapEvicted
            });
            let ts = flow.stats.last;
            tcp::end_flow(&mut self.cx, flow, crate::flow::table::FlowEnd::Evicted, ts);
        }
        if shed > 0 {
            self.cx.stats.add(Counter::StreamStateMemcapEvicted, shed);
        }
    }

    /// Table sizes and evictions, for the summary and metrics.
    pub fn table_stats(&self) -> Vec<(&'static str, usize, u64)> {
        let mut tables = vec![
            ("flows", self.flows.established_len(), self.flows.evictions),
            (
                "half_open_flows",
                self.flows.half_open_len(),
                self.flows.half_open_evictions,
            ),
            (
                "seq_sources",
                self.seq_classes.len(),
                self.seq_classes.evictions,
            ),
        ];
        self.datagrams.table_stats(&mut tables);
        tables.extend([
            ("p0f_hosts", self.p0f_hosts.len(), self.p0f_hosts.evictions),
            ("ip_fragments", self.defrag.len(), self.defrag.evictions),
        ]);
        tables.push(("client_sources", self.clients.len(), self.clients.evictions));
        tables.extend(self.leaks.table_stats());
        tables.extend(self.dhcp.table_stats());
        tables
    }

    /// Processes one captured frame; the events it completes are passed to `sink`.
    pub fn process(&mut self, raw: &RawPacket<'_>, sink: &mut impl FnMut(Event)) {
        self.cx.frame += 1;
        self.cx.stats.packets += 1;
        self.cx.stats.bytes += u64::from(raw.orig_len);
        if raw.ts > self.now {
            self.now = raw.ts;
            self.expire_idle();
        } else if raw.ts < self.now {
            self.idle_check.out_of_order();
        }
        let deckies = &self.deckies;
        // Matched by reference: moving the packet out of the result was a
        // 160-byte copy per frame.
        match &decode::decode_with(raw, &|ip| deckies.opens_tunnel(ip)) {
            Ok(pkt) if matches!(pkt.transport, Transport::Fragment) => self.defragment(pkt, raw.ts),
            Ok(pkt) => {
                if self.checksums.admit(pkt, &mut self.cx.stats) {
                    self.dispatch(pkt, raw.ts)
                }
            }
            &Err(e) => {
                if e == decode::DecodeError::NotIp {
                    // ARP teaches the link-local leak's MAC-to-IPv4 table.
                    self.leaks.observe_non_ip(&mut self.cx, raw);
                }
                self.cx.stats.decode_error(e)
            }
        }
        self.shed();
        self.hand_over(sink);
    }

    /// A packet the router in front of the shards decoded and counted
    /// already (frame `frame` of the capture), with its IP-ID/ISN classes
    /// when it is a fingerprinted SYN; the clock was moved with
    /// [`Self::advance_time`].
    pub fn process_routed(
        &mut self,
        pkt: &Packet<'_>,
        ts: Timestamp,
        frame: u64,
        seq: Option<crate::fingerprint::seqclass::SeqClasses>,
        sink: &mut impl FnMut(Event),
    ) {
        self.cx.frame = frame;
        if ts < self.now {
            self.idle_check.out_of_order();
        }
        self.routed_seq = seq;
        self.dispatch(pkt, ts);
        self.routed_seq = None;
        self.shed();
        self.hand_over(sink);
    }

    /// Counts a frame that did not decode (a shard's copy of a routed
    /// packet that no longer did: never, as the router decoded the same
    /// bytes).
    pub fn count_decode_error(&mut self, e: decode::DecodeError) {
        self.cx.stats.decode_error(e);
    }

    /// Reports flows idle at `now` (the daemon calls this on a silent link).
    pub fn advance_time(&mut self, now: Timestamp, sink: &mut impl FnMut(Event)) {
        if now > self.now {
            self.now = now;
            self.expire_idle();
        }
        self.hand_over(sink);
    }

    /// Ends every open flow (end of input, shutdown).
    pub fn finish(&mut self, sink: &mut impl FnMut(Event)) {
        // One at a time: collecting them first would double the table's
        // memory at the very end.
        while let Some(flow) = self.flows.drain().next() {
            let ts = flow.stats.last;
            tcp::end_flow(
                &mut self.cx,
                flow,
                crate::flow::table::FlowEnd::Shutdown,
                ts,
            );
        }
        self.datagrams.finish(&mut self.cx.stats);
        self.hand_over(sink);
    }

    /// Passes the queued events to `sink`, counting their fingerprints
    /// first when a tally is kept.
    fn hand_over(&mut self, sink: &mut impl FnMut(Event)) {
        // Heads read outside a segment's own processing (a flow ended by
        // expiry or shutdown) are scored here.
        if !self.cx.p0f_http_heads.is_empty() {
            p0f_uptime::score_http_heads(&mut self.p0f_hosts, &mut self.cx);
        }
        // Most packets complete no event: nothing to check or hand over.
        if self.cx.out.is_empty() {
            return;
        }
        let before = self.cx.out.len();
        self.clients.check(&mut self.cx.out);
        let found = (self.cx.out.len() - before) as u64;
        self.cx.stats.events[EventKind::ClientMismatch.index()] += found;
        if let Some(tally) = &mut self.tally {
            self.cx.out.iter().for_each(|ev| tally.add(ev));
        }
        self.cx.out.drain(..).for_each(&mut *sink);
    }

    /// The fingerprint tally, when `tally_fingerprints` asked for one.
    pub fn fingerprint_tally(&self) -> Option<&FingerprintTally> {
        self.tally.as_ref()
    }

    /// A piece of a datagram: the datagram is analysed once whole, as the
    /// decky's kernel would deliver it.
    fn defragment(&mut self, piece: &Packet<'_>, ts: Timestamp) {
        let deckies = &self.deckies;
        let opens = |ip: &decode::IpView<'_>| deckies.opens_tunnel(ip);
        let Some(whole) = self
            .defrag
            .push_nested(piece, self.now, &mut self.cx.stats, &opens)
        else {
            return;
        };
        match decode::decode_reassembled(&whole.bytes, whole.src_mac, whole.tunnel_depth, &opens) {
            Ok(pkt) => {
                if self.checksums.admit(&pkt, &mut self.cx.stats) {
                    self.dispatch(&pkt, ts)
                }
            }
            Err(e) => self.cx.stats.decode_error(e),
        }
    }

    /// Runs at every new packet time: inline, as there is usually
    /// nothing to expire.
    #[inline]
    fn expire_idle(&mut self) {
        self.defrag.expire(self.now, &mut self.cx.stats);
        self.datagrams.expire(self.now, &mut self.cx.stats);
        if !self.idle_check.nothing_due(self.now, self.idle_us) {
            self.expire_idle_flows();
        }
    }

    fn expire_idle_flows(&mut self) {
        let idle_us = self.idle_us;
        while let Some((flow, half_open)) = self.flows.pop_idle(self.now, idle_us) {
            self.cx.stats.bump(Counter::FlowsIdleExpired);
            let ts = Timestamp::from_micros(flow.stats.last.as_micros().saturating_add(idle_us));
            // Flows idle at the same packet and time leave one engine's
            // tables established first, then by recency: the shards' events
            // carry that order for the merge.
            let order = u64::from(half_open) << 63 | flow.last_frame;
            let first = self.cx.out.len();
            tcp::end_flow(&mut self.cx, flow, crate::flow::table::FlowEnd::Idle, ts);
            self.cx.out[first..]
                .iter_mut()
                .for_each(|ev| ev.order = order);
        }
        self.idle_check.checked(self.flows.least_recent_activity());
    }

    fn dispatch(&mut self, pkt: &Packet<'_>, ts: Timestamp) {
        if self.track_leaks {
            self.leaks.observe(&mut self.cx, &self.deckies, pkt, ts);
        }
        match pkt.transport {
            Transport::Tcp(tcp) => tcp::on_segment(self, pkt, &tcp, ts),
            Transport::Udp(udp) => {
                if self.track_leaks {
                    self.dhcp.observe(&mut self.cx, &self.deckies, pkt, ts);
                }
                udp::on_datagram(self, pkt, &udp, ts)
            }
            _ => {}
        }
    }

    /// Attribution of a connection from `client` to `server`, or `None`
    /// when no decky is involved.
    pub fn attribute(&self, client: &IpAddr, server: &IpAddr) -> Option<Attribution> {
        if self.deckies.is_observe_all() {
            return Some(Attribution {
                decky: Arc::from(server.to_string()),
                direction: Direction::Inbound,
            });
        }
        let (decky, direction) = match (self.deckies.get(client), self.deckies.get(server)) {
            // Internal traffic is named after the server's decky (docs/spec.md section 3).
            (Some(_), Some(s)) => (s, Direction::Internal),
            (None, Some(s)) => (s, Direction::Inbound),
            (Some(c), None) => (c, Direction::Outbound),
            (None, None) => return None,
        };
        Some(Attribution {
            decky: decky.clone(),
            direction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::linktype;

    /// A raw IPv4 TCP segment with one byte of data, `client_port` to
    /// 10.0.0.5:80 (checksums left zero: the direction is offloaded).
    fn data_segment(client_port: u16) -> Vec<u8> {
        let mut p = vec![0u8; 41];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&41u16.to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 5]);
        p[20..22].copy_from_slice(&client_port.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = 0x18;
        p[40] = b'x';
        p
    }

    /// Feeds `(client port, second)` segments; returns the idle expiries
    /// counted after each.
    fn idle_expiries(segments: &[(u16, i64)]) -> Vec<u64> {
        let mut deckies = DeckyMap::default();
        deckies.insert("web", "10.0.0.5".parse().unwrap());
        let limits = Limits {
            flow_idle_secs: 10,
            ..Limits::default()
        };
        let mut engine = Engine::new(limits, deckies);
        segments
            .iter()
            .map(|&(port, secs)| {
                let frame = data_segment(port);
                let raw = RawPacket {
                    ts: Timestamp::new(secs, 0),
                    linktype: linktype::RAW,
                    data: &frame,
                    orig_len: frame.len() as u32,
                };
                engine.process(&raw, &mut |_| {});
                engine.stats().get(Counter::FlowsIdleExpired)
            })
            .collect()
    }

    /// In time order, a flow is expired at the first packet past its idle
    /// time, whatever checks were skipped before it.
    #[test]
    fn idle_flows_expire_at_the_first_packet_past_their_idle_time() {
        let got = idle_expiries(&[(1, 0), (2, 5), (2, 9), (3, 10), (3, 11), (3, 19), (3, 20)]);
        // Flow 1 (last 0) at 11; flow 2 (last 9) at 20.
        assert_eq!(got, [0, 0, 0, 0, 1, 1, 2]);
    }

    /// A packet from the past puts a flow with an early time at the recent
    /// end of the table: expiry then still finds it when it is due.
    #[test]
    fn a_packet_from_the_past_ends_the_idle_shortcut() {
        let got = idle_expiries(&[(1, 0), (2, 20), (3, 1), (2, 22), (2, 23)]);
        // Flow 1 idle at 20. Flow 3 (last 1) is the least recent once flow
        // 2 is touched at 22, and due at 23; the check at 22 had found the
        // least recent flow active at 20 (nothing due before 30).
        assert_eq!(got, [0, 1, 1, 1, 2]);
    }

    #[test]
    fn attribution_directions() {
        let mut deckies = DeckyMap::default();
        deckies.insert("web", "10.0.0.5".parse().unwrap());
        deckies.insert("db", "10.0.0.6".parse().unwrap());
        let engine = Engine::new(Limits::default(), deckies);
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let a = engine
            .attribute(&ip("198.51.100.1"), &ip("10.0.0.5"))
            .unwrap();
        assert_eq!((&*a.decky, a.direction), ("web", Direction::Inbound));
        let a = engine
            .attribute(&ip("10.0.0.6"), &ip("198.51.100.1"))
            .unwrap();
        assert_eq!((&*a.decky, a.direction), ("db", Direction::Outbound));
        let a = engine.attribute(&ip("10.0.0.5"), &ip("10.0.0.6")).unwrap();
        assert_eq!((&*a.decky, a.direction), ("db", Direction::Internal));
        assert!(engine
            .attribute(&ip("198.51.100.1"), &ip("198.51.100.2"))
            .is_none());
    }
}
