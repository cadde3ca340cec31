//! Application analyzers: what the engine hands a flow's bytes to, and the
//! one way events leave the packet path.
//!
//! The engine tracks flows and attributes them to deckies; everything that
//! reads a protocol plugs in here through one of three traits:
//! - [`StreamAnalyzer`]: per-connection state over a TCP stream's
//!   reassembled bytes (TLS, SSH, HTTP), made at the flow's first payload
//!   byte;
//! - [`DatagramAnalyzer`]: engine-wide state over UDP payloads (QUIC,
//!   DTLS), tried in order until one takes the datagram;
//! - [`FlowObserver`]: a few bytes on every TCP flow that see every
//!   segment, payload or not, and may report when the flow ends (JA4SSH's
//!   ACK counts, `tcp_flow_timing`).
//!
//! Each kind has a registration table at the bottom of this file: a new
//! protocol is a new file and one line there. The protocol is detected once
//! per stream direction ([`StreamAnalyzer::claims`]), and every event goes
//! through [`Emitter`]. Nothing here imports the engine.

pub mod dtls;
pub mod dtls_hellos;
pub mod flow_timing;
pub mod http;
pub mod p0f_http;
pub mod quic;
pub mod ssh;
pub mod tls;

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::decode::TcpFlags;
use crate::event::{Event, EventKind, EventPool};
use crate::flow::table::{FlowStats, Handshake};
use crate::flow::Side;
use crate::limits::Limits;
use crate::stats::Stats;
use crate::util::budget::Budget;
use crate::util::time::Timestamp;

/// Which way a connection crosses the decky boundary (docs/spec.md section
/// 3): the `direction` field of every connection event. Not to be confused
/// with [`Side`], which end of the connection sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
}

/// The attribution of one connection: which decky, which way.
#[derive(Debug, Clone)]
pub struct Attribution {
    pub decky: Arc<str>,
    pub direction: Direction,
}

/// Whether an analyzer wants more bytes of a stream direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    More,
    Done,
}

/// What the TCP layer knows about one segment of a flow.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Who sent it.
    pub side: Side,
    pub flags: TcpFlags,
    pub payload_len: usize,
    /// It carries only bytes seen before.
    pub retransmission: bool,
}

impl Segment {
    /// No payload and ACK as its only flag.
    pub fn is_bare_ack(&self) -> bool {
        self.payload_len == 0 && self.flags.0 == TcpFlags::ACK
    }
}

/// The one place an event is counted and queued. Producers build events
/// with [`Emitter::event`] and hand them to [`Emitter::emit`]; the engine's
/// own producers (SYN fingerprints, uptime, link-local leaks) queue through
/// [`Emitter::queue`].
pub struct Emitter<'a> {
    /// The connection's client (for a datagram: its sender).
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Time of the packet being processed.
    pub ts: Timestamp,
    pub stats: &'a mut Stats,
    decky: &'a Arc<str>,
    direction: Direction,
    out: &'a mut Vec<Event>,
    /// Where new events take their buffers from.
    events: &'a EventPool,
}

