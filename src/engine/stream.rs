//! TCP stream dispatch: each direction is reassembled by a bounded
//! [`StreamBuffer`] and its in-order bytes are offered to the registered
//! stream analyzers ([`StreamAnalyzers`]) until each says it has seen
//! enough. A direction nobody wants any more has its buffer released.

use std::net::SocketAddr;

use super::Context;
use crate::analyzers::{
    Attribution, Emitter, FlowObservers, Segment, StreamAnalyzers, StreamCx, StreamEnv,
};
use crate::flow::reassembly::StreamBuffer;
use crate::flow::table::Handshake;
use crate::limits::Limits;
use crate::stats::Counter;
use crate::util::budget::{heap_cost, Budget, Pool};
use crate::util::time::Timestamp;

const ANALYZERS: usize = StreamAnalyzers::COUNT;

/// Per-flow stream state, boxed on the flow at its first payload byte.
#[derive(Debug)]
pub struct StreamState {
    buffers: [StreamBuffer; 2],
    /// `wants[side][analyzer]`: still interested in that side's bytes.
    wants: [[bool; ANALYZERS]; 2],
    analyzers: StreamAnalyzers,
    budget: Budget,
    /// Bytes charged to [`Pool::StreamReaders`]: this box and the readers'
    /// buffers (the reassembly buffers charge their own pool).
    charged: usize,
}

impl StreamState {
    fn new(limits: &Limits, budget: &Budget, isn: [Option<u32>; 2]) -> Self {
        let mut buffers = [
            StreamBuffer::with_budget(limits.reassembly_bytes, budget.clone()),
            StreamBuffer::with_budget(limits.reassembly_bytes, budget.clone()),
        ];
        for (buf, isn) in buffers.iter_mut().zip(isn) {
            if let Some(isn) = isn {
                buf.start(isn.wrapping_add(1));
            }
        }
        StreamState {
            buffers,
            wants: [[true; ANALYZERS]; 2],
            analyzers: StreamAnalyzers::default(),
            budget: budget.clone(),
            charged: 0,
        }
    }

    /// Heap bytes of the box and the readers.
    fn footprint(&self) -> usize {
        heap_cost(std::mem::size_of::<Self>()) + self.analyzers.heap_bytes()
    }

    /// Settles the charge after the readers grew or shrank: the bytes are
    /// allocated already, so the charge is forced and the engine sheds
    /// older state if it overshoots.
    fn recharge(&mut self) {
        let now = self.footprint();
        if now > self.charged {
            self.budget.charge(Pool::StreamReaders, now - self.charged);
        } else if now < self.charged {
            self.budget.release(Pool::StreamReaders, self.charged - now);
        }
        self.charged = now;
    }

    /// Bytes this state holds in all, reassembly included.
    pub fn allocated(&self) -> usize {
        self.charged
            + self
                .buffers
                .iter()
                .map(StreamBuffer::allocated)
                .sum::<usize>()
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        if self.charged > 0 {
            self.budget.release(Pool::StreamReaders, self.charged);
        }
    }
}

impl StreamState {
    /// No analyzer wants anything more of side `d`'s payload: it needs
    /// no work (that side's reassembly buffer is released already, and
    /// with no analyzer wanting segments every `on_segment` is a no-op,
    /// so the readers' footprint cannot change either). A long transfer's
    /// data once the other side's analyzers wait for more (an HTTP
    /// client's next request) stops here.
    fn is_done_with(&self, d: usize) -> bool {
        self.wants[d].iter().all(|w| !*w) && !self.analyzers.wants_segments()
    }

    /// What p0f's HTTP module still wants of the connection.
    pub fn p0f_http_needs(&self) -> crate::analyzers::p0f_http::P0fNeeds {
        self.analyzers.http.p0f_needs()
    }
}

/// What the stream dispatch reads of a flow (the TCP layer's flow state
/// stays the TCP layer's).
pub struct StreamFlow<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub handshake: &'a Handshake,
    /// Each side's initial sequence number, where known.
    pub isn: [Option<u32>; 2],
    pub attribution: &'a Attribution,
    pub observers: &'a FlowObservers,
    /// p0f OS name id of the connection's SYN, if it matched an OS.
    pub syn_os: Option<u32>,
}

/// The analyzers' view of a flow at time `ts`.
fn cx_for<'a>(cx: &'a mut Context, flow: &'a StreamFlow<'_>, ts: Timestamp) -> StreamCx<'a> {
    let emitter = Emitter::new(
        (flow.client, flow.server, flow.attribution),
        ts,
        &mut cx.stats,
        &mut cx.out,
        &cx.events,
    );
    let env = StreamEnv {
        handshake: flow.handshake,
        limits: &cx.limits,
        observed: flow.observers,
        p0f_db: cx.p0f_db,
        syn_os: flow.syn_os,
        p0f_http_heads: &mut cx.p0f_http_heads,
        tls_prints: &mut cx.tls_prints,
    };
    StreamCx::new(emitter, env)
}

