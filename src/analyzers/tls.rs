//! TLS over TCP: finds where a connection's handshake starts (at the first
//! byte, or after a plaintext STARTTLS/SOCKS/CONNECT prelude), reads each
//! direction's handshake messages and emits `tls_client_hello`,
//! `tls_session` and `tls_certificate`.
//!
//! Each direction is either still looking for its hello, reading handshake
//! messages with a bounded [`HandshakeReader`], or done; the state of a
//! connection that is not TLS is a few bytes and nothing is allocated.

use super::{Interest, StreamAnalyzer, StreamCx};
use crate::event::{Event, EventKind, Fixed};
use crate::fingerprint::p0f::http::HttpMatchMemo;
use crate::fingerprint::tls::cert_prints::CertPrintCache;
use crate::fingerprint::tls::certificate::CertificateList;
use crate::fingerprint::tls::hello_prints::{HelloPrintCache, HelloPrints};
use crate::fingerprint::tls::ja4::HelloTransport;
use crate::fingerprint::tls::prelude::{
    find_hello, hello_at, oversized_hello_at, Plausible, PRELUDE_LIMIT,
};
use crate::fingerprint::tls::server_prints::ServerPrintCache;
use crate::fingerprint::tls::version::TLS13;
use crate::fingerprint::tls::{
    ext, handshake_type, ClientHello, HandshakeReader, Next, ReaderError, ReaderStatus, ServerHello,
};
use crate::flow::table::Handshake;
use crate::flow::Side;
use crate::stats::Counter;

/// The engine's caches of fingerprints of recurring peers: recent clients'
/// hello fingerprints and servers' certificate fields, and which p0f HTTP
/// signature recent head shapes matched (all fixed size).
#[derive(Debug, Default)]
pub struct TlsPrints {
    pub hellos: HelloPrintCache,
    pub servers: ServerPrintCache,
    pub certs: CertPrintCache,
    pub http_matches: HttpMatchMemo,
}

/// Per-connection TLS state.
#[derive(Debug, Default)]
pub struct TlsConn {
    client: DirState,
    server: DirState,
    /// The latest ClientHello's fields, for `tls_session` and `tls_certificate`.
    hello: Option<HelloFields>,
    /// The version the ServerHello chose.
    negotiated: Option<u16>,
    /// Client bytes were dropped by reassembly (window or memory budget)
    /// while the ClientHello was still being read.
    client_bytes_lost: bool,
}

#[derive(Debug, Default)]
enum DirState {
    #[default]
    Looking,
    Reading(Box<HandshakeReader>),
    Done,
}

/// What a ClientHello contributes to the later events of its connection.
/// It lives as long as the connection, so its text is one buffer rather
/// than a `String` per field: freeing a dozen long-cold allocations at
/// every connection's end showed in profiles.
#[derive(Debug)]
struct HelloFields {
    /// The parts below, back to back.
    text: Vec<u8>,
    /// Where each part ends in `text`.
    ends: [usize; PARTS],
    has_sni: bool,
    offers_tls13: bool,
}

const JA3: usize = 0;
const JA4: usize = 1;
const SNI: usize = 2;
const ALPN: usize = 3;
const RAW_CIPHERS: usize = 4;
const RAW_EXTENSIONS: usize = 5;
const RESUMPTION: usize = 6;
const PARTS: usize = 7;

impl HelloFields {
    fn new(ch: &ClientHello, prints: &HelloPrints) -> Self {
        let sni = ch.sni();
        let alpn_len = ch.extension(ext::ALPN).map_or(0, <[u8]>::len);
        let lists = prints.raw_ciphers().len() + prints.raw_extensions().len();
        let size = 32 + 36 + sni.map_or(0, <[u8]>::len) + alpn_len + lists + 48;
        let mut text = Vec::with_capacity(size);
        let mut ends = [0; PARTS];
        text.extend_from_slice(prints.ja3());
        ends[JA3] = text.len();
        prints.write_ja4(HelloTransport::Tcp, &mut text);
        ends[JA4] = text.len();
        text.extend_from_slice(sni.unwrap_or_default());
        ends[SNI] = text.len();
        ch.alpn().write_joined(&mut text);
        ends[ALPN] = text.len();
        text.extend_from_slice(prints.raw_ciphers());
        ends[RAW_CIPHERS] = text.len();
        text.extend_from_slice(prints.raw_extensions());
        ends[RAW_EXTENSIONS] = text.len();
        ch.resumption().write_to(&mut text);
        ends[RESUMPTION] = text.len();
        HelloFields {
            text,
            ends,
            has_sni: sni.is_some(),
            offers_tls13: ch.offers_tls13(),
        }
    }

