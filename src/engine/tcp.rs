//! TCP: flow creation and attribution, counters and FIN/RST/idle endings;
//! SYNs go to [`super::syn`], every segment to the flow observers
//! ([`FlowObservers`]: JA4SSH's ACK counts, `tcp_flow_timing`), payload to
//! [`super::stream`].

use std::net::SocketAddr;

use super::p0f_uptime::{self, Handshake};
use super::{stream, syn, Context, Engine, FlowApp};
use crate::analyzers::{Emitter, FlowEndCx, FlowObservers, Segment};
use crate::decode::{Packet, TcpFlags, TcpView};
use crate::flow::table::{Flow, FlowEnd, FlowKey, Side};
use crate::stats::Counter;
use crate::util::time::Timestamp;

pub(super) fn on_segment(engine: &mut Engine, pkt: &Packet<'_>, tcp: &TcpView<'_>, ts: Timestamp) {
    let (sport, dport) = (tcp.src_port(), tcp.dst_port());
    let flags = tcp.flags();

    let mut syn_os = None;
    let mut hs = Handshake::Other;
    if tcp.is_syn() {
        if let Some((os, tool, snap)) = syn::on_syn(engine, pkt, tcp, ts) {
            syn_os = os;
            hs = Handshake::Syn { tool, snap };
        }
    } else if tcp.is_synack() {
        if let Some((tool, snap)) = syn::on_synack(engine, pkt, tcp, ts) {
            hs = Handshake::SynAck { tool, snap };
        }
    }

    let key = FlowKey::of(&pkt.ip.src, sport, &pkt.ip.dst, dport);
    // A pure SYN leaves a half-open flow where it is; anything else
    // promotes it to the established table.
    let pure_syn = tcp.is_syn();
    // One table lookup for a packet of a known flow (the common case): the
    // flow and the counters are separate fields of the engine.
    let (found, evicted) = if pure_syn {
        (engine.flows.get_mut(&key), None)
    } else {
        engine.flows.get_mut_promoting(&key)
    };
    if let Some(flow) = found {
        // A flow the promotion pushed out is reported first.
        if let Some(old) = evicted {
            let at = old.stats.last;
            end_flow(&mut engine.cx, old, FlowEnd::Evicted, at);
        }
        if pure_syn {
            flow.app.syn_os = syn_os;
        }
        let side = flow.side_of_parts(&pkt.ip.src, sport);
        p0f_uptime::on_packet(
            &mut engine.p0f_hosts,
            &mut engine.cx,
            flow,
            side,
            tcp,
            ts,
            hs,
        );
        let ended = track(&mut engine.cx, flow, side, pkt, tcp, ts);
        p0f_uptime::after_payload(flow, side);
        if !engine.cx.p0f_http_heads.is_empty() {
            p0f_uptime::score_http_heads(&mut engine.p0f_hosts, &mut engine.cx);
        }
        finish_segment(engine, &key, ended, ts);
        return;
    }
    // Only a SYN, SYN-ACK or data opens a flow: a lone RST, FIN or ACK
    // is a scan reply or the tail of a connection already reported.
    if tcp.payload.is_empty() && !flags.has(TcpFlags::SYN) {
        return;
    }
    let src = SocketAddr::new(pkt.ip.src, sport);
    let dst = SocketAddr::new(pkt.ip.dst, dport);
    let (client, server) = orient(engine, src, dst, tcp);
    let Some(attribution) = engine.attribute(&client.ip(), &server.ip()) else {
        engine.cx.stats.bump(Counter::TcpUnobservedPackets);
        return;
    };
    let app = FlowApp {
        attribution,
        stream: None,
        syn_mss: None,
        syn_os,
        p0f: Default::default(),
        observers: FlowObservers::default(),
        stream_shed: false,
        fin_acked: [false; 2],
    };
    let (flow, evicted) = if pure_syn {
        engine.flows.insert_half_open(key, client, server, ts, app)
    } else {
        engine.flows.insert(key, client, server, ts, app)
    };
    engine.cx.stats.flows_created += 1;
    // The evicted flow is reported before this packet's own events.
    if let Some(old) = evicted {
        let at = old.stats.last;
        end_flow(&mut engine.cx, old, FlowEnd::Evicted, at);
    }
    let side = flow.side_of(src);
    p0f_uptime::on_packet(
        &mut engine.p0f_hosts,
        &mut engine.cx,
        flow,
        side,
        tcp,
        ts,
        hs,
    );
    let ended = track(&mut engine.cx, flow, side, pkt, tcp, ts);
    p0f_uptime::after_payload(flow, side);
    if !engine.cx.p0f_http_heads.is_empty() {
        p0f_uptime::score_http_heads(&mut engine.p0f_hosts, &mut engine.cx);
    }
    finish_segment(engine, &key, ended, ts);
}

/// Removes and reports a flow that this segment ended.
fn finish_segment(engine: &mut Engine, key: &FlowKey, ended: Option<FlowEnd>, ts: Timestamp) {
    if let Some(reason) = ended {
        if let Some(flow) = engine.flows.remove(key) {
            end_flow(&mut engine.cx, flow, reason, ts);
        }
    }
}

