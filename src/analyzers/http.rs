//! Plaintext HTTP/1.0 and 1.1 requests on any port: one
//! `http_request_fingerprint` per request, any method, as many requests as
//! the connection carries. The client's bytes are read by
//! [`RequestReader`], which rejects non-HTTP streams from their first
//! bytes. p0f's HTTP module ([`P0fHttp`]) reads the first request head and
//! the server's first response head: its fields on the first request and
//! one `http_response_fingerprint`.
//!
//! A `PRI * HTTP/2.0` head (cleartext HTTP/2 by prior knowledge, or after
//! an `Upgrade: h2c` request) hands the rest of the client's bytes to
//! [`ClientReader`]: one `http_request_fingerprint` with `proto` `h2c` for
//! the connection's first HTTP/2 request, or for the preface alone when
//! the connection ends without one (an upgrade's request went as HTTP/1.1).

use super::p0f_http::{ua_mismatch, P0fHttp, P0fHttpResult, P0fNeeds};
use super::{Interest, StreamAnalyzer, StreamCx};
use crate::event::{Event, EventKind};
use crate::fingerprint::http::head::{check_prefix, write_names_json, Prefix};
#[cfg(feature = "ja4plus")]
use crate::fingerprint::http::ja4h::Ja4h;
use crate::fingerprint::http::{HttpItem, Progress, RequestHead, RequestReader};
use crate::fingerprint::http2::hpack::HpackError;
use crate::fingerprint::http2::{ClientReader, Step, Stop};
use crate::flow::Side;
use crate::stats::Counter;
use crate::util::budget::heap_cost;

/// Request lines that start a stream which is plainly HTTP: never a
/// plaintext prelude to TLS (as `CONNECT` is).
const CLAIMED_METHODS: [&[u8]; 7] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
];

/// Per-connection HTTP state.
#[derive(Debug, Default)]
pub struct HttpConn {
    /// Created at the first client byte; `None` before and after.
    reader: Option<Box<RequestReader>>,
    done: bool,
    /// Created with the reader.
    p0f: Option<Box<P0fHttp>>,
    /// p0f reads nothing of this connection: the server spoke first, or
    /// the client's first bytes are not an HTTP request.
    p0f_off: bool,
    /// The client's HTTP/2 frames after the preface's first head, until
    /// its event is out.
    h2: Option<Box<ClientReader>>,
}

impl StreamAnalyzer for HttpConn {
    /// A request line of the common methods, whichever side sends it.
    fn claims(_side: Side, first: &[u8]) -> bool {
        CLAIMED_METHODS.iter().any(|m| first.starts_with(m))
    }

    /// Heap bytes held by the reader of a partial request (for the memory
    /// budget).
    fn heap_bytes(&self) -> usize {
        self.reader.as_ref().map_or(0, |r| r.heap_bytes())
            + self.h2.as_ref().map_or(0, |r| {
                heap_cost(std::mem::size_of::<ClientReader>()) + r.heap_bytes()
            })
    }

    /// The next in-order bytes of `side`, at stream offset `offset`.
    fn on_data(
        &mut self,
        cx: &mut StreamCx<'_>,
        side: Side,
        _offset: u64,
        data: &[u8],
    ) -> Interest {
        if side == Side::Server {
            return self.on_response_data(cx, data);
        }
        if self.done {
            return Interest::Done;
        }
        if self.h2.is_some() {
            return self.on_h2_data(cx, data);
        }
        if self.reader.is_none() && self.p0f.is_none() && !self.p0f_off {
            // The first client bytes. When the request reader and p0f would
            // both give up on them (TLS, SSH, ...), neither is made.
            let not_http = !matches!(data.first(), None | Some(b'\r' | b'\n'))
                && check_prefix(data) == Prefix::NotHttp;
            if not_http && P0fHttp::rejects_first(cx.p0f_db, data) {
                self.done = true;
                self.p0f_off = true;
                return Interest::Done;
            }
        }
        let cap = cx.limits.reassembly_bytes;
        let reader = self
            .reader
            .get_or_insert_with(|| Box::new(RequestReader::new(cap)));
        let mut p0f_request = None;
        if !self.p0f_off {
            let p0f = self.p0f.get_or_insert_with(Default::default);
            if let Some(n) = p0f.on_client(cx.p0f_db, &mut cx.tls_prints.http_matches, data) {
                cx.p0f_http_head(n);
            }
            p0f_request = p0f.take_request();
        }
        let mut first = reader.requests() == 0;
        let progress = reader.feed(data, |item| match item {
            HttpItem::Request(head) => {
                // p0f reads only the connection's first request.
                let p0f = if first { p0f_request.take() } else { None };
                first = false;
                let ev = request_event(cx, &head, p0f.as_ref());
                cx.emit(ev);
            }
            HttpItem::OversizedHead => cx.stats.bump(Counter::HttpOversizedHeads),
        });
        if let (Some(r), Some(p0f)) = (p0f_request, self.p0f.as_mut()) {
            // The reader has not finished this head yet: keep it for later.
            p0f.keep_request(r);
        }
        match progress {
            Progress::More => Interest::More,
            Progress::Done => {
                self.done = true;
                self.reader = None;
                Interest::Done
            }
            Progress::Http2(used) => {
                self.reader = None;
                self.h2 = Some(Box::new(ClientReader::after_pri_head(cap)));
                self.on_h2_data(cx, data.get(used..).unwrap_or_default())
            }
        }
    }

