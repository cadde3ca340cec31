//! One direction of a TCP stream, reassembled into in-order bytes, within a
//! fixed budget (SPEC section 9: 16 KiB per direction).
//!
//! The next expected segment, the common case, is handed on without being
//! copied. Segments that arrive ahead of a hole are held in a buffer of at
//! most `cap` bytes, as disjoint ranges relative to the next expected
//! sequence number (in the spirit of smoltcp's `storage::Assembler`), and
//! released in order once the hole fills. Bytes already held or delivered
//! are never delivered again: the first copy wins. The first `cap` bytes
//! delivered are remembered until the buffer is released, so that a
//! retransmission rewriting them (an evasion trick) is noticed.

/// The most separate held ranges; a segment that would need more is dropped.
const MAX_RANGES: usize = 32;

/// Bytes all out-of-order buffers of the process may have allocated
/// together. A buffer takes its whole `cap` at the first held segment, so
/// without this one byte beyond a hole per connection made every flow
/// allocate 16 KiB (50,000 connections of three tiny packets: 950 MB).
/// Past it, out-of-order segments are dropped and counted as over cap.
pub const GLOBAL_HELD_CAP: usize = 64 << 20;

static HELD_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// Bytes currently allocated for held segments, all buffers together.
pub fn held_total() -> usize {
    HELD_TOTAL.load(Ordering::Relaxed)
}

use std::sync::atomic::{AtomicUsize, Ordering};

/// What a push did, for counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Some or all of the segment had been received before.
    pub retransmitted: bool,
    /// A byte received again differed from its first copy (held bytes, and
    /// delivered bytes among the first `cap` of the stream).
    pub conflicting_overlap: bool,
    /// Some of the segment lay beyond the buffer (or would have needed too
    /// many held ranges) and was dropped.
    pub dropped_over_cap: bool,
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
    /// Held bytes, indexed by distance from `next_seq`; allocated (`cap`
    /// bytes) only while something is held.
    held: Vec<u8>,
    /// Disjoint, sorted, non-adjacent ranges of `held` that hold data.
    ranges: Vec<(usize, usize)>,
    /// The first delivered bytes (at most `cap`), to compare retransmissions.
    history: Vec<u8>,
    dropped_bytes: u64,
}

