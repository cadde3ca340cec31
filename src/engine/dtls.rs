//! DTLS ClientHellos over UDP, any port: `dtls_client_hello`.
//!
//! A ClientHello in one piece is reported at once, with no state; one in
//! fragments goes through the [`DtlsHelloTable`] and is reported, with the
//! same fields, by the datagram that completes it.

use super::dtls_hellos::DtlsHelloTable;
use super::udp::DatagramCx;
use crate::event::EventKind;
use crate::fingerprint::tls::dtls::{client_hello, hello_fragments, DtlsError};
use crate::fingerprint::tls::ja3::Ja3Text;
use crate::fingerprint::tls::ja4::{Ja4Parts, Transport};
use crate::fingerprint::tls::version::push_version_text;
use crate::fingerprint::tls::ClientHello;

/// The TLS handshake header in front of a reassembled ClientHello body.
const TLS_HS_HEADER: usize = 4;

/// Returns true if the datagram was a DTLS ClientHello (or a piece of one),
/// reported or counted.
pub fn on_datagram(cx: &mut DatagramCx<'_>, hellos: &mut DtlsHelloTable, payload: &[u8]) -> bool {
    match client_hello(payload) {
        Ok(ch) => emit(cx, &ch),
        Err(DtlsError::NotClientHello) => return false,
        Err(DtlsError::Fragmented) => on_fragments(cx, hellos, payload),
        Err(DtlsError::Malformed(_)) => cx.stats.bump("dtls_parse_errors"),
    }
    true
}

fn on_fragments(cx: &mut DatagramCx<'_>, hellos: &mut DtlsHelloTable, payload: &[u8]) {
    for frag in hello_fragments(payload) {
        let Some(message) = hellos.insert(cx.client, cx.server, cx.ts, &frag, cx.stats) else {
            continue;
        };
        let body = message.get(TLS_HS_HEADER..).unwrap_or_default();
        match ClientHello::parse_dtls(body) {
            Ok(ch) => emit(cx, &ch),
            Err(_) => cx.stats.bump("dtls_parse_errors"),
        }
    }
}

fn emit(cx: &mut DatagramCx<'_>, ch: &ClientHello<'_>) {
    let mut ev = cx.event(EventKind::DtlsClientHello);
    ev.push_with("ja4", |out| {
        Ja4Parts::new(ch, Transport::Dtls).write_ja4(out)
    })
    .push_with("ja3", |out| Ja3Text::new(ch).write_hash(out))
    .push_with("tls_version", |out| {
        push_version_text(ch.highest_version(), out)
    });
    ev.push_text("sni", ch.sni().unwrap_or_default());
    ev.push_text("alpn", ch.alpn().joined());
    cx.emit(ev);
}
