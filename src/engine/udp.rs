//! UDP: QUIC Initials and DTLS ClientHellos to (or from) deckies.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{dtls, Context, Direction, Engine, Limits, Stats};
use crate::decode::{Packet, UdpView};
use crate::event::{Event, EventKind, EventPool};
use crate::util::time::Timestamp;

/// What a datagram analyzer may use. `client` is the datagram's sender.
pub struct DatagramCx<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub ts: Timestamp,
    pub limits: &'a Limits,
    pub stats: &'a mut Stats,
    decky: Arc<str>,
    direction: Direction,
    out: &'a mut Vec<Event>,
    events: &'a EventPool,
}

impl DatagramCx<'_> {
    /// A new event with `src_ip src_port dst_ip dst_port` set.
    pub fn event(&self, kind: EventKind) -> Event {
        Context::conn_event(
            self.events,
            kind,
            self.ts,
            &self.decky,
            self.client,
            self.server,
        )
    }

    /// A new event with no fields, for events whose catalogue order differs
    /// (`quic_client_hello` puts `src_port` last).
    pub fn bare_event(&self, kind: EventKind) -> Event {
        self.events.event(kind, self.ts, self.decky.clone())
    }

    /// Queues an event, appending `direction`.
    pub fn emit(&mut self, mut ev: Event) {
        ev.push("direction", self.direction.as_str());
        self.stats.events[ev.kind.index()] += 1;
        self.out.push(ev);
    }
}

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
    let mut cx = DatagramCx {
        client,
        server,
        ts,
        limits: &engine.cx.limits,
        stats: &mut engine.cx.stats,
        decky: attribution.decky,
        direction: attribution.direction,
        out: &mut engine.cx.out,
        events: &engine.cx.events,
    };
    if engine.quic.on_datagram(&mut cx, payload) {
        engine.quic.enforce_budget(&mut engine.cx.stats);
        return;
    }
    dtls::on_datagram(&mut cx, &mut engine.dtls_hellos, payload);
    engine.dtls_hellos.enforce_budget(&mut engine.cx.stats);
}
