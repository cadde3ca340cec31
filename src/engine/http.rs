//! Plaintext HTTP/1.0 and 1.1 requests on any port: one
//! `http_request_fingerprint` per request, any method, as many requests as
//! the connection carries. The client's bytes are read by
//! [`RequestReader`], which rejects non-HTTP streams from their first
//! bytes; the server's bytes are not needed.

use super::stream::{Dir, Interest, StreamCx};
use crate::event::{Event, EventKind};
#[cfg(feature = "ja4plus")]
use crate::fingerprint::http::ja4h::Ja4h;
use crate::fingerprint::http::{HttpItem, Progress, RequestHead, RequestReader};

/// Per-connection HTTP state.
#[derive(Debug, Default)]
pub struct HttpConn {
    /// Created at the first client byte; `None` before and after.
    reader: Option<Box<RequestReader>>,
    done: bool,
}

impl HttpConn {
    pub fn new() -> Self {
        HttpConn::default()
    }

    /// The next in-order bytes of `dir`, at stream offset `offset`.
    pub fn on_data(
        &mut self,
        cx: &mut StreamCx<'_>,
        dir: Dir,
        _offset: u64,
        data: &[u8],
    ) -> Interest {
        if dir == Dir::ToClient || self.done {
            return Interest::Done;
        }
        let cap = cx.limits.reassembly_bytes;
        let reader = self
            .reader
            .get_or_insert_with(|| Box::new(RequestReader::new(cap)));
        let progress = reader.feed(data, |item| match item {
            HttpItem::Request(head) => {
                let ev = request_event(cx, &head);
                cx.emit(ev);
            }
            HttpItem::OversizedHead => cx.stats.bump("http_oversized_heads"),
        });
        if progress == Progress::Done {
            self.done = true;
            self.reader = None;
            return Interest::Done;
        }
        Interest::More
    }

    /// Every payload segment of the flow.
    pub fn on_segment(&mut self, _cx: &mut StreamCx<'_>, _dir: Dir, _payload_len: usize) {}

    /// The flow ends.
    pub fn on_close(&mut self, _cx: &mut StreamCx<'_>) {}
}

/// Builds the event in catalogue order: DECNET's bridge fields, then the
/// connection's addresses, then `host` and `user_agent`, then
/// `remote_port` (the client port, which DECNET's JA4H bounty reads).
fn request_event(cx: &StreamCx<'_>, head: &RequestHead<'_>) -> Event {
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
    ev.push_text("host", head.header("host").unwrap_or_default())
        .push_text("user_agent", head.header("user-agent").unwrap_or_default())
        .push("remote_port", cx.client.port());
    ev
}