impl<'a> Emitter<'a> {
    pub fn new(
        conn: (SocketAddr, SocketAddr, &'a Attribution),
        ts: Timestamp,
        stats: &'a mut Stats,
        out: &'a mut Vec<Event>,
        events: &'a EventPool,
    ) -> Self {
        let (client, server, attribution) = conn;
        Emitter {
            client,
            server,
            ts,
            stats,
            decky: &attribution.decky,
            direction: attribution.direction,
            out,
            events,
        }
    }

    /// Counts `ev` and queues it, appending the `direction` field every
    /// connection event carries (`None`: an event about the LAN, not a
    /// connection).
    pub fn queue(
        stats: &mut Stats,
        out: &mut Vec<Event>,
        mut ev: Event,
        direction: Option<Direction>,
    ) {
        if let Some(direction) = direction {
            ev.push("direction", direction.as_str());
        }
        stats.events[ev.kind.index()] += 1;
        out.push(ev);
    }

    /// A new connection event with `src_ip src_port dst_ip dst_port` set,
    /// its buffers from `events`.
    pub fn conn_event(
        events: &EventPool,
        kind: EventKind,
        ts: Timestamp,
        decky: &Arc<str>,
        client: SocketAddr,
        server: SocketAddr,
    ) -> Event {
        let mut ev = events.event(kind, ts, decky.clone());
        ev.push("src_ip", client.ip())
            .push("src_port", client.port())
            .push("dst_ip", server.ip())
            .push("dst_port", server.port());
        ev
    }

    /// A new event of this connection with `src_ip src_port dst_ip
    /// dst_port` set.
    pub fn event(&self, kind: EventKind) -> Event {
        Self::conn_event(
            self.events,
            kind,
            self.ts,
            self.decky,
            self.client,
            self.server,
        )
    }

    /// A new event with no fields, for events whose catalogue order differs
    /// (`quic_client_hello` puts `src_port` last).
    pub fn bare_event(&self, kind: EventKind) -> Event {
        self.events.event(kind, self.ts, self.decky.clone())
    }

    /// Queues an event of this connection.
    pub fn emit(&mut self, ev: Event) {
        Self::queue(self.stats, self.out, ev, Some(self.direction));
    }

    pub fn decky(&self) -> &Arc<str> {
        self.decky
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }
}

/// What a stream analyzer may use while handling a connection's bytes.
/// It derefs to the connection's [`Emitter`] (`cx.client`, `cx.ts`,
/// `cx.stats`, `cx.emit(..)`).
pub struct StreamCx<'a> {
    emitter: Emitter<'a>,
    pub handshake: &'a Handshake,
    pub limits: &'a Limits,
    /// What the flow observers saw of every segment so far.
    pub observed: &'a FlowObservers,
    /// p0f's database (its HTTP signatures).
    pub p0f_db: &'static crate::fingerprint::p0f::Database,
    /// p0f OS name id of the connection's SYN, if it matched an OS.
    pub syn_os: Option<u32>,
    /// p0f HTTP heads read, for the engine's host change scoring.
    p0f_http_heads: &'a mut Vec<p0f_http::HttpHead>,
    /// TLS fingerprints of the clients and certificates seen lately.
    pub tls_prints: &'a mut tls::TlsPrints,
    /// Another analyzer claims the direction being read (set while its
    /// first bytes are handed over; see [`StreamAnalyzer::claims`]).
    claimed_by_another: bool,
}

/// The flow-wide parts of a [`StreamCx`], which the engine owns.
pub struct StreamEnv<'a> {
    pub handshake: &'a Handshake,
    pub limits: &'a Limits,
    pub observed: &'a FlowObservers,
    pub p0f_db: &'static crate::fingerprint::p0f::Database,
    pub syn_os: Option<u32>,
    pub p0f_http_heads: &'a mut Vec<p0f_http::HttpHead>,
    pub tls_prints: &'a mut tls::TlsPrints,
}

impl<'a> StreamCx<'a> {
    pub fn new(emitter: Emitter<'a>, env: StreamEnv<'a>) -> Self {
        StreamCx {
            emitter,
            handshake: env.handshake,
            limits: env.limits,
            observed: env.observed,
            p0f_db: env.p0f_db,
            syn_os: env.syn_os,
            p0f_http_heads: env.p0f_http_heads,
            tls_prints: env.tls_prints,
            claimed_by_another: false,
        }
    }

    /// Another analyzer recognised the first bytes of this direction as its
    /// protocol (only ever true at stream offset 0).
    pub fn claimed_by_another(&self) -> bool {
        self.claimed_by_another
    }

    /// Hands a p0f HTTP head to host change scoring.
    pub fn p0f_http_head(&mut self, info: p0f_http::HttpNatInfo) {
        let head = p0f_http::HttpHead {
            info,
            ts: self.emitter.ts,
            client: self.emitter.client,
            server: self.emitter.server,
            decky: self.emitter.decky.clone(),
            direction: self.emitter.direction,
        };
        self.p0f_http_heads.push(head);
    }
}

impl<'a> Deref for StreamCx<'a> {
    type Target = Emitter<'a>;
    fn deref(&self) -> &Emitter<'a> {
        &self.emitter
    }
}

