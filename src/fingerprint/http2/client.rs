//! The client direction of a cleartext HTTP/2 connection (RFC 9113), read
//! from the end of the `PRI * HTTP/2.0` head of the connection preface up
//! to the first request's complete header block: the frames a client sends
//! before it (SETTINGS, WINDOW_UPDATE, PRIORITY) make the preface
//! fingerprint, the decoded block the request.
//!
//! Bounded: only the payloads of those frame types are stored, each at
//! most `block_cap` bytes, the header block (HEADERS and CONTINUATION
//! fragments) at most `block_cap` in all, at most [`MAX_CONTINUATIONS`]
//! CONTINUATION frames and [`MAX_FRAMES`] frames before the request.

use super::hpack::{Decoder, HeaderList, HpackError};
use super::preface::Preface;

/// What follows `PRI * HTTP/2.0\r\n\r\n` in the preface (RFC 9113 3.4).
const PREFACE_TAIL: &[u8] = b"SM\r\n\r\n";

/// CONTINUATION frames accepted for one header block: clients send none or
/// a few; empty ones would otherwise cost nothing to send forever.
pub const MAX_CONTINUATIONS: u32 = 32;

/// Frames read before the first request's header block is complete.
pub const MAX_FRAMES: u32 = 64;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PRIORITY: u8 = 0x2;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

const FLAG_ACK: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// Why the reader stopped without a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The bytes after `PRI * HTTP/2.0` are not the rest of the preface.
    BadPreface,
    /// A frame breaks RFC 9113 framing (bad length, padding, stream, order).
    FrameError,
    /// A stored frame or the header block is larger than the cap.
    TooLarge,
    /// More than [`MAX_CONTINUATIONS`] CONTINUATION frames.
    ContinuationFlood,
    /// More than [`MAX_FRAMES`] frames before a request.
    TooManyFrames,
    /// The client closed the connection (GOAWAY) before a request.
    GoAway,
    Hpack(HpackError),
}

/// What a `feed` call ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// All bytes used; more wanted.
    More,
    /// The first request's header block is decoded: see
    /// [`ClientReader::headers`] and [`ClientReader::preface`]. Nothing more
    /// is read.
    Request,
    /// Nothing more is read.
    Stopped(Stop),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    len: usize,
    ty: u8,
    flags: u8,
    stream: u32,
}

impl FrameHeader {
    fn parse(b: &[u8; 9]) -> Self {
        FrameHeader {
            len: (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]),
            ty: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes of [`PREFACE_TAIL`] matched so far.
    Preface(usize),
    /// Bytes of a frame header collected in `head`.
    Header(usize),
    /// Collecting the payload of `frame` into `payload`.
    Payload(FrameHeader),
    /// Skipping a payload nobody reads.
    Skip(usize),
    Finished,
}

/// Reads the client's frames up to its first request.
#[derive(Debug)]
pub struct ClientReader {
    state: State,
    head: [u8; 9],
    payload: Vec<u8>,
    block: Vec<u8>,
    /// The stream of a header block waiting for CONTINUATION.
    block_stream: Option<u32>,
    continuations: u32,
    frames: u32,
    block_cap: usize,
    preface: Preface,
    decoder: Decoder,
    headers: HeaderList,
}

impl ClientReader {
    /// A reader positioned after the `PRI * HTTP/2.0\r\n\r\n` head; frame
    /// payloads and the header block are held to `block_cap` bytes, the
    /// decoded header list to `block_cap` (RFC 7541 size).
    pub fn after_pri_head(block_cap: usize) -> Self {
        ClientReader {
            state: State::Preface(0),
            head: [0; 9],
            payload: Vec::new(),
            block: Vec::new(),
            block_stream: None,
            continuations: 0,
            frames: 0,
            block_cap,
            preface: Preface::default(),
            decoder: Decoder::new(block_cap),
            headers: HeaderList::default(),
        }
    }

    /// Whether the whole preface has been seen (a SETTINGS frame at least
    /// begun: the preface's second part).
    pub fn preface_seen(&self) -> bool {
        self.preface.settings_frames > 0
    }

    pub fn preface(&self) -> &Preface {
        &self.preface
    }

    /// The first request's header fields, pseudo-header fields included.
    pub fn headers(&self) -> &HeaderList {
        &self.headers
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.payload.capacity()
            + self.block.capacity()
            + self.headers.heap_bytes()
            + self.decoder.heap_bytes()
            + self.preface.heap_bytes()
    }

