//! The one front the commands drive: [`PacketEngine`], implemented by the
//! single [`Engine`] on the calling thread and by the [`ShardedEngine`]
//! over worker threads (`--workers`).

use super::sharded::ShardedEngine;
use crate::capture::RawPacket;
use crate::deckies::DeckyMap;
use crate::engine::{Counter, Engine, FingerprintTally, Limits, Stats};
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::output::formatted::Formatter;
use crate::output::EventSink;
use crate::util::budget::PoolStats;
use crate::util::time::Timestamp;

/// Frames in, events out, in capture order and driven by packet time only.
pub trait PacketEngine {
    /// Processes one captured frame; events may come out later (workers).
    fn process(&mut self, raw: &RawPacket<'_>, out: &mut dyn EventSink);

    /// Hands over what is finished without waiting (the daemon calls this
    /// after each capture batch). Nothing to do where events come out at
    /// once.
    fn flush(&mut self, _out: &mut dyn EventSink) {}

    /// Hands over every event of the frames processed so far, waiting for
    /// them if need be (the daemon does this once a second, so events never
    /// wait long on a slow link).
    fn sync(&mut self, _out: &mut dyn EventSink) {}

    /// Reports flows idle at `now` (a silent link).
    fn advance_time(&mut self, now: Timestamp, out: &mut dyn EventSink);

    /// Ends every open flow (end of input, shutdown).
    fn finish(&mut self, out: &mut dyn EventSink);

    /// Names the capture interface (`run`), reported as `on_iface`.
    fn set_interface(&mut self, name: &str);

    /// Replaces the decky map from the next frame on; the `--decap` mode
    /// stays.
    fn set_deckies(&mut self, deckies: DeckyMap);

    /// Adds `n` to a named counter kept outside the engine (the capture
    /// file's skipped packets), for the summary and metrics.
    fn count(&mut self, counter: Counter, n: u64);

    /// Counters; with workers, as of the last events handed over.
    fn stats(&self) -> &Stats;

    /// Bytes used and evictions per memory pool (`--memcap`).
    fn memory_stats(&self) -> Vec<PoolStats>;

    /// Table sizes and evictions.
    fn table_stats(&self) -> Vec<(&'static str, usize, u64)>;

    /// Flows open.
    fn flow_count(&self) -> usize;

    /// Headline fingerprints per decky, with `tally_fingerprints` set; with
    /// workers, complete once [`Self::finish`] has run.
    fn fingerprint_tally(&self) -> Option<&FingerprintTally>;
}

/// One engine for `workers` ≤ 1, else that many shards formatting their
/// events with `formatter`.
pub fn start(
    limits: Limits,
    deckies: DeckyMap,
    p0f_db: &'static P0fDatabase,
    workers: usize,
    formatter: Formatter,
) -> std::io::Result<Box<dyn PacketEngine>> {
    if workers <= 1 {
        let mut engine = Engine::new(limits, deckies);
        engine.set_p0f_db(p0f_db);
        return Ok(Box::new(engine));
    }
    let sharded = ShardedEngine::new(limits, deckies, p0f_db, workers, formatter)?;
    Ok(Box::new(sharded))
}

impl PacketEngine for Engine {
    fn process(&mut self, raw: &RawPacket<'_>, out: &mut dyn EventSink) {
        Engine::process(self, raw, &mut |ev| out.event(ev));
    }

    fn advance_time(&mut self, now: Timestamp, out: &mut dyn EventSink) {
        Engine::advance_time(self, now, &mut |ev| out.event(ev));
    }

    fn finish(&mut self, out: &mut dyn EventSink) {
        Engine::finish(self, &mut |ev| out.event(ev));
    }

    fn set_interface(&mut self, name: &str) {
        Engine::set_interface(self, name);
    }

    fn set_deckies(&mut self, deckies: DeckyMap) {
        Engine::set_deckies(self, deckies);
    }

    fn count(&mut self, counter: Counter, n: u64) {
        Engine::count(self, counter, n);
    }

    fn stats(&self) -> &Stats {
        Engine::stats(self)
    }

    fn memory_stats(&self) -> Vec<PoolStats> {
        Engine::memory_stats(self)
    }

    fn table_stats(&self) -> Vec<(&'static str, usize, u64)> {
        Engine::table_stats(self)
    }

    fn flow_count(&self) -> usize {
        Engine::flow_count(self)
    }

    fn fingerprint_tally(&self) -> Option<&FingerprintTally> {
        Engine::fingerprint_tally(self)
    }
}

impl PacketEngine for ShardedEngine {
    fn process(&mut self, raw: &RawPacket<'_>, out: &mut dyn EventSink) {
        ShardedEngine::process(self, raw, &mut |c| out.chunk(c));
    }

    fn flush(&mut self, out: &mut dyn EventSink) {
        ShardedEngine::flush(self, &mut |c| out.chunk(c));
    }

    fn sync(&mut self, out: &mut dyn EventSink) {
        ShardedEngine::sync(self, &mut |c| out.chunk(c));
    }

    fn advance_time(&mut self, now: Timestamp, out: &mut dyn EventSink) {
        ShardedEngine::advance_time(self, now, &mut |c| out.chunk(c));
    }

    fn finish(&mut self, out: &mut dyn EventSink) {
        ShardedEngine::finish(self, &mut |c| out.chunk(c));
    }

    fn set_interface(&mut self, name: &str) {
        ShardedEngine::set_interface(self, name);
    }

    fn set_deckies(&mut self, deckies: DeckyMap) {
        ShardedEngine::set_deckies(self, deckies);
    }

    fn count(&mut self, counter: Counter, n: u64) {
        ShardedEngine::count(self, counter, n);
    }

    fn stats(&self) -> &Stats {
        ShardedEngine::stats(self)
    }

    fn memory_stats(&self) -> Vec<PoolStats> {
        ShardedEngine::memory_stats(self)
    }

    fn table_stats(&self) -> Vec<(&'static str, usize, u64)> {
        ShardedEngine::table_stats(self)
    }

    fn flow_count(&self) -> usize {
        ShardedEngine::flow_count(self)
    }

    fn fingerprint_tally(&self) -> Option<&FingerprintTally> {
        ShardedEngine::fingerprint_tally(self)
    }
}
