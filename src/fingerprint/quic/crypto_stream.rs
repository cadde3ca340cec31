//! Reassembly of the client's Initial CRYPTO stream into its ClientHello.
//!
//! CRYPTO frames may come in any order, overlap (retransmissions, or
//! Chrome's deliberate shuffling) and span several Initial packets. The
//! buffer only grows to the highest offset seen and never past `cap`; the
//! handshake header's length is checked against `cap` as soon as it is
//! known, so a ClientHello that cannot fit is refused early.

/// The TLS handshake header: type (1 byte) and length (3 bytes).
const HS_HEADER: usize = 4;
const CLIENT_HELLO: u8 = 1;
/// Distinct holes-separated ranges held at once; a real ClientHello needs a
/// handful, more is an attack on the bookkeeping.
const MAX_RANGES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssembleError {
    /// Data beyond `cap`: the message could never fit.
    BeyondCap,
    /// The stream does not start with a ClientHello (type given).
    NotClientHello(u8),
    /// The announced ClientHello is larger than `cap`.
    TooLarge(usize),
    /// Too many separate pieces.
    TooFragmented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    NeedMore,
    /// The whole ClientHello handshake message is present.
    Complete,
}

/// A bounded partial ClientHello.
#[derive(Debug, Clone)]
pub struct ClientHelloAssembler {
    buf: Vec<u8>,
    /// Received byte ranges `[start, end)`, sorted, disjoint, not adjacent.
    ranges: Vec<(usize, usize)>,
    cap: usize,
    /// Total length of the handshake message once its header is known.
    total: Option<usize>,
}

impl ClientHelloAssembler {
    /// `cap`: the largest ClientHello (with its 4-byte header) accepted.
    pub fn new(cap: usize) -> Self {
        ClientHelloAssembler {
            buf: Vec::new(),
            ranges: Vec::new(),
            cap,
            total: None,
        }
    }

    /// Heap bytes held (for the tracker's memory budget).
    pub fn held_bytes(&self) -> usize {
        self.buf.capacity() + self.ranges.capacity() * std::mem::size_of::<(usize, usize)>()
    }

