//! TCP stream dispatch: each direction is reassembled by a bounded
//! [`StreamBuffer`] and its in-order bytes are offered to the application
//! analyzers (TLS, SSH, HTTP) until each says it has seen enough. A
//! direction nobody wants any more has its buffer released.

use std::net::SocketAddr;
use std::sync::Arc;

use super::http::HttpConn;
use super::ssh::SshConn;
use super::tcp::FlowApp;
use super::tls::TlsConn;
use super::{Context, Counter, Direction, Limits, Stats};
use crate::decode::TcpFlags;
use crate::event::{Event, EventKind};
use crate::flow::reassembly::StreamBuffer;
use crate::flow::table::{Flow, Handshake, Side};
use crate::util::budget::{heap_cost, Budget, Pool};
use crate::util::time::Timestamp;

/// Direction of stream bytes relative to the connection's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer = 0,
    ToClient = 1,
}

impl From<Side> for Dir {
    fn from(s: Side) -> Dir {
        match s {
            Side::Client => Dir::ToServer,
            Side::Server => Dir::ToClient,
        }
    }
}

/// Whether an analyzer wants more bytes of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    More,
    Done,
}

/// What an analyzer may use while handling stream bytes.
pub struct StreamCx<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub handshake: &'a Handshake,
    /// Time of the packet being processed.
    pub ts: Timestamp,
    pub limits: &'a Limits,
    pub stats: &'a mut Stats,
    /// TCP flags of the segment being processed (empty at flow end).
    pub tcp_flags: TcpFlags,
    /// The segment being processed carries only bytes seen before.
    pub retransmission: bool,
    /// Payload-less, ACK-only segments per side (client, server) so far.
    pub bare_acks: [u32; 2],
    /// p0f's database (its HTTP signatures).
    pub p0f_db: &'static crate::fingerprint::p0f::Database,
    /// p0f OS name id of the connection's SYN, if it matched an OS.
    pub syn_os: Option<u32>,
    decky: &'a Arc<str>,
    direction: Direction,
    out: &'a mut Vec<Event>,
    p0f_http_heads: &'a mut Vec<super::p0f_uptime::HttpHead>,
}

impl StreamCx<'_> {
    /// A new event with `src_ip src_port dst_ip dst_port` set.
    pub fn event(&self, kind: EventKind) -> Event {
        Context::conn_event(kind, self.ts, self.decky, self.client, self.server)
    }

    /// Queues an event, appending `direction`.
    pub fn emit(&mut self, mut ev: Event) {
        ev.push("direction", self.direction.as_str());
        self.stats.events[ev.kind.index()] += 1;
        self.out.push(ev);
    }

    /// Hands a p0f HTTP head to host change scoring.
    pub fn p0f_http_head(&mut self, info: super::p0f_http::HttpNatInfo) {
        self.p0f_http_heads.push(super::p0f_uptime::HttpHead {
            info,
            ts: self.ts,
            client: self.client,
            server: self.server,
            decky: self.decky.clone(),
            direction: self.direction,
        });
    }
}

const ANALYZERS: usize = 3;

/// What the TCP layer knows about a payload segment.
#[derive(Debug, Clone, Copy)]
pub struct SegmentMeta {
    pub flags: TcpFlags,
    pub retransmission: bool,
}

/// Per-flow stream state, boxed on the flow at its first payload byte.
#[derive(Debug)]
pub struct StreamState {
    buffers: [StreamBuffer; 2],
    /// `wants[dir][analyzer]`: still interested in that direction.
    wants: [[bool; ANALYZERS]; 2],
    tls: TlsConn,
    ssh: SshConn,
    http: HttpConn,
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
            tls: TlsConn::new(),
            ssh: SshConn::new(),
            http: HttpConn::new(),
            budget: budget.clone(),
            charged: 0,
        }
    }

    /// Heap bytes of the box and the readers.
    fn footprint(&self) -> usize {
        heap_cost(std::mem::size_of::<Self>())
            + self.tls.heap_bytes()
            + self.ssh.heap_bytes()
            + self.http.heap_bytes()
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
    /// What p0f's HTTP module still wants of the connection.
    pub fn p0f_http_needs(&self) -> super::p0f_http::P0fNeeds {
        self.http.p0f_needs()
    }
}

