//! `quic_client_hello`: client Initials on the QUIC ports, decrypted and
//! reassembled by [`crate::fingerprint::quic`], fingerprinted by
//! [`crate::fingerprint::tls`] with JA4's `q` transport.

use super::{DatagramAnalyzer, DatagramCx};
use crate::event::EventKind;
use crate::fingerprint::quic::crypto_stream::client_hello_body;
use crate::fingerprint::quic::{
    CollectorConfig, Counters, InitialCollector, Outcome, ReassembledHello,
};
use crate::fingerprint::tls::hello_prints::HelloPrintCache;
use crate::fingerprint::tls::ja4::HelloTransport;
use crate::limits::Limits;
use crate::stats::{Counter, Stats};
use crate::util::budget::{Budget, Pool};

impl Counters for Stats {
    fn count(&mut self, counter: Counter) {
        self.bump(counter);
    }
}

/// Engine-wide QUIC state: partial ClientHellos per connection and the
/// per-source decryption budgets, all bounded.
pub struct QuicTracker {
    collector: InitialCollector,
    /// The process's byte budget (`--memcap`), pool [`Pool::Quic`].
    budget: Budget,
    charged: usize,
    /// Fingerprints of the clients seen lately (fixed size).
    prints: HelloPrintCache,
}

impl DatagramAnalyzer for QuicTracker {
    /// A tracker charging `budget` (pool [`Pool::Quic`]).
    fn new(limits: &Limits, budget: &Budget) -> Self {
        let cfg = CollectorConfig {
            max_connections: limits.pending_handshakes.max(1),
            max_hello_bytes: limits.reassembly_bytes,
            ..CollectorConfig::default()
        };
        QuicTracker {
            collector: InitialCollector::new(cfg),
            budget: budget.clone(),
            charged: 0,
            prints: HelloPrintCache::default(),
        }
    }

    /// Returns true if the datagram was QUIC (handled), and then settles
    /// the memory budget. `cx.client` is the sender: a client when the
    /// destination is a QUIC port; a server answering one of our
    /// connections when the source is.
    fn on_datagram(&mut self, cx: &mut DatagramCx<'_>, payload: &[u8]) -> bool {
        let taken = self.read(cx, payload);
        if taken {
            self.enforce_budget(cx.stats);
        }
        taken
    }
}

impl QuicTracker {
    /// Settles the budget's charge with what the tracker holds, and while
    /// the budget is spent drops the oldest connections (never the newest).
    pub fn enforce_budget(&mut self, stats: &mut Stats) {
        loop {
            let now = self.collector.footprint();
            if now > self.charged {
                self.budget.charge(Pool::Quic, now - self.charged);
            } else {
                self.budget.release(Pool::Quic, self.charged - now);
            }
            self.charged = now;
            if !self.budget.over() || !self.collector.evict_oldest(stats) {
                return;
            }
            self.budget.note_eviction(Pool::Quic);
        }
    }

    /// Whether the datagram was QUIC; reports a ClientHello it completes.
    fn read(&mut self, cx: &mut DatagramCx<'_>, payload: &[u8]) -> bool {
        let ports = &cx.limits.quic_ports;
        if !ports.contains(&cx.server.port()) {
            return ports.contains(&cx.client.port())
                && self
                    .collector
                    .on_server_datagram(cx.client, cx.server, payload);
        }
        let (client, server, ts) = (cx.client, cx.server, cx.ts);
        match self
            .collector
            .on_datagram(client, server, ts, payload, cx.stats)
        {
            Outcome::NotQuic => false,
            Outcome::Quic(None) => true,
            Outcome::Quic(Some(hello)) => {
                emit(cx, &mut self.prints, &hello);
                true
            }
        }
    }

    /// Connections tracked (pending and finished), for table statistics.
    pub fn len(&self) -> usize {
        self.collector.connections()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn emit(cx: &mut DatagramCx<'_>, prints: &mut HelloPrintCache, hello: &ReassembledHello) {
    let parsed = client_hello_body(&hello.message).map(crate::fingerprint::tls::ClientHello::parse);
    let Some(Ok(ch)) = parsed else {
        cx.stats.bump(Counter::QuicTlsParseErrors);
        return;
    };
    let prints = prints.prints(&ch);
    let mut ev = cx.bare_event(EventKind::QuicClientHello);
    ev.push("src_ip", cx.client.ip())
        .push("dst_ip", cx.server.ip())
        .push("dst_port", cx.server.port())
        .push_with("ja4_quic", |out| {
            prints.write_ja4(HelloTransport::Quic, out)
        });
    ev.push_text("sni", ch.sni().unwrap_or_default());
    ev.push_text("alpn", ch.alpn().joined());
    ev.push("raw_ciphers", prints.raw_ciphers())
        .push("src_port", cx.client.port())
        .push("ja3", prints.ja3())
        .push("raw_extensions", prints.raw_extensions())
        .push("quic_version", hello.version.name());
    crate::fingerprint::clients::label_event(&mut ev);
    cx.emit(ev);
}