    /// The flow ends: an HTTP/2 preface whose connection carried no
    /// HTTP/2 request is reported alone.
    fn on_close(&mut self, cx: &mut StreamCx<'_>) {
        if let Some(h2) = self.h2.take() {
            if h2.preface_seen() {
                let ev = h2_event(cx, &h2, false);
                cx.emit(ev);
            }
            count_dropped(cx, &h2);
        }
    }
}

impl HttpConn {
    /// Client bytes after the preface's `PRI * HTTP/2.0` head.
    fn on_h2_data(&mut self, cx: &mut StreamCx<'_>, data: &[u8]) -> Interest {
        let step = match self.h2.as_mut() {
            Some(h2) => h2.feed(data),
            None => return Interest::Done,
        };
        match step {
            Step::More => return Interest::More,
            Step::Request => {
                if let Some(h2) = self.h2.as_deref() {
                    let ev = h2_event(cx, h2, true);
                    cx.emit(ev);
                }
            }
            Step::Stopped(stop) => {
                if let Some(name) = stop_counter(stop) {
                    cx.stats.bump(name);
                }
                let ends_cleanly = matches!(stop, Stop::GoAway | Stop::TooManyFrames);
                match self.h2.as_deref() {
                    Some(h2) if ends_cleanly && h2.preface_seen() => {
                        let ev = h2_event(cx, h2, false);
                        cx.emit(ev);
                    }
                    _ => {}
                }
            }
        }
        if let Some(h2) = self.h2.take() {
            count_dropped(cx, &h2);
        }
        self.done = true;
        Interest::Done
    }

    /// What p0f's HTTP module still wants of this connection.
    pub fn p0f_needs(&self) -> P0fNeeds {
        match &self.p0f {
            Some(p) => p.needs(),
            None if self.p0f_off => P0fNeeds::Nothing,
            None => P0fNeeds::Request,
        }
    }

    /// The server's bytes: only p0f's response head is read.
    fn on_response_data(&mut self, cx: &mut StreamCx<'_>, data: &[u8]) -> Interest {
        let Some(p0f) = self.p0f.as_mut() else {
            self.p0f_off = true;
            return Interest::Done;
        };
        if let Some((r, n)) = p0f.on_server(cx.p0f_db, &mut cx.tls_prints.http_matches, data) {
            let ev = response_event(cx, &r);
            cx.emit(ev);
            cx.p0f_http_head(n);
        }
        if p0f.wants_response() {
            Interest::More
        } else {
            Interest::Done
        }
    }
}

/// SETTINGS parameters and PRIORITY frames past the preface's caps.
fn count_dropped(cx: &mut StreamCx<'_>, h2: &ClientReader) {
    let dropped = h2.preface().dropped;
    if dropped > 0 {
        cx.stats
            .add(Counter::Http2PrefaceItemsDropped, u64::from(dropped));
    }
}

/// The counter of a reader that stopped without a request (a GOAWAY is
/// the client's own end, not counted).
fn stop_counter(stop: Stop) -> Option<Counter> {
    Some(match stop {
        Stop::GoAway => return None,
        Stop::BadPreface => Counter::Http2BadPrefaces,
        Stop::FrameError => Counter::Http2FrameErrors,
        Stop::TooLarge => Counter::Http2OversizedFrames,
        Stop::ContinuationFlood => Counter::Http2ContinuationFloods,
        Stop::TooManyFrames => Counter::Http2FrameLimitReached,
        Stop::Hpack(HpackError::IntegerTooLong) => Counter::Http2HpackIntegerOverflows,
        Stop::Hpack(HpackError::TableSizeTooLarge | HpackError::MisplacedSizeUpdate) => {
            Counter::Http2HpackTableSizeErrors
        }
        Stop::Hpack(HpackError::Huffman(_)) => Counter::Http2HpackHuffmanErrors,
        Stop::Hpack(HpackError::ListTooLarge) => Counter::Http2HeaderListsOversized,
        Stop::Hpack(HpackError::Truncated | HpackError::BadIndex) => Counter::Http2HpackErrors,
    })
}

