//! `host_uptime`: p0f 3.09b's uptime module on our flows. p0f follows a
//! connection from its SYN until its modules are done with it, and tries
//! each in-sequence timestamped packet of each side against that host's
//! last SYN (client) or SYN+ACK (server); the first plausible reading per
//! side is reported. This mirrors p0f's flow life (process.c
//! `flow_dispatch`) with a few bytes on the flow and one bounded per-host
//! table, so the SYN path does no allocation. The same table takes the
//! host change scores of p0f's HTTP module for the heads the stream
//! analyzers read ([`score_http_heads`]).

use std::net::SocketAddr;
use std::sync::Arc;

use super::{Context, FlowApp};
use crate::analyzers::p0f_http::P0fNeeds;
use crate::analyzers::Emitter;
use crate::decode::{TcpFlags, TcpView};
use crate::event::{Event, EventKind, EventPool};
use crate::fingerprint::p0f::db::SysEntry;
use crate::fingerprint::p0f::nat::{NatVerdict, SigSnap};
use crate::fingerprint::p0f::sig::ts1_of;
use crate::fingerprint::p0f::uptime::{check, HostTsTable, TpsState, TsSample, Uptime};
use crate::flow::table::{Flow, Side};
use crate::util::time::Timestamp;

/// p0f's view of a connection (its `packet_flow`, uptime part).
#[derive(Debug, Clone, Copy, Default)]
pub struct P0fFlow {
    /// p0f follows this connection (from its SYN, until done).
    alive: bool,
    /// Its SYN+ACK was seen.
    acked: bool,
    /// Next expected sequence number per side (client, server).
    next_seq: [u32; 2],
    tps: [TpsState; 2],
    /// The last packet carried in-sequence payload: after the analyzers,
    /// p0f drops the connection unless its HTTP module wants more.
    data_pending: bool,
}

/// What the SYN / SYN+ACK fingerprint said of this packet.
#[derive(Debug, Clone, Copy)]
pub enum Handshake {
    /// A fingerprinted SYN; `tool`: it matched a tool signature (its
    /// `sys` list); `snap`: what host change scoring compares.
    Syn {
        tool: Option<&'static [SysEntry]>,
        snap: Option<SigSnap>,
    },
    /// A fingerprinted SYN+ACK.
    SynAck { tool: bool, snap: Option<SigSnap> },
    /// Anything else (or a SYN p0f would not see).
    Other,
}

use super::syn::millis;

/// p0f's processing of one packet, before its payload reaches the
/// analyzers: the `host_uptime` it yields, if any.
#[inline(always)]
pub(super) fn on_packet(
    hosts: &mut HostTsTable,
    cx: &mut Context,
    flow: &mut Flow<FlowApp>,
    side: Side,
    tcp: &TcpView<'_>,
    ts: Timestamp,
    hs: Handshake,
) {
    // p0f follows a connection from a fingerprinted SYN until it is done
    // with it: every other packet of a connection it does not follow
    // changes nothing (each case below returns first), so most packets of
    // a long flow stop here.
    if flow.app.p0f.alive || matches!(hs, Handshake::Syn { .. }) {
        on_followed_packet(hosts, cx, flow, side, tcp, ts, hs);
    }
}

fn on_followed_packet(
    hosts: &mut HostTsTable,
    cx: &mut Context,
    flow: &mut Flow<FlowApp>,
    side: Side,
    tcp: &TcpView<'_>,
    ts: Timestamp,
    hs: Handshake,
) {
    const MASK: u16 = TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST;
    let kind = tcp.flags().0 & MASK;
    let now = millis(ts);
    let d = side as usize;
    let ip = if side == Side::Client {
        flow.client.ip()
    } else {
        flow.server.ip()
    };
    let p = &mut flow.app.p0f;
    let seq = tcp.seq();
    let cli_port = flow.client.port();
    let mut nat = None;
    let up = match kind {
        k if k == TcpFlags::SYN => {
            let Handshake::Syn { tool, snap } = hs else {
                return;
            };
            if side != Side::Client {
                return;
            }
            // A retransmitted SYN leaves the connection as it is.
            if p.alive && p.next_seq[0].wrapping_sub(1) == seq {
                return;
            }
            *p = P0fFlow::default();
            if let Some(sys) = tool {
                // p0f checks a tool against the host's OS (a host without
                // an entry has none), then drops the connection.
                let host = hosts.get_mut(&ip);
                if let Some(v) = host.and_then(|h| h.nat.verify_tool(0, sys)) {
                    let a = &flow.app.attribution;
                    let ev =
                        nat_event(&cx.events, ts, &a.decky, flow.client, flow.server, side, &v);
                    cx.emit(ev, a.direction);
                }
                return;
            }
            p.alive = true;
            p.next_seq[0] = seq.wrapping_add(1);
            let ts1 = ts1_of(tcp);
            let host = hosts.entry(ip);
            if let Some(snap) = snap {
                nat = host.nat.score_tcp(true, &snap, cli_port);
                host.nat.last_syn = Some(snap);
            }
            let up = check(&mut p.tps[0], ts1, now, host.last_syn, true);
            host.last_syn = Some(TsSample { ts1, recv_ms: now });
            up
        }
        k if k == TcpFlags::SYN | TcpFlags::ACK => {
            if side != Side::Server || !p.alive || p.acked {
                return;
            }
            p.acked = true;
            let Handshake::SynAck { tool: false, snap } = hs else {
                p.alive = false;
                return;
            };
            p.next_seq[1] = seq.wrapping_add(1);
            let ts1 = ts1_of(tcp);
            let host = hosts.entry(ip);
            if let Some(snap) = snap {
                nat = host.nat.score_tcp(false, &snap, cli_port);
                host.nat.last_synack = Some(snap);
            }
            let up = check(&mut p.tps[1], ts1, now, host.last_synack, true);
            host.last_synack = Some(TsSample { ts1, recv_ms: now });
            up
        }
        k if k == TcpFlags::ACK => {
            if !p.alive {
                return;
            }
            if !p.acked {
                p.alive = false;
                return;
            }
            // p0f does not reassemble: only the next expected segment counts.
            if p.next_seq[d] != seq {
                return;
            }
            let up = check(
                &mut p.tps[d],
                ts1_of(tcp),
                now,
                base(hosts, ip, side),
                false,
            );
            p.next_seq[d] = seq.wrapping_add(tcp.payload.len() as u32);
            p.data_pending = !tcp.payload.is_empty();
            up
        }
        k if k & (TcpFlags::FIN | TcpFlags::RST) != 0 && k & TcpFlags::SYN == 0 => {
            if !p.alive {
                return;
            }
            p.alive = false;
            check(
                &mut p.tps[d],
                ts1_of(tcp),
                now,
                base(hosts, ip, side),
                false,
            )
        }
        _ => None,
    };
    if let Some(v) = nat {
        let a = &flow.app.attribution;
        let ev = nat_event(&cx.events, ts, &a.decky, flow.client, flow.server, side, &v);
        cx.emit(ev, a.direction);
    }
    if let Some(up) = up {
        let ev = uptime_event(&cx.events, ts, flow, side, &up);
        cx.emit(ev, flow.app.attribution.direction);
    }
}

