//! `tcp_syn_fingerprint` and `tcp_synack_fingerprint`: what a connection
//! attempt to a decky says about the stack (or tool) that built it, and
//! what the decky's answer says about the decky's own stack.

use std::net::SocketAddr;

use super::{DeckyMap, Engine};
use crate::analyzers::{Direction, Emitter};
use crate::decode::{Packet, TcpView};
use crate::event::{Event, EventKind};
use crate::fingerprint::p0f::db::SysEntry;
use crate::fingerprint::p0f::nat::SigSnap;
use crate::fingerprint::p0f::{self, Database, P0fResult, RawSig};
use crate::fingerprint::scanner::{self, Scanner};
use crate::fingerprint::seqclass::{SeqClassTable, SeqClasses};
use crate::fingerprint::tcpip::{initial_ttl, summarize_options};
use crate::flow::table::FlowKey;
use crate::util::time::Timestamp;

mod memo;
pub(crate) use memo::SynMemo;
use memo::{P0fShape, ShapeId};

/// What a fingerprinted SYN tells the rest of the engine: the p0f OS name
/// id it matched (for the connection's HTTP `ua_mismatch`), a matched
/// tool's `sys` list, and what host change scoring compares.
pub(super) type SynSeen = (Option<u32>, Option<&'static [SysEntry]>, Option<SigSnap>);

/// For a fingerprinted SYN: [`SynSeen`].
pub(super) fn on_syn(
    engine: &mut Engine,
    pkt: &Packet<'_>,
    tcp: &TcpView<'_>,
    ts: Timestamp,
) -> Option<SynSeen> {
    let ip = &pkt.ip;
    // Only SYNs to a decky ([`is_fingerprinted_syn`], one lookup of each
    // address); an outbound SYN from a decky is not an attacker's stack.
    let decky = engine.deckies.name_of(&ip.dst)?;
    if !engine.deckies.is_observe_all() && engine.deckies.get(&ip.src).is_some() {
        return None;
    }
    // What `Engine::attribute` says of a source that is no decky (or of
    // anything in observe-all mode) talking to a decky.
    let direction = Direction::Inbound;
    // A shard is handed the router's sample: the router sees every source.
    let classes = match engine.routed_seq.take() {
        Some(classes) => classes,
        None => sample_seq(&mut engine.seq_classes, pkt, tcp),
    };
    let client = SocketAddr::new(ip.src, tcp.src_port());
    let server = SocketAddr::new(ip.dst, tcp.dst_port());
    let memo = &mut engine.syn_memo;
    let analyzed = analyze(memo, engine.cx.p0f_db, pkt, tcp, None);
    let p0f = analyzed.map(|(r, _)| r);
    let scanner = scanner::identify(ip, tcp);
    memo.ja4t.clear();
    crate::event::FieldValue::write_to(&ja4t(tcp), &mut memo.ja4t);
    let (label, label_source) = memo.ja4t_label(crate::fingerprint::clients::database());
    let shape = analyzed.map(|(_, id)| memo.shape(id));
    let os_guess = match (scanner, shape) {
        (Some(Scanner::Nmap), _) => "nmap",
        (_, Some(shape)) => shape.os_guess,
        (_, None) => p0f::os_guess(None, scanner),
    };

    let mut ev = Emitter::conn_event(
        &engine.cx.events,
        EventKind::TcpSynFingerprint,
        ts,
        &decky,
        client,
        server,
    );
    push_stack_fields(&mut ev, pkt, tcp, p0f.as_ref());
    ev.push("ipid_class", classes.ipid.as_str())
        .push("ipid_samples", classes.ipid_samples)
        .push("isn_class", classes.isn.as_str())
        .push("isn_samples", classes.isn_samples)
        .push("os_guess", os_guess)
        .push("df", ip.df)
        .push("ip_len", ip.total_len)
        .push("ja4t", &memo.ja4t[..]);
    push_p0f_fields(&mut ev, p0f.as_ref().zip(shape), scanner);
    // `clients::label_event` for a SYN: the JA4T row.
    ev.push("client", label).push("client_source", label_source);
    engine.cx.emit(ev, direction);
    // A tool's `sys` list: p0f checks it against the host's OS.
    let tool = p0f.as_ref().and_then(|p| p.verdict.record);
    let tool = tool.filter(|r| r.class.is_none()).map(|r| &*r.sys);
    Some((
        p0f.as_ref().and_then(|p| p.os_name_id()),
        tool,
        p0f.as_ref().map(|p| SigSnap::of(p, millis(ts))),
    ))
}

/// A packet time in ms, p0f's clock.
pub(super) fn millis(ts: Timestamp) -> u64 {
    u64::try_from(ts.as_micros() / 1000).unwrap_or(0)
}

/// Whether a SYN gets a fingerprint: sent to a decky, not from one.
pub fn is_fingerprinted_syn(deckies: &DeckyMap, pkt: &Packet<'_>) -> bool {
    deckies.is_decky(&pkt.ip.dst)
        && (deckies.is_observe_all() || deckies.get(&pkt.ip.src).is_none())
}

/// Adds the SYN's IP-ID and ISN to its source's samples and classifies them.
pub fn sample_seq(table: &mut SeqClassTable, pkt: &Packet<'_>, tcp: &TcpView<'_>) -> SeqClasses {
    let ipid = (pkt.ip.version == 4).then_some(pkt.ip.ident);
    table.observe(pkt.ip.src, tcp.src_port(), ipid, tcp.seq())
}

/// A SYN-ACK from a decky: its own stack, for checking its OS persona.
/// Returns whether a tool signature matched, when fingerprinted.
pub(super) fn on_synack(
    engine: &mut Engine,
    pkt: &Packet<'_>,
    tcp: &TcpView<'_>,
    ts: Timestamp,
) -> Option<(bool, Option<SigSnap>)> {
    let ip = &pkt.ip;
    let decky = engine.deckies.name_of(&ip.src)?;
    let client = SocketAddr::new(ip.dst, tcp.dst_port());
    let server = SocketAddr::new(ip.src, tcp.src_port());
    let direction = engine.attribute(&client.ip(), &server.ip())?.direction;
    // p0f reads a SYN-ACK's window against the MSS of the SYN it answers.
    let peer_mss = engine
        .flows
        .peek(&FlowKey::new(client, server))
        .and_then(|f| f.app.syn_mss);
    let memo = &mut engine.syn_memo;
    let analyzed = analyze(memo, engine.cx.p0f_db, pkt, tcp, peer_mss);
    let p0f = analyzed.map(|(r, _)| r);
    let shape = analyzed.map(|(_, id)| memo.shape(id));

    let mut ev = Emitter::conn_event(
        &engine.cx.events,
        EventKind::TcpSynackFingerprint,
        ts,
        &decky,
        client,
        server,
    );
    push_stack_fields(&mut ev, pkt, tcp, p0f.as_ref());
    ev.push("os_guess", shape.map_or("unknown", |s| s.os_guess))
        .push("df", ip.df)
        .push("ip_len", ip.total_len)
        .push("ja4ts", ja4t(tcp));
    push_p0f_fields(&mut ev, p0f.as_ref().zip(shape), None);
    engine.cx.emit(ev, direction);
    Some((
        p0f.as_ref().is_some_and(|p| p.is_tool()),
        p0f.as_ref().map(|p| SigSnap::of(p, millis(ts))),
    ))
}

/// The MSS of a SYN as p0f reads it (0 without one), kept on the flow for
/// its SYN-ACK.
pub(super) fn mss_of(tcp: &TcpView<'_>) -> u16 {
    p0f::sig::mss_of(tcp)
}

/// p0f's view of the segment, through the memo of SYN shapes.
fn analyze(
    memo: &mut SynMemo,
    db: &'static Database,
    pkt: &Packet<'_>,
    tcp: &TcpView<'_>,
    peer_mss: Option<u16>,
) -> Option<(P0fResult<'static>, ShapeId)> {
    let sig = RawSig::from_views(&pkt.ip, tcp, tcp.payload.len()).ok()?;
    Some(memo.p0f(db, sig.with_peer_mss(peer_mss.unwrap_or(0))))
}

/// JA4T/JA4TS written straight into the event (empty without `ja4plus`).
#[cfg_attr(not(feature = "ja4plus"), allow(dead_code))]
struct Ja4t<'a>(TcpView<'a>);

