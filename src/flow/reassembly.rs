//! One direction of a TCP stream, reassembled into in-order bytes, within a
//! per-direction window (docs/spec.md section 9: 16 KiB) and the process's byte
//! budget ([`Budget`], pool [`Pool::Reassembly`]).
//!
//! The next expected segment, the common case, is handed on without being
//! copied. Segments that arrive ahead of a hole are held at their distance
//! from the next expected byte: the bytes in a buffer that grows only as far
//! as the furthest held byte (never past the window), a bitmap of which
//! bytes are present, and the held segments as received. There is no limit
//! on holes but the window and the budget: a ClientHello in shuffled 1-byte
//! segments, or its even bytes before its odd bytes, comes out whole.
//!
//! Overlaps follow the Linux policy as Suricata's `linux` stream policy
//! defines it (stream-tcp-list.c, `DoHandleDataOverlap`): against each held
//! segment it overlaps, a new segment's bytes replace the held ones when the
//! new segment starts before it, or starts with it and ends after it;
//! otherwise the held bytes stay. Bytes already delivered are never
//! delivered again (the application already has them). The first bytes
//! delivered ([`HISTORY_CAP`]) are remembered, while the budget allows, so that a
//! retransmission rewriting them (an evasion trick) is noticed.

use crate::util::budget::{heap_cost, Budget, Pool};

/// The most delivered bytes remembered to spot rewriting retransmissions:
/// the start of a handshake, where such rewriting would change a
/// fingerprint. Remembering the whole window doubled the memory of every
/// connection sending a long handshake (16 KiB more per direction).
pub const HISTORY_CAP: usize = 4096;

/// What a push did, for counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Some or all of the segment had been received before.
    pub retransmitted: bool,
    /// A byte received again differed from its first copy (held bytes, and
    /// delivered bytes among the first `cap`, at most [`HISTORY_CAP`], of the
    /// stream).
    pub conflicting_overlap: bool,
    /// Some of the segment lay beyond the window and was dropped.
    pub dropped_over_cap: bool,
    /// Some of the segment was dropped because the byte budget was spent.
    pub dropped_over_budget: bool,
    /// The buffer was released: nothing happened.
    pub ignored: bool,
    /// Bytes handed to `deliver` by this push.
    pub delivered: usize,
}

/// One direction of a TCP stream.
#[derive(Debug)]
pub struct StreamBuffer {
    cap: usize,
    started: bool,
    released: bool,
    /// Sequence number of the next byte to deliver.
    next_seq: u32,
    /// Stream offset of the next byte to deliver.
    offset: u64,
    /// Held bytes, indexed by distance from `next_seq`; as long as the
    /// furthest held byte, empty while nothing is held.
    held: Vec<u8>,
    /// One bit per byte of `held`: whether it holds data.
    present: Vec<u64>,
    /// Held segments as received, `(seq, end seq)`, sorted by distance of
    /// `seq` from `next_seq`: the Linux overlap policy compares a new
    /// segment with each of them.
    segs: Vec<(u32, u32)>,
    /// The first delivered bytes (at most `cap`), to compare retransmissions.
    history: Vec<u8>,
    /// History stopped growing: the budget refused it.
    history_stopped: bool,
    dropped_bytes: u64,
    budget: Budget,
    /// Bytes charged to the budget for the vectors above.
    charged: usize,
}

impl StreamBuffer {
    /// `cap`: the window, the furthest ahead of the next expected byte that
    /// bytes are held. Accounts to a budget of its own, unlimited.
    pub fn new(cap: usize) -> Self {
        Self::with_budget(cap, Budget::unlimited())
    }

    /// As [`Self::new`], drawing on `budget`.
    pub fn with_budget(cap: usize, budget: Budget) -> Self {
        StreamBuffer {
            cap,
            started: false,
            released: false,
            next_seq: 0,
            offset: 0,
            held: Vec::new(),
            present: Vec::new(),
            segs: Vec::new(),
            history: Vec::new(),
            history_stopped: false,
            dropped_bytes: 0,
            budget,
            charged: 0,
        }
    }