fn cx_for<'a>(
    cx: &'a mut Context,
    flow_parts: (&'a FlowApp, SocketAddr, SocketAddr, &'a Handshake),
    ts: Timestamp,
    seg: SegmentMeta,
) -> StreamCx<'a> {
    let (app, client, server, handshake) = flow_parts;
    StreamCx {
        client,
        server,
        handshake,
        ts,
        limits: &cx.limits,
        stats: &mut cx.stats,
        tcp_flags: seg.flags,
        retransmission: seg.retransmission,
        bare_acks: app.bare_acks,
        p0f_db: cx.p0f_db,
        syn_os: app.syn_os,
        decky: &app.attribution.decky,
        direction: app.attribution.direction,
        out: &mut cx.out,
        p0f_http_heads: &mut cx.p0f_http_heads,
    }
}

/// Hands a segment's payload to the analyzers.
pub(super) fn on_payload(
    cx: &mut Context,
    flow: &mut Flow<FlowApp>,
    side: Side,
    seq: u32,
    payload: &[u8],
    ts: Timestamp,
    seg: SegmentMeta,
) {
    let dir = Dir::from(side);
    let d = dir as usize;
    let mut state = match flow.app.stream.take() {
        Some(s) => s,
        // The budget took this flow's partial handshakes: it is timed, not
        // read any more.
        None if flow.app.stream_shed => return,
        None => Box::new(StreamState::new(&cx.limits, &cx.budget, flow.isn)),
    };
    {
        let StreamState {
            buffers,
            wants,
            tls,
            ssh,
            http,
            ..
        } = &mut *state;
        let mut scx = cx_for(
            cx,
            (&flow.app, flow.client, flow.server, &flow.handshake),
            ts,
            seg,
        );
        tls.on_segment(&mut scx, dir, payload.len());
        ssh.on_segment(&mut scx, dir, payload.len());
        http.on_segment(&mut scx, dir, payload.len());
        if wants[d].iter().any(|w| *w) {
            let want = &mut wants[d];
            let outcome = buffers[d].push(seq, payload, |offset, data| {
                if want[0] && tls.on_data(&mut scx, dir, offset, data) == Interest::Done {
                    want[0] = false;
                }
                if want[1] && ssh.on_data(&mut scx, dir, offset, data) == Interest::Done {
                    want[1] = false;
                }
                if want[2] && http.on_data(&mut scx, dir, offset, data) == Interest::Done {
                    want[2] = false;
                }
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
            let lost = outcome.dropped_over_cap || outcome.dropped_over_budget;
            if lost && dir == Dir::ToServer && want[0] {
                tls.note_client_bytes_lost();
            }
            if want.iter().all(|w| !*w) {
                buffers[d].release();
            }
        }
    }
    state.recharge();
    flow.app.stream = Some(state);
}

/// Lets the analyzers report at the end of a flow.
pub(super) fn on_close(cx: &mut Context, flow: &mut Flow<FlowApp>, ts: Timestamp) {
    let Some(mut state) = flow.app.stream.take() else {
        return;
    };
    let mut scx = cx_for(
        cx,
        (&flow.app, flow.client, flow.server, &flow.handshake),
        ts,
        SegmentMeta {
            flags: TcpFlags(0),
            retransmission: false,
        },
    );
    state.tls.on_close(&mut scx);
    state.ssh.on_close(&mut scx);
    state.http.on_close(&mut scx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::budget::Budget;

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
            crate::flow::table::FlowTable::<super::super::tcp::FlowApp>::entry_bytes(),
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
