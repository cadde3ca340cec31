//! Dedup on packet time (SPEC 4.3): an event is dropped when the same
//! (`src_ip`, event type, key fields) was emitted less than the TTL ago.
//! The window starts at the first emission and repeats do not extend it.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash, Hasher};

use ahash::RandomState;
use hashbrown::HashMap;

use crate::event::Event;
use crate::util::time::Timestamp;

pub struct Dedup {
    ttl_us: i64,
    cap: usize,
    /// Key hash to first-emission time.
    seen: HashMap<u64, Timestamp>,
    /// Keys in emission order, for expiry and eviction.
    order: VecDeque<(u64, Timestamp)>,
    hasher: RandomState,
    pub evictions: u64,
}

impl Dedup {
    /// `ttl_secs` 0 disables dedup.
    pub fn new(ttl_secs: u64, cap: usize) -> Self {
        Dedup {
            ttl_us: i64::try_from(ttl_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            cap: cap.max(1),
            seen: HashMap::new(),
            order: VecDeque::new(),
            hasher: RandomState::new(),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// True if `ev` should be written; records it if so.
    pub fn admit(&mut self, ev: &Event) -> bool {
        if self.ttl_us == 0 {
            return true;
        }
        self.expire(ev.ts);
        let key = self.key(ev);
        if let Some(first) = self.seen.get(&key) {
            if ev.ts.micros_since(*first) < self.ttl_us {
                return false;
            }
        }
        while self.seen.len() >= self.cap {
            let Some((old, ts)) = self.order.pop_front() else {
                break;
            };
            if self.seen.get(&old) == Some(&ts) {
                self.seen.remove(&old);
                self.evictions += 1;
            }
        }
        self.seen.insert(key, ev.ts);
        self.order.push_back((key, ev.ts));
        true
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(key, ts)) = self.order.front() {
            if now.micros_since(ts) < self.ttl_us {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&key) == Some(&ts) {
                self.seen.remove(&key);
            }
        }
    }

    fn key(&self, ev: &Event) -> u64 {
        let mut h = self.hasher.build_hasher();
        ev.src_ip().hash(&mut h);
        ev.kind.hash(&mut h);
        for name in ev.kind.dedup_fields() {
            ev.get(name).unwrap_or(b"").hash(&mut h);
        }
        h.finish()
    }
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
    fn zero_ttl_disables() {
        let mut d = Dedup::new(0, 10);
        assert!(d.admit(&ev(0, "a")));
        assert!(d.admit(&ev(0, "a")));
    }
}