    /// Sets the sequence number of the first byte: the ISN + 1 after a SYN,
    /// or the first sequence number seen when picking a stream up midway.
    pub fn start(&mut self, next_seq: u32) {
        self.started = true;
        self.next_seq = next_seq;
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    pub fn is_released(&self) -> bool {
        self.released
    }

    /// Stream offset of the next byte to deliver (bytes delivered so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sequence number expected next.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Bytes held out of order right now.
    pub fn held_bytes(&self) -> usize {
        self.present.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Bytes of heap this buffer has allocated (what it charged).
    pub fn allocated(&self) -> usize {
        self.charged
    }

    /// Bytes dropped because they lay beyond the window or the budget.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Frees all memory; later pushes are ignored.
    pub fn release(&mut self) {
        self.released = true;
        self.free_held();
        self.history = Vec::new();
        self.recharge();
    }

    /// Takes one segment (the first one starts an unstarted buffer, for
    /// streams picked up midway). `deliver(offset, bytes)` receives, in order, every
    /// byte that became contiguous: the segment itself without copying when
    /// it is the next expected one and nothing is held, otherwise the bytes
    /// from the buffer (and any tail of the segment beyond it).
    pub fn push(
        &mut self,
        seq: u32,
        data: &[u8],
        mut deliver: impl FnMut(u64, &[u8]),
    ) -> PushOutcome {
        let mut out = PushOutcome::default();
        if self.released {
            out.ignored = true;
            return out;
        }
        if !self.started {
            // No SYN seen: the stream is picked up at its first segment.
            self.start(seq);
        }
        // Distance from the next expected byte, modulo 2^32: negative means
        // (partly) old data.
        let mut rel = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        let mut data = data;
        if rel < 0 {
            let old = usize::try_from(-rel).unwrap_or(usize::MAX);
            if !data.is_empty() {
                out.retransmitted = true;
            }
            self.compare_history(old, &data[..old.min(data.len())], &mut out);
            if old >= data.len() {
                return out;
            }
            data = &data[old..];
            rel = 0;
        }
        if data.is_empty() {
            return out;
        }
        let rel = rel as usize;

        if rel == 0 && self.held.is_empty() {
            deliver(self.offset, data);
            self.keep(data);
            self.advance(data.len());
            out.delivered = data.len();
            return out;
        }

        if rel >= self.cap {
            out.dropped_over_cap = true;
            self.dropped_bytes += data.len() as u64;
            return out;
        }
        let fits = data.len().min(self.cap - rel);
        if !self.store(rel, &data[..fits], &mut out) {
            self.recharge();
            return out;
        }
        let beyond = &data[fits..];
        let run = self.contiguous();
        if run > 0 {
            deliver(self.offset, &self.held[..run]);
            let delivered = std::mem::take(&mut self.held);
            self.keep(&delivered[..run]);
            self.held = delivered;
            out.delivered = run;
            // A segment starting at the hole may run past the window; its
            // tail follows the buffered bytes directly.
            let tail_follows = rel == 0 && run == fits && !beyond.is_empty();
            self.consume(run);
            if tail_follows && self.held.is_empty() {
                deliver(self.offset, beyond);
                self.keep(beyond);
                self.advance(beyond.len());
                out.delivered += beyond.len();
                self.recharge();
                return out;
            }
        }
        if !beyond.is_empty() {
            out.dropped_over_cap = true;
            self.dropped_bytes += beyond.len() as u64;
        }
        self.recharge();
        out
    }

    /// Compares `old`, the part of a segment that starts `back` bytes before
    /// the next expected byte, with what was delivered there.
    fn compare_history(&self, back: usize, old: &[u8], out: &mut PushOutcome) {
        let Some(start) = self.offset.checked_sub(back as u64) else {
            return;
        };
        let Ok(start) = usize::try_from(start) else {
            return;
        };
        let Some(seen) = self.history.get(start..) else {
            return;
        };
        let n = seen.len().min(old.len());
        if seen[..n] != old[..n] {
            out.conflicting_overlap = true;
        }
    }

    fn advance(&mut self, n: usize) {
        self.next_seq = self.next_seq.wrapping_add(n as u32);
        self.offset += n as u64;
    }

    /// Heap bytes of the vectors, as malloc counts them.
    fn footprint(&self) -> usize {
        heap_cost(self.held.capacity())
            + heap_cost(self.present.capacity() * 8)
            + heap_cost(self.segs.capacity() * 8)
            + heap_cost(self.history.capacity())
    }

    /// Brings the budget's charge in line with what is allocated now (the
    /// growth was charged before it happened; this settles shrinking).
    fn recharge(&mut self) {
        let now = self.footprint();
        if now < self.charged {
            self.budget.release(Pool::Reassembly, self.charged - now);
        } else if now > self.charged {
            self.budget.charge(Pool::Reassembly, now - self.charged);
        }
        self.charged = now;
    }

    /// Charges the growth from `before` to `after` heap bytes, if the budget
    /// allows it.
    fn grow_charge(&mut self, extra: usize) -> bool {
        if extra == 0 {
            return true;
        }
        if !self.budget.try_charge(Pool::Reassembly, extra) {
            return false;
        }
        self.charged += extra;
        true
    }

    fn free_held(&mut self) {
        self.held = Vec::new();
        self.present = Vec::new();
        self.segs = Vec::new();
    }

    /// Appends delivered bytes to the history while it is shorter than
    /// `cap` (and [`HISTORY_CAP`]) and the budget allows.
    fn keep(&mut self, bytes: &[u8]) {
        let limit = self.cap.min(HISTORY_CAP);
        let room = limit.saturating_sub(self.history.len());
        let take = room.min(bytes.len());
        if take == 0 || self.history_stopped {
            return;
        }
        let needed = self.history.len() + take;
        if needed > self.history.capacity() {
            // Doubling (from twice the first segment) but never past `cap`:
            // `Vec`'s own growth starts at the first segment's size, which
            // cost a realloc more per connection, and overshot the cap (a
            // 16 KiB history took 23 KiB).
            let cap = self.history.capacity();
            let target = needed.max(2 * cap).max(2 * take).min(limit);
            let extra = heap_cost(target).saturating_sub(heap_cost(cap));
            if !self.grow_charge(extra) {
                self.history_stopped = true;
                return;
            }
            self.history.reserve_exact(target - self.history.len());
            // The allocator may round up; settle what was really taken.
            let real = heap_cost(self.history.capacity()) - heap_cost(cap);
            if real != extra {
                self.recharge();
            }
        }
        self.history.extend_from_slice(&bytes[..take]);
    }

    /// Makes room for held bytes up to distance `end` (at most `cap`).
    fn reserve_held(&mut self, end: usize) -> bool {
        if end <= self.held.len() {
            return true;
        }
        let words = end.div_ceil(64);
        let mut held_cap = self.held.capacity();
        let mut present_cap = self.present.capacity();
        if end > held_cap {
            held_cap = end.max(2 * held_cap).max(64).min(self.cap.max(end));
        }
        if words > present_cap {
            present_cap = words
                .max(2 * present_cap)
                .min(self.cap.div_ceil(64).max(words));
        }
        let extra = (heap_cost(held_cap) + heap_cost(present_cap * 8)).saturating_sub(
            heap_cost(self.held.capacity()) + heap_cost(self.present.capacity() * 8),
        );
        if !self.grow_charge(extra) {
            return false;
        }
        self.held.reserve_exact(held_cap - self.held.len());
        self.present.reserve_exact(present_cap - self.present.len());
        self.held.resize(end, 0);
        self.present.resize(words, 0);
        true
    }

    /// Makes room for one more held segment record.
    fn reserve_seg(&mut self) -> bool {
        if self.segs.len() < self.segs.capacity() {
            return true;
        }
        let cap = self.segs.capacity();
        let target = (2 * cap).max(4);
        let extra = heap_cost(target * 8) - heap_cost(cap * 8);
        if !self.grow_charge(extra) {
            return false;
        }
        self.segs.reserve_exact(target - cap);
        true
    }

    /// Records a held segment (room reserved), sorted by distance from the
    /// next byte; the same segment twice is recorded once.
    fn add_seg(&mut self, seq: u32, end: u32) {
        let next = self.next_seq;
        let rel = |s: u32| s.wrapping_sub(next) as i32;
        let at = self.segs.partition_point(|s| rel(s.0) <= rel(seq));
        let same = self.segs[..at]
            .iter()
            .rev()
            .take_while(|s| s.0 == seq)
            .any(|s| s.1 == end);
        if !same {
            self.segs.insert(at, (seq, end));
        }
    }

    /// Copies `data` at distance `rel` into the buffer, applying the overlap
    /// policy to bytes already held. Returns false (and drops the segment)
    /// when the budget cannot hold it.
    fn store(&mut self, rel: usize, data: &[u8], out: &mut PushOutcome) -> bool {
        let end = rel + data.len();
        let seq = self.next_seq.wrapping_add(rel as u32);
        if !self.reserve_held(end) || !self.reserve_seg() {
            out.dropped_over_budget = true;
            self.dropped_bytes += data.len() as u64;
            if self.segs.is_empty() {
                self.free_held();
            }
            return false;
        }
        let overlaps = any_bits(&self.present, rel, end);
        if !overlaps {
            self.held[rel..end].copy_from_slice(data);
        } else {
            out.retransmitted = true;
            self.store_overlapping(rel, data, out);
        }
        set_bits(&mut self.present, rel, end);
        self.add_seg(seq, seq.wrapping_add(data.len() as u32));
        true
    }

    /// The Linux policy for a segment `[rel, rel + len)` overlapping held
    /// bytes: the union of the held segments that keep their bytes against
    /// it (those starting before it, or with it and reaching as far) is
    /// swept once in order; the new bytes win everywhere else.
    fn store_overlapping(&mut self, rel: usize, data: &[u8], out: &mut PushOutcome) {
        let (start, stop) = (rel as i64, (rel + data.len()) as i64);
        let next = self.next_seq;
        let dist = |s: u32| i64::from(s.wrapping_sub(next) as i32);
        let mut put = Writer {
            held: &mut self.held,
            present: &self.present,
            data,
            rel,
            conflict: false,
        };
        let mut pos = rel;
        let mut cur: Option<(usize, usize)> = None;
        for &(s, e) in &self.segs {
            let (s, e) = (dist(s), dist(e));
            if s >= stop {
                break;
            }
            let keeps = s < start || (s == start && e >= stop);
            if e <= start || !keeps {
                continue;
            }
            let (a, b) = (s.max(start) as usize, e.min(stop) as usize);
            match cur {
                Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    put.apply(pos, ca, true);
                    put.apply(ca, cb, false);
                    pos = cb;
                    cur = Some((a, b));
                }
                None => cur = Some((a, b)),
            }
        }
        if let Some((ca, cb)) = cur {
            put.apply(pos, ca, true);
            put.apply(ca, cb, false);
            pos = cb;
        }
        put.apply(pos, stop as usize, true);
        if put.conflict {
            out.conflicting_overlap = true;
        }
    }

    /// Length of the run of held bytes at distance 0.
    fn contiguous(&self) -> usize {
        let mut n = 0;
        for &w in &self.present {
            if w == u64::MAX {
                n += 64;
                continue;
            }
            n += w.trailing_ones() as usize;
            break;
        }
        n.min(self.held.len())
    }

    /// Drops the first `n` held bytes (just delivered) and shifts the rest.
    fn consume(&mut self, n: usize) {
        self.advance(n);
        if self.held.len() <= n || self.present.iter().all(|w| *w == 0) {
            self.free_held();
            return;
        }
        shift_bits(&mut self.present, n);
        // Trim to the furthest byte still held.
        let last = self.present.iter().rposition(|w| *w != 0).map_or(0, |i| {
            i * 64 + 64 - self.present[i].leading_zeros() as usize
        });
        let last = last.min(self.held.len() - n);
        if last == 0 {
            self.free_held();
            return;
        }
        self.held.copy_within(n..n + last, 0);
        self.held.truncate(last);
        self.present.truncate(last.div_ceil(64));
        let next = self.next_seq;
        self.segs
            .retain(|&(_, e)| (e.wrapping_sub(next) as i32) > 0);
    }
}

/// Writes a new segment's bytes into the held buffer over a range where
/// either the new bytes win or the held ones stay.
struct Writer<'a> {
    held: &'a mut [u8],
    present: &'a [u64],
    data: &'a [u8],
    rel: usize,
    conflict: bool,
}

