//! One shard: an [`Engine`] on its own thread, fed chunk by chunk.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use super::batch::PacketBatch;
use super::merge::{tag, Phase};
use crate::deckies::DeckyMap;
use crate::engine::{Engine, Stats};
use crate::output::formatted::{FormattedBatch, Formatter};
use crate::util::time::Timestamp;

pub enum Job {
    /// This shard's frames of a chunk, and the time of every frame in the
    /// chunk: idle flows expire at the same packet as in a single engine.
    Chunk {
        batch: PacketBatch,
        times: Arc<[Timestamp]>,
    },
    /// A new decky map, from the next chunk on.
    Deckies(DeckyMap),
    /// End of input: report every open flow and stop.
    Finish,
}

/// A shard's counters, sent with every chunk so the daemon's metrics stay
/// current.
#[derive(Default)]
pub struct Snapshot {
    pub stats: Stats,
    pub tables: Vec<(&'static str, usize, u64)>,
    pub flows: usize,
}

pub struct Done {
    /// The events, formatted, in chunk order (by tag); for `Finish`, in
    /// table order.
    pub events: FormattedBatch,
    /// The emptied batch, for reuse.
    pub batch: PacketBatch,
    pub snapshot: Snapshot,
}

/// The worker's loop; returns the engine (its statistics) when told to
/// finish or when the router goes away.
pub fn run(
    mut engine: Engine,
    mut formatter: Formatter,
    jobs: Receiver<Job>,
    done: SyncSender<Done>,
) -> Engine {
    // Every shard sees every chunk's frame times: this counts frames as
    // the router does.
    let mut frames_before = 0u64;
    for job in jobs {
        match job {
            Job::Chunk { mut batch, times } => {
                let first = frames_before;
                frames_before += times.len() as u64;
                let events = process_chunk(&mut engine, &mut formatter, &batch, &times, first);
                batch.clear();
                let snapshot = snapshot(&engine);
                if done
                    .send(Done {
                        events,
                        batch,
                        snapshot,
                    })
                    .is_err()
                {
                    break;
                }
            }
            Job::Deckies(map) => engine.set_deckies(map),
            Job::Finish => {
                let mut events = FormattedBatch::default();
                engine.finish(&mut |ev| formatter.format(0, ev, &mut events));
                let _ = done.send(Done {
                    events,
                    batch: PacketBatch::default(),
                    snapshot: snapshot(&engine),
                });
                break;
            }
        }
    }
    engine
}

fn snapshot(engine: &Engine) -> Snapshot {
    Snapshot {
        stats: engine.stats().clone(),
        tables: engine.table_stats(),
        flows: engine.flow_count(),
    }
}

fn process_chunk(
    engine: &mut Engine,
    formatter: &mut Formatter,
    batch: &PacketBatch,
    times: &[Timestamp],
    first_frame: u64,
) -> FormattedBatch {
    let mut events = FormattedBatch::default();
    let mut own = batch.iter().peekable();
    for (index, &ts) in (0u32..).zip(times) {
        let expiry = tag(index, Phase::Expiry);
        engine.advance_time(ts, &mut |ev| formatter.format(expiry, ev, &mut events));
        while let Some(routed) = own.next_if(|r| r.index == index) {
            let packet = tag(index, Phase::Packet);
            let frame = first_frame + u64::from(index) + 1;
            match routed.packet {
                Ok(pkt) => engine.process_routed(&pkt, routed.ts, frame, routed.seq, &mut |ev| {
                    formatter.format(packet, ev, &mut events)
                }),
                // The router decoded these very bytes: never.
                Err(e) => engine.count_decode_error(e),
            }
        }
    }
    events
}