    fn part(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        &self.text[start..self.ends[i]]
    }

    fn sni(&self) -> Option<&[u8]> {
        self.has_sni.then(|| self.part(SNI))
    }

    /// `ja3 ja4 sni alpn raw_ciphers raw_extensions [resumption]`, the
    /// client part of `tls_session`.
    fn push_client_part(&self, ev: &mut Event) {
        ev.push("ja3", self.part(JA3)).push("ja4", self.part(JA4));
        self.push_names_and_lists(ev);
    }

    /// `sni alpn raw_ciphers raw_extensions [resumption]`.
    fn push_names_and_lists(&self, ev: &mut Event) {
        ev.push_text("sni", self.part(SNI));
        ev.push_text("alpn", self.part(ALPN));
        ev.push("raw_ciphers", self.part(RAW_CIPHERS))
            .push("raw_extensions", self.part(RAW_EXTENSIONS));
        let resumption = self.part(RESUMPTION);
        if !resumption.is_empty() {
            ev.push("resumption", resumption);
        }
    }
}

/// `ja4l_rtt_ms` and `ja4l_client_ttl`: SYN-ACK to ACK round trip, and the
/// client's TTL (from its SYN, else its ACK).
fn push_rtt(ev: &mut Event, hs: &Handshake) {
    if let (Some((synack, _)), Some((ack, ack_ttl))) = (hs.synack, hs.ack) {
        let us = ack.micros_since(synack);
        if us >= 0 {
            let ttl = hs.syn.map_or(ack_ttl, |(_, t)| t);
            ev.push("ja4l_rtt_ms", Fixed(us as f64 / 1000.0, 2))
                .push("ja4l_client_ttl", ttl);
        }
    }
}

impl StreamAnalyzer for TlsConn {
    /// Heap bytes held: the readers of partial handshakes and the kept
    /// ClientHello fields (for the memory budget).
    fn heap_bytes(&self) -> usize {
        let held = |d: &DirState| match d {
            DirState::Reading(r) => r.heap_bytes(),
            _ => 0,
        };
        held(&self.client)
            + held(&self.server)
            + self
                .hello
                .as_ref()
                .map_or(0, |h| crate::util::budget::heap_cost(h.text.capacity()))
    }

