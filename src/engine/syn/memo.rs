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

/// Both tables (one per engine).
pub(crate) struct SynMemo {
    hasher: RandomState,
    p0f: Vec<Option<P0fSlot>>,
    labels: Vec<Option<LabelSlot>>,
    /// The SYN's JA4T text, written once for the event and the label.
    pub ja4t: Vec<u8>,
}

impl Default for SynMemo {
    fn default() -> Self {
        SynMemo {
            // Fixed seeds: the slot choice never depends on the run.
            hasher: RandomState::with_seeds(0x5eed, 0x5111, 0x9a7b, 0xd0c5),
            p0f: (0..SLOTS).map(|_| None).collect(),
            labels: (0..SLOTS).map(|_| None).collect(),
            ja4t: Vec::with_capacity(64),
        }
    }
}

impl SynMemo {
    fn slot_of(&self, value: &(impl Hash + ?Sized)) -> usize {
        let mut h = self.hasher.build_hasher();
        value.hash(&mut h);
        (h.finish() as usize) % SLOTS
    }

    /// p0f's analysis of `sig` against `db`, and where the text it prints
    /// is kept ([`Self::shape`]).
    pub fn p0f(&mut self, db: &'static Database, sig: RawSig) -> (P0fResult<'static>, ShapeId) {
        let key = RawSig {
            ts1: u32::from(sig.ts1 != 0),
            ..sig
        };
        let i = self.slot_of(&key);
        let hit = matches!(&self.p0f[i], Some(s) if s.key == key && std::ptr::eq(s.db, db));
        if !hit {
            let r = P0fResult::analyze(db, sig);
            // A replaced slot's buffers are reused.
            let mut sig_text = self.p0f[i]
                .take()
                .map_or_else(|| Vec::with_capacity(64), |s| s.shape.sig_text);
            sig_text.clear();
            sig.write_bytes(&mut sig_text);
            let shape = P0fShape {
                verdict: r.verdict,
                sig_text,
                dist_text: r.dist_text(),
                link: r.link(),
                os_guess: p0f::os_guess(Some(&r), None),
            };
            self.p0f[i] = Some(P0fSlot { key, db, shape });
        }
        let verdict = self.shape(ShapeId(i)).verdict;
        (P0fResult::with_verdict(db, sig, verdict), ShapeId(i))
    }

    /// The text of the shape [`Self::p0f`] just returned.
    pub fn shape(&self, id: ShapeId) -> &P0fShape {
        match &self.p0f[id.0] {
            Some(s) => &s.shape,
            None => unreachable!("filled by SynMemo::p0f"),
        }
    }

    /// `client` and `client_source` of a SYN whose JA4T is `self.ja4t`
    /// (both empty when no row matches), from `db`.
    pub fn ja4t_label(&mut self, db: &'static ClientsDatabase) -> (&'static str, &'static str) {
        let i = self.slot_of(&self.ja4t[..]);
        if let Some(s) = &self.labels[i] {
            if s.ja4t == self.ja4t && std::ptr::eq(s.db, db) {
                return s.label;
            }
        }
        let label = db
            .lookup(Method::Ja4t, &self.ja4t)
            .map_or(("", ""), |row| (&*row.label, row.method.as_str()));
        // A replaced slot's buffer is reused.
        let mut ja4t = self.labels[i].take().map_or_else(Vec::new, |s| s.ja4t);
        ja4t.clear();
        ja4t.extend_from_slice(&self.ja4t);
        self.labels[i] = Some(LabelSlot { ja4t, db, label });
        label
    }
}