    /// Releases the buffers once nothing more will be read (the preface
    /// and the headers stay).
    fn finish(&mut self, step: Step) -> Step {
        self.state = State::Finished;
        self.payload = Vec::new();
        self.block = Vec::new();
        step
    }

    /// Feeds the next in-order client bytes.
    pub fn feed(&mut self, mut data: &[u8]) -> Step {
        while !data.is_empty() {
            match self.state {
                State::Finished => return Step::Stopped(Stop::FrameError),
                State::Preface(have) => {
                    let n = (PREFACE_TAIL.len() - have).min(data.len());
                    if data[..n] != PREFACE_TAIL[have..have + n] {
                        return self.finish(Step::Stopped(Stop::BadPreface));
                    }
                    data = &data[n..];
                    self.state = if have + n == PREFACE_TAIL.len() {
                        State::Header(0)
                    } else {
                        State::Preface(have + n)
                    };
                }
                State::Header(have) => {
                    let n = (9 - have).min(data.len());
                    self.head[have..have + n].copy_from_slice(&data[..n]);
                    data = &data[n..];
                    if have + n < 9 {
                        self.state = State::Header(have + n);
                        continue;
                    }
                    let frame = FrameHeader::parse(&self.head);
                    if let Err(stop) = self.begin_frame(frame) {
                        return self.finish(Step::Stopped(stop));
                    }
                    if let Some(step) = self.maybe_done(frame, &[]) {
                        return step;
                    }
                }
                State::Payload(frame) => {
                    let n = (frame.len - self.payload.len()).min(data.len());
                    self.payload.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if self.payload.len() == frame.len {
                        let payload = std::mem::take(&mut self.payload);
                        let step = self.maybe_done(frame, &payload);
                        self.payload = payload;
                        self.payload.clear();
                        if let Some(step) = step {
                            return step;
                        }
                    }
                }
                State::Skip(left) => {
                    let n = left.min(data.len());
                    data = &data[n..];
                    self.state = if n == left {
                        State::Header(0)
                    } else {
                        State::Skip(left - n)
                    };
                }
            }
        }
        Step::More
    }

    /// Checks a frame header and decides whether its payload is read.
    fn begin_frame(&mut self, f: FrameHeader) -> Result<(), Stop> {
        self.frames += 1;
        if self.frames > MAX_FRAMES {
            return Err(Stop::TooManyFrames);
        }
        // RFC 9113 6.10: nothing may come between a header block's frames.
        if let Some(stream) = self.block_stream {
            if f.ty != CONTINUATION || f.stream != stream {
                return Err(Stop::FrameError);
            }
            self.continuations += 1;
            if self.continuations > MAX_CONTINUATIONS {
                return Err(Stop::ContinuationFlood);
            }
        } else if f.ty == CONTINUATION {
            return Err(Stop::FrameError);
        }
        let read = matches!(
            f.ty,
            HEADERS | CONTINUATION | PRIORITY | SETTINGS | WINDOW_UPDATE
        );
        if read && f.len > self.block_cap {
            return Err(Stop::TooLarge);
        }
        if f.ty == SETTINGS {
            self.preface.settings_frames += 1;
        }
        self.state = if read {
            State::Payload(f)
        } else if f.len == 0 {
            State::Header(0)
        } else {
            State::Skip(f.len)
        };
        if f.ty == GOAWAY {
            return Err(Stop::GoAway);
        }
        Ok(())
    }

    /// Handles a frame once its payload is complete (immediately for an
    /// empty one); `Some` when reading ends.
    fn maybe_done(&mut self, f: FrameHeader, payload: &[u8]) -> Option<Step> {
        if self.state != State::Payload(f) || payload.len() != f.len {
            return None;
        }
        self.state = State::Header(0);
        match self.on_frame(f, payload) {
            Ok(false) => None,
            Ok(true) => Some(self.finish(Step::Request)),
            Err(stop) => Some(self.finish(Step::Stopped(stop))),
        }
    }

