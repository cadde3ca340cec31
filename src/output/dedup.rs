//! Dedup on packet time (docs/spec.md section 4.3): an event is dropped when the same
//! (`src_ip`, event type, key fields) was emitted less than the TTL ago.
//! The window starts at the first emission and repeats do not extend it.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash, Hasher};

use ahash::RandomState;
use hashbrown::HashTable;

use crate::event::{Event, EventKind};
use crate::util::budget::{Budget, Charge, Pool};
use crate::util::time::Timestamp;

/// Bytes of table growth or shrinkage charged at a time (see
/// [`Dedup::settle`]).
const SETTLE_GRAIN: usize = 16 * 1024;

/// One emission: the key's hash and when it was first written.
#[derive(Clone, Copy)]
struct Emission {
    key: u64,
    first: Timestamp,
}

/// Emissions in order in a ring, found through an index of their sequence
/// numbers (24 bytes an entry all told, against about 50 for a map of keys
/// beside an order queue).
pub struct Dedup {
    ttl_us: i64,
    cap: usize,
    /// Emission order, for expiry and eviction; entries whose key was
    /// emitted again later are dead and skipped.
    ring: VecDeque<Emission>,
    /// Sequence number (mod 2^32) of `ring[0]`.
    front_seq: u32,
    /// Sequence numbers of the live emissions, hashed by key.
    index: HashTable<u32>,
    keyer: DedupKeyer,
    pub evictions: u64,
    /// Charged to the output's memory budget (`output_dedup`).
    charge: Charge,
}

/// Computes dedup keys; cloned to the threads that format events ahead
/// of the output thread, so their keys match.
#[derive(Clone)]
pub struct DedupKeyer(RandomState);

impl DedupKeyer {
    /// The key's hash, also its hash in the index (already well mixed).
    pub fn key(&self, ev: &Event) -> u64 {
        self.key_of(
            ev.kind,
            ev.src_ip(),
            ev.kind
                .dedup_fields()
                .iter()
                .map(|name| ev.get(name).unwrap_or(b"")),
        )
    }

    /// [`Self::key`] from the values already looked up: `src_ip` and the
    /// kind's [`EventKind::dedup_fields`] in order (empty when absent).
    pub fn key_of<'a>(
        &self,
        kind: EventKind,
        src_ip: &[u8],
        values: impl Iterator<Item = &'a [u8]>,
    ) -> u64 {
        let mut h = self.0.build_hasher();
        src_ip.hash(&mut h);
        kind.hash(&mut h);
        for v in values {
            v.hash(&mut h);
        }
        h.finish()
    }
}

