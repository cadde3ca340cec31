//! What a SYN's construction alone decides, worked out once per distinct
//! construction: p0f's verdict with the text of its signature, distance,
//! link and OS guess, and the client label of its JA4T. A scanner sends
//! the same SYN over and over (only addresses, ports, IP-ID, ISN and
//! TSval change): a flood of them then neither scans the p0f database
//! nor formats the same signature again.
//!
//! Two small direct-mapped tables of fixed size (a slot is replaced by the
//! next shape that hashes to it), so memory is bounded and a miss costs
//! no more than computing without them. Nothing here reaches the output
//! except through the values computed exactly as before.

use std::hash::{BuildHasher, Hash, Hasher};

use ahash::RandomState;

use crate::fingerprint::clients::db::{Database as ClientsDatabase, Method};
use crate::fingerprint::p0f::{self, matcher::Verdict, Database, P0fResult, RawSig};

/// Slots of each table: more distinct SYN shapes than a capture of
/// several tools and stacks shows at once.
const SLOTS: usize = 64;

/// The output of p0f for one signature shape.
pub(crate) struct P0fShape {
    pub verdict: Verdict<'static>,
    /// `p0f_sig`.
    pub sig_text: Vec<u8>,
    /// `p0f_dist`.
    pub dist_text: String,
    /// `link`.
    pub link: &'static str,
    /// `os_guess` when no scanner rule names the tool.
    pub os_guess: &'static str,
}

/// A shape's slot, valid until the next [`SynMemo::p0f`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShapeId(usize);

struct P0fSlot {
    /// The signature with its TSval reduced to whether it has one: the
    /// only way the matcher and the signature text read it.
    key: RawSig,
    db: &'static Database,
    shape: P0fShape,
}

struct LabelSlot {
    ja4t: Vec<u8>,
    db: &'static ClientsDatabase,
    label: (&'static str, &'static str),
}

/// A fixed table where a key may sit in one of two slots chosen by its
/// hash; a miss replaces the less recently used of the two. Shapes that
/// share a slot then do not evict each other on every packet.
struct TwoWay<T> {
    slots: Vec<Option<(T, u64)>>,
    clock: u64,
    /// Lookups that had to compute (for tests and benches).
    misses: u64,
}

impl<T> TwoWay<T> {
    fn new() -> Self {
        TwoWay {
            slots: (0..SLOTS).map(|_| None).collect(),
            clock: 0,
            misses: 0,
        }
    }

    fn candidates(hash: u64) -> [usize; 2] {
        let a = (hash as usize) % SLOTS;
        let b = ((hash >> 32) as usize) % SLOTS;
        [a, if a == b { (a + 1) % SLOTS } else { b }]
    }

    /// The slot holding what `is` accepts, marked used.
    fn find(&mut self, hash: u64, is: impl Fn(&T) -> bool) -> Option<usize> {
        self.clock += 1;
        let i = Self::candidates(hash)
            .into_iter()
            .find(|&i| matches!(&self.slots[i], Some((t, _)) if is(t)))?;
        if let Some((_, used)) = &mut self.slots[i] {
            *used = self.clock;
        }
        Some(i)
    }

    /// The slot a new entry takes: an empty one, else the staler; with
    /// what it held, for its buffers.
    fn victim(&mut self, hash: u64) -> (usize, Option<T>) {
        self.misses += 1;
        let [a, b] = Self::candidates(hash);
        let stamp = |i: usize| self.slots[i].as_ref().map_or(0, |(_, used)| *used);
        let i = if stamp(b) < stamp(a) { b } else { a };
        (i, self.slots[i].take().map(|(t, _)| t))
    }

    fn put(&mut self, i: usize, t: T) {
        self.slots[i] = Some((t, self.clock));
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.slots[i].as_ref().map(|(t, _)| t)
    }
}

/// Both tables (one per engine).
pub(crate) struct SynMemo {
    hasher: RandomState,
    p0f: TwoWay<P0fSlot>,
    labels: TwoWay<LabelSlot>,
    /// The SYN's JA4T text, written once for the event and the label.
    pub ja4t: Vec<u8>,
}

impl Default for SynMemo {
    fn default() -> Self {
        SynMemo {
            // Fixed seeds: the slot choice never depends on the run.
            hasher: RandomState::with_seeds(0x5eed, 0x5111, 0x9a7b, 0xd0c5),
            p0f: TwoWay::new(),
            labels: TwoWay::new(),
            ja4t: Vec::with_capacity(64),
        }
    }
}

impl SynMemo {
    fn hash(&self, value: &(impl Hash + ?Sized)) -> u64 {
        let mut h = self.hasher.build_hasher();
        value.hash(&mut h);
        h.finish()
    }

    /// p0f's analysis of `sig` against `db`, and where the text it prints
    /// is kept ([`Self::shape`]).
    pub fn p0f(&mut self, db: &'static Database, sig: RawSig) -> (P0fResult<'static>, ShapeId) {
        let key = RawSig {
            ts1: u32::from(sig.ts1 != 0),
            ..sig
        };
        let hash = self.hash(&key);
        let found = self
            .p0f
            .find(hash, |s| s.key == key && std::ptr::eq(s.db, db));
        let i = match found {
            Some(i) => i,
            None => {
                let r = P0fResult::analyze(db, sig);
                let (i, old) = self.p0f.victim(hash);
                // A replaced slot's buffer is reused.
                let mut sig_text = old.map_or_else(|| Vec::with_capacity(64), |s| s.shape.sig_text);
                sig_text.clear();
                sig.write_bytes(&mut sig_text);
                let shape = P0fShape {
                    verdict: r.verdict,
                    sig_text,
                    dist_text: r.dist_text(),
                    link: r.link(),
                    os_guess: p0f::os_guess(Some(&r), None),
                };
                self.p0f.put(i, P0fSlot { key, db, shape });
                i
            }
        };
        let verdict = self.shape(ShapeId(i)).verdict;
        (P0fResult::with_verdict(db, sig, verdict), ShapeId(i))
    }