/// `host_change` or `ip_sharing`: `src_ip src_port dst_ip dst_port subj
/// reason raw_hits`.
fn nat_event(
    events: &EventPool,
    ts: Timestamp,
    decky: &Arc<str>,
    client: SocketAddr,
    server: SocketAddr,
    side: Side,
    v: &NatVerdict,
) -> Event {
    let kind = match v {
        NatVerdict::HostChange { .. } => EventKind::HostChange,
        NatVerdict::IpSharing { .. } => EventKind::IpSharing,
    };
    let mut ev = Emitter::conn_event(events, kind, ts, decky, client, server);
    let subj = if side == Side::Client {
        "client"
    } else {
        "server"
    };
    ev.push("subj", subj)
        .push("reason", v.reason())
        .push("raw_hits", v.raw_hits().as_str());
    ev
}

pub use crate::analyzers::p0f_http::HttpHead;

/// After the analyzers: p0f's HTTP module scores each head read against
/// its host (the client for a request, the server for a response), in
/// the order they were read.
pub(super) fn score_http_heads(hosts: &mut HostTsTable, cx: &mut Context) {
    if cx.p0f_http_heads.is_empty() {
        return;
    }
    let mut heads = std::mem::take(&mut cx.p0f_http_heads);
    for h in heads.drain(..) {
        let (ip, side) = if h.info.request {
            (h.client.ip(), Side::Client)
        } else {
            (h.server.ip(), Side::Server)
        };
        let recv_date = u32::try_from(h.ts.as_micros().div_euclid(1_000_000)).unwrap_or(0);
        let obs = h.info.obs(recv_date, h.server.port());
        let host = hosts.entry(ip);
        for v in host.nat.score_http(h.info.request, &obs).iter().flatten() {
            let ev = nat_event(&cx.events, h.ts, &h.decky, h.client, h.server, side, v);
            cx.emit(ev, h.direction);
        }
    }
    // The buffer keeps its capacity for the next packet.
    cx.p0f_http_heads = heads;
}

/// After the analyzers saw a packet's payload: p0f stops following the
/// connection once its HTTP module needs nothing more from that side.
pub(super) fn after_payload(flow: &mut Flow<FlowApp>, side: Side) {
    let p = &mut flow.app.p0f;
    if !std::mem::take(&mut p.data_pending) {
        return;
    }
    let needs = flow
        .app
        .stream
        .as_ref()
        .map_or(P0fNeeds::Nothing, |s| s.p0f_http_needs());
    let more = matches!(
        (side, needs),
        (Side::Client, P0fNeeds::Request | P0fNeeds::Response) | (Side::Server, P0fNeeds::Response)
    );
    if !more {
        p.alive = false;
    }
}

fn base(hosts: &HostTsTable, ip: std::net::IpAddr, side: Side) -> Option<TsSample> {
    let h = hosts.get(&ip)?;
    match side {
        Side::Client => h.last_syn,
        Side::Server => h.last_synack,
    }
}

/// `host_uptime`: `src_ip src_port dst_ip dst_port` (the connection's
/// client and server) `subj uptime_s uptime_text raw_freq_hz`.
fn uptime_event(
    events: &EventPool,
    ts: Timestamp,
    flow: &Flow<FlowApp>,
    side: Side,
    up: &Uptime,
) -> Event {
    let (client, server): (SocketAddr, SocketAddr) = (flow.client, flow.server);
    let mut ev = Emitter::conn_event(
        events,
        EventKind::HostUptime,
        ts,
        &flow.app.attribution.decky,
        client,
        server,
    );
    let subj = if side == Side::Client {
        "client"
    } else {
        "server"
    };
    ev.push("subj", subj)
        .push("uptime_s", up.seconds())
        .push("uptime_text", up.text().as_str())
        .push("raw_freq_hz", up.raw_freq_text().as_str());
    ev
}