/// `http_request_fingerprint` for an HTTP/2 connection, in the field
/// order of the HTTP/1.x event, `http2_fingerprint` before the client
/// labels. Without a request (`with_request` false) the request fields
/// are empty. Header names exclude the pseudo-header fields.
fn h2_event(cx: &StreamCx<'_>, h2: &ClientReader, with_request: bool) -> Event {
    let empty = crate::fingerprint::http2::hpack::HeaderList::default();
    let fields = if with_request { h2.headers() } else { &empty };
    let value = |name: &[u8]| fields.get(name).unwrap_or_default();
    let is_header = |n: &&[u8]| n.first() != Some(&b':');
    let mut ev = cx.event(EventKind::HttpRequestFingerprint);
    ev.push("remote_addr", cx.client)
        .push("proto", "h2c")
        .push_text("method", value(b":method"))
        .push_text("path", value(b":path"))
        .push_with("ja4h", |_out| {
            #[cfg(feature = "ja4plus")]
            if with_request {
                Ja4h::write_hash_h2(fields.iter(), _out);
            }
        })
        .push_text_with("headers_ordered", |out| {
            write_names_json(fields.iter().map(|(n, _)| n).filter(is_header), out)
        })
        .push_text_with("cookie", |out| {
            for (i, (_, v)) in fields.iter().filter(|(n, _)| *n == b"cookie").enumerate() {
                if i > 0 {
                    out.extend_from_slice(b"; ");
                }
                out.extend_from_slice(v);
            }
        })
        .push_text("accept_language", value(b"accept-language"));
    ev.move_first_fields_to_end(4);
    let host = fields
        .get(b":authority")
        .or_else(|| fields.get(b"host"))
        .unwrap_or_default();
    let user_agent = value(b"user-agent");
    ev.push_text("host", host)
        .push_text("user_agent", user_agent)
        .push("remote_port", cx.client.port());
    push_p0f_request_fields(
        &mut ev,
        None,
        &ua_mismatch(cx.p0f_db, user_agent, cx.syn_os),
    );
    ev.push_with("http2_fingerprint", |out| h2.preface().write_akamai(out));
    crate::fingerprint::clients::label_event(&mut ev);
    ev
}

/// Builds the event in catalogue order: DECNET's bridge fields, then the
/// connection's addresses, then `host` and `user_agent`, then
/// `remote_port` (the client port, which DECNET's JA4H bounty reads).
fn request_event(cx: &StreamCx<'_>, head: &RequestHead<'_>, p0f: Option<&P0fHttpResult>) -> Event {
    let mut ev = cx.event(EventKind::HttpRequestFingerprint);
    // `cx.event` pushed the four address fields first; they go after the
    // bridge fields.
    ev.push("remote_addr", cx.client)
        .push("proto", "h1")
        .push_text("method", head.method)
        .push_text("path", head.target)
        .push_with("ja4h", |_out| {
            #[cfg(feature = "ja4plus")]
            Ja4h::write_hash(head, _out);
        })
        .push_text_with("headers_ordered", |out| {
            head.write_headers_ordered_json(out)
        })
        .push_text_with("cookie", |out| head.write_cookie(out))
        .push_text(
            "accept_language",
            head.header("accept-language").unwrap_or_default(),
        );
    ev.move_first_fields_to_end(4);
    let user_agent = head.header("user-agent").unwrap_or_default();
    ev.push_text("host", head.header("host").unwrap_or_default())
        .push_text("user_agent", user_agent)
        .push("remote_port", cx.client.port());
    push_p0f_request_fields(&mut ev, p0f, &ua_mismatch(cx.p0f_db, user_agent, cx.syn_os));
    crate::fingerprint::clients::label_event(&mut ev);
    ev
}

/// `p0f_http_app p0f_http_lang p0f_http_params dishonest ua_mismatch
/// p0f_http_sig`: empty (and `dishonest` false) on a request p0f does not
/// read. The signature carries header values, so it is free text.
fn push_p0f_request_fields(ev: &mut Event, p0f: Option<&P0fHttpResult>, mismatch: &str) {
    let (app, lang, params, dishonest, sig) = match p0f {
        Some(r) => (
            &*r.app,
            r.lang,
            r.params.as_str(),
            r.dishonest,
            r.sig.as_str(),
        ),
        None => ("", "", "", false, ""),
    };
    ev.push("p0f_http_app", app)
        .push("p0f_http_lang", lang)
        .push("p0f_http_params", params)
        .push("dishonest", dishonest)
        .push("ua_mismatch", mismatch)
        .push_text("p0f_http_sig", sig);
}

/// `http_response_fingerprint`: the decky's answer as p0f sees it.
fn response_event(cx: &StreamCx<'_>, r: &P0fHttpResult) -> Event {
    let mut ev = cx.event(EventKind::HttpResponseFingerprint);
    ev.push("p0f_http_app", &*r.app)
        .push("p0f_http_params", r.params.as_str())
        .push_text("p0f_http_sig", r.sig.as_str())
        .push_text("server", &*r.software);
    ev
}
