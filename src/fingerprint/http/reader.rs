//! The client side of an HTTP/1.x connection as a byte stream: request
//! heads, bodies skipped by `Content-Length` or chunked framing, as many
//! requests as the connection carries.
//!
//! Memory is bounded: a head is stored only while incomplete and only up
//! to the reader's cap; a longer head is reported as oversized and skipped
//! without storing it. Bodies are never stored. When the bytes stop being
//! HTTP (a tunnel after CONNECT, an upgraded protocol, a framing error),
//! the reader gives up and says so.

use super::head::{check_prefix, Prefix, RequestHead, MAX_METHOD_LEN};

/// Default cap on a stored request head (docs/spec.md section 9: 16 KiB of
/// reassembly per direction).
pub const DEFAULT_HEAD_CAP: usize = 16 * 1024;

/// Longest chunk-size line accepted (size, extensions, CR LF).
const MAX_CHUNK_LINE: u32 = 4096;

/// What the reader found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpItem<'a> {
    /// A complete request head.
    Request(RequestHead<'a>),
    /// A head longer than the cap: skipped, nothing reported from it.
    OversizedHead,
}

/// Whether the reader wants more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    More,
    /// Not (or no longer) HTTP/1.x requests: stop feeding.
    Done,
    /// The `PRI * HTTP/2.0` head of the HTTP/2 connection preface ended
    /// after this many bytes of the last `feed`: the rest is HTTP/2 (prior
    /// knowledge, or after an `Upgrade: h2c` request). Stop feeding.
    Http2(usize),
}

/// Tracks whether the bytes since the last LF form an empty line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum LineState {
    #[default]
    Empty,
    OnlyCr,
    Text,
}