impl Dedup {
    /// `ttl_secs` 0 disables dedup.
    pub fn new(ttl_secs: u64, cap: usize) -> Self {
        Dedup {
            ttl_us: i64::try_from(ttl_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            // Sequence numbers are u32: the ring stays far below 2^31.
            cap: cap.clamp(1, 1 << 30),
            ring: VecDeque::new(),
            front_seq: 0,
            index: HashTable::new(),
            keyer: DedupKeyer(RandomState::new()),
            evictions: 0,
            charge: Charge::new(Budget::unlimited(), Pool::OutputDedup),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.charge.set_budget(budget);
    }

    /// Bytes charged: each emission in the ring (live or dead) and each
    /// live one's index slot (a `u32` and a control byte at 7/8 load).
    pub fn bytes(&self) -> usize {
        self.ring.len() * std::mem::size_of::<Emission>() + self.index.len() * 6
    }

    /// Emissions dropped because the memory budget was spent.
    pub fn memcap_evictions(&self) -> u64 {
        self.charge.budget().evictions(Pool::OutputDedup)
    }

    /// Settles the charge; while the budget is over, drops the oldest
    /// emissions (never the newest). A change of less than
    /// [`SETTLE_GRAIN`] that leaves the budget within its cap is not
    /// charged yet: the budget's counters take locked instructions, one per
    /// event showed in profiles. Whether settling would put the budget over
    /// is worked out without them, so what is shed, and when, is the same.
    fn settle(&mut self) {
        let bytes = self.bytes();
        let (charged, budget) = (self.charge.charged(), self.charge.budget());
        let over = budget.used().saturating_sub(charged).saturating_add(bytes) > budget.cap();
        if !over && bytes.abs_diff(charged) < SETTLE_GRAIN {
            return;
        }
        self.settle_exactly();
    }

    /// Charges exactly what the table holds (the budget's figures are then
    /// exact); sheds as [`Self::settle`] does.
    pub fn settle_exactly(&mut self) {
        while self.charge.settle(self.bytes()) && self.ring.len() > 1 {
            if self.pop_front() {
                self.evictions += 1;
                self.charge.note_eviction();
            }
        }
    }

    /// Whether dedup is on (a TTL above 0): without it no key is needed.
    pub fn enabled(&self) -> bool {
        self.ttl_us != 0
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn keyer(&self) -> &DedupKeyer {
        &self.keyer
    }

    /// True if `ev` should be written; records it if so.
    pub fn admit(&mut self, ev: &Event) -> bool {
        if self.ttl_us == 0 {
            return true;
        }
        let key = self.keyer.key(ev);
        self.admit_key(key, ev.ts)
    }

    /// [`Self::admit`] for an event whose key was computed already (by
    /// [`Self::keyer`]'s clone).
    pub fn admit_key(&mut self, key: u64, ts: Timestamp) -> bool {
        if self.ttl_us == 0 {
            return true;
        }
        self.expire(ts);
        let (ring, front) = (&self.ring, self.front_seq);
        let live = |&seq: &u32| emission(ring, front, seq).is_some_and(|e| e.key == key);
        if let Ok(entry) = self.index.find_entry(key, live) {
            let seq = *entry.get();
            let first = emission(&self.ring, self.front_seq, seq).map_or(ts, |e| e.first);
            if ts.micros_since(first) < self.ttl_us {
                return false;
            }
            // Emitted again: the old emission stays in the ring, dead.
            entry.remove();
        }
        // Dead emissions count against twice the cap, so the ring stays
        // bounded even when packet time runs backwards.
        while self.index.len() >= self.cap || self.ring.len() >= 2 * self.cap {
            if self.pop_front() {
                self.evictions += 1;
            }
        }
        let seq = self.front_seq.wrapping_add(self.ring.len() as u32);
        self.ring.push_back(Emission { key, first: ts });
        let (ring, front) = (&self.ring, self.front_seq);
        self.index
            .insert_unique(key, seq, |&s| emission(ring, front, s).map_or(0, |e| e.key));
        self.settle();
        true
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(front) = self.ring.front() {
            if now.micros_since(front.first) < self.ttl_us {
                break;
            }
            self.pop_front();
        }
    }

    /// Drops the oldest emission; true if it was live.
    fn pop_front(&mut self) -> bool {
        let Some(e) = self.ring.pop_front() else {
            return false;
        };
        let seq = self.front_seq;
        self.front_seq = seq.wrapping_add(1);
        match self.index.find_entry(e.key, |&s| s == seq) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }
}

/// The emission with sequence number `seq`, if still in the ring.
fn emission(ring: &VecDeque<Emission>, front_seq: u32, seq: u32) -> Option<&Emission> {
    ring.get(seq.wrapping_sub(front_seq) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn ev(secs: i64, ja4: &str) -> Event {
        let mut e = Event::new(
            EventKind::TlsClientHello,
            Timestamp::new(secs, 0),
            "d".into(),
        );
        e.push("src_ip", "192.0.2.1")
            .push("ja3", "x")
            .push("ja4", ja4);
        e
    }

    #[test]
    fn window_starts_at_first_emission_and_is_not_extended() {
        let mut d = Dedup::new(300, 100);
        assert!(d.admit(&ev(0, "a")));
        assert!(!d.admit(&ev(200, "a")));
        assert!(d.admit(&ev(200, "b")));
        assert!(d.admit(&ev(300, "a")));
        assert!(!d.admit(&ev(599, "a")));
    }

    #[test]
    fn bounded_with_evictions() {
        let mut d = Dedup::new(300, 10);
        for i in 0..100 {
            assert!(d.admit(&ev(1, &i.to_string())));
        }
        assert_eq!(d.len(), 10);
        assert_eq!(d.evictions, 90);
    }

    #[test]
    fn reemission_after_the_window_and_time_running_backwards() {
        let mut d = Dedup::new(300, 4);
        assert!(d.admit(&ev(1000, "a")));
        // Earlier packet time: another key, then "a" again far earlier
        // still counts as inside its window (negative age).
        assert!(d.admit(&ev(0, "b")));
        assert!(!d.admit(&ev(10, "a")));
        // "b" re-emitted after its window while "a" (newer) blocks the
        // front: the old "b" emission stays, dead.
        assert!(d.admit(&ev(400, "b")));
        assert!(!d.admit(&ev(401, "b")));
        assert_eq!(d.len(), 2);
        // Churn with time going back and forth never grows the ring past
        // twice the cap.
        for i in 0..1000 {
            d.admit(&ev(if i % 2 == 0 { 0 } else { 2000 }, &(i % 3).to_string()));
            assert!(d.ring.len() <= 8 && d.len() <= 4);
        }
    }

    #[test]
    fn zero_ttl_disables() {
        let mut d = Dedup::new(0, 10);
        assert!(d.admit(&ev(0, "a")));
        assert!(d.admit(&ev(0, "a")));
    }

    #[test]
    fn budget_accounts_emissions_and_sheds_the_oldest() {
        use crate::util::budget::{Budget, Pool};
        let budget = Budget::unlimited();
        let mut d = Dedup::new(300, 1000);
        d.set_budget(budget.clone());
        for k in 0..100u64 {
            assert!(d.admit_key(k, Timestamp::new(1, 0)));
        }
        d.settle_exactly();
        assert_eq!(budget.pool_used(Pool::OutputDedup), d.bytes());
        assert!(d.bytes() >= 100 * std::mem::size_of::<Emission>());
        // All expire: the charge goes back with them.
        assert!(d.admit_key(5000, Timestamp::new(1000, 0)));
        assert_eq!(d.len(), 1);
        d.settle_exactly();
        assert_eq!(budget.pool_used(Pool::OutputDedup), d.bytes());
        drop(d);
        assert_eq!(budget.used(), 0);

        let one = std::mem::size_of::<Emission>() + 6;
        let budget = Budget::new(10 * one);
        let mut d = Dedup::new(300, 1000);
        d.set_budget(budget.clone());
        for k in 0..100u64 {
            assert!(d.admit_key(k, Timestamp::new(1, 0)), "never refused");
        }
        assert_eq!(d.len(), 10);
        assert_eq!(d.memcap_evictions(), 90);
        assert_eq!(d.evictions, 90);
        // The newest are still deduplicated.
        assert!(!d.admit_key(99, Timestamp::new(2, 0)));
    }
}