    /// `Ok(true)` when the first request's header block is decoded.
    fn on_frame(&mut self, f: FrameHeader, p: &[u8]) -> Result<bool, Stop> {
        match f.ty {
            SETTINGS => {
                if f.stream != 0 || p.len() % 6 != 0 || (f.flags & FLAG_ACK != 0 && !p.is_empty()) {
                    return Err(Stop::FrameError);
                }
                if f.flags & FLAG_ACK == 0 {
                    for pair in p.chunks_exact(6) {
                        self.preface.add_setting(
                            u16::from_be_bytes([pair[0], pair[1]]),
                            u32::from_be_bytes([pair[2], pair[3], pair[4], pair[5]]),
                        );
                    }
                }
                Ok(false)
            }
            WINDOW_UPDATE => {
                let [a, b, c, d] = p else {
                    return Err(Stop::FrameError);
                };
                if f.stream == 0 && self.preface.window_update.is_none() {
                    self.preface.window_update =
                        Some(u32::from_be_bytes([*a, *b, *c, *d]) & 0x7fff_ffff);
                }
                Ok(false)
            }
            PRIORITY => {
                let [a, b, c, d, weight] = p else {
                    return Err(Stop::FrameError);
                };
                if f.stream == 0 {
                    return Err(Stop::FrameError);
                }
                let dep = u32::from_be_bytes([*a, *b, *c, *d]);
                self.preface
                    .add_priority(f.stream, dep >> 31 == 1, dep & 0x7fff_ffff, *weight);
                Ok(false)
            }
            HEADERS => {
                if f.stream == 0 {
                    return Err(Stop::FrameError);
                }
                let fragment = headers_fragment(f.flags, p).ok_or(Stop::FrameError)?;
                self.block.clear();
                self.block.extend_from_slice(fragment);
                self.end_of_fragment(f)
            }
            CONTINUATION => {
                if self.block.len() + p.len() > self.block_cap {
                    return Err(Stop::TooLarge);
                }
                self.block.extend_from_slice(p);
                self.end_of_fragment(f)
            }
            DATA => Ok(false),
            _ => Ok(false),
        }
    }