impl DerefMut for StreamCx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.emitter
    }
}

/// What a datagram analyzer may use. `client` is the datagram's sender.
/// It derefs to the datagram's [`Emitter`].
pub struct DatagramCx<'a> {
    emitter: Emitter<'a>,
    pub limits: &'a Limits,
}

impl<'a> DatagramCx<'a> {
    pub fn new(emitter: Emitter<'a>, limits: &'a Limits) -> Self {
        DatagramCx { emitter, limits }
    }
}

impl<'a> Deref for DatagramCx<'a> {
    type Target = Emitter<'a>;
    fn deref(&self) -> &Emitter<'a> {
        &self.emitter
    }
}

impl DerefMut for DatagramCx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.emitter
    }
}

/// What a flow observer reports through when its flow ends.
pub struct FlowEndCx<'a> {
    emitter: Emitter<'a>,
    /// The flow's packet, byte and timing counts.
    pub flow: &'a FlowStats,
}

impl<'a> FlowEndCx<'a> {
    pub fn new(emitter: Emitter<'a>, flow: &'a FlowStats) -> Self {
        FlowEndCx { emitter, flow }
    }

    pub fn emitter(&mut self) -> &mut Emitter<'a> {
        &mut self.emitter
    }
}

/// An application protocol over a TCP stream. One value per connection,
/// made (with [`Default`]) at the flow's first payload byte; it sees each
/// direction's in-order bytes until it answers [`Interest::Done`] for it.
pub trait StreamAnalyzer: Default {
    /// Whether the first bytes of a direction are clearly this protocol,
    /// which tells the other analyzers not to wait for theirs. Asked once
    /// per direction, at stream offset 0.
    fn claims(_side: Side, _first: &[u8]) -> bool {
        false
    }