    /// Looks for the hello (at the first byte or after a prelude), then
    /// reads handshake messages.
    fn on_data(&mut self, cx: &mut StreamCx<'_>, side: Side, offset: u64, data: &[u8]) -> Interest {
        let client_gave_up = matches!(self.client, DirState::Done) && self.hello.is_none();
        let (state, hello_type) = match side {
            Side::Client => (&mut self.client, handshake_type::CLIENT_HELLO),
            Side::Server => (&mut self.server, handshake_type::SERVER_HELLO),
        };
        let mut data = data;
        match state {
            DirState::Done => return Interest::Done,
            DirState::Reading(_) => {}
            DirState::Looking => {
                if side == Side::Server && client_gave_up {
                    *state = DirState::Done;
                    return Interest::Done;
                }
                let start = match hello_at(data, hello_type) {
                    Plausible::Yes | Plausible::NeedMore => Some(0),
                    Plausible::No => find_hello(data, hello_type),
                };
                match start {
                    Some(at) => {
                        data = &data[at..];
                        *state = DirState::Reading(Box::new(HandshakeReader::new(
                            cx.limits.reassembly_bytes,
                        )));
                    }
                    None if offset == 0 && oversized_hello_at(data, hello_type) => {
                        if side == Side::Client {
                            cx.stats.bump(Counter::TlsClientHelloTooLarge);
                        }
                        *state = DirState::Done;
                        return Interest::Done;
                    }
                    None => {
                        let past_prelude =
                            offset.saturating_add(data.len() as u64) >= PRELUDE_LIMIT;
                        // A stream another analyzer recognised from its first bytes
                        // is not worth watching for a late ClientHello.
                        if past_prelude || cx.claimed_by_another() {
                            *state = DirState::Done;
                            return Interest::Done;
                        }
                        return Interest::More;
                    }
                }
            }
        }
        let DirState::Reading(mut reader) = std::mem::take(state) else {
            return Interest::Done;
        };
        let status = reader.feed(data, |ty, body| self.on_message(cx, side, ty, body));
        // A TLS 1.3 client in compatibility mode sends a ChangeCipherSpec
        // before its second ClientHello (after a HelloRetryRequest, which a
        // capture may not even hold) and before its encrypted flight; in
        // TLS 1.2 a ChangeCipherSpec starts encryption. Decided by the
        // version negotiated, else by the version offered.
        let ignore_ccs = match self.negotiated {
            Some(v) => v == TLS13,
            None => self.hello.as_ref().is_some_and(|h| h.offers_tls13),
        };
        if side == Side::Client {
            reader.set_ignore_change_cipher_spec(ignore_ccs);
        } else if let DirState::Reading(client) = &mut self.client {
            client.set_ignore_change_cipher_spec(ignore_ccs);
        }
        if let ReaderStatus::Failed(e) = status {
            cx.stats.bump(Counter::TlsRecordErrors);
            // The first message of a client's handshake is its hello.
            let hello_refused = side == Side::Client
                && self.hello.is_none()
                && matches!(e, ReaderError::MessageTooLarge { .. });
            if hello_refused {
                cx.stats.bump(Counter::TlsClientHelloTooLarge);
            }
        }
        let state = match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        };
        if status == ReaderStatus::Reading {
            *state = DirState::Reading(reader);
            Interest::More
        } else {
            *state = DirState::Done;
            Interest::Done
        }
    }

    /// Reassembly dropped bytes (beyond its window or its memory budget):
    /// the client's count against an unfinished ClientHello.
    fn on_bytes_lost(&mut self, side: Side) {
        if side == Side::Client {
            self.client_bytes_lost = true;
        }
    }

    /// The flow ends: a ClientHello still incomplete after reassembly
    /// dropped some of its bytes is counted as lost to the budget.
    fn on_close(&mut self, cx: &mut StreamCx<'_>) {
        let hello_unfinished = self.hello.is_none() && matches!(self.client, DirState::Reading(_));
        if self.client_bytes_lost && hello_unfinished {
            cx.stats.bump(Counter::TlsClientHelloDroppedOverBudget);
        }
    }
}

impl TlsConn {
    fn on_message(&mut self, cx: &mut StreamCx<'_>, side: Side, ty: u8, body: &[u8]) -> Next {
        match (side, ty) {
            (Side::Client, handshake_type::CLIENT_HELLO) => self.on_client_hello(cx, body),
            (Side::Server, handshake_type::SERVER_HELLO) => self.on_server_hello(cx, body),
            (Side::Server, handshake_type::CERTIFICATE) => {
                self.on_certificate(cx, body);
                Next::Stop
            }
            (Side::Server, handshake_type::SERVER_HELLO_DONE) => Next::Stop,
            _ => Next::Continue,
        }
    }

    fn on_client_hello(&mut self, cx: &mut StreamCx<'_>, body: &[u8]) -> Next {
        let ch = match ClientHello::parse(body) {
            Ok(ch) => ch,
            Err(_) => {
                cx.stats.bump(Counter::TlsParseErrors);
                return Next::Stop;
            }
        };
        let mut ev = cx.event(EventKind::TlsClientHello);
        let prints = cx.tls_prints.hellos.prints(&ch);
        let h = HelloFields::new(&ch, prints);
        ev.push("ja3", h.part(JA3))
            .push("ja4", h.part(JA4))
            .push("tls_version", prints.tls_version());
        h.push_names_and_lists(&mut ev);
        push_rtt(&mut ev, cx.handshake);
        ev.push("ja3_string", prints.ja3_string())
            .push_with("ja4_r", |out| prints.write_ja4_r(HelloTransport::Tcp, out))
            .push_with("ja4_o", |out| prints.write_ja4_o(HelloTransport::Tcp, out));
        crate::fingerprint::clients::label_event(&mut ev);
        cx.emit(ev);
        let tls13_compat = h.offers_tls13 && self.negotiated.is_none_or(|v| v == TLS13);
        self.hello = Some(h);
        if tls13_compat {
            Next::ContinueIgnoringChangeCipherSpec
        } else {
            Next::Continue
        }
    }