impl LineState {
    /// Consumes bytes up to and including the first LF that ends an empty
    /// line; returns how many bytes that was, or `None` if all were used.
    fn find_empty_line(&mut self, data: &[u8]) -> Option<usize> {
        for (i, &b) in data.iter().enumerate() {
            *self = match (b, *self) {
                (b'\n', LineState::Empty | LineState::OnlyCr) => {
                    *self = LineState::Empty;
                    return Some(i + 1);
                }
                (b'\n', LineState::Text) => LineState::Empty,
                (b'\r', LineState::Empty) => LineState::OnlyCr,
                _ => LineState::Text,
            };
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading a chunk-size line.
    Size {
        size: u64,
        digits: u8,
        ext: bool,
        line_len: u32,
    },
    /// Chunk data.
    Data { remaining: u64 },
    /// The CR LF after chunk data.
    DataEnd { cr: bool },
    /// Trailer lines up to the empty line.
    Trailer(LineState),
}

const CHUNK_SIZE_START: Chunked = Chunked::Size {
    size: 0,
    digits: 0,
    ext: false,
    line_len: 0,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting or collecting a request head.
    Head,
    /// Skipping the rest of an oversized head.
    SkipHead(LineState),
    Body {
        remaining: u64,
    },
    Chunked(Chunked),
    /// The HTTP/2 preface's first head was read.
    Http2,
    Done,
}

/// Reads requests from the client direction of one connection.
#[derive(Debug)]
pub struct RequestReader {
    state: State,
    /// The incomplete head (bytes of earlier segments).
    buf: Vec<u8>,
    /// Scan position for the head's end inside `buf`.
    scan: LineState,
    /// The current head's request line has been seen whole and checked.
    line_checked: bool,
    cap: usize,
    requests: u64,
}

impl Default for RequestReader {
    fn default() -> Self {
        Self::new(DEFAULT_HEAD_CAP)
    }
}

/// How the body after a head is framed (RFC 9112 section 6.3, requests).
enum Framing {
    None,
    Length(u64),
    Chunked,
    Invalid,
}

fn body_framing(head: &RequestHead<'_>) -> Framing {
    let mut te = None;
    let mut cl: Option<u64> = None;
    for h in head.headers() {
        if h.name.eq_ignore_ascii_case(b"transfer-encoding") {
            te = Some(h.value);
        } else if h.name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_decimal(h.value) else {
                return Framing::Invalid;
            };
            if cl.is_some_and(|c| c != n) {
                return Framing::Invalid;
            }
            cl = Some(n);
        }
    }
    if let Some(te) = te {
        // Chunked must be the final coding; any other coding on a request
        // leaves the length unknowable.
        let last = te.rsplit(|&b| b == b',').next().unwrap_or_default();
        let last = last.trim_ascii();
        return if last.eq_ignore_ascii_case(b"chunked") {
            Framing::Chunked
        } else {
            Framing::Invalid
        };
    }
    match cl {
        Some(0) | None => Framing::None,
        Some(n) => Framing::Length(n),
    }
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether a request line ends in ` HTTP/d.d` (CR allowed), given its
/// stored start and the rest up to (excluding) LF.
fn ends_like_request_line(stored: &[u8], rest: &[u8]) -> bool {
    const N: usize = 10;
    let mut tail = [0u8; N];
    let from_rest = rest.len().min(N);
    let from_stored = (N - from_rest).min(stored.len());
    let n = from_rest + from_stored;
    tail[N - from_rest..].copy_from_slice(&rest[rest.len() - from_rest..]);
    tail[N - n..N - from_rest].copy_from_slice(&stored[stored.len() - from_stored..]);
    let line = &tail[N - n..];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.len().checked_sub(9).map(|i| &line[i..]) {
        Some([b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor]) => {
            major.is_ascii_digit() && minor.is_ascii_digit()
        }
        _ => false,
    }
}

impl RequestReader {
    /// Heap bytes the reader holds, itself boxed included (for the memory
    /// budget).
    pub fn heap_bytes(&self) -> usize {
        use crate::util::budget::heap_cost;
        heap_cost(std::mem::size_of::<Self>()) + heap_cost(self.buf.capacity())
    }

    /// A reader that stores at most `cap` bytes of an incomplete head.
    pub fn new(cap: usize) -> Self {
        RequestReader {
            state: State::Head,
            buf: Vec::new(),
            scan: LineState::Text,
            line_checked: false,
            cap,
            requests: 0,
        }
    }

    /// Requests read so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Whether the reader has given up.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds the next in-order client bytes; `on` receives every request
    /// head they complete.
    pub fn feed(&mut self, mut data: &[u8], mut on: impl FnMut(HttpItem<'_>)) -> Progress {
        let total = data.len();
        while !data.is_empty() {
            let used = match self.state {
                State::Done | State::Http2 => break,
                State::Head => self.feed_head(data, &mut on),
                State::SkipHead(mut line) => match line.find_empty_line(data) {
                    Some(n) => {
                        self.state = State::Head;
                        n
                    }
                    None => {
                        self.state = State::SkipHead(line);
                        data.len()
                    }
                },
                State::Body { remaining } => {
                    let take = usize::try_from(remaining).map_or(data.len(), |r| r.min(data.len()));
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Body { remaining: left }
                    };
                    take
                }
                State::Chunked(c) => self.feed_chunked(c, data),
            };
            data = data.get(used..).unwrap_or_default();
        }
        if self.state == State::Http2 {
            self.buf = Vec::new();
            return Progress::Http2(total - data.len());
        }
        if self.state == State::Done {
            self.buf = Vec::new();
            Progress::Done
        } else {
            Progress::More
        }
    }

    fn feed_head(&mut self, data: &[u8], on: &mut impl FnMut(HttpItem<'_>)) -> usize {
        let mut skipped = 0;
        if self.buf.is_empty() {
            // Empty lines before a request line are allowed (RFC 9112 2.2).
            skipped = data
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skipped == data.len() {
                return skipped;
            }
            self.scan = LineState::Text;
            self.line_checked = false;
        }
        let data = &data[skipped..];
        // Reject non-HTTP streams from their first bytes, before storing.
        if self.buf.len() <= MAX_METHOD_LEN {
            let mut start = [0u8; MAX_METHOD_LEN + 1];
            let old = self.buf.len();
            let new = (start.len() - old).min(data.len());
            start[..old].copy_from_slice(&self.buf);
            start[old..old + new].copy_from_slice(&data[..new]);
            if check_prefix(&start[..old + new]) == Prefix::NotHttp {
                self.state = State::Done;
                return skipped + data.len();
            }
        }
        // Check the whole request line as soon as its LF is here, so that a
        // token-and-space stream that is not HTTP is dropped early.
        if !self.line_checked {
            if let Some(lf) = memchr::memchr(b'\n', data) {
                if !ends_like_request_line(&self.buf, &data[..lf]) {
                    self.state = State::Done;
                    return skipped + data.len();
                }
                self.line_checked = true;
            }
        }
        let mut scan = self.scan;
        let end = scan.find_empty_line(data);
        match end {
            Some(n) if self.buf.is_empty() && n <= self.cap => {
                // The whole head is in this chunk: parse it in place.
                self.finish_head(&data[..n], on);
                skipped + n
            }
            Some(n) if self.buf.len() + n <= self.cap => {
                let mut buf = std::mem::take(&mut self.buf);
                buf.extend_from_slice(&data[..n]);
                self.finish_head(&buf, on);
                buf.clear();
                self.buf = buf; // keep the allocation for the next head
                skipped + n
            }
            Some(n) => {
                self.oversized(on);
                self.state = State::Head;
                skipped + n
            }
            None if self.buf.len() + data.len() <= self.cap => {
                self.buf.extend_from_slice(data);
                self.scan = scan;
                skipped + data.len()
            }
            None => {
                self.oversized(on);
                self.state = State::SkipHead(scan);
                skipped + data.len()
            }
        }
    }

    fn oversized(&mut self, on: &mut impl FnMut(HttpItem<'_>)) {
        self.buf.clear();
        on(HttpItem::OversizedHead);
    }

    fn finish_head(&mut self, head: &[u8], on: &mut impl FnMut(HttpItem<'_>)) {
        let Ok(req) = RequestHead::parse(head) else {
            self.state = State::Done;
            return;
        };
        if crate::fingerprint::http2::is_preface_head(req.method, req.target, req.version) {
            // Not a request: the rest of the stream is HTTP/2 frames.
            self.state = State::Http2;
            return;
        }
        self.requests += 1;
        self.state = match body_framing(&req) {
            Framing::None => State::Head,
            Framing::Length(n) => State::Body { remaining: n },
            Framing::Chunked => State::Chunked(CHUNK_SIZE_START),
            Framing::Invalid => State::Done,
        };
        on(HttpItem::Request(req));
    }

    fn feed_chunked(&mut self, mut c: Chunked, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() {
            match &mut c {
                Chunked::Size {
                    size,
                    digits,
                    ext,
                    line_len,
                } => {
                    let b = data[used];
                    used += 1;
                    *line_len += 1;
                    if *line_len > MAX_CHUNK_LINE {
                        self.state = State::Done;
                        return used;
                    }
                    match b {
                        b'\n' if *digits > 0 => {
                            c = if *size == 0 {
                                Chunked::Trailer(LineState::Empty)
                            } else {
                                Chunked::Data { remaining: *size }
                            };
                        }
                        _ if *ext || b == b'\r' => {}
                        b';' | b' ' | b'\t' if *digits > 0 => *ext = true,
                        _ if b.is_ascii_hexdigit() && *digits < 16 => {
                            let v = (b as char).to_digit(16).unwrap_or(0);
                            *size = (*size << 4) | u64::from(v);
                            *digits += 1;
                        }
                        _ => {
                            self.state = State::Done;
                            return used;
                        }
                    }
                }
                Chunked::Data { remaining } => {
                    let take = usize::try_from(*remaining)
                        .map_or(data.len() - used, |r| r.min(data.len() - used));
                    used += take;
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        c = Chunked::DataEnd { cr: false };
                    }
                }
                Chunked::DataEnd { cr } => {
                    let b = data[used];
                    used += 1;
                    match b {
                        b'\r' if !*cr => *cr = true,
                        b'\n' => c = CHUNK_SIZE_START,
                        _ => {
                            self.state = State::Done;
                            return used;
                        }
                    }
                }
                Chunked::Trailer(line) => match line.find_empty_line(&data[used..]) {
                    Some(n) => {
                        self.state = State::Head;
                        return used + n;
                    }
                    None => used = data.len(),
                },
            }
        }
        self.state = State::Chunked(c);
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Got {
        Req(String, String),
        Oversized,
    }

    fn run_on(r: &mut RequestReader, chunks: &[&[u8]]) -> (Vec<Got>, Progress) {
        let mut out = Vec::new();
        let mut p = Progress::More;
        for c in chunks {
            p = r.feed(c, |it| {
                out.push(match it {
                    HttpItem::Request(h) => Got::Req(
                        String::from_utf8_lossy(h.method).into_owned(),
                        String::from_utf8_lossy(h.target).into_owned(),
                    ),
                    HttpItem::OversizedHead => Got::Oversized,
                })
            });
        }
        (out, p)
    }

    fn run(chunks: &[&[u8]]) -> (Vec<Got>, Progress) {
        run_on(&mut RequestReader::default(), chunks)
    }

    fn req(m: &str, t: &str) -> Got {
        Got::Req(m.to_owned(), t.to_owned())
    }

    const PIPELINE: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello=world\
PROPFIND /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n\
FOO /d HTTP/1.0\n\n";

    #[test]
    fn several_requests_with_bodies() {
        let (got, p) = run(&[PIPELINE]);
        assert_eq!(
            got,
            vec![
                req("GET", "/a"),
                req("POST", "/b"),
                req("PROPFIND", "/c"),
                req("FOO", "/d")
            ]
        );
        assert_eq!(p, Progress::More);
    }

    #[test]
    fn every_split_point_gives_the_same_requests() {
        let (whole, _) = run(&[PIPELINE]);
        for cut in 1..PIPELINE.len() {
            let (got, _) = run(&[&PIPELINE[..cut], &PIPELINE[cut..]]);
            assert_eq!(got, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = PIPELINE.chunks(1).collect();
        assert_eq!(run(&bytes).0, whole);
    }

    #[test]
    fn not_http_is_rejected_from_the_first_bytes() {
        for s in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"SSH-2.0-OpenSSH_9.2p1\r\n",
            b"\0\0\0\x0c",
        ] {
            let mut r = RequestReader::default();
            let (got, p) = run_on(&mut r, &[s]);
            assert!(got.is_empty());
            assert_eq!(p, Progress::Done, "{s:?}");
            assert!(r.is_done());
        }
        // A token and a space but no HTTP version: rejected at the line end.
        let (got, p) = run(&[b"HELLO there\r\n"]);
        assert!(got.is_empty());
        assert_eq!(p, Progress::Done);
    }

    #[test]
    fn tunnel_after_connect_stops_the_reader() {
        let (got, p) = run(&[
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            b"\x16\x03\x01\x02\x00",
        ]);
        assert_eq!(got, vec![req("CONNECT", "a:443")]);
        assert_eq!(p, Progress::Done);
    }

    #[test]
    fn megabyte_request_line_is_skipped_without_storing() {
        let mut r = RequestReader::default();
        let line = [b"GET /".to_vec(), vec![b'a'; 1 << 20]].concat();
        let mut got = Vec::new();
        for chunk in line.chunks(1460) {
            r.feed(chunk, |it| got.push(matches!(it, HttpItem::OversizedHead)));
            assert!(
                r.buf.capacity() <= 2 * DEFAULT_HEAD_CAP,
                "buffer grew to {}",
                r.buf.capacity()
            );
        }
        let (more, _) = run_on(
            &mut r,
            &[b" HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n"],
        );
        assert_eq!(got, vec![true]);
        assert_eq!(more, vec![req("GET", "/next")]);
    }

    #[test]
    fn megabyte_header_block_is_skipped() {
        let mut s = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..20_000 {
            s.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(40)).as_bytes());
        }
        s.extend_from_slice(b"\r\nHEAD /ok HTTP/1.1\r\n\r\n");
        let (got, _) = run(&[&s]);
        assert_eq!(got, vec![Got::Oversized, req("HEAD", "/ok")]);
        // Same with the block arriving in segments.
        let chunks: Vec<&[u8]> = s.chunks(1448).collect();
        assert_eq!(run(&chunks).0, vec![Got::Oversized, req("HEAD", "/ok")]);
    }

    #[test]
    fn head_exactly_at_the_cap() {
        let mut r = RequestReader::new(64);
        let head = b"GET / HTTP/1.1\r\nA: 1\r\n\r\n";
        let (got, _) = run_on(&mut r, &[&head[..10], &head[10..]]);
        assert_eq!(got, vec![req("GET", "/")]);
        let mut r = RequestReader::new(20);
        let (got, _) = run_on(&mut r, &[&head[..10], &head[10..]]);
        assert_eq!(got, vec![Got::Oversized]);
    }

    #[test]
    fn lying_or_conflicting_lengths() {
        // A huge Content-Length just swallows what follows.
        let (got, p) = run(&[b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nGET / HTTP/1.1\r\n\r\n"]);
        assert_eq!((got.len(), p), (1, Progress::More));
        // Overflowing or conflicting lengths make the framing unknowable.
        for bad in [
            &b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            let (got, p) = run(&[bad, b"GET / HTTP/1.1\r\n\r\n"]);
            assert_eq!(got.len(), 1);
            assert_eq!(p, Progress::Done);
        }
        // Two equal lengths are fine.
        let (got, _) = run(&[b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nokGET /2 HTTP/1.1\r\n\r\n"]);
        assert_eq!(got, vec![req("POST", "/"), req("GET", "/2")]);
    }

    #[test]
    fn bad_chunked_framing_stops() {
        for body in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"11111111111111111\r\n",
            &[b'1'; 5000],
        ] {
            let (_, p) = run(&[
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                body,
            ]);
            assert_eq!(p, Progress::Done, "{:?}", String::from_utf8_lossy(body));
        }
        // Chunked wins over Content-Length.
        let (got, _) = run(&[b"POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n"]);
        assert_eq!(got, vec![req("POST", "/"), req("GET", "/n")]);
    }

    /// Random corruptions of a valid pipeline, cut at random points: no
    /// panic, the stored head never over the cap, every reported head
    /// parses and fingerprints.
    #[test]
    fn corrupted_streams_are_survived() {
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let mut s = PIPELINE.to_vec();
            for _ in 0..(next() % 6) {
                let i = (next() as usize) % s.len();
                s[i] = [b'\r', b'\n', b' ', b':', b';', b'0', b'f', next() as u8]
                    [(next() % 8) as usize];
            }
            let mut r = RequestReader::new(64);
            let mut rest = &s[..];
            while !rest.is_empty() {
                let n = 1 + (next() as usize) % rest.len();
                r.feed(&rest[..n], |it| {
                    if let HttpItem::Request(h) = it {
                        let _ = h.headers_ordered_json();
                        let _ = h.cookie();
                        #[cfg(feature = "ja4plus")]
                        let _ = super::super::ja4h::Ja4h::compute(&h);
                    }
                });
                assert!(r.buf.len() <= 64);
                rest = &rest[n..];
            }
        }
    }

    #[test]
    fn leading_empty_lines_are_ignored() {
        let (got, _) = run(&[b"\r\n\r\n", b"\nGET / HTTP/1.1\r\n\r\n"]);
        assert_eq!(got, vec![req("GET", "/")]);
    }
}
