//! A bounded map that evicts its least recently used entry when full.
//!
//! Entries live in a slab (`Vec`) linked into a recency list by index, so
//! lookups, touches, inserts and evictions are O(1) and the slab never grows
//! past the cap. The hash map is only ever probed, never iterated, so its
//! random seed cannot leak into output order.

use std::hash::Hash;

use ahash::RandomState;
use hashbrown::HashMap;

const NIL: u32 = u32::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    /// Towards the most recently used end.
    newer: u32,
    /// Towards the least recently used end.
    older: u32,
}

pub struct Lru<K, V> {
    map: HashMap<K, u32, RandomState>,
    nodes: Vec<Option<Node<K, V>>>,
    free: Vec<u32>,
    /// Most recently used.
    newest: u32,
    /// Least recently used: the next to go.
    oldest: u32,
    cap: usize,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// A table holding at most `cap` entries (at least one; at most `u32::MAX - 1`).
    pub fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, (NIL - 1) as usize);
        Lru {
            map: HashMap::with_hasher(RandomState::new()),
            nodes: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// The entry, without changing its recency.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let idx = *self.map.get(key)?;
        self.node(idx).map(|n| &n.value)
    }

    /// The entry, marked most recently used.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let idx = *self.map.get(key)?;
        self.touch(idx);
        self.node_mut(idx).map(|n| &mut n.value)
    }

    /// Inserts or replaces `key`, marking it most recently used. Returns the
    /// entry evicted to make room, if the table was full.
    pub fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        if let Some(&idx) = self.map.get(&key) {
            if let Some(node) = self.node_mut(idx) {
                node.value = value;
            }
            self.touch(idx);
            return None;
        }
        let evicted = if self.map.len() >= self.cap {
            self.pop_oldest()
        } else {
            None
        };
        let node = Node {
            key: key.clone(),
            value,
            newer: NIL,
            older: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                if let Some(slot) = self.nodes.get_mut(idx as usize) {
                    *slot = Some(node);
                }
                idx
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        self.link_newest(idx);
        self.map.insert(key, idx);
        evicted
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let idx = self.map.remove(key)?;
        self.unlink(idx);
        let node = self.nodes.get_mut(idx as usize)?.take()?;
        self.free.push(idx);
        Some(node.value)
    }

    /// Removes and returns the least recently used entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let idx = self.oldest;
        if idx == NIL {
            return None;
        }
        self.unlink(idx);
        let node = self.nodes.get_mut(idx as usize)?.take()?;
        self.map.remove(&node.key);
        self.free.push(idx);
        Some((node.key, node.value))
    }

    fn node(&self, idx: u32) -> Option<&Node<K, V>> {
        self.nodes.get(idx as usize)?.as_ref()
    }

    fn node_mut(&mut self, idx: u32) -> Option<&mut Node<K, V>> {
        self.nodes.get_mut(idx as usize)?.as_mut()
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
    fn evicts_least_recently_used() {
        let mut t = Lru::new(2);
        assert!(t.insert(1, "a").is_none());
        assert!(t.insert(2, "b").is_none());
        // Touch 1 so that 2 becomes the oldest.
        assert_eq!(t.get_mut(&1).map(|v| *v), Some("a"));
        assert_eq!(t.insert(3, "c"), Some((2, "b")));
        assert!(t.contains(&1) && t.contains(&3) && !t.contains(&2));
        assert_eq!(t.len(), 2);
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
        assert_eq!(t.nodes.len(), 3, "the freed slot is reused");
        assert_eq!(t.pop_oldest(), Some((0, 0)));
        assert_eq!(t.pop_oldest(), Some((2, 2)));
        assert_eq!(t.pop_oldest(), Some((7, 7)));
        assert!(t.is_empty());
    }

    #[test]
    fn stays_bounded_under_churn() {
        let mut t = Lru::new(100);
        let mut evicted = 0;
        for i in 0..10_000u32 {
            if t.insert(i, ()).is_some() {
                evicted += 1;
            }
        }
        assert_eq!(t.len(), 100);
        assert_eq!(evicted, 9_900);
        assert!(t.nodes.len() <= 100);
        // The survivors are the newest 100.
        assert!(t.contains(&9_999) && t.contains(&9_900) && !t.contains(&9_899));
    }
}