impl Writer<'_> {
    fn apply(&mut self, a: usize, b: usize, new_wins: bool) {
        for i in a..b {
            let byte = self.data[i - self.rel];
            if self.present[i / 64] >> (i % 64) & 1 == 0 {
                self.held[i] = byte;
            } else if self.held[i] != byte {
                self.conflict = true;
                if new_wins {
                    self.held[i] = byte;
                }
            }
        }
    }
}

/// Whether any of bits `[a, b)` is set.
fn any_bits(bits: &[u64], a: usize, b: usize) -> bool {
    (a..b).any(|i| bits[i / 64] >> (i % 64) & 1 == 1)
}

/// Sets bits `[a, b)`.
fn set_bits(bits: &mut [u64], a: usize, b: usize) {
    for i in a..b {
        bits[i / 64] |= 1 << (i % 64);
    }
}

/// Drops the first `n` bits, moving the others down.
fn shift_bits(bits: &mut [u64], n: usize) {
    let (words, shift) = (n / 64, n % 64);
    let len = bits.len();
    for i in 0..len {
        let lo = bits.get(i + words).copied().unwrap_or(0);
        let hi = bits.get(i + words + 1).copied().unwrap_or(0);
        bits[i] = if shift == 0 {
            lo
        } else {
            lo >> shift | hi << (64 - shift)
        };
    }
}

