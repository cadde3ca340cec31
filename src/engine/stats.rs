//! Counters the engine keeps for the summary and metrics. The engine is
//! single-threaded, so plain integers; hot counters are fields, rare ones
//! live in a small ordered map keyed by static names.

use std::collections::BTreeMap;

use crate::decode::DecodeError;
use crate::event::EventKind;

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    pub decode_errors: [u64; DecodeError::KINDS.len()],
    /// Events produced by the engine, before dedup, by [`EventKind::index`].
    pub events: [u64; EventKind::ALL.len()],
    pub flows_created: u64,
    /// Rare counters: evictions, parse errors, overlaps, ...
    pub counters: BTreeMap<&'static str, u64>,
}

impl Stats {
    pub fn bump(&mut self, name: &'static str) {
        self.add(name, 1);
    }

    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.counters.entry(name).or_insert(0) += n;
    }

    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Adds another engine's counters (the shards behind a router).
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
        for (name, n) in &other.counters {
            self.add(name, *n);
        }
    }

    pub fn decode_error(&mut self, e: DecodeError) {
        self.decode_errors[e.index()] += 1;
    }
}
