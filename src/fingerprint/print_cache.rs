//! A small fixed-size cache of rendered fingerprints, keyed by the exact
//! bytes they are computed from.
//!
//! The same clients and servers come back again and again (a scanner's
//! hello, a decky's certificate): their fingerprints are hashed and
//! formatted once and the text is copied after that. Four-way set
//! associative, least recently used first out; a key is compared in full,
//! so a hash collision only costs a recomputation. The size is fixed when
//! it is made (sets, ways and the longest key kept), so it never grows
//! with traffic: a key longer than the limit is simply not cached. The
//! values are never different from a fresh computation: only speed
//! depends on what is cached.

/// Entries per set.
const WAYS: usize = 4;

/// One cached value and the key it was computed from.
#[derive(Debug, Default)]
struct Entry<V> {
    hash: u64,
    key: Vec<u8>,
    /// When it was last used (the cache's lookup count).
    used: u64,
    value: V,
}

/// See the module documentation.
#[derive(Debug)]
pub struct PrintCache<V> {
    /// `WAYS` per set, a set's side by side; boxed when first filled, so
    /// an unused cache is a few KiB.
    entries: Vec<Option<Box<Entry<V>>>>,
    sets: usize,
    max_key: usize,
    lookups: u64,
    hasher: ahash::RandomState,
}

impl<V: Default> PrintCache<V> {
    /// A cache of `WAYS * sets` values whose keys are at most `max_key`
    /// bytes. `sets` is rounded up to a power of two.
    pub fn new(sets: usize, max_key: usize) -> Self {
        let sets = sets.max(1).next_power_of_two();
        PrintCache {
            entries: Vec::new(),
            sets,
            max_key,
            lookups: 0,
            // Fixed seeds: the cache decides nothing but speed, and fixed
            // seeds keep runs comparable.
            hasher: ahash::RandomState::with_seeds(
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            ),
        }
    }

    /// The value for `key`: the cached one, or the one `fill` writes into
    /// a reused value (which `fill` clears). `fill` returns false when
    /// there is nothing to keep (the input did not parse); then nothing is
    /// cached and `None` is returned, as for a key longer than the limit,
    /// which the caller computes without the cache.
    pub fn get_or_fill(&mut self, key: &[u8], fill: impl FnOnce(&mut V) -> bool) -> Option<&V> {
        if key.len() > self.max_key {
            return None;
        }
        if self.entries.is_empty() {
            self.entries.resize_with(WAYS * self.sets, || None);
        }
        self.lookups += 1;
        let hash = self.hasher.hash_one(key);
        let set = (hash as usize) & (self.sets - 1);
        let ways = &mut self.entries[WAYS * set..WAYS * (set + 1)];
        let hit = ways
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.hash == hash && e.key == key));
        let way = match hit {
            Some(w) => w,
            None => {
                // An empty way, else the least recently used.
                let w = (0..WAYS)
                    .min_by_key(|&w| ways[w].as_ref().map_or(0, |e| e.used))
                    .unwrap_or(0);
                let mut e = ways[w].take().unwrap_or_default();
                if !fill(&mut e.value) {
                    // The reused value may hold half a computation.
                    return None;
                }
                e.hash = hash;
                e.key.clear();
                e.key.extend_from_slice(key);
                ways[w] = Some(e);
                w
            }
        };
        let e = ways[way].as_deref_mut()?;
        e.used = self.lookups;
        Some(&e.value)
    }
}

/// A [`PrintCache`] with the two buffers its users need beside it: the
/// key being written and the value of an input whose key is too long to
/// cache.
#[derive(Debug)]
pub struct PrintMemo<V> {
    cache: PrintCache<V>,
    key: Vec<u8>,
    uncached: V,
}

impl<V: Default> PrintMemo<V> {
    /// See [`PrintCache::new`].
    pub fn new(sets: usize, max_key: usize) -> Self {
        PrintMemo {
            cache: PrintCache::new(sets, max_key),
            key: Vec::new(),
            uncached: V::default(),
        }
    }

    /// The value of one input: `write_key` appends its key (every byte
    /// `fill` reads of the input), `fill` computes the value into a reused
    /// one when it is not cached.
    pub fn get(&mut self, write_key: impl FnOnce(&mut Vec<u8>), fill: impl Fn(&mut V)) -> &V {
        self.key.clear();
        write_key(&mut self.key);
        let PrintMemo {
            cache,
            key,
            uncached,
        } = self;
        let cached = |v: &mut V| {
            fill(v);
            true
        };
        if let Some(v) = cache.get_or_fill(key, cached) {
            return v;
        }
        fill(uncached);
        uncached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_replaces_the_least_recently_used_and_skips_long_keys() {
        let mut c: PrintCache<Vec<u8>> = PrintCache::new(1, 8);
        let fills = std::cell::Cell::new(0);
        let get = |c: &mut PrintCache<Vec<u8>>, k: &[u8]| {
            c.get_or_fill(k, |v| {
                fills.set(fills.get() + 1);
                v.clear();
                v.extend_from_slice(k);
                v.push(b'!');
                true
            })
            .cloned()
        };
        for k in [b"a", b"b", b"c", b"d", b"a"] {
            assert_eq!(get(&mut c, k), Some([k[0], b'!'].to_vec()));
        }
        // One set of four ways: "e" replaces "b", the least recently used.
        assert_eq!(get(&mut c, b"e").as_deref(), Some(&b"e!"[..]));
        for k in [b"a", b"c", b"d", b"e", b"b"] {
            assert_eq!(get(&mut c, k), Some([k[0], b'!'].to_vec()));
        }
        assert_eq!(get(&mut c, b"123456789"), None);
        assert_eq!(fills.get(), 6, "a b c d e and b again computed");
    }

    #[test]
    fn a_failed_fill_keeps_nothing() {
        let mut c: PrintCache<u32> = PrintCache::new(4, 8);
        assert_eq!(c.get_or_fill(b"k", |_| false), None);
        assert_eq!(
            c.get_or_fill(b"k", |v| {
                *v = 7;
                true
            }),
            Some(&7)
        );
        assert_eq!(c.get_or_fill(b"k", |_| unreachable!()), Some(&7));
    }
}
