//! The engine spread over worker threads, one shard of the hosts each.
//!
//! A router on the caller's thread decodes every frame once, keeps the
//! link-local leak tables (they span all hosts), and sends the decoded
//! packet to the shard of its *remote host*: the side that is not a decky, or both
//! sides together when that is ambiguous (observe-all mode, decky to
//! decky). So a connection, and everything one attacker does to the
//! deckies, stays on one shard. IP-ID/ISN samples, which follow a source
//! across all its connections, are taken by the router.
//!
//! Frames travel in chunks. Each shard also gets the time of every frame
//! in the chunk, so its idle flows expire at the same packet as in a single
//! engine. It formats its events (line, record, dedup key: the costly part
//! of the output) and tags each with the frame it came from. Merging the
//! shards' lists by that tag gives the order one engine would have
//! produced, and the output thread only dedups and writes: deterministic for any number of workers, and the same as the
//! single engine except where tables overflow (each shard holds its share
//! of the caps) and for the order of the flows still open at exit. (The
//! QUIC decryption budget per source is per shard, so a source that is
//! split over shards, in observe-all mode, may get up to one per shard.)

mod batch;
mod merge;
mod router;
mod worker;

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use batch::PacketBatch;
use merge::merge_order;
use router::Router;
use worker::{Done, Job, Snapshot};

use crate::capture::RawPacket;
use crate::deckies::DeckyMap;
use crate::engine::{Counter, Engine, FingerprintTally, Limits, Stats};
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::output::formatted::{FormattedBatch, Formatter, MergedChunk};
use crate::util::budget::{add_pool_stats, Budget, PoolStats};
use crate::util::time::Timestamp;

/// Frames per chunk: one channel operation per shard per chunk.
const CHUNK_PACKETS: usize = 512;
/// Bytes per chunk, so chunks of large frames stay small.
const CHUNK_BYTES: usize = 4 << 20;
/// Chunks a shard may be behind the router before the router waits: bounds
/// the memory between threads to about this many chunks.
const PIPELINE: usize = 4;
/// More workers than this buys nothing and costs a thread each.
pub const MAX_WORKERS: usize = 64;

pub struct ShardedEngine {
    router: Router,
    shards: Vec<Shard>,
    chunk: Chunk,
    /// Chunks sent and not merged yet, with the router's own events.
    in_flight: VecDeque<FormattedBatch>,
    /// Router and shards added up, as of the last chunk merged.
    stats: Stats,
    tables: Vec<(&'static str, usize, u64)>,
    open_flows: usize,
    /// The shards' fingerprint tallies, merged at the end.
    tally: Option<FingerprintTally>,
    tally_cap: usize,
    /// Each shard's share of `--memcap` (readable from here: atomics).
    budgets: Vec<Budget>,
}

struct Shard {
    jobs: SyncSender<Job>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<Engine>>,
    /// Emptied batches back from the worker, for reuse.
    spare: Vec<PacketBatch>,
    /// Its counters as of the last chunk merged.
    snapshot: Snapshot,
}

/// The chunk being filled.
pub(crate) struct Chunk {
    times: Vec<Timestamp>,
    batches: Vec<PacketBatch>,
    leak_events: FormattedBatch,
    bytes: usize,
}

impl ShardedEngine {
    /// Starts `workers` shard threads (1 to [`MAX_WORKERS`]); each holds
    /// its share of the table caps, so the whole stays within `limits`,
    /// and formats its events with `formatter`.
    pub fn new(
        limits: Limits,
        deckies: DeckyMap,
        p0f_db: &'static P0fDatabase,
        workers: usize,
        formatter: Formatter,
    ) -> std::io::Result<Self> {
        let n = workers.clamp(1, MAX_WORKERS);
        let per_shard = Limits {
            flows: limits.flows.div_ceil(n),
            pending_handshakes: limits.pending_handshakes.div_ceil(n),
            ..limits.clone()
        };
        let mut shards = Vec::with_capacity(n);
        let whole = Budget::new(crate::util::budget::traffic_share(limits.memcap));
        // The router's tables (fragments, link-local, DHCP, sequence
        // samples) draw on an eighth; the shards split the rest.
        let router_budget = whole.share(8);
        let for_shards = if whole.cap() == usize::MAX {
            Budget::unlimited()
        } else {
            Budget::new(whole.cap() - router_budget.cap())
        };
        let budgets: Vec<Budget> = (0..n).map(|_| for_shards.share(n)).collect();
        for (i, budget) in budgets.iter().enumerate() {
            let engine =
                Engine::for_shard(per_shard.clone(), deckies.clone(), p0f_db, budget.clone());
            let formatter = formatter.clone();
            let (jobs, job_rx) = sync_channel(PIPELINE + 1);
            let (done_tx, done) = sync_channel(PIPELINE + 1);
            let thread = std::thread::Builder::new()
                .name(format!("shard-{i}"))
                .spawn(move || worker::run(engine, formatter, job_rx, done_tx))?;
            shards.push(Shard {
                jobs,
                done,
                thread: Some(thread),
                spare: Vec::new(),
                snapshot: Snapshot::default(),
            });
        }
        let tally_cap = limits.tally_fingerprints;
        Ok(ShardedEngine {
            router: Router::new(limits, deckies, p0f_db, formatter, router_budget),
            chunk: Chunk {
                times: Vec::with_capacity(CHUNK_PACKETS),
                batches: (0..n).map(|_| PacketBatch::default()).collect(),
                leak_events: FormattedBatch::default(),
                bytes: 0,
            },
            shards,
            in_flight: VecDeque::new(),
            stats: Stats::default(),
            tables: Vec::new(),
            open_flows: 0,
            tally: None,
            tally_cap,
            budgets,
        })
    }