/// Digits, `_` and `-` (`ja4t::write_ja4t`): plain text.
impl crate::event::FieldValue for Ja4t<'_> {
    const PLAIN: bool = true;
    #[cfg(feature = "ja4plus")]
    fn write_to(&self, out: &mut Vec<u8>) {
        crate::fingerprint::ja4t::write_ja4t(&self.0, out);
    }

    #[cfg(not(feature = "ja4plus"))]
    fn write_to(&self, _out: &mut Vec<u8>) {}
}

fn ja4t<'a>(tcp: &TcpView<'a>) -> Ja4t<'a> {
    Ja4t(*tcp)
}

/// `p0f_sig p0f_os p0f_match p0f_dist mtu link scanner`.
fn push_p0f_fields(
    ev: &mut Event,
    p0f: Option<(&P0fResult<'_>, &P0fShape)>,
    scanner: Option<Scanner>,
) {
    match p0f {
        Some((r, shape)) => {
            ev.push("p0f_sig", &shape.sig_text[..])
                .push("p0f_os", r.label())
                .push("p0f_match", r.match_kind().as_str())
                .push("p0f_dist", shape.dist_text.as_str())
                .push("mtu", r.mtu())
                .push("link", shape.link);
        }
        None => {
            for name in ["p0f_sig", "p0f_os", "p0f_match", "p0f_dist", "mtu", "link"] {
                ev.push(name, "");
            }
        }
    }
    ev.push("scanner", scanner.map_or("", Scanner::as_str));
}

/// `ttl initial_ttl hop_distance window mss wscale options_sig has_sack
/// has_timestamps tos dscp ecn`, shared by SYN and SYN-ACK events. The hop
/// distance is p0f's when a signature matched, else from the TTL class.
pub(super) fn push_stack_fields(
    ev: &mut Event,
    pkt: &Packet<'_>,
    tcp: &TcpView<'_>,
    p0f: Option<&P0fResult<'_>>,
) {
    let ip = &pkt.ip;
    let opts = summarize_options(tcp);
    let initial = initial_ttl(ip.ttl);
    let hops = match p0f {
        Some(r) if r.matched() => r.dist(),
        _ => initial - ip.ttl,
    };
    ev.push("ttl", ip.ttl)
        .push("initial_ttl", initial)
        .push("hop_distance", hops)
        .push("window", tcp.window())
        .push("mss", opts.mss.unwrap_or(0))
        .push("wscale", opts.wscale)
        .push("options_sig", opts.options_sig)
        .push("has_sack", opts.has_sack)
        .push("has_timestamps", opts.has_timestamps)
        .push("tos", ip.tos)
        .push("dscp", ip.tos >> 2)
        .push("ecn", ip.tos & 3);
}