impl Drop for StreamBuffer {
    fn drop(&mut self) {
        if self.charged > 0 {
            self.budget.release(Pool::Reassembly, self.charged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes and collects what is delivered, checking offsets are contiguous.
    struct Harness {
        buf: StreamBuffer,
        got: Vec<u8>,
    }

    impl Harness {
        fn new(cap: usize, isn: u32) -> Self {
            let mut buf = StreamBuffer::new(cap);
            buf.start(isn);
            Harness {
                buf,
                got: Vec::new(),
            }
        }

        fn push(&mut self, seq: u32, data: &[u8]) -> PushOutcome {
            let got = &mut self.got;
            self.buf.push(seq, data, |off, bytes| {
                assert_eq!(off, got.len() as u64, "offsets are contiguous");
                got.extend_from_slice(bytes);
            })
        }
    }

    fn stream(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn in_order_segments_pass_without_copy() {
        let data = stream(3000);
        let mut h = Harness::new(16384, 1000);
        let mut calls = 0;
        for (i, c) in data.chunks(1460).enumerate() {
            let seq = 1000 + (i * 1460) as u32;
            let out = h.buf.push(seq, c, |_, b| {
                calls += 1;
                // The slice handed on is the segment itself.
                assert_eq!(b.as_ptr(), c.as_ptr());
            });
            assert_eq!(out.delivered, c.len());
        }
        assert_eq!(calls, 3);
        assert_eq!(h.buf.offset(), 3000);
        assert!(h.buf.held.capacity() == 0);
    }

    #[test]
    fn out_of_order_is_held_then_released_in_order() {
        let data = stream(5000);
        let mut h = Harness::new(16384, 7);
        let segs: Vec<(usize, &[u8])> = data
            .chunks(1000)
            .enumerate()
            .map(|(i, c)| (i * 1000, c))
            .collect();
        for &i in &[3usize, 1, 4, 2] {
            let (off, c) = segs[i];
            let out = h.push(7 + off as u32, c);
            assert_eq!(out.delivered, 0);
        }
        assert_eq!(h.buf.held_bytes(), 4000);
        let out = h.push(7, segs[0].1);
        assert_eq!(out.delivered, 5000);
        assert_eq!(h.got, data);
        assert_eq!(h.buf.held_bytes(), 0);
        assert_eq!(
            h.buf.held.capacity(),
            0,
            "memory returned once nothing is held"
        );
    }

    #[test]
    fn retransmissions_are_flagged_and_not_delivered_twice() {
        let data = stream(3000);
        let mut h = Harness::new(16384, 0);
        h.push(0, &data[..1000]);
        let out = h.push(0, &data[..1000]);
        assert!(out.retransmitted && out.delivered == 0);
        // Partly old, partly new.
        let out = h.push(500, &data[500..2000]);
        assert!(out.retransmitted);
        assert_eq!(out.delivered, 1000);
        // Duplicate of held out-of-order data.
        h.push(2500, &data[2500..3000]);
        let out = h.push(2500, &data[2500..3000]);
        assert!(out.retransmitted && !out.conflicting_overlap);
        h.push(2000, &data[2000..2500]);
        assert_eq!(h.got, data);
    }

    #[test]
    fn overlaps_keep_the_first_copy_and_report_differences() {
        let data = stream(4000);
        let mut h = Harness::new(16384, 0);
        h.push(1000, &data[1000..2000]);
        // Overlapping, different bytes for 1500..2000, new bytes 2000..2500.
        let mut evil = data[1500..2500].to_vec();
        for b in &mut evil[..500] {
            *b ^= 0xff;
        }
        let out = h.push(1500, &evil);
        assert!(out.conflicting_overlap && out.retransmitted);
        // The gap-filling segment also overlaps held bytes, with equal bytes.
        let out = h.push(0, &data[..1200]);
        assert!(!out.conflicting_overlap);
        assert_eq!(h.got, &data[..2500]);
        // A segment at the hole, starting before held bytes and differing
        // from them: under the Linux policy its bytes win.
        h.push(3000, &data[3000..4000]);
        let mut late = data[2500..3500].to_vec();
        late[600] ^= 1;
        let out = h.push(2500, &late);
        assert!(out.conflicting_overlap);
        let mut want = data.clone();
        want[3100] ^= 1;
        assert_eq!(h.got, want);
    }

    #[test]
    fn rewritten_delivered_bytes_are_reported() {
        let data = stream(3000);
        let mut h = Harness::new(2048, 0);
        h.push(0, &data[..1000]);
        h.push(1000, &data[1000..2000]);
        // Same bytes again across the boundary: a plain retransmission.
        let out = h.push(900, &data[900..1100]);
        assert!(out.retransmitted && !out.conflicting_overlap);
        // A retransmission rewriting byte 950, plus new bytes.
        let mut evil = data[900..2100].to_vec();
        evil[50] ^= 0x55;
        let out = h.push(900, &evil);
        assert!(out.retransmitted && out.conflicting_overlap);
        assert_eq!(out.delivered, 100);
        assert_eq!(h.got, &data[..2100], "the first copy is what was delivered");
        // Beyond the remembered first `cap` bytes, differences go unseen.
        let mut late = data[2050..2100].to_vec();
        late[0] ^= 1;
        assert!(!h.push(2050, &late).conflicting_overlap);
        assert!(h.buf.history.len() <= 2048);
    }

    #[test]
    fn history_memory_stays_within_the_cap() {
        let data = stream(40_000);
        for (cap, seg) in [(16384, 1460), (16384, 517), (2048, 1000), (100, 7)] {
            let mut h = Harness::new(cap, 0);
            for (i, c) in data.chunks(seg).enumerate() {
                h.push((i * seg) as u32, c);
                assert!(h.buf.history.capacity() <= cap, "cap {cap} seg {seg}");
            }
            assert_eq!(h.buf.history, &data[..cap.min(HISTORY_CAP)]);
        }
    }

    #[test]
    fn sequence_wraparound() {
        let data = stream(6000);
        let isn = u32::MAX - 2500;
        let mut h = Harness::new(16384, isn);
        let seq = |off: usize| isn.wrapping_add(off as u32);
        h.push(seq(3000), &data[3000..6000]);
        h.push(seq(0), &data[..1000]);
        h.push(seq(2000), &data[2000..3000]);
        let out = h.push(seq(1000), &data[1000..2000]);
        assert_eq!(out.delivered, 5000);
        assert_eq!(h.got, data);
        assert_eq!(h.buf.next_seq(), isn.wrapping_add(6000));
        // An old segment from before the wrap is a retransmission.
        let out = h.push(seq(10), &data[10..20]);
        assert!(out.retransmitted && out.delivered == 0);
    }

    #[test]
    fn hole_that_never_fills_respects_the_cap() {
        let cap = 4096;
        let data = stream(100_000);
        let mut h = Harness::new(cap, 0);
        // Byte 0..100 never arrives; everything after does.
        for off in (100..data.len()).step_by(500) {
            let end = (off + 500).min(data.len());
            h.push(off as u32, &data[off..end]);
            assert!(h.buf.held_bytes() <= cap);
            assert!(h.buf.held.len() <= cap);
        }
        assert_eq!(h.got.len(), 0);
        assert_eq!(h.buf.held_bytes(), cap - 100);
        assert!(h.buf.dropped_bytes() > 90_000);
        // The hole fills: held bytes come out, later ones are gone.
        let out = h.push(0, &data[..100]);
        assert_eq!(out.delivered, cap);
        assert_eq!(h.got, &data[..cap]);
    }

    #[test]
    fn data_far_beyond_the_window_is_dropped() {
        let mut h = Harness::new(16384, 0);
        let out = h.push(1 << 20, &[1; 100]);
        assert!(out.dropped_over_cap && out.delivered == 0);
        assert_eq!(h.buf.held_bytes(), 0);
        assert_eq!(h.buf.dropped_bytes(), 100);
        // Half inside, half beyond.
        let out = h.push(16384 - 50, &[2; 100]);
        assert!(out.dropped_over_cap);
        assert_eq!(h.buf.held_bytes(), 50);
    }

    #[test]
    fn big_segment_at_the_hole_runs_past_the_buffer() {
        let cap = 1024;
        let data = stream(10_000);
        let mut h = Harness::new(cap, 0);
        h.push(500, &data[500..600]);
        let out = h.push(0, &data);
        assert_eq!(out.delivered, 10_000);
        assert_eq!(h.got, data);
        assert!(!out.dropped_over_cap);
    }

    #[test]
    fn any_number_of_holes_within_the_window() {
        // Shuffled 1-byte segments, then even bytes before odd bytes.
        let data = stream(15_000);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let evens_then_odds: Vec<usize> = (0..data.len())
            .step_by(2)
            .chain((1..data.len()).step_by(2))
            .collect();
        for order in [order, evens_then_odds] {
            let budget = Budget::new(1 << 20);
            let mut h = Harness::new(16384, 77);
            h.buf.budget = budget.clone();
            for &i in &order {
                let out = h.push(77 + i as u32, &data[i..=i]);
                assert!(!out.dropped_over_cap && !out.dropped_over_budget);
            }
            assert_eq!(h.got, data);
            assert_eq!(h.buf.held_bytes(), 0);
            assert_eq!(h.buf.allocated(), budget.used());
            drop(h);
            assert_eq!(budget.used(), 0, "everything charged is given back");
        }
    }

    #[test]
    fn budget_refuses_held_bytes_not_in_order_ones() {
        let budget = Budget::new(4096);
        let mut h = Harness::new(16384, 0);
        h.buf.budget = budget.clone();
        let data = stream(12_000);
        // Held bytes far ahead do not fit in the budget: dropped, counted.
        let out = h.push(5000, &data[5000..9000]);
        assert!(out.dropped_over_budget && !out.dropped_over_cap);
        assert_eq!(budget.used(), 0);
        // Small holes do.
        let out = h.push(100, &data[100..1100]);
        assert!(!out.dropped_over_budget);
        assert!(budget.used() > 1100 && budget.used() <= 4096);
        h.push(0, &data[..100]);
        assert_eq!(h.got, &data[..1100]);
        assert!(budget.used() <= 4096);
    }

    #[test]
    fn held_memory_grows_with_the_furthest_byte_not_the_window() {
        let mut h = Harness::new(16384, 0);
        h.push(10, &[1; 100]);
        assert!(h.buf.allocated() < 1024, "{}", h.buf.allocated());
        assert!(h.buf.held.capacity() < 16384);
    }

    /// The Linux policy, case by case (Suricata `linux`): a new segment
    /// wins over a held one it starts before, or starts with and ends
    /// after; the held one wins otherwise.
    #[test]
    fn overlaps_follow_the_linux_policy() {
        // (held, new): both as (start, len); `new_wins` for the overlap.
        let cases = [
            ((10, 10), (5, 10), true),   // starts before, ends inside
            ((10, 10), (5, 20), true),   // starts before, covers all
            ((10, 10), (10, 20), true),  // same start, ends after
            ((10, 10), (10, 10), false), // same start, same end
            ((10, 10), (10, 5), false),  // same start, ends before
            ((10, 10), (12, 5), false),  // starts after, inside
            ((10, 10), (15, 10), false), // starts after, ends after
        ];
        for ((hs, hl), (ns, nl), new_wins) in cases {
            let mut h = Harness::new(1024, 0);
            h.push(hs, &vec![b'o'; hl as usize]);
            let out = h.push(ns, &vec![b'n'; nl as usize]);
            assert!(out.conflicting_overlap && out.retransmitted);
            // Filling the hole before both delivers them.
            h.push(0, &vec![b'.'; hs.min(ns) as usize]);
            assert_eq!(h.got.len() as u32, (hs + hl).max(ns + nl));
            let at = hs.max(ns) as usize;
            let want = if new_wins { b'n' } else { b'o' };
            assert_eq!(h.got[at], want, "held {hs}+{hl}, new {ns}+{nl}");
            // Bytes of the new segment outside the held one are its own.
            if ns < hs {
                assert_eq!(h.got[ns as usize], b'n');
            }
            if ns + nl > hs + hl {
                assert_eq!(h.got[(ns + nl - 1) as usize], b'n');
            }
        }
    }

    #[test]
    fn mid_stream_pickup_and_release() {
        let mut b = StreamBuffer::new(100);
        assert!(!b.is_started());
        let mut got = Vec::new();
        b.push(5000, &[1, 2], |off, d| got.push((off, d.to_vec())));
        assert!(b.is_started());
        assert_eq!(got, [(0, vec![1, 2])]);
        b.push(5012, &[1; 10], |_, _| panic!());
        b.release();
        assert!(b.push(0, &[1; 10], |_, _| panic!()).ignored);
        assert_eq!(b.held.capacity(), 0);
        assert!(b.is_released());
    }

    #[test]
    fn random_segmentation_reassembles_exactly() {
        // Deterministic shuffles of a stream cut into random segments, with
        // duplicates: the output is always the stream.
        let data = stream(12_000);
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut rnd = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for _round in 0..200 {
            let mut segs = Vec::new();
            let mut off = 0;
            while off < data.len() {
                let len = 1 + rnd(1500);
                let end = (off + len).min(data.len());
                segs.push((off, end));
                off = end;
            }
            for _ in 0..segs.len() / 3 {
                let i = rnd(segs.len());
                segs.push(segs[i]);
            }
            // Partial shuffle: displace segments by a few positions.
            for i in 0..segs.len() {
                let j = (i + rnd(4)).min(segs.len() - 1);
                segs.swap(i, j);
            }
            let isn = rnd(usize::MAX) as u32;
            let mut h = Harness::new(16384, isn);
            for &(s, e) in &segs {
                let out = h.push(isn.wrapping_add(s as u32), &data[s..e]);
                assert!(!out.conflicting_overlap);
            }
            assert_eq!(h.got, data);
        }
    }
}