    /// The text of the shape [`Self::p0f`] just returned.
    pub fn shape(&self, id: ShapeId) -> &P0fShape {
        match self.p0f.get(id.0) {
            Some(s) => &s.shape,
            None => unreachable!("filled by SynMemo::p0f"),
        }
    }

    /// `client` and `client_source` of a SYN whose JA4T is `self.ja4t`
    /// (both empty when no row matches), from `db`.
    pub fn ja4t_label(&mut self, db: &'static ClientsDatabase) -> (&'static str, &'static str) {
        let hash = self.hash(&self.ja4t[..]);
        let ja4t = &self.ja4t;
        if let Some(i) = self
            .labels
            .find(hash, |s| s.ja4t == *ja4t && std::ptr::eq(s.db, db))
        {
            if let Some(s) = self.labels.get(i) {
                return s.label;
            }
        }
        let label = db
            .lookup(Method::Ja4t, &self.ja4t)
            .map_or(("", ""), |row| (&*row.label, row.method.as_str()));
        let (i, old) = self.labels.victim(hash);
        // A replaced slot's buffer is reused.
        let mut ja4t = old.map_or_else(Vec::new, |s| s.ja4t);
        ja4t.clear();
        ja4t.extend_from_slice(&self.ja4t);
        self.labels.put(i, LabelSlot { ja4t, db, label });
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::clients;

    /// A SYN signature from an IPv4 TTL, window, TSval and options.
    fn sig(ttl: u8, win: u16, ts1: u32, opts: &[u8]) -> RawSig {
        let ip = [
            0x45, 0, 0, 60, 0, 1, 0x40, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut tcp = vec![0x30, 0x39, 0, 80, 0, 0, 0, 7, 0, 0, 0, 0];
        tcp.push((((20 + opts.len()) / 4) as u8) << 4);
        tcp.push(0x02);
        tcp.extend_from_slice(&win.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(opts);
        RawSig::from_headers(&ip, &tcp, 0).unwrap()
    }

    fn linux_opts(ts1: u32) -> Vec<u8> {
        let mut o = vec![2, 4, 5, 0xb4, 4, 2, 8, 10];
        o.extend_from_slice(&ts1.to_be_bytes());
        o.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
        o
    }

    #[test]
    fn memoised_shapes_read_as_computed_ones() {
        let db = Database::bundled();
        let mut memo = SynMemo::default();
        let mut shapes = Vec::new();
        for ttl in [37u8, 52, 64, 128, 255] {
            for win in [1024u16, 29200, 64240, 65535] {
                // TSval 0 and two others: the zero one is its own shape.
                for ts1 in [0u32, 1, 0x0102_0304] {
                    shapes.push(sig(ttl, win, ts1, &linux_opts(ts1)));
                }
                shapes.push(sig(ttl, win, 0, &[2, 4, 5, 0xb4]));
            }
        }
        // Twice round, so the second pass reads what the first stored.
        for s in shapes.iter().chain(&shapes) {
            let direct = P0fResult::analyze(db, *s);
            let (r, id) = memo.p0f(db, *s);
            let shape = memo.shape(id);
            assert_eq!(r.sig, *s, "the packet's own signature is kept");
            assert_eq!(r.label(), direct.label());
            assert_eq!(r.match_kind(), direct.match_kind());
            assert_eq!(r.dist(), direct.dist());
            assert_eq!(shape.sig_text, direct.raw_sig().into_bytes());
            assert_eq!(shape.dist_text, direct.dist_text());
            assert_eq!(shape.link, direct.link());
            assert_eq!(shape.os_guess, p0f::os_guess(Some(&direct), None));
        }
    }

    #[test]
    fn a_scanner_flood_computes_each_shape_once() {
        let db = Database::bundled();
        let mut memo = SynMemo::default();
        let shapes: Vec<RawSig> = (0..8u16)
            .map(|i| sig(64, 1024 + i, 0, &[2, 4, 5, 0xb4]))
            .collect();
        for round in 0..100u32 {
            for s in &shapes {
                // Only the TSval's value changes from SYN to SYN.
                let with_ts = RawSig {
                    ts1: round + 1,
                    ..*s
                };
                memo.p0f(db, with_ts);
            }
        }
        assert!(memo.p0f.misses <= 9, "{} misses", memo.p0f.misses);
    }

    #[test]
    fn ja4t_labels_match_the_database() {
        let db = clients::database();
        let mut memo = SynMemo::default();
        for text in [
            "",
            "1024_2_1460_00",
            "64240_2-4-8-1-3_1460_7",
            "no-such",
            "",
        ] {
            for _ in 0..2 {
                memo.ja4t.clear();
                memo.ja4t.extend_from_slice(text.as_bytes());
                let want = db
                    .lookup(Method::Ja4t, text.as_bytes())
                    .map_or(("", ""), |r| (&*r.label, r.method.as_str()));
                assert_eq!(memo.ja4t_label(db), want, "{text:?}");
            }
        }
        assert_eq!(memo.labels.misses, 4);
    }
}
