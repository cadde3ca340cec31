//! DTLS ClientHellos over UDP, any port: `dtls_client_hello`.

use super::udp::DatagramCx;
use crate::event::EventKind;
use crate::fingerprint::tls::dtls::{client_hello, DtlsError};
use crate::fingerprint::tls::ja3::Ja3Text;
use crate::fingerprint::tls::ja4::{Ja4Parts, Transport};
use crate::fingerprint::tls::version::push_version_text;

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
    ev.push_with("ja4", |out| {
        Ja4Parts::new(&ch, Transport::Dtls).write_ja4(out)
    })
    .push_with("ja3", |out| Ja3Text::new(&ch).write_hash(out))
    .push_with("tls_version", |out| {
        push_version_text(ch.highest_version(), out)
    });
    ev.push_text("sni", ch.sni().unwrap_or_default());
    ev.push_text("alpn", ch.alpn().joined());
    cx.emit(ev);
    true
}
