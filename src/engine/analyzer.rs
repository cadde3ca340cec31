//! The engine as the commands drive it: one [`Engine`] on the calling
//! thread, or a [`ShardedEngine`] over worker threads (`--workers`).

use super::{Counter, DeckyMap, Engine, FingerprintTally, Limits, ShardedEngine, Stats};
use crate::capture::RawPacket;
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::output::formatted::Formatter;
use crate::output::EventSink;
use crate::util::time::Timestamp;

pub enum Analyzer {
    Single(Box<Engine>),
    Sharded(Box<ShardedEngine>),
}

impl Analyzer {
    /// One engine for `workers` ≤ 1, else that many shards formatting
    /// their events with `formatter`.
    pub fn new(
        limits: Limits,
        deckies: DeckyMap,
        p0f_db: &'static P0fDatabase,
        workers: usize,
        formatter: Formatter,
    ) -> std::io::Result<Self> {
        if workers <= 1 {
            let mut engine = Engine::new(limits, deckies);
            engine.set_p0f_db(p0f_db);
            return Ok(Analyzer::Single(Box::new(engine)));
        }
        let sharded = ShardedEngine::new(limits, deckies, p0f_db, workers, formatter)?;
        Ok(Analyzer::Sharded(Box::new(sharded)))
    }

    pub fn process(&mut self, raw: &RawPacket<'_>, out: &mut impl EventSink) {
        match self {
            Analyzer::Single(e) => e.process(raw, &mut |ev| out.event(ev)),
            Analyzer::Sharded(e) => e.process(raw, &mut |c| out.chunk(c)),
        }
    }

    /// Hands over what the shards have finished (nothing to do for one
    /// engine, whose events are handed over at once).
    pub fn flush(&mut self, out: &mut impl EventSink) {
        if let Analyzer::Sharded(e) = self {
            e.flush(&mut |c| out.chunk(c));
        }
    }

    /// Hands over every event of the frames processed so far, waiting for
    /// the shards (the daemon does this once a second, so events never
    /// wait long on a slow link).
    pub fn sync(&mut self, out: &mut impl EventSink) {
        if let Analyzer::Sharded(e) = self {
            e.sync(&mut |c| out.chunk(c));
        }
    }

    /// Reports flows idle at `now`.
    pub fn advance_time(&mut self, now: Timestamp, out: &mut impl EventSink) {
        match self {
            Analyzer::Single(e) => e.advance_time(now, &mut |ev| out.event(ev)),
            Analyzer::Sharded(e) => e.advance_time(now, &mut |c| out.chunk(c)),
        }
    }

    /// Ends every open flow.
    pub fn finish(&mut self, out: &mut impl EventSink) {
        match self {
            Analyzer::Single(e) => e.finish(&mut |ev| out.event(ev)),
            Analyzer::Sharded(e) => e.finish(&mut |c| out.chunk(c)),
        }
    }

    /// Names the capture interface (`run`), reported as `on_iface`.
    pub fn set_interface(&mut self, name: &str) {
        match self {
            Analyzer::Single(e) => e.set_interface(name),
            Analyzer::Sharded(e) => e.set_interface(name),
        }
    }

    /// Headline fingerprints per decky, with `tally_fingerprints` set; with
    /// workers, complete once [`Self::finish`] has run.
    pub fn fingerprint_tally(&self) -> Option<&FingerprintTally> {
        match self {
            Analyzer::Single(e) => e.fingerprint_tally(),
            Analyzer::Sharded(e) => e.fingerprint_tally(),
        }
    }

    pub fn set_deckies(&mut self, deckies: DeckyMap) {
        match self {
            Analyzer::Single(e) => e.set_deckies(deckies),
            Analyzer::Sharded(e) => e.set_deckies(deckies),
        }
    }

    /// Counters; with shards, as of the last chunk handed over.
    /// Adds `n` to a named counter kept outside the engine (the capture
    /// file's skipped packets), for the summary and metrics.
    pub fn count(&mut self, counter: Counter, n: u64) {
        match self {
            Analyzer::Single(e) => e.count(counter, n),
            Analyzer::Sharded(e) => e.count(counter, n),
        }
    }

    pub fn stats(&self) -> &Stats {
        match self {
            Analyzer::Single(e) => e.stats(),
            Analyzer::Sharded(e) => e.stats(),
        }
    }

    /// Bytes used and evictions per memory pool (`--memcap`).
    pub fn memory_stats(&self) -> Vec<crate::util::budget::PoolStats> {
        match self {
            Analyzer::Single(e) => e.memory_stats(),
            Analyzer::Sharded(e) => e.memory_stats(),
        }
    }

    pub fn table_stats(&self) -> Vec<(&'static str, usize, u64)> {
        match self {
            Analyzer::Single(e) => e.table_stats(),
            Analyzer::Sharded(e) => e.table_stats(),
        }
    }

    pub fn flow_count(&self) -> usize {
        match self {
            Analyzer::Single(e) => e.flow_count(),
            Analyzer::Sharded(e) => e.flow_count(),
        }
    }
}