/// Hands a segment's payload, starting at sequence number `seq`, to the
/// analyzers. `slot` is the flow's stream state, made here at its first
/// payload byte unless the memory budget `shed` it.
#[allow(clippy::too_many_arguments)]
pub(super) fn on_payload(
    cx: &mut Context,
    slot: &mut Option<Box<StreamState>>,
    shed: bool,
    flow: &StreamFlow<'_>,
    seg: &Segment,
    seq: u32,
    payload: &[u8],
    ts: Timestamp,
) {
    let side = seg.side;
    let d = side as usize;
    if slot.as_deref().is_some_and(|s| s.is_done_with(d)) {
        return;
    }
    let mut state = match slot.take() {
        Some(s) => s,
        // The budget took this flow's partial handshakes: it is timed, not
        // read any more.
        None if shed => return,
        None => Box::new(StreamState::new(&cx.limits, &cx.budget, flow.isn)),
    };
    {
        let StreamState {
            buffers,
            wants,
            analyzers,
            ..
        } = &mut *state;
        let mut scx = cx_for(cx, flow, ts);
        analyzers.on_segment(&mut scx, seg);
        if wants[d].iter().any(|w| *w) {
            let want = &mut wants[d];
            let outcome = buffers[d].push(seq, payload, |offset, data| {
                analyzers.on_data(want, &mut scx, side, offset, data);
            });
            if outcome.conflicting_overlap {
                scx.stats.bump(Counter::ReassemblyConflictingOverlaps);
            }
            if outcome.dropped_over_cap {
                scx.stats.bump(Counter::ReassemblyDroppedSegments);
            }
            if outcome.dropped_over_budget {
                scx.stats.bump(Counter::ReassemblyDroppedOverMemcap);
            }
            if outcome.dropped_over_cap || outcome.dropped_over_budget {
                analyzers.on_bytes_lost(want, side);
            }
            if want.iter().all(|w| !*w) {
                buffers[d].release();
            }
        }
    }
    state.recharge();
    *slot = Some(state);
}

