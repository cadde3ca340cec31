//! A bounded map that evicts its least recently used entry when full: the
//! one table type behind flows, sequence samples, QUIC connections and
//! budgets, and the link-local leak's MAC table.
//!
//! Entries live in a slab (`Vec`) linked into a recency list by `u32`
//! index, and the hash index holds only those indices, so an entry costs
//! its key, its value and 8 bytes of links plus about 5 bytes of index: no
//! heap node, no allocator header, no second copy of the key. Lookups,
//! touches, inserts and evictions are O(1) and the slab never grows past
//! the cap. The index is only ever probed, never iterated, so its random
//! seed cannot leak into output order.

use std::hash::Hash;

use ahash::RandomState;
use hashbrown::HashTable;

const NIL: u32 = u32::MAX;

/// [`Lru::fit_index`] cuts an index holding fewer than one entry in
/// `SPARSE` of its capacity, unless it would then fit `FIT_FLOOR`
/// entries anyway (a few cache lines: not worth a rehash).
const SPARSE: usize = 16;
const FIT_FLOOR: usize = 64;

/// A slot of the table, from [`Lru::locate`].
#[derive(Debug, Clone, Copy)]
pub struct Located(u32);

/// The hash of a key [`Lru::probe`] found absent: inserting it with
/// [`Lru::insert_absent`] or [`Lru::replace_oldest`] does not hash again.
/// Valid for that key and table only.
#[derive(Debug, Clone, Copy)]
pub struct Absent(u64);

struct Node<K, V> {
    key: K,
    value: V,
    /// Towards the most recently used end.
    newer: u32,
    /// Towards the least recently used end.
    older: u32,
}

/// Slots in fixed-size chunks: growing never moves or copies a slot, so
/// memory follows use, without the transient doubling of a growing `Vec`.
struct Slots<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

impl<T> Slots<T> {
    fn new() -> Self {
        Slots {
            chunks: Vec::new(),
            len: 0,
        }
    }

    fn get(&self, idx: u32) -> Option<&T> {
        let chunk = self.chunks.get((idx >> CHUNK_BITS) as usize)?;
        chunk.get(idx as usize & (CHUNK - 1))?.as_ref()
    }

    fn get_mut(&mut self, idx: u32) -> Option<&mut T> {
        self.slot(idx)?.as_mut()
    }

    fn slot(&mut self, idx: u32) -> Option<&mut Option<T>> {
        let chunk = self.chunks.get_mut((idx >> CHUNK_BITS) as usize)?;
        chunk.get_mut(idx as usize & (CHUNK - 1))
    }

    /// Appends a slot made by `make`; `cap` bounds the size of the last chunk.
    fn push_with(&mut self, make: impl FnOnce() -> T, cap: usize) -> u32 {
        if self.len % CHUNK == 0 {
            let size = cap.saturating_sub(self.len).clamp(1, CHUNK);
            self.chunks.push(Vec::with_capacity(size));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(Some(make()));
        }
        self.len += 1;
        (self.len - 1) as u32
    }
}

pub struct Lru<K, V> {
    index: HashTable<u32>,
    hasher: RandomState,
    nodes: Slots<Node<K, V>>,
    free: Vec<u32>,
    /// Most recently used.
    newest: u32,
    /// Least recently used: the next to go.
    oldest: u32,
    cap: usize,
}