impl StreamBuffer {
    /// `cap`: the most bytes held out of order.
    pub fn new(cap: usize) -> Self {
        StreamBuffer {
            cap,
            started: false,
            released: false,
            next_seq: 0,
            offset: 0,
            held: Vec::new(),
            ranges: Vec::new(),
            history: Vec::new(),
            dropped_bytes: 0,
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
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }

    /// Bytes dropped because they lay beyond the buffer.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Frees all memory; later pushes are ignored.
    pub fn release(&mut self) {
        self.released = true;
        self.free_held();
        self.ranges = Vec::new();
        self.history = Vec::new();
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

        if rel == 0 && self.ranges.is_empty() {
            deliver(self.offset, data);
            keep(&mut self.history, self.cap, data);
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
            return out;
        }
        let beyond = &data[fits..];
        if self.ranges.first().is_some_and(|r| r.0 == 0) {
            let end = self.ranges[0].1;
            deliver(self.offset, &self.held[..end]);
            keep(&mut self.history, self.cap, &self.held[..end]);
            out.delivered = end;
            // A segment starting at the hole may run past the buffer; its
            // tail follows the buffered bytes directly.
            let tail_follows = rel == 0 && end == fits && !beyond.is_empty();
            self.consume(end);
            if tail_follows {
                deliver(self.offset, beyond);
                keep(&mut self.history, self.cap, beyond);
                self.advance(beyond.len());
                out.delivered += beyond.len();
                return out;
            }
        }
        if !beyond.is_empty() {
            out.dropped_over_cap = true;
            self.dropped_bytes += beyond.len() as u64;
        }
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

    /// Allocates the held buffer within the process-wide budget.
    fn alloc_held(&mut self) -> bool {
        let before = HELD_TOTAL.fetch_add(self.cap, Ordering::Relaxed);
        if before.saturating_add(self.cap) > GLOBAL_HELD_CAP {
            HELD_TOTAL.fetch_sub(self.cap, Ordering::Relaxed);
            return false;
        }
        self.held = vec![0; self.cap];
        true
    }

    fn free_held(&mut self) {
        if !self.held.is_empty() {
            HELD_TOTAL.fetch_sub(self.held.len(), Ordering::Relaxed);
            self.held = Vec::new();
        }
    }

    /// Drops the first `n` held bytes (just delivered) and shifts the rest.
    fn consume(&mut self, n: usize) {
        self.advance(n);
        self.ranges.remove(0);
        if self.ranges.is_empty() {
            // Nothing held: give the memory back until the next hole.
            self.free_held();
            return;
        }
        let last = self.ranges.last().map_or(n, |r| r.1);
        self.held.copy_within(n..last, 0);
        for r in &mut self.ranges {
            r.0 -= n;
            r.1 -= n;
        }
    }

    /// Copies `data` at distance `rel` into the gaps of the held ranges,
    /// comparing bytes already held. Returns false (and drops the segment)
    /// when it would need more ranges than allowed.
    fn store(&mut self, rel: usize, data: &[u8], out: &mut PushOutcome) -> bool {
        let (start, end) = (rel, rel + data.len());
        let first = self.ranges.partition_point(|r| r.1 < start);
        let last = self.ranges.partition_point(|r| r.0 <= end);
        // Ranges first..last touch or overlap [start, end) and merge with it.
        if first == last && self.ranges.len() >= MAX_RANGES {
            out.dropped_over_cap = true;
            self.dropped_bytes += data.len() as u64;
            return false;
        }
        if self.held.is_empty() && !self.alloc_held() {
            out.dropped_over_cap = true;
            self.dropped_bytes += data.len() as u64;
            return false;
        }
        let mut pos = start;
        let mut covered = 0;
        for &(s, e) in &self.ranges[first..last] {
            if s > pos {
                self.held[pos..s].copy_from_slice(&data[pos - rel..s - rel]);
            }
            let (os, oe) = (s.max(start), e.min(end));
            if os < oe {
                covered += oe - os;
                if self.held[os..oe] != data[os - rel..oe - rel] {
                    out.conflicting_overlap = true;
                }
            }
            pos = pos.max(e);
        }
        if pos < end {
            self.held[pos..end].copy_from_slice(&data[pos - rel..]);
        }
        if covered > 0 {
            out.retransmitted = true;
        }
        let merged_start = self.ranges.get(first).map_or(start, |r| r.0.min(start));
        let merged_end = if last > first {
            self.ranges[last - 1].1.max(end)
        } else {
            end
        };
        self.ranges
            .splice(first..last, [(merged_start, merged_end)]);
        true
    }
}

/// Appends delivered bytes to the history while it is shorter than `cap`.
fn keep(history: &mut Vec<u8>, cap: usize, bytes: &[u8]) {
    let room = cap.saturating_sub(history.len());
    let take = room.min(bytes.len());
    if take == 0 {
        return;
    }
    let needed = history.len() + take;
    if needed > history.capacity() {
        // Doubling (from twice the first segment) but never past `cap`:
        // `Vec`'s own growth starts at the first segment's size, which
        // cost a realloc more per connection, and overshot the cap (a
        // 16 KiB history took 23 KiB).
        let target = needed.max(2 * history.capacity()).max(2 * take).min(cap);
        history.reserve_exact(target - history.len());
    }
    history.extend_from_slice(&bytes[..take]);
}

impl Drop for StreamBuffer {
    fn drop(&mut self) {
        self.free_held();
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
        // A segment at the hole whose bytes differ from held ones: the held
        // (first) copy is delivered.
        h.push(3000, &data[3000..4000]);
        let mut late = data[2500..3500].to_vec();
        late[600] ^= 1;
        let out = h.push(2500, &late);
        assert!(out.conflicting_overlap);
        assert_eq!(h.got, data);
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
            assert_eq!(h.buf.history, &data[..cap]);
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
    fn too_many_holes_drop_new_ranges() {
        let mut h = Harness::new(16384, 0);
        for i in 0..MAX_RANGES {
            let out = h.push((i * 10 + 5) as u32, &[1; 2]);
            assert!(!out.dropped_over_cap);
        }
        let out = h.push(1000, &[1; 2]);
        assert!(out.dropped_over_cap);
        // Extending an existing range is still fine.
        let out = h.push(7, &[1; 1]);
        assert!(!out.dropped_over_cap);
        assert_eq!(h.buf.ranges.len(), MAX_RANGES);
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