/// Lets the analyzers report at the end of a flow.
pub(super) fn on_close(
    cx: &mut Context,
    slot: &mut Option<Box<StreamState>>,
    flow: &StreamFlow<'_>,
    ts: Timestamp,
) {
    let Some(mut state) = slot.take() else {
        return;
    };
    let mut scx = cx_for(cx, flow, ts);
    state.analyzers.on_close(&mut scx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::Direction;
    use crate::decode::TcpFlags;
    use crate::flow::Side;
    use crate::util::budget::Budget;

    /// What a test's `StreamFlow` borrows: no handshake, an inbound
    /// attribution to decky `d`, no observers.
    struct FlowParts {
        handshake: Handshake,
        attribution: Attribution,
        observers: FlowObservers,
    }

    impl FlowParts {
        fn inbound() -> Self {
            FlowParts {
                handshake: Handshake::default(),
                attribution: Attribution {
                    decky: std::sync::Arc::from("d"),
                    direction: Direction::Inbound,
                },
                observers: FlowObservers::default(),
            }
        }

        fn flow(&self, client: &str, server: &str) -> StreamFlow<'_> {
            StreamFlow {
                client: client.parse().unwrap(),
                server: server.parse().unwrap(),
                handshake: &self.handshake,
                isn: [Some(0), Some(0)],
                attribution: &self.attribution,
                observers: &self.observers,
                syn_os: None,
            }
        }
    }

    /// A data segment of `payload_len` bytes from `side`.
    fn seg(side: Side, payload_len: usize) -> Segment {
        Segment {
            side,
            flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
            payload_len,
            retransmission: false,
        }
    }

    /// A connection that is neither TLS nor SSH nor HTTP: once every
    /// analyzer gave up on both sides, further payload is not looked at.
    #[test]
    fn a_flow_nobody_wants_any_more_is_skipped() {
        let mut cx = Context::for_tests();
        let parts = FlowParts::inbound();
        let flow = parts.flow("192.0.2.1:1000", "10.0.0.5:7777");
        let junk = vec![0u8; 5000];
        let ts = Timestamp::new(1, 0);
        let mut slot = None;
        on_payload(
            &mut cx,
            &mut slot,
            false,
            &flow,
            &seg(Side::Client, 5000),
            1,
            &junk,
            ts,
        );
        assert!(
            !slot.as_deref().unwrap().is_done_with(Side::Server as usize),
            "the server is unheard"
        );
        on_payload(
            &mut cx,
            &mut slot,
            false,
            &flow,
            &seg(Side::Server, 5000),
            1,
            &junk,
            ts,
        );
        // SSH kept the client on probation; its next bytes end it.
        let next = seg(Side::Client, 5000);
        on_payload(&mut cx, &mut slot, false, &flow, &next, 5001, &junk, ts);
        let state = slot.as_deref().unwrap();
        assert!(state.is_done_with(0) && state.is_done_with(1));
        assert_eq!(
            state
                .buffers
                .iter()
                .map(StreamBuffer::allocated)
                .sum::<usize>(),
            0
        );
        let before = (format!("{:?}", cx.stats), state.allocated());
        on_payload(
            &mut cx,
            &mut slot,
            false,
            &flow,
            &seg(Side::Client, 5000),
            10001,
            &junk,
            ts,
        );
        assert_eq!(
            (
                format!("{:?}", cx.stats),
                slot.as_deref().unwrap().allocated()
            ),
            before
        );
        assert!(cx.out.is_empty());
    }

    /// A keep-alive HTTP connection: the client side waits for a next
    /// request, the server's side is done after the response head, and
    /// the rest of a long download is not looked at (no counter, no
    /// event, no byte moves).
    #[test]
    fn a_side_nobody_wants_is_skipped_while_the_other_waits() {
        let mut cx = Context::for_tests();
        let parts = FlowParts::inbound();
        let flow = parts.flow("192.0.2.1:40000", "10.0.0.5:80");
        let ts = Timestamp::new(1, 0);
        let mut slot = None;
        let request = b"GET /big.iso HTTP/1.1\r\nHost: bench\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
        let response = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 100000000\r\n\r\n";
        let client = seg(Side::Client, request.len());
        on_payload(&mut cx, &mut slot, false, &flow, &client, 1, request, ts);
        let server = seg(Side::Server, response.len());
        on_payload(&mut cx, &mut slot, false, &flow, &server, 1, response, ts);
        let mut seq = 1 + response.len() as u32;
        let body = vec![0x5au8; 1460];
        // The SSH analyzer's segment probation ends within these.
        let mut server_body = |cx: &mut Context, slot: &mut Option<Box<StreamState>>, n| {
            for _ in 0..n {
                on_payload(
                    cx,
                    slot,
                    false,
                    &flow,
                    &seg(Side::Server, 1460),
                    seq,
                    &body,
                    ts,
                );
                seq = seq.wrapping_add(1460);
            }
        };
        server_body(&mut cx, &mut slot, 64);
        let state = slot.as_deref().unwrap();
        assert!(state.is_done_with(Side::Server as usize));
        assert!(!state.is_done_with(Side::Client as usize));
        let before = (format!("{:?}", cx.stats), state.allocated(), cx.out.len());
        server_body(&mut cx, &mut slot, 10);
        let state = slot.as_deref().unwrap();
        assert_eq!(
            (format!("{:?}", cx.stats), state.allocated(), cx.out.len()),
            before
        );
    }

    /// What BENCHMARKS.md reports: the bytes of a flow's stream state with
    /// one segment held beyond a 1460-byte hole, and after a 15 KB
    /// ClientHello-sized run of in-order bytes.
    #[test]
    fn reassembling_flow_costs() {
        let budget = Budget::unlimited();
        let limits = Limits::default();
        let mut st = StreamState::new(&limits, &budget, [Some(0), Some(0)]);
        st.buffers[0].push(1 + 1460, &[7; 1460], |_, _| {});
        st.recharge();
        let held = st.allocated();
        eprintln!(
            "COST flow entry {} stream state {} one held segment {}",
            crate::flow::table::FlowTable::<super::super::FlowApp>::entry_bytes(),
            heap_cost(std::mem::size_of::<StreamState>()),
            held
        );
        assert!(held < 6000, "{held}: the window is not allocated whole");
        assert_eq!(budget.used(), held);
        drop(st);
        assert_eq!(budget.used(), 0);
        let mut st = StreamState::new(&limits, &budget, [Some(0), Some(0)]);
        let mut seq = 1u32;
        for _ in 0..11 {
            st.buffers[0].push(seq, &[7; 1400], |_, _| {});
            seq += 1400;
        }
        st.recharge();
        eprintln!("COST 15 KB in order: {}", st.allocated());
        assert!(st.allocated() <= 4096 + 1024);
        assert_eq!(budget.used(), st.allocated());
    }
}