    fn end_of_fragment(&mut self, f: FrameHeader) -> Result<bool, Stop> {
        if f.flags & FLAG_END_HEADERS == 0 {
            self.block_stream = Some(f.stream);
            return Ok(false);
        }
        self.block_stream = None;
        self.headers.clear();
        let block = std::mem::take(&mut self.block);
        let r = self.decoder.decode(&block, &mut self.headers);
        self.block = block;
        r.map_err(Stop::Hpack)?;
        self.preface.set_pseudo_order(&self.headers);
        Ok(true)
    }
}

/// The header block fragment of a HEADERS payload: padding and priority
/// fields removed (RFC 9113 6.2).
fn headers_fragment(flags: u8, p: &[u8]) -> Option<&[u8]> {
    let (pad, p) = if flags & FLAG_PADDED != 0 {
        let (&pad, rest) = p.split_first()?;
        (usize::from(pad), rest)
    } else {
        (0, p)
    };
    let p = if flags & FLAG_PRIORITY != 0 {
        p.get(5..)?
    } else {
        p
    };
    p.get(..p.len().checked_sub(pad)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.push(ty);
        f.push(flags);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// curl 7.88's preface and a GET with static-table and literal fields.
    fn connection() -> Vec<u8> {
        let mut c = PREFACE_TAIL.to_vec();
        c.extend(frame(
            SETTINGS,
            0,
            0,
            &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0x10, 0, 0, 0, 2, 0, 0, 0, 0],
        ));
        c.extend(frame(WINDOW_UPDATE, 0, 0, &[0, 0x1f, 0xff, 0x01]));
        // :method GET, :path /, :scheme http, :authority a (literal).
        c.extend(frame(
            HEADERS,
            FLAG_END_HEADERS | 0x1,
            1,
            &[0x82, 0x84, 0x86, 0x41, 0x01, b'a'],
        ));
        c
    }

    #[test]
    fn reads_preface_and_first_request_in_any_split() {
        let bytes = connection();
        for split in 0..bytes.len() {
            let mut r = ClientReader::after_pri_head(16 * 1024);
            let first = r.feed(&bytes[..split]);
            let step = if first == Step::More {
                r.feed(&bytes[split..])
            } else {
                first
            };
            assert_eq!(step, Step::Request, "split {split}");
            assert_eq!(
                r.preface().akamai(),
                "3:100;4:1048576;2:0|2096897|0|m,p,s,a"
            );
            assert_eq!(r.headers().get(b":authority"), Some(&b"a"[..]));
        }
    }

    #[test]
    fn padded_and_prioritised_headers_and_continuation() {
        let mut c = PREFACE_TAIL.to_vec();
        c.extend(frame(SETTINGS, 0, 0, &[]));
        c.extend(frame(PRIORITY, 0, 3, &[0x80, 0, 0, 0, 200]));
        // Padded (2 bytes) with priority fields, then a CONTINUATION.
        let mut p = vec![2, 0, 0, 0, 3, 15, 0x82];
        p.extend_from_slice(&[0, 0]);
        c.extend(frame(HEADERS, FLAG_PADDED | FLAG_PRIORITY, 5, &p));
        c.extend(frame(CONTINUATION, FLAG_END_HEADERS, 5, &[0x87, 0x84]));
        let mut r = ClientReader::after_pri_head(16 * 1024);
        assert_eq!(r.feed(&c), Step::Request);
        assert_eq!(r.preface().akamai(), "|00|3:1:0:201|m,s,p");
    }

    #[test]
    fn hostile_streams_stop_with_a_reason() {
        let run = |extra: Vec<u8>| {
            let mut c = PREFACE_TAIL.to_vec();
            c.extend(frame(SETTINGS, 0, 0, &[]));
            c.extend(extra);
            ClientReader::after_pri_head(1024).feed(&c)
        };
        // A CONTINUATION flood of empty frames.
        let mut flood = frame(HEADERS, 0, 1, &[0x82]);
        for _ in 0..1000 {
            flood.extend(frame(CONTINUATION, 0, 1, &[]));
        }
        assert_eq!(run(flood), Step::Stopped(Stop::ContinuationFlood));
        // CONTINUATION fragments past the block cap.
        let mut big = frame(HEADERS, 0, 1, &[0x82]);
        for _ in 0..3 {
            big.extend(frame(CONTINUATION, 0, 1, &[0x82; 500]));
        }
        assert_eq!(run(big), Step::Stopped(Stop::TooLarge));
        // A frame announcing 16 MB.
        assert_eq!(
            run(vec![0xff, 0xff, 0xff, HEADERS, 0, 0, 0, 0, 1]),
            Step::Stopped(Stop::TooLarge)
        );
        // Another frame inside a header block; CONTINUATION without one.
        let mut inter = frame(HEADERS, 0, 1, &[0x82]);
        inter.extend(frame(SETTINGS, 0, 0, &[]));
        assert_eq!(run(inter), Step::Stopped(Stop::FrameError));
        assert_eq!(
            run(frame(CONTINUATION, 4, 1, &[])),
            Step::Stopped(Stop::FrameError)
        );
        // Bad SETTINGS length, padding longer than the payload.
        assert_eq!(
            run(frame(SETTINGS, 0, 0, &[0; 5])),
            Step::Stopped(Stop::FrameError)
        );
        assert_eq!(
            run(frame(
                HEADERS,
                FLAG_PADDED | FLAG_END_HEADERS,
                1,
                &[9, 0x82]
            )),
            Step::Stopped(Stop::FrameError)
        );
        // Many frames and never a request.
        let mut pings = Vec::new();
        for _ in 0..100 {
            pings.extend(frame(6, 0, 0, &[0; 8]));
        }
        assert_eq!(run(pings), Step::Stopped(Stop::TooManyFrames));
        // HPACK errors surface.
        assert_eq!(
            run(frame(HEADERS, FLAG_END_HEADERS, 1, &[0x3f, 0xe2, 0x1f])),
            Step::Stopped(Stop::Hpack(HpackError::TableSizeTooLarge))
        );
        assert_eq!(
            run(frame(GOAWAY, 0, 0, &[0; 8])),
            Step::Stopped(Stop::GoAway)
        );
        let mut r = ClientReader::after_pri_head(1024);
        assert_eq!(r.feed(b"SX"), Step::Stopped(Stop::BadPreface));
    }

    /// Random frames of every type with random flags, lengths and HPACK
    /// bytes, cut at random points: the reader never panics and never
    /// holds more than its caps.
    #[test]
    fn random_frames_never_panic() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut c = PREFACE_TAIL.to_vec();
            for _ in 0..(next() % 12) {
                let ty = (next() % 11) as u8;
                let len = (next() % 64) as usize;
                let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                c.extend(frame(ty, next() as u8, (next() % 4) as u32, &payload));
            }
            if next() % 3 == 0 {
                // A byte flipped anywhere.
                let i = (next() as usize) % c.len();
                c[i] ^= 1 << (next() % 8);
            }
            let mut r = ClientReader::after_pri_head(512);
            let cut = (next() as usize) % (c.len() + 1);
            if r.feed(&c[..cut]) == Step::More {
                let _ = r.feed(&c[cut..]);
            }
            assert!(r.block.len() <= 512 && r.payload.len() <= 512);
            assert!(
                r.headers()
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 32)
                    .sum::<usize>()
                    <= 512
            );
        }
    }
}