    /// Adds the CRYPTO data at stream offset `offset`. Where data overlaps
    /// bytes already held, the first copy wins.
    pub fn insert(&mut self, offset: u64, data: &[u8]) -> Result<Progress, AssembleError> {
        if data.is_empty() {
            return Ok(self.progress());
        }
        let start = usize::try_from(offset).map_err(|_| AssembleError::BeyondCap)?;
        let end = start
            .checked_add(data.len())
            .ok_or(AssembleError::BeyondCap)?;
        let limit = self.total.unwrap_or(self.cap);
        // Bytes past the end of a known ClientHello belong to a later
        // message (a second ClientHello after HelloRetryRequest): ignored.
        let (start, end, data) = if let Some(total) = self.total {
            if start >= total {
                return Ok(self.progress());
            }
            let end = end.min(total);
            (start, end, data.get(..end - start).unwrap_or(&[]))
        } else {
            (start, end, data)
        };
        if end > limit {
            return Err(AssembleError::BeyondCap);
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.add_range(start, end, data)?;
        if self.total.is_none() {
            self.read_header()?;
        }
        Ok(self.progress())
    }

    /// Copies in the parts of `[start, end)` not yet held and merges ranges.
    fn add_range(&mut self, start: usize, end: usize, data: &[u8]) -> Result<(), AssembleError> {
        // Fill the gaps between existing ranges that intersect [start, end).
        let mut pos = start;
        for &(s, e) in &self.ranges {
            if e <= pos {
                continue;
            }
            if s >= end {
                break;
            }
            if s > pos {
                copy(&mut self.buf, data, start, pos, s);
            }
            pos = pos.max(e);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            copy(&mut self.buf, data, start, pos, end);
        }
        // Merge: ranges touching or overlapping [start, end) collapse into one.
        let first = self.ranges.partition_point(|&(_, e)| e < start);
        let last = self.ranges.partition_point(|&(s, _)| s <= end);
        let merged = if first < last {
            let lo = self.ranges.get(first).map_or(start, |r| r.0.min(start));
            let hi = self.ranges.get(last - 1).map_or(end, |r| r.1.max(end));
            (lo, hi)
        } else {
            (start, end)
        };
        if first == last && self.ranges.len() >= MAX_RANGES {
            return Err(AssembleError::TooFragmented);
        }
        self.ranges.splice(first..last, std::iter::once(merged));
        Ok(())
    }

    fn read_header(&mut self) -> Result<(), AssembleError> {
        if self.contiguous() < HS_HEADER {
            return Ok(());
        }
        let h = self.buf.get(..HS_HEADER).unwrap_or(&[0; HS_HEADER]);
        if h[0] != CLIENT_HELLO {
            return Err(AssembleError::NotClientHello(h[0]));
        }
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let total = HS_HEADER + len;
        if total > self.cap {
            return Err(AssembleError::TooLarge(total));
        }
        // Anything held past the message belongs to a later one.
        if self.buf.len() > total {
            self.buf.truncate(total);
            for r in &mut self.ranges {
                r.1 = r.1.min(total);
            }
            self.ranges.retain(|r| r.0 < r.1);
        }
        self.total = Some(total);
        Ok(())
    }

    /// Bytes held contiguously from offset 0.
    fn contiguous(&self) -> usize {
        match self.ranges.first() {
            Some(&(0, e)) => e,
            _ => 0,
        }
    }

    fn progress(&self) -> Progress {
        match self.total {
            Some(t) if self.contiguous() >= t => Progress::Complete,
            _ => Progress::NeedMore,
        }
    }

    /// The complete handshake message (4-byte header included).
    pub fn message(&self) -> Option<&[u8]> {
        match self.progress() {
            Progress::Complete => self.buf.get(..self.total?),
            Progress::NeedMore => None,
        }
    }

    /// Hands over the complete message without copying it.
    pub fn into_message(mut self) -> Option<Vec<u8>> {
        let total = self.total?;
        if self.progress() != Progress::Complete {
            return None;
        }
        self.buf.truncate(total);
        Some(self.buf)
    }
}

/// Copies the stream bytes `[from, to)` out of `data` (which starts at
/// stream offset `data_start`) into `buf`.
fn copy(buf: &mut [u8], data: &[u8], data_start: usize, from: usize, to: usize) {
    let src = data.get(from - data_start..to - data_start);
    let dst = buf.get_mut(from..to);
    if let (Some(src), Some(dst)) = (src, dst) {
        dst.copy_from_slice(src);
    }
}

/// The body of a ClientHello handshake message (after type and length).
pub fn client_hello_body(message: &[u8]) -> Option<&[u8]> {
    message.get(HS_HEADER..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(body_len: usize) -> Vec<u8> {
        let mut m = vec![
            1,
            (body_len >> 16) as u8,
            (body_len >> 8) as u8,
            body_len as u8,
        ];
        m.extend((0..body_len).map(|i| (i * 7 + 3) as u8));
        m
    }

    #[test]
    fn in_order_single_frame() {
        let m = hello(300);
        let mut a = ClientHelloAssembler::new(16 * 1024);
        assert_eq!(a.insert(0, &m), Ok(Progress::Complete));
        assert_eq!(a.message(), Some(&m[..]));
        assert_eq!(client_hello_body(a.message().unwrap()).unwrap().len(), 300);
        assert_eq!(a.into_message(), Some(m));
    }

    #[test]
    fn any_order_with_overlaps() {
        let m = hello(2000);
        // Chrome-like: small pieces, shuffled, some repeated and overlapping.
        let pieces: &[(usize, usize)] = &[
            (1500, 2004),
            (700, 1000),
            (0, 3),
            (900, 1600),
            (3, 500),
            (0, 100),
            (400, 800),
            (1999, 2004),
        ];
        let mut a = ClientHelloAssembler::new(16 * 1024);
        for (i, &(s, e)) in pieces.iter().enumerate() {
            let p = a.insert(s as u64, &m[s..e]).unwrap();
            // (400, 800) fills the last hole; the piece after it adds nothing.
            let want = if i >= 6 {
                Progress::Complete
            } else {
                Progress::NeedMore
            };
            assert_eq!(p, want, "piece {i}");
        }
        assert_eq!(a.message(), Some(&m[..]));
    }

    #[test]
    fn first_copy_wins_on_conflict() {
        let m = hello(10);
        let mut a = ClientHelloAssembler::new(1024);
        a.insert(4, &m[4..14]).unwrap();
        a.insert(4, &[0xee; 10]).unwrap();
        assert_eq!(a.insert(0, &m[..4]), Ok(Progress::Complete));
        assert_eq!(a.message(), Some(&m[..]));
    }

    #[test]
    fn bytes_after_the_hello_are_ignored() {
        let m = hello(50);
        let mut both = m.clone();
        both.extend(hello(20));
        let mut a = ClientHelloAssembler::new(1024);
        assert_eq!(a.insert(0, &both), Ok(Progress::Complete));
        assert_eq!(a.message(), Some(&m[..]));
        // Data entirely past the message, even beyond cap, changes nothing.
        assert_eq!(a.insert(5000, &[1; 10]), Ok(Progress::Complete));
    }

    #[test]
    fn bounded() {
        let mut a = ClientHelloAssembler::new(1024);
        assert_eq!(a.insert(1020, &[0; 8]), Err(AssembleError::BeyondCap));
        assert_eq!(a.insert(u64::MAX, &[0; 8]), Err(AssembleError::BeyondCap));
        assert!(a.held_bytes() < 64, "nothing allocated for refused data");
        // Announced length above the cap.
        let mut a = ClientHelloAssembler::new(1024);
        assert_eq!(
            a.insert(0, &[1, 0, 4, 0]),
            Err(AssembleError::TooLarge(1028))
        );
        // Not a ClientHello.
        let mut a = ClientHelloAssembler::new(1024);
        assert_eq!(
            a.insert(0, &[2, 0, 0, 1, 0]),
            Err(AssembleError::NotClientHello(2))
        );
        // Too many holes.
        let mut a = ClientHelloAssembler::new(16 * 1024);
        let mut err = None;
        for i in 0..100u64 {
            if let Err(e) = a.insert(10 + i * 4, &[0]) {
                err = Some((i, e));
                break;
            }
        }
        assert_eq!(err, Some((MAX_RANGES as u64, AssembleError::TooFragmented)));
    }

    #[test]
    fn exhaustive_two_piece_splits() {
        let m = hello(40);
        for cut in 1..m.len() {
            for order in [false, true] {
                let mut a = ClientHelloAssembler::new(1024);
                let (x, y) = ((0usize, cut), (cut, m.len()));
                let (p, q) = if order { (y, x) } else { (x, y) };
                assert_eq!(a.insert(p.0 as u64, &m[p.0..p.1]), Ok(Progress::NeedMore));
                assert_eq!(a.insert(q.0 as u64, &m[q.0..q.1]), Ok(Progress::Complete));
                assert_eq!(a.message(), Some(&m[..]), "cut {cut} order {order}");
            }
        }
    }
}
