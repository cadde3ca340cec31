//! Counters the engine keeps for the summary and metrics. The engine is
//! single-threaded, so plain integers; hot counters are fields, the rest
//! are one slot per [`Counter`].

use crate::decode::DecodeError;
use crate::event::EventKind;
pub use crate::util::counter::{Counter, CounterKey};

#[derive(Debug, Clone)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    /// By [`DecodeError::index`].
    pub decode_errors: [u64; DecodeError::COUNT],
    /// Events produced by the engine, before dedup, by [`EventKind::index`].
    pub events: [u64; EventKind::ALL.len()],
    pub flows_created: u64,
    /// Rare counters (evictions, parse errors, overlaps, ...), by [`Counter::index`].
    counters: [u64; Counter::COUNT],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            packets: 0,
            bytes: 0,
            decode_errors: [0; DecodeError::COUNT],
            events: [0; EventKind::ALL.len()],
            flows_created: 0,
            counters: [0; Counter::COUNT],
        }
    }
}

impl Stats {
    pub fn bump(&mut self, counter: Counter) {
        self.add(counter, 1);
    }

    pub fn add(&mut self, counter: Counter, n: u64) {
        self.counters[counter.index()] += n;
    }

    /// A counter's value, by variant or by name (see [`CounterKey`]).
    pub fn get(&self, counter: impl CounterKey) -> u64 {
        self.counters[counter.counter().index()]
    }

    /// The counters that moved, by name in [`Counter::ALL`] order.
    pub fn counters(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Counter::ALL
            .into_iter()
            .zip(self.counters)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.name(), n))
    }

    /// Adds another engine's counters (the shards of a sharded engine).
    pub fn merge(&mut self, other: &Stats) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        for (a, b) in self.decode_errors.iter_mut().zip(other.decode_errors) {
            *a += b;
        }
        for (a, b) in self.events.iter_mut().zip(other.events) {
            *a += b;
        }
        self.flows_created += other.flows_created;
        for (a, b) in self.counters.iter_mut().zip(other.counters) {
            *a += b;
        }
    }

    pub fn decode_error(&mut self, e: DecodeError) {
        self.decode_errors[e.index()] += 1;
    }
}