    fn on_server_hello(&mut self, cx: &mut StreamCx<'_>, body: &[u8]) -> Next {
        let sh = match ServerHello::parse(body) {
            Ok(sh) => sh,
            Err(_) => {
                cx.stats.bump(Counter::TlsParseErrors);
                return Next::Stop;
            }
        };
        let version = sh.version();
        self.negotiated = Some(version);
        let mut ev = cx.event(EventKind::TlsSession);
        let prints = cx.tls_prints.servers.prints(&sh);
        ev.push("ja3s", prints.ja3s());
        #[cfg(feature = "ja4plus")]
        ev.push_with("ja4s", |out| prints.write_ja4s(HelloTransport::Tcp, out));
        ev.push("tls_version", prints.tls_version());
        if let Some(h) = &self.hello {
            h.push_client_part(&mut ev);
        }
        push_rtt(&mut ev, cx.handshake);
        ev.push("cipher", prints.cipher());
        ev.push_text("alpn_selected", sh.alpn_selected().unwrap_or_default());
        #[cfg(feature = "ja4plus")]
        push_ja4l(&mut ev, cx.handshake);
        crate::fingerprint::clients::label_event(&mut ev);
        cx.emit(ev);
        if sh.is_hello_retry_request() {
            // The real ServerHello follows the client's second hello.
            Next::ContinueIgnoringChangeCipherSpec
        } else if version == TLS13 {
            // Everything after a TLS 1.3 ServerHello is encrypted.
            Next::Stop
        } else {
            Next::Continue
        }
    }

    fn on_certificate(&mut self, cx: &mut StreamCx<'_>, body: &[u8]) {
        if self.negotiated == Some(TLS13) {
            return;
        }
        let Ok(list) = CertificateList::parse(body) else {
            cx.stats.bump(Counter::TlsParseErrors);
            return;
        };
        let chain_len = list.clone().count();
        let Some(leaf_der) = list.clone().next() else {
            return;
        };
        // Made first: the fields are borrowed from the engine's cache.
        let mut ev = cx.event(EventKind::TlsCertificate);
        let Ok(c) = cx.tls_prints.certs.prints(leaf_der) else {
            cx.stats.bump(Counter::TlsCertificateParseErrors);
            return;
        };
        ev.push_text("subject_cn", c.subject_cn());
        ev.push_text("issuer", c.issuer());
        ev.push("self_signed", c.self_signed())
            .push("not_before", c.not_before())
            .push("not_after", c.not_after());
        if !c.sans().is_empty() {
            ev.push_text("sans", c.sans());
        }
        if let Some(sni) = self.hello.as_ref().and_then(HelloFields::sni) {
            ev.push_text("sni", sni);
        }
        #[cfg(feature = "ja4plus")]
        ev.push("ja4x", c.ja4x());
        ev.push("serial", c.serial())
            .push("cert_sha256", c.cert_sha256())
            .push("chain_len", chain_len);
        cx.emit(ev);
    }
}

/// `ja4l_c` and `ja4l_s` when the TCP handshake was seen.
#[cfg(feature = "ja4plus")]
fn push_ja4l(ev: &mut Event, hs: &Handshake) {
    use crate::fingerprint::tls::ja4l;
    if let (Some((synack, _)), Some((ack, ack_ttl))) = (hs.synack, hs.ack) {
        let ttl = hs.syn.map_or(ack_ttl, |(_, t)| t);
        if let Some(v) = ja4l::ja4l_c(synack, ack, ttl) {
            ev.push("ja4l_c", v);
        }
    }
    if let (Some((syn, _)), Some((synack, server_ttl))) = (hs.syn, hs.synack) {
        if let Some(v) = ja4l::ja4l_s(syn, synack, server_ttl) {
            ev.push("ja4l_s", v);
        }
    }
}