    pub fn workers(&self) -> usize {
        self.shards.len()
    }

    /// Routes one frame. Events come out later, formatted and in order,
    /// as the shards finish their chunks.
    pub fn process(&mut self, raw: &RawPacket<'_>, sink: &mut impl FnMut(MergedChunk)) {
        let chunk = &mut self.chunk;
        let index = chunk.times.len() as u32;
        chunk.times.push(raw.ts);
        self.router.route_frame(raw, index, chunk);
        if chunk.times.len() >= CHUNK_PACKETS || chunk.bytes >= CHUNK_BYTES {
            self.send_chunk();
            self.merge_ready(PIPELINE, sink);
        }
    }

    /// Ends every open flow, waits for the shards and adds up their
    /// statistics.
    pub fn finish(&mut self, sink: &mut impl FnMut(MergedChunk)) {
        self.send_chunk();
        self.merge_ready(0, sink);
        for i in 0..self.shards.len() {
            if self.shards[i].jobs.send(Job::Finish).is_err() {
                self.worker_failed(i);
            }
        }
        let mut lists = Vec::with_capacity(self.shards.len());
        for i in 0..self.shards.len() {
            match self.shards[i].done.recv() {
                Ok(done) => lists.push(done.events),
                Err(_) => self.worker_failed(i),
            }
        }
        // Flows still open at exit (all tagged 0): by the time of their
        // last packet.
        let order = merge_order(&lists);
        sink(MergedChunk::new(lists, order));

        for i in 0..self.shards.len() {
            let Some(thread) = self.shards[i].thread.take() else {
                continue;
            };
            let engine = match thread.join() {
                Ok(engine) => engine,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            self.shards[i].snapshot = Snapshot {
                stats: engine.stats().clone(),
                tables: engine.table_stats(),
                flows: engine.flow_count(),
            };
            if let Some(shard_tally) = engine.fingerprint_tally() {
                self.tally
                    .get_or_insert_with(|| FingerprintTally::new(self.tally_cap))
                    .merge(shard_tally);
            }
        }
        self.add_up();
    }

    /// Names the capture interface; the router keeps the leak tables.
    pub fn set_interface(&mut self, name: &str) {
        self.router.leaks.set_interface(name);
    }

    /// The decky map changes after the frames routed so far; the
    /// `--decap` mode stays.
    pub fn set_deckies(&mut self, mut deckies: DeckyMap) {
        deckies.decap = self.router.deckies.decap;
        self.send_chunk();
        for i in 0..self.shards.len() {
            if self.shards[i]
                .jobs
                .send(Job::Deckies(deckies.clone()))
                .is_err()
            {
                self.worker_failed(i);
            }
        }
        self.router.deckies = deckies;
        self.router.leaks.deckies_changed();
    }

    pub fn deckies(&self) -> &DeckyMap {
        &self.router.deckies
    }

    /// Reports flows idle at `now` (a silent link) and hands over every
    /// event so far.
    pub fn advance_time(&mut self, now: Timestamp, sink: &mut impl FnMut(MergedChunk)) {
        self.send_chunk();
        // An empty chunk whose one frame time is `now`: every shard's clock moves.
        let times: Arc<[Timestamp]> = Arc::from([now].as_slice());
        for i in 0..self.shards.len() {
            let job = Job::Chunk {
                batch: self.shards[i].spare.pop().unwrap_or_default(),
                times: times.clone(),
            };
            if self.shards[i].jobs.send(job).is_err() {
                self.worker_failed(i);
            }
        }
        self.in_flight.push_back(FormattedBatch::default());
        self.merge_ready(0, sink);
    }

    /// Sends the frames routed so far and hands over the chunks the shards
    /// have done, waiting only when too many are in flight (the daemon
    /// calls this after each capture batch).
    pub fn flush(&mut self, sink: &mut impl FnMut(MergedChunk)) {
        self.send_chunk();
        self.merge_ready(PIPELINE, sink);
    }

    /// Sends the frames routed so far and waits for every event of them.
    pub fn sync(&mut self, sink: &mut impl FnMut(MergedChunk)) {
        self.send_chunk();
        self.merge_ready(0, sink);
    }

    /// Router and shard counters added up.
    fn add_up(&mut self) {
        let mut stats = self.router.cx.stats.clone();
        let mut tables: Vec<(&'static str, usize, u64)> = Vec::new();
        let mut open = 0;
        for shard in &self.shards {
            stats.merge(&shard.snapshot.stats);
            open += shard.snapshot.flows;
            add_tables(&mut tables, &shard.snapshot.tables);
        }
        // The shards' leak and sequence tables are unused; the router's
        // are the real ones.
        add_tables(&mut tables, &self.router.leaks.table_stats());
        add_tables(&mut tables, &self.router.dhcp.table_stats());
        add_tables(
            &mut tables,
            &[(
                "ip_fragments",
                self.router.defrag.len(),
                self.router.defrag.evictions,
            )],
        );
        add_tables(
            &mut tables,
            &[(
                "seq_sources",
                self.router.seq_classes.len(),
                self.router.seq_classes.evictions,
            )],
        );
        self.stats = stats;
        self.tables = tables;
        self.open_flows = open;
    }

    /// Adds `n` to a named counter of the router's (see
    /// [`super::PacketEngine::count`]); in [`Self::stats`] from the next merge.
    pub fn count(&mut self, counter: Counter, n: u64) {
        self.router.cx.stats.add(counter, n);
    }

    /// Bytes used and evictions per memory pool, all shards together.
    pub fn memory_stats(&self) -> Vec<PoolStats> {
        let mut total = self.router.cx.budget.stats();
        for b in &self.budgets {
            add_pool_stats(&mut total, &b.stats());
        }
        total
    }

    /// All counters, as of the last chunk handed over.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Table sizes and evictions summed over the shards, as of the last
    /// chunk handed over.
    pub fn table_stats(&self) -> Vec<(&'static str, usize, u64)> {
        self.tables.clone()
    }

    /// The shards' fingerprint tallies, merged once they have finished.
    pub fn fingerprint_tally(&self) -> Option<&FingerprintTally> {
        self.tally.as_ref()
    }

    /// Flows open, as of the last chunk handed over.
    pub fn flow_count(&self) -> usize {
        self.open_flows
    }

    fn send_chunk(&mut self) {
        if self.chunk.times.is_empty() {
            return;
        }
        let times: Arc<[Timestamp]> = Arc::from(self.chunk.times.as_slice());
        self.chunk.times.clear();
        self.chunk.bytes = 0;
        for i in 0..self.shards.len() {
            let shard = &mut self.shards[i];
            let fresh = shard.spare.pop().unwrap_or_default();
            let batch = std::mem::replace(&mut self.chunk.batches[i], fresh);
            let job = Job::Chunk {
                batch,
                times: times.clone(),
            };
            if shard.jobs.send(job).is_err() {
                self.worker_failed(i);
            }
        }
        let leaks = std::mem::take(&mut self.chunk.leak_events);
        self.in_flight.push_back(leaks);
    }

    /// Merges and hands over the oldest chunks until `keep` are in flight.
    fn merge_ready(&mut self, keep: usize, sink: &mut impl FnMut(MergedChunk)) {
        while self.in_flight.len() > keep {
            let Some(leaks) = self.in_flight.pop_front() else {
                return;
            };
            let mut lists = Vec::with_capacity(self.shards.len() + 1);
            lists.push(leaks);
            for i in 0..self.shards.len() {
                match self.shards[i].done.recv() {
                    Ok(done) => {
                        let shard = &mut self.shards[i];
                        shard.spare.push(done.batch);
                        shard.snapshot = done.snapshot;
                        lists.push(done.events);
                    }
                    Err(_) => self.worker_failed(i),
                }
            }
            let order = merge_order(&lists);
            sink(MergedChunk::new(lists, order));
            self.add_up();
        }
    }

    /// A shard's channel closed: its thread panicked. Carry the panic on.
    fn worker_failed(&mut self, i: usize) -> ! {
        if let Some(thread) = self.shards[i].thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        panic!("shard {i} stopped before the end of input");
    }
}

/// Adds `rows` into `into` by table name.
fn add_tables(into: &mut Vec<(&'static str, usize, u64)>, rows: &[(&'static str, usize, u64)]) {
    for &(name, len, evictions) in rows {
        match into.iter_mut().find(|r| r.0 == name) {
            Some(r) => {
                r.1 += len;
                r.2 += evictions;
            }
            None => into.push((name, len, evictions)),
        }
    }
}