/// Decides who is the client of a connection first seen with this packet:
/// the SYN's sender, the SYN-ACK's receiver, or mid-stream the non-decky
/// side (observe-all: the side with the higher, ephemeral-looking port).
fn orient(
    engine: &Engine,
    src: SocketAddr,
    dst: SocketAddr,
    tcp: &TcpView<'_>,
) -> (SocketAddr, SocketAddr) {
    if tcp.is_syn() {
        return (src, dst);
    }
    if tcp.is_synack() {
        return (dst, src);
    }
    let deckies = &engine.deckies;
    if !deckies.is_observe_all() {
        match (
            deckies.get(&src.ip()).is_some(),
            deckies.get(&dst.ip()).is_some(),
        ) {
            (true, false) => return (dst, src),
            (false, true) => return (src, dst),
            _ => {}
        }
    }
    if src.port() < dst.port() {
        (dst, src)
    } else {
        (src, dst)
    }
}

/// Updates a flow with one segment; returns how the flow ends, if it does.
fn track(
    cx: &mut Context,
    flow: &mut Flow<FlowApp>,
    side: Side,
    pkt: &Packet<'_>,
    tcp: &TcpView<'_>,
    ts: Timestamp,
) -> Option<FlowEnd> {
    let flags = tcp.flags();
    let payload = tcp.payload;
    flow.stats.record(ts, payload.len());
    flow.last_frame = cx.frame;

    let ttl = pkt.ip.ttl;
    let hs = &mut flow.handshake;
    if tcp.is_syn() {
        flow.saw_syn = true;
        flow.app.syn_mss = Some(syn::mss_of(tcp));
        flow.isn[Side::Client as usize].get_or_insert(tcp.seq());
        hs.syn.get_or_insert((ts, ttl));
    } else if tcp.is_synack() && side == Side::Server {
        flow.isn[Side::Server as usize].get_or_insert(tcp.seq());
        hs.synack.get_or_insert((ts, ttl));
    } else if side == Side::Client
        && hs.synack.is_some()
        && hs.ack.is_none()
        && flags.has(TcpFlags::ACK)
    {
        hs.ack = Some((ts, ttl));
    }

    let seg_len = payload.len() as u32
        + u32::from(flags.has(TcpFlags::SYN))
        + u32::from(flags.has(TcpFlags::FIN));
    let track = &mut flow.seq[side as usize];
    let retransmission = track.advance(tcp.seq(), seg_len);
    if retransmission {
        flow.stats.retransmits += 1;
    }
    if flags.has(TcpFlags::FIN) {
        track.fin_end.get_or_insert(tcp.seq().wrapping_add(seg_len));
    }

    let seg = Segment {
        side,
        flags,
        payload_len: payload.len(),
        retransmission,
    };
    flow.app.observers.on_segment(&seg);
    if !payload.is_empty() {
        // Data on a SYN (TCP Fast Open, or any payload an attacker puts
        // there: the decky's kernel queues it) starts after the SYN's own
        // sequence number, where the stream begins.
        let seq = if flags.has(TcpFlags::SYN) {
            tcp.seq().wrapping_add(1)
        } else {
            tcp.seq()
        };
        let (slot, shed, parts) = stream_parts(flow);
        stream::on_payload(cx, slot, shed, &parts, &seg, seq, payload, ts);
    }

    if flags.has(TcpFlags::RST) {
        return Some(FlowEnd::Reset);
    }
    // Closed once both FINs are acknowledged, so the last ACK of the close
    // still belongs to the flow (JA4SSH and the packet count include it).
    let other = 1 - side as usize;
    if let Some(their_fin) = flow.seq[other].fin_end {
        if flags.has(TcpFlags::ACK) && (tcp.ack().wrapping_sub(their_fin) as i32) >= 0 {
            flow.app.fin_acked[other] = true;
        }
    }
    if flow.app.fin_acked == [true, true] {
        return Some(FlowEnd::Closed);
    }
    None
}

/// Reports a flow that left the table: the stream analyzers' closing
/// events, then the flow observers' (`tcp_flow_timing`).
pub(super) fn end_flow(cx: &mut Context, mut flow: Flow<FlowApp>, reason: FlowEnd, ts: Timestamp) {
    if reason == FlowEnd::Evicted {
        cx.stats.bump(Counter::FlowsEvicted);
    }
    let (slot, _, parts) = stream_parts(&mut flow);
    stream::on_close(cx, slot, &parts, ts);
    let emitter = Emitter::new(
        (flow.client, flow.server, &flow.app.attribution),
        ts,
        &mut cx.stats,
        &mut cx.out,
        &cx.events,
    );
    flow.app
        .observers
        .on_end(&mut FlowEndCx::new(emitter, &flow.stats));
}

/// The flow's stream state slot, whether the budget shed it, and what the
/// stream dispatch reads of the rest of the flow.
fn stream_parts(
    flow: &mut Flow<FlowApp>,
) -> (
    &mut Option<Box<stream::StreamState>>,
    bool,
    stream::StreamFlow<'_>,
) {
    let app = &mut flow.app;
    let parts = stream::StreamFlow {
        client: flow.client,
        server: flow.server,
        handshake: &flow.handshake,
        isn: flow.isn,
        attribution: &app.attribution,
        observers: &app.observers,
        syn_os: app.syn_os,
    };
    (&mut app.stream, app.stream_shed, parts)
}
