//! UDP: datagrams to (or from) deckies, offered to the registered datagram
//! analyzers ([`DatagramAnalyzers`]: QUIC Initials, DTLS ClientHellos).

use std::net::SocketAddr;

use super::Engine;
use crate::analyzers::{DatagramCx, Emitter};
use crate::decode::{Packet, UdpView};
use crate::util::time::Timestamp;

pub(super) fn on_datagram(engine: &mut Engine, pkt: &Packet<'_>, udp: &UdpView<'_>, ts: Timestamp) {
    let client = SocketAddr::new(pkt.ip.src, udp.src_port());
    let server = SocketAddr::new(pkt.ip.dst, udp.dst_port());
    let payload = udp.payload;
    if payload.is_empty() {
        return;
    }
    let Some(attribution) = engine.attribute(&client.ip(), &server.ip()) else {
        return;
    };
    let cx = &mut engine.cx;
    let emitter = Emitter::new(
        (client, server, &attribution),
        ts,
        &mut cx.stats,
        &mut cx.out,
        &cx.events,
    );
    let mut dcx = DatagramCx::new(emitter, &cx.limits);
    engine.datagrams.on_datagram(&mut dcx, payload);
}
