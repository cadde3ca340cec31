//! `tcp_syn_fingerprint`: what a connection attempt to a decky says about
//! the stack (or tool) that built it.

use super::{Context, Engine};
use crate::decode::{Packet, TcpView};
use crate::event::{Event, EventKind};
use crate::fingerprint::tcpip::{initial_ttl, summarize_options};
use crate::util::time::Timestamp;

pub(super) fn on_syn(engine: &mut Engine, pkt: &Packet<'_>, tcp: &TcpView<'_>, ts: Timestamp) {
    let ip = &pkt.ip;
    // Only SYNs to a decky; an outbound SYN from a decky is not an attacker's stack.
    let Some(decky) = engine.deckies.name_of(&ip.dst) else {
        return;
    };
    if !engine.deckies.is_observe_all() && engine.deckies.get(&ip.src).is_some() {
        return;
    }
    let ipid = (ip.version == 4).then_some(ip.ident);
    let classes = engine
        .seq_classes
        .observe(ip.src, tcp.src_port(), ipid, tcp.seq());
    let client = std::net::SocketAddr::new(ip.src, tcp.src_port());
    let server = std::net::SocketAddr::new(ip.dst, tcp.dst_port());
    let mut ev = Context::conn_event(EventKind::TcpSynFingerprint, ts, &decky, client, server);
    push_stack_fields(&mut ev, pkt, tcp);
    ev.push("ipid_class", classes.ipid.as_str())
        .push("ipid_samples", classes.ipid_samples)
        .push("isn_class", classes.isn.as_str())
        .push("isn_samples", classes.isn_samples)
        .push("os_guess", interim_os_guess(ip.ttl, tcp.window()))
        .push("df", ip.df)
        .push("ip_len", ip.total_len)
        .push("ja4t", "")
        .push("p0f_sig", "")
        .push("p0f_os", "")
        .push("p0f_match", "")
        .push("p0f_dist", "")
        .push("mtu", "")
        .push("link", "")
        .push("scanner", "");
    let direction = match engine.attribute(&ip.src, &ip.dst) {
        Some(a) => a.direction,
        None => return,
    };
    engine.cx.emit(ev, direction);
}

/// SYN-ACKs describe a decky's own stack; reported by the p0f work.
pub(super) fn on_synack(
    _engine: &mut Engine,
    _pkt: &Packet<'_>,
    _tcp: &TcpView<'_>,
    _ts: Timestamp,
) {
}

/// `ttl initial_ttl hop_distance window mss wscale options_sig has_sack
/// has_timestamps tos dscp ecn`, shared by SYN and SYN-ACK events.
pub(super) fn push_stack_fields(ev: &mut Event, pkt: &Packet<'_>, tcp: &TcpView<'_>) {
    let ip = &pkt.ip;
    let opts = summarize_options(tcp);
    let initial = initial_ttl(ip.ttl);
    ev.push("ttl", ip.ttl)
        .push("initial_ttl", initial)
        .push("hop_distance", initial - ip.ttl)
        .push("window", tcp.window())
        .push("mss", opts.mss.unwrap_or(0))
        .push(
            "wscale",
            opts.wscale.map(|w| w.to_string()).unwrap_or_default(),
        )
        .push("options_sig", opts.options_sig)
        .push("has_sack", opts.has_sack)
        .push("has_timestamps", opts.has_timestamps)
        .push("tos", ip.tos)
        .push("dscp", ip.tos >> 2)
        .push("ecn", ip.tos & 3);
}

/// A coarse TTL/window rule, until p0f matching replaces it.
fn interim_os_guess(ttl: u8, window: u16) -> &'static str {
    match initial_ttl(ttl) {
        64 if window == 65535 => "macos_ios",
        64 => "linux",
        128 => "windows",
        255 => "embedded",
        _ => "unknown",
    }
}