    /// Every payload segment of the flow, before its bytes are reassembled.
    fn on_segment(&mut self, _cx: &mut StreamCx<'_>, _seg: &Segment) {}

    /// Whether [`Self::on_segment`] may still do anything: once no
    /// analyzer wants segments or bytes, a flow's payload costs nothing.
    fn wants_segments(&self) -> bool {
        false
    }

    /// The next in-order bytes sent by `side`, at stream offset `offset`.
    fn on_data(&mut self, cx: &mut StreamCx<'_>, side: Side, offset: u64, data: &[u8]) -> Interest;

    /// Reassembly dropped bytes of `side` (beyond its window or its memory
    /// budget) while this analyzer still wanted them.
    fn on_bytes_lost(&mut self, _side: Side) {}

    /// The flow ends.
    fn on_close(&mut self, _cx: &mut StreamCx<'_>) {}

    /// Heap bytes held, for the memory budget.
    fn heap_bytes(&self) -> usize;
}

/// An application protocol over UDP: one value for the engine, holding
/// whatever bounded tables the protocol needs across datagrams.
pub trait DatagramAnalyzer {
    fn new(limits: &Limits, budget: &Budget) -> Self;

    /// Returns true if the datagram was this protocol (reported, counted or
    /// kept): the analyzers after it do not see it. The analyzer settles
    /// its memory budget itself.
    fn on_datagram(&mut self, cx: &mut DatagramCx<'_>, payload: &[u8]) -> bool;

    /// The engine's clock moved to `now`: drops what waited too long.
    fn expire(&mut self, _now: Timestamp, _stats: &mut Stats) {}

    /// End of input: counts what is left unfinished.
    fn finish(&mut self, _stats: &mut Stats) {}

    /// Its tables' sizes and evictions, for the summary and metrics.
    fn table_stats(&self, _tables: &mut Vec<(&'static str, usize, u64)>) {}
}

/// A few bytes on every TCP flow that see every segment, and may report
/// when the flow ends.
pub trait FlowObserver: Default {
    fn on_segment(&mut self, seg: &Segment);

    /// The flow ends (after the stream analyzers reported).
    fn on_end(&self, _cx: &mut FlowEndCx<'_>) {}
}

/// Declares the stream analyzers: a struct holding one of each, in the
/// order they see bytes and report.
macro_rules! stream_analyzers {
    ($($name:ident: $ty:ty,)*) => {
        /// One connection's state for every stream analyzer.
        #[derive(Debug, Default)]
        pub struct StreamAnalyzers {
            $(pub $name: $ty,)*
        }

        impl StreamAnalyzers {
            /// How many there are.
            pub const COUNT: usize = [$(stringify!($name)),*].len();

            /// Which analyzer claims a direction starting with `first`.
            fn claimant(side: Side, first: &[u8]) -> Option<usize> {
                let mut i = 0;
                $(
                    if <$ty as StreamAnalyzer>::claims(side, first) {
                        return Some(i);
                    }
                    i += 1;
                )*
                let _ = i;
                None
            }

            pub fn on_segment(&mut self, cx: &mut StreamCx<'_>, seg: &Segment) {
                $(self.$name.on_segment(cx, seg);)*
            }

            /// Whether any analyzer still wants to see segments.
            pub fn wants_segments(&self) -> bool {
                false $(|| self.$name.wants_segments())*
            }

            /// Hands in-order bytes to the analyzers that still want this
            /// direction, clearing `wants` for those done with it.
            pub fn on_data(
                &mut self,
                wants: &mut [bool; Self::COUNT],
                cx: &mut StreamCx<'_>,
                side: Side,
                offset: u64,
                data: &[u8],
            ) {
                let claimant = if offset == 0 {
                    Self::claimant(side, data)
                } else {
                    None
                };
                let mut i = 0;
                $(
                    if wants[i] {
                        cx.claimed_by_another = claimant.is_some_and(|c| c != i);
                        if self.$name.on_data(cx, side, offset, data) == Interest::Done {
                            wants[i] = false;
                        }
                    }
                    i += 1;
                )*
                let _ = i;
                cx.claimed_by_another = false;
            }

            /// Tells the analyzers still wanting `side` that some of its
            /// bytes were dropped.
            pub fn on_bytes_lost(&mut self, wants: &[bool; Self::COUNT], side: Side) {
                let mut i = 0;
                $(
                    if wants[i] {
                        self.$name.on_bytes_lost(side);
                    }
                    i += 1;
                )*
                let _ = i;
            }

            pub fn on_close(&mut self, cx: &mut StreamCx<'_>) {
                $(self.$name.on_close(cx);)*
            }

            pub fn heap_bytes(&self) -> usize {
                0 $(+ self.$name.heap_bytes())*
            }
        }
    };
}

/// Declares the datagram analyzers: a struct holding one of each, in the
/// order a datagram is offered to them.
macro_rules! datagram_analyzers {
    ($($name:ident: $ty:ty,)*) => {
        /// The engine's state for every datagram analyzer.
        pub struct DatagramAnalyzers {
            $(pub $name: $ty,)*
        }

        impl DatagramAnalyzers {
            pub fn new(limits: &Limits, budget: &Budget) -> Self {
                DatagramAnalyzers {
                    $($name: <$ty as DatagramAnalyzer>::new(limits, budget),)*
                }
            }

            /// Offers a datagram to each analyzer until one takes it.
            pub fn on_datagram(&mut self, cx: &mut DatagramCx<'_>, payload: &[u8]) {
                $(
                    if self.$name.on_datagram(cx, payload) {
                        return;
                    }
                )*
            }

            pub fn expire(&mut self, now: Timestamp, stats: &mut Stats) {
                $(self.$name.expire(now, stats);)*
            }

            pub fn finish(&mut self, stats: &mut Stats) {
                $(self.$name.finish(stats);)*
            }

            pub fn table_stats(&self, tables: &mut Vec<(&'static str, usize, u64)>) {
                $(self.$name.table_stats(tables);)*
            }
        }
    };
}

/// Declares the flow observers: a struct holding one of each on every flow.
macro_rules! flow_observers {
    ($($name:ident: $ty:ty,)*) => {
        /// Every flow observer's state for one flow.
        #[derive(Debug, Default)]
        pub struct FlowObservers {
            $(pub $name: $ty,)*
        }

        impl FlowObservers {
            pub fn on_segment(&mut self, seg: &Segment) {
                $(self.$name.on_segment(seg);)*
            }

            pub fn on_end(&self, cx: &mut FlowEndCx<'_>) {
                $(self.$name.on_end(cx);)*
            }
        }
    };
}

// The registration tables. Order matters: it is the order the analyzers
// see bytes and so the order of their events.

stream_analyzers! {
    tls: tls::TlsConn,
    ssh: ssh::SshConn,
    http: http::HttpConn,
}

datagram_analyzers! {
    quic: quic::QuicTracker,
    dtls: dtls::Dtls,
}

flow_observers! {
    bare_acks: ssh::BareAcks,
    timing: flow_timing::FlowTiming,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_of_a_side_are_claimed_once_by_their_protocol() {
        let claimant = StreamAnalyzers::claimant;
        assert_eq!(claimant(Side::Client, b"SSH-2.0-OpenSSH_9.6\r\n"), Some(1));
        assert_eq!(claimant(Side::Server, b"SSH-2.0-x"), Some(1));
        assert_eq!(claimant(Side::Client, b"GET / HTTP/1.1\r\n"), Some(2));
        assert_eq!(claimant(Side::Client, b"OPTIONS * HTTP/1.1\r\n"), Some(2));
        // A TLS record, a prelude TLS may follow (CONNECT, STARTTLS), a
        // method TLS analysis must not give up on, and too few bytes.
        assert_eq!(claimant(Side::Client, &[0x16, 3, 1, 0, 0xc8, 1]), None);
        assert_eq!(claimant(Side::Client, b"CONNECT a:443 HTTP/1.1\r\n"), None);
        assert_eq!(claimant(Side::Client, b"EHLO x\r\n"), None);
        assert_eq!(claimant(Side::Client, b"PROPFIND / HTTP/1.1\r\n"), None);
        assert_eq!(claimant(Side::Client, b"SSH"), None);
    }

    #[test]
    fn observers_count_bare_acks_per_side() {
        let mut obs = FlowObservers::default();
        let seg = |side, flags, payload_len| Segment {
            side,
            flags: TcpFlags(flags),
            payload_len,
            retransmission: false,
        };
        obs.on_segment(&seg(Side::Client, TcpFlags::SYN, 0));
        obs.on_segment(&seg(Side::Client, TcpFlags::ACK, 0));
        obs.on_segment(&seg(Side::Server, TcpFlags::ACK, 0));
        obs.on_segment(&seg(Side::Server, TcpFlags::ACK, 0));
        // Payload or another flag: not a bare ACK.
        obs.on_segment(&seg(Side::Client, TcpFlags::ACK, 10));
        obs.on_segment(&seg(Side::Client, TcpFlags::ACK | TcpFlags::PSH, 0));
        assert_eq!(obs.bare_acks.0, [1, 2]);
    }

    #[test]
    fn the_emitter_counts_and_appends_direction() {
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let a = Attribution {
            decky: Arc::from("web"),
            direction: Direction::Outbound,
        };
        let (c, s): (SocketAddr, SocketAddr) = (
            "192.0.2.1:1000".parse().unwrap(),
            "10.0.0.5:22".parse().unwrap(),
        );
        let pool = EventPool::default();
        let mut e = Emitter::new(
            (c, s, &a),
            Timestamp::new(1, 0),
            &mut stats,
            &mut out,
            &pool,
        );
        let ev = e.event(EventKind::SshClientBanner);
        e.emit(ev);
        Emitter::queue(
            &mut stats,
            &mut out,
            Event::new(
                EventKind::DhcpClientFingerprint,
                Timestamp::new(1, 0),
                Arc::from("lan"),
            ),
            None,
        );
        assert_eq!(out[0].get("src_port"), Some(&b"1000"[..]));
        assert_eq!(out[0].get("direction"), Some(&b"outbound"[..]));
        assert_eq!(out[1].get("direction"), None);
        assert_eq!(stats.events[EventKind::SshClientBanner.index()], 1);
        assert_eq!(stats.events[EventKind::DhcpClientFingerprint.index()], 1);
    }
}
