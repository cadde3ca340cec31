//! DTLS ClientHellos over UDP, any port: `dtls_client_hello`.

use super::udp::DatagramCx;
use crate::event::EventKind;
use crate::fingerprint::tls::dtls::{client_hello, DtlsError};
use crate::fingerprint::tls::ja3::ja3;
use crate::fingerprint::tls::ja4::{ja4, Transport};
use crate::fingerprint::tls::version::version_text;

/// Returns true if the datagram was a DTLS ClientHello (reported or counted).
pub fn on_datagram(cx: &mut DatagramCx<'_>, payload: &[u8]) -> bool {
    let ch = match client_hello(payload) {
        Ok(ch) => ch,
        Err(DtlsError::NotClientHello) => return false,
        Err(DtlsError::Fragmented) => {
            cx.stats.bump("dtls_fragmented_hellos");
            return true;
        }
        Err(DtlsError::Malformed(_)) => {
            cx.stats.bump("dtls_parse_errors");
            return true;
        }
    };
    let mut ev = cx.event(EventKind::DtlsClientHello);
    ev.push("ja4", ja4(&ch, Transport::Dtls).ja4)
        .push("ja3", ja3(&ch).hash)
        .push("tls_version", version_text(ch.highest_version()));
    ev.push_text("sni", ch.sni().unwrap_or_default());
    ev.push_text("alpn", ch.alpn().joined());
    cx.emit(ev);
    true
}