impl<K: Hash + Eq, V> Lru<K, V> {
    /// A table holding at most `cap` entries (at least one; at most `u32::MAX - 1`).
    pub fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, (NIL - 1) as usize);
        Lru {
            index: HashTable::new(),
            hasher: RandomState::new(),
            nodes: Slots::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn is_full(&self) -> bool {
        self.len() >= self.cap
    }

    pub fn contains(&self, key: &K) -> bool {
        self.find(key).is_some()
    }

    /// The entry, without changing its recency.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let idx = self.find(key)?;
        self.node(idx).map(|n| &n.value)
    }

    /// The entry, marked most recently used.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let idx = self.find(key)?;
        self.touch(idx);
        self.node_mut(idx).map(|n| &mut n.value)
    }

    /// Where `key` is stored, for [`Lru::get_mut_at`]: one probe where a
    /// `contains` then `get_mut` would take two. Valid until the next
    /// insert or removal.
    pub fn locate(&self, key: &K) -> Option<Located> {
        self.find(key).map(Located)
    }

    /// The entry at a location just returned by [`Lru::locate`], marked
    /// most recently used.
    pub fn get_mut_at(&mut self, at: Located) -> Option<&mut V> {
        self.touch(at.0);
        self.node_mut(at.0).map(|n| &mut n.value)
    }

    /// The entry of `key` if it is still stored at `hint` (a location
    /// [`Lru::locate`] gave for it before), marked most recently used:
    /// no hashing. `None` when the slot holds another key or none (the
    /// entry moved or left); the caller then looks it up.
    pub fn get_mut_hinted(&mut self, hint: Located, key: &K) -> Option<&mut V> {
        if !self.node(hint.0).is_some_and(|n| n.key == *key) {
            return None;
        }
        self.get_mut_at(hint)
    }

    /// [`Self::get_mut_hinted`] without marking the entry most recently
    /// used.
    pub fn peek_mut_hinted(&mut self, hint: Located, key: &K) -> Option<&mut V> {
        self.node_mut(hint.0)
            .filter(|n| n.key == *key)
            .map(|n| &mut n.value)
    }

    /// Inserts or replaces `key`, marking it most recently used. Returns the
    /// entry evicted to make room, if the table was full.
    pub fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        if let Some(idx) = self.find(&key) {
            if let Some(node) = self.node_mut(idx) {
                node.value = value;
            }
            self.touch(idx);
            return None;
        }
        let hash = self.hasher.hash_one(&key);
        self.insert_hashed(hash, key, || value).1
    }

    /// Where `key` is stored, or, when absent, its hash for inserting it
    /// without hashing again (one hash where a lookup then an insert
    /// would take two).
    pub fn probe(&self, key: &K) -> Result<Located, Absent> {
        let hash = self.hasher.hash_one(key);
        match self
            .index
            .find(hash, |&i| self.node(i).is_some_and(|n| n.key == *key))
        {
            Some(&idx) => Ok(Located(idx)),
            None => Err(Absent(hash)),
        }
    }

    /// [`Self::probe`] of a key this table already hashed (`at`, from an
    /// earlier probe of the same key that found it absent), without
    /// hashing it again: the key may have come in since.
    pub fn reprobe(&self, at: Absent, key: &K) -> Result<Located, Absent> {
        match self
            .index
            .find(at.0, |&i| self.node(i).is_some_and(|n| n.key == *key))
        {
            Some(&idx) => Ok(Located(idx)),
            None => Err(at),
        }
    }

    /// Inserts `key`, which [`Self::probe`] just found absent, marked
    /// most recently used; a full table makes room by its least recently
    /// used entry, returned. Its location is valid as [`Self::locate`]'s.
    pub fn insert_absent(&mut self, at: Absent, key: K, value: V) -> (Located, Option<(K, V)>) {
        let (idx, evicted) = self.insert_hashed(at.0, key, || value);
        (Located(idx), evicted)
    }

    /// Inserts `key`, which [`Self::probe`] just found absent, in the
    /// place of the least recently used entry (returned), whether or not
    /// the table is full: what [`Self::pop_oldest`] then
    /// [`Self::insert_absent`] do, with the slot reused in place and the
    /// value moved once. Into an empty table it is a plain insert.
    pub fn replace_oldest(&mut self, at: Absent, key: K, value: V) -> (Located, Option<(K, V)>) {
        let (idx, evicted) = self.replace_oldest_with(at.0, key, || value);
        (Located(idx), evicted)
    }

    /// [`Self::insert_absent`] with the value made by `make` (built in
    /// its slot where the compiler can: a large value is not moved).
    pub fn insert_absent_with(
        &mut self,
        at: Absent,
        key: K,
        make: impl FnOnce() -> V,
    ) -> (Located, Option<(K, V)>) {
        let (idx, evicted) = self.insert_hashed(at.0, key, make);
        (Located(idx), evicted)
    }

    /// The entry of `key`, inserted from `make` if absent, marked most
    /// recently used; with the entry evicted to make room, if any.
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        make: impl FnOnce() -> V,
    ) -> (&mut V, Option<(K, V)>) {
        let (idx, evicted) = match self.probe(&key) {
            Ok(Located(idx)) => {
                self.touch(idx);
                (idx, None)
            }
            Err(Absent(hash)) => self.insert_hashed(hash, key, make),
        };
        let node = self.nodes.get_mut(idx).expect("linked slot");
        (&mut node.value, evicted)
    }

    /// [`Self::get_or_insert_with`], then, when the table grew, charges
    /// it with [`Self::settle_budget`] (which never drops the entry just
    /// made): one probe where a lookup after settling would take two.
    /// Returns the entry, whether the cap evicted one, and how many
    /// entries the budget shed.
    pub fn get_or_insert_settled(
        &mut self,
        key: K,
        make: impl FnOnce() -> V,
        charge: &mut crate::util::budget::Charge,
    ) -> (&mut V, bool, u64) {
        let (idx, evicted, grew) = match self.probe(&key) {
            Ok(Located(idx)) => {
                self.touch(idx);
                (idx, false, false)
            }
            Err(Absent(hash)) => {
                let (idx, evicted) = self.insert_hashed(hash, key, make);
                (idx, evicted.is_some(), evicted.is_none())
            }
        };
        let shed = if grew { self.settle_budget(charge) } else { 0 };
        let node = self.nodes.get_mut(idx).expect("linked slot");
        (&mut node.value, evicted, shed)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let hash = self.hasher.hash_one(key);
        let nodes = &self.nodes;
        let entry = self
            .index
            .find_entry(hash, |&i| nodes.get(i).is_some_and(|n| n.key == *key))
            .ok()?;
        let idx = *entry.get();
        entry.remove();
        self.unlink(idx);
        self.release(idx).map(|(_, v)| v)
    }

    /// Bytes one entry takes: its slot in the slab (which never shrinks:
    /// a freed slot waits for the next entry) and its share of the hash
    /// index (a `u32` and a control byte at 7/8 load).
    pub const fn entry_bytes() -> usize {
        std::mem::size_of::<Option<Node<K, V>>>() + (5usize * 8).div_ceil(7)
    }

    /// Visits entries from the least recently used on, without changing
    /// their recency, until `visit` returns false or `n` were seen.
    pub fn for_each_oldest_mut(&mut self, n: usize, mut visit: impl FnMut(&K, &mut V) -> bool) {
        let mut idx = self.oldest;
        for _ in 0..n {
            let Some(node) = self.nodes.get_mut(idx) else {
                return;
            };
            if !visit(&node.key, &mut node.value) {
                return;
            }
            idx = node.newer;
        }
    }

    /// The least recently used entry, without removing it.
    pub fn peek_oldest(&self) -> Option<(&K, &V)> {
        self.node(self.oldest).map(|n| (&n.key, &n.value))
    }

    /// Charges what the table holds now ([`Self::entry_bytes`] each) to
    /// `charge`, and while its budget is over drops the least recently
    /// used entries, never the last one (the newest, which a caller has
    /// just touched: a newcomer is not refused). Returns how many went,
    /// each counted as a budget eviction. Call once an insert is done.
    pub fn settle_budget(&mut self, charge: &mut crate::util::budget::Charge) -> u64 {
        let mut shed = 0;
        while charge.settle(self.len() * Self::entry_bytes()) && self.len() > 1 {
            self.pop_oldest();
            charge.note_eviction();
            shed += 1;
        }
        if shed > 0 {
            self.fit_index();
        }
        shed
    }

    /// Cuts an index sized for many more entries than the table holds
    /// down to fit them (changing nothing that can be seen: the index is
    /// never iterated). A table the memory budget squeezed from its peak
    /// to a handful of entries (p0f's hosts under a flood of spoofed
    /// sources end at one) otherwise probes a cold cache line of its
    /// peak-sized index for every new key; fitted, the few lines it has
    /// stay warm. Only far below capacity, so that a table that grows
    /// back pays the doublings rarely.
    pub fn fit_index(&mut self) {
        let len = self.index.len();
        if self.index.capacity() / SPARSE > len.max(FIT_FLOOR) {
            let (nodes, hasher) = (&self.nodes, &self.hasher);
            self.index.shrink_to(len * 2, |&i| {
                nodes.get(i).map_or(0, |n| hasher.hash_one(&n.key))
            });
        }
    }

    /// Removes and returns the least recently used entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let idx = self.detach_oldest()?;
        self.release(idx)
    }

    /// Frees a slot already out of the index and the recency list.
    fn release(&mut self, idx: u32) -> Option<(K, V)> {
        let node = self.nodes.slot(idx)?.take()?;
        self.free.push(idx);
        Some((node.key, node.value))
    }

    fn find(&self, key: &K) -> Option<u32> {
        self.probe(key).ok().map(|at| at.0)
    }

    /// Takes the least recently used entry out of the index and the
    /// recency list, leaving it in its slot; the slot's index.
    fn detach_oldest(&mut self) -> Option<u32> {
        let idx = self.oldest;
        let hash = self.hasher.hash_one(&self.node(idx)?.key);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == idx) {
            entry.remove();
        }
        self.unlink(idx);
        Some(idx)
    }

    /// Stores a key known to be absent, of hash `hash`; when full, in the
    /// place of the least recently used entry, returned.
    fn insert_hashed(
        &mut self,
        hash: u64,
        key: K,
        make: impl FnOnce() -> V,
    ) -> (u32, Option<(K, V)>) {
        if self.is_full() {
            // Full, no slot is free: popping the oldest would free its
            // slot and the insert would take it back; reuse it in place.
            return self.replace_oldest_with(hash, key, make);
        }
        (self.store(hash, key, make), None)
    }

    /// See [`Self::replace_oldest`].
    fn replace_oldest_with(
        &mut self,
        hash: u64,
        key: K,
        make: impl FnOnce() -> V,
    ) -> (u32, Option<(K, V)>) {
        match self.detach_oldest() {
            Some(idx) => {
                let node = self.nodes.get_mut(idx).expect("linked slot");
                let old_key = std::mem::replace(&mut node.key, key);
                let old_value = std::mem::replace(&mut node.value, make());
                self.attach(hash, idx);
                (idx, Some((old_key, old_value)))
            }
            None => (self.store(hash, key, make), None),
        }
    }

    /// Stores a key known to be absent in a free or new slot.
    fn store(&mut self, hash: u64, key: K, make: impl FnOnce() -> V) -> u32 {
        // The node is built where it goes, not on the stack then moved.
        let node = move || Node {
            key,
            value: make(),
            newer: NIL,
            older: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                if let Some(slot) = self.nodes.slot(idx) {
                    *slot = Some(node());
                }
                idx
            }
            None => self.nodes.push_with(node, self.cap),
        };
        self.attach(hash, idx);
        idx
    }

    /// Indexes the filled slot `idx` under `hash`, as the most recently used.
    fn attach(&mut self, hash: u64, idx: u32) {
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.index.insert_unique(hash, idx, |&i| {
            nodes.get(i).map_or(0, |n| hasher.hash_one(&n.key))
        });
        self.link_newest(idx);
    }

    fn node(&self, idx: u32) -> Option<&Node<K, V>> {
        self.nodes.get(idx)
    }

    fn node_mut(&mut self, idx: u32) -> Option<&mut Node<K, V>> {
        self.nodes.get_mut(idx)
    }

    fn touch(&mut self, idx: u32) {
        if self.newest != idx {
            self.unlink(idx);
            self.link_newest(idx);
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (newer, older) = match self.node(idx) {
            Some(n) => (n.newer, n.older),
            None => return,
        };
        match self.node_mut(newer) {
            Some(n) => n.older = older,
            None => self.newest = older,
        }
        match self.node_mut(older) {
            Some(n) => n.newer = newer,
            None => self.oldest = newer,
        }
        if let Some(n) = self.node_mut(idx) {
            n.newer = NIL;
            n.older = NIL;
        }
    }

    fn link_newest(&mut self, idx: u32) {
        let old_newest = self.newest;
        if let Some(n) = self.node_mut(idx) {
            n.older = old_newest;
            n.newer = NIL;
        }
        match self.node_mut(old_newest) {
            Some(n) => n.newer = idx,
            None => self.oldest = idx,
        }
        self.newest = idx;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_find_only_the_entry_still_in_their_slot() {
        let mut lru: Lru<u32, &str> = Lru::new(2);
        lru.insert(1, "a");
        let at = lru.locate(&1).unwrap();
        lru.insert(2, "b");
        // The hinted entry becomes the most recent: 2 goes first.
        assert_eq!(lru.get_mut_hinted(at, &1).map(|v| *v), Some("a"));
        assert!(lru.get_mut_hinted(at, &2).is_none(), "another key's slot");
        lru.insert(3, "c");
        assert!(!lru.contains(&2));
        // 1 leaves; its slot is taken by 4: the old hint finds nothing.
        lru.remove(&1);
        lru.insert(4, "d");
        assert!(lru.get_mut_hinted(at, &1).is_none());
        assert_eq!(lru.get_mut_hinted(at, &4).map(|v| *v), Some("d"));
    }

    #[test]
    fn evicts_least_recently_used() {
        let mut t = Lru::new(2);
        assert!(t.insert(1, "a").is_none());
        assert!(t.insert(2, "b").is_none());
        // Touch 1 so that 2 becomes the oldest.
        assert_eq!(t.get_mut(&1).map(|v| *v), Some("a"));
        assert_eq!(t.insert(3, "c"), Some((2, "b")));
        assert!(t.contains(&1) && t.contains(&3) && !t.contains(&2));
        assert_eq!(t.len(), 2);
        assert_eq!(t.peek_oldest(), Some((&1, &"a")));
    }

    #[test]
    fn replace_does_not_evict() {
        let mut t = Lru::new(2);
        t.insert(1, 10);
        t.insert(2, 20);
        assert!(t.insert(1, 11).is_none());
        assert_eq!(t.peek(&1), Some(&11));
        // 2 is now the oldest.
        assert_eq!(t.pop_oldest(), Some((2, 20)));
        assert_eq!(t.pop_oldest(), Some((1, 11)));
        assert_eq!(t.pop_oldest(), None);
        assert!(t.peek_oldest().is_none());
    }

    #[test]
    fn remove_and_reuse_slots() {
        let mut t = Lru::new(3);
        for i in 0..3 {
            t.insert(i, i);
        }
        assert_eq!(t.remove(&1), Some(1));
        assert_eq!(t.remove(&1), None);
        t.insert(7, 7);
        assert_eq!(t.len(), 3);
        assert_eq!(t.nodes.len, 3, "the freed slot is reused");
        assert_eq!(t.pop_oldest(), Some((0, 0)));
        assert_eq!(t.pop_oldest(), Some((2, 2)));
        assert_eq!(t.pop_oldest(), Some((7, 7)));
        assert!(t.is_empty());
    }

    #[test]
    fn get_or_insert_touches_or_evicts() {
        let mut t = Lru::new(2);
        let (v, ev) = t.get_or_insert_with(1, || 10);
        assert_eq!((*v, ev), (10, None));
        t.insert(2, 20);
        // Present: no new value, 1 becomes the newest.
        let (v, ev) = t.get_or_insert_with(1, || 99);
        assert_eq!((*v, ev), (10, None));
        let (v, ev) = t.get_or_insert_with(3, || 30);
        assert_eq!((*v, ev), (30, Some((2, 20))));
    }

    #[test]
    fn stays_bounded_under_churn() {
        let mut t = Lru::new(100);
        let mut evicted = 0;
        for i in 0..10_000u32 {
            if t.insert(i, ()).is_some() {
                evicted += 1;
            }
            if i % 7 == 0 {
                t.remove(&(i / 2));
            }
        }
        assert!(t.len() <= 100);
        assert!(t.nodes.len <= 100);
        let slots: usize = t.nodes.chunks.iter().map(Vec::capacity).sum();
        assert_eq!(slots, 100, "no chunk is larger than the cap needs");
        assert!(evicted > 9_000);
        // The survivors are among the newest.
        assert!(t.contains(&9_999) && !t.contains(&9_000));
        // Every indexed key is reachable through the recency list.
        let mut n = 0;
        while t.pop_oldest().is_some() {
            n += 1;
        }
        assert!(n > 0 && t.is_empty() && t.index.is_empty());
    }

    #[test]
    fn settle_budget_charges_entries_and_sheds_the_oldest() {
        use crate::util::budget::{Budget, Charge, Pool};
        let per = Lru::<u32, u32>::entry_bytes();
        let budget = Budget::new(3 * per);
        let mut charge = Charge::new(budget.clone(), Pool::SeqSources);
        let mut t: Lru<u32, u32> = Lru::new(100);
        let mut shed = 0;
        for i in 0..5 {
            t.insert(i, i);
            shed += t.settle_budget(&mut charge);
        }
        assert_eq!((t.len(), shed), (3, 2));
        assert_eq!(budget.evictions(Pool::SeqSources), 2);
        assert_eq!(budget.pool_used(Pool::SeqSources), 3 * per);
        // The oldest went; the newest stays.
        assert!(!t.contains(&1) && t.contains(&4));
        while t.pop_oldest().is_some() {}
        t.settle_budget(&mut charge);
        assert_eq!(budget.used(), 0, "charge equals release once empty");
        // A budget smaller than one entry still keeps the newcomer.
        let tiny = Budget::new(1);
        let mut charge = Charge::new(tiny.clone(), Pool::SeqSources);
        t.insert(9, 9);
        t.settle_budget(&mut charge);
        assert!(t.contains(&9));
        drop(charge);
        assert_eq!(tiny.used(), 0);
    }

    #[test]
    fn get_or_insert_settled_charges_only_growth() {
        use crate::util::budget::{Budget, Charge, Pool};
        let per = Lru::<u32, u32>::entry_bytes();
        let budget = Budget::new(2 * per);
        let mut charge = Charge::new(budget.clone(), Pool::SeqSources);
        let mut t: Lru<u32, u32> = Lru::new(3);
        for i in 0..2 {
            let (v, evicted, shed) = t.get_or_insert_settled(i, || i * 10, &mut charge);
            assert_eq!((*v, evicted, shed), (i * 10, false, 0));
        }
        // Present: touched, not rebuilt, nothing charged.
        let (v, evicted, shed) = t.get_or_insert_settled(0, || 99, &mut charge);
        assert_eq!((*v, evicted, shed), (0, false, 0));
        // A third entry is over the budget: the oldest (1) is shed, the newcomer stays.
        let (v, evicted, shed) = t.get_or_insert_settled(2, || 20, &mut charge);
        assert_eq!((*v, evicted, shed), (20, false, 1));
        assert!(t.contains(&0) && !t.contains(&1) && t.contains(&2));
        assert_eq!(budget.pool_used(Pool::SeqSources), 2 * per);
        // At the cap, the insert evicts instead and nothing is settled.
        let mut t: Lru<u32, u32> = Lru::new(1);
        let mut free = Charge::new(Budget::unlimited(), Pool::SeqSources);
        t.get_or_insert_settled(1, || 1, &mut free);
        let (v, evicted, shed) = t.get_or_insert_settled(2, || 2, &mut free);
        assert_eq!((*v, evicted, shed), (2, true, 0));
    }

    /// Keys and values from the least recently used on, with their slots.
    fn contents(t: &Lru<u32, u64>) -> Vec<(u32, u64, u32)> {
        let mut out = Vec::new();
        let mut idx = t.oldest;
        while let Some(n) = t.node(idx) {
            out.push((n.key, n.value, idx));
            idx = n.newer;
        }
        out
    }

    #[test]
    fn replacing_the_oldest_is_popping_then_inserting() {
        // A small deterministic generator (no dependency): xorshift.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for cap in [1usize, 2, 3, 8, 40] {
            // `a` by pop then insert, `b` by the in-place operations.
            let mut a: Lru<u32, u64> = Lru::new(cap);
            let mut b: Lru<u32, u64> = Lru::new(cap);
            for step in 0..5_000u64 {
                let key = next(3 * cap as u64 + 2) as u32;
                match next(5) {
                    0 => assert_eq!(a.remove(&key), b.remove(&key)),
                    1 => {
                        let (va, vb) = (a.get_mut(&key).copied(), b.get_mut(&key).copied());
                        assert_eq!(va, vb);
                    }
                    2 if !a.contains(&key) => {
                        // A newcomer in the oldest's place, full or not.
                        let popped = a.pop_oldest();
                        a.insert(key, step);
                        let Err(absent) = b.probe(&key) else {
                            panic!("absent from a, present in b")
                        };
                        let (at, replaced) = b.replace_oldest(absent, key, step);
                        assert_eq!(popped, replaced);
                        assert_eq!(b.get_mut_at(at).copied(), Some(step));
                    }
                    _ => {
                        let ea = a.insert(key, step);
                        let eb = match b.probe(&key) {
                            Ok(at) => {
                                *b.get_mut_at(at).expect("located") = step;
                                None
                            }
                            Err(absent) if step % 2 == 0 => b.insert_absent(absent, key, step).1,
                            Err(absent) => b.insert_absent_with(absent, key, || step).1,
                        };
                        assert_eq!(ea, eb, "cap {cap} step {step}");
                    }
                }
                assert_eq!(contents(&a), contents(&b), "cap {cap} step {step}");
                assert_eq!((a.len(), a.free.len()), (b.len(), b.free.len()));
                assert!(b.len() <= cap && b.nodes.len <= cap);
            }
            for (k, _, _) in contents(&b) {
                assert!(b.contains(&k), "every listed entry is indexed");
            }
        }
    }

    #[test]
    fn fitting_the_index_changes_nothing_visible() {
        let mut next = crate::util::test_rng::xorshift(0x05EE_DF17);
        let mut below = move |n: u64| next() % n;
        // `a` never fits its index, `b` fits it after every step.
        let mut a: Lru<u32, u64> = Lru::new(5_000);
        let mut b: Lru<u32, u64> = Lru::new(5_000);
        for step in 0..20_000u64 {
            // Phases of growth, then of shrinking far below the peak.
            let shrinking = (step / 2_500) % 2 == 1;
            let key = below(8_000) as u32;
            if shrinking && below(4) != 0 {
                assert_eq!(a.pop_oldest(), b.pop_oldest());
            } else {
                assert_eq!(a.insert(key, step), b.insert(key, step));
            }
            b.fit_index();
            assert_eq!(contents(&a), contents(&b), "step {step}");
            assert!(b.index.capacity() / SPARSE <= b.len().max(FIT_FLOOR));
            let probe = below(8_000) as u32;
            assert_eq!(a.peek(&probe), b.peek(&probe));
        }
    }

    #[test]
    fn settling_a_squeezed_table_fits_its_index() {
        use crate::util::budget::{Budget, Charge, Pool};
        let per = Lru::<u32, u32>::entry_bytes();
        let budget = Budget::new(10_000 * per);
        let mut charge = Charge::new(budget.clone(), Pool::P0fHosts);
        let mut t: Lru<u32, u32> = Lru::new(100_000);
        for i in 0..10_000 {
            t.insert(i, i);
            t.settle_budget(&mut charge);
        }
        let peak = t.index.capacity();
        assert!(peak >= 10_000);
        // Another pool takes the budget: this one sheds to its newest entry.
        budget.charge(Pool::Flows, 10_000 * per);
        t.insert(10_000, 10_000);
        assert_eq!(t.settle_budget(&mut charge), 10_000);
        assert_eq!(t.len(), 1);
        assert!(
            t.index.capacity() < FIT_FLOOR,
            "{} of {peak}",
            t.index.capacity()
        );
        assert_eq!(t.peek(&10_000), Some(&10_000));
        // It grows again as before.
        budget.release(Pool::Flows, 10_000 * per);
        for i in 0..1_000 {
            t.insert(20_000 + i, i);
            t.settle_budget(&mut charge);
        }
        assert_eq!(t.len(), 1_001);
        assert!((0..1_000).all(|i| t.contains(&(20_000 + i))));
    }

    #[test]
    fn replace_oldest_into_an_empty_table_inserts() {
        let mut t: Lru<u32, u64> = Lru::new(4);
        let Err(absent) = t.probe(&7) else {
            panic!("empty table")
        };
        let (_, replaced) = t.replace_oldest(absent, 7, 70);
        assert!(replaced.is_none());
        assert_eq!(t.peek(&7), Some(&70));
        assert_eq!(t.len(), 1);
    }
}
