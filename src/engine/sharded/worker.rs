//! One shard: an [`Engine`] on its own thread, fed chunk by chunk.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use super::batch::PacketBatch;
use super::merge::{tag, Phase};
use crate::engine::Engine;
use crate::output::formatted::{FormattedBatch, Formatter};
use crate::util::time::Timestamp;

pub enum Job {
    /// This shard's frames of a chunk, and the time of every frame in the
    /// chunk: idle flows expire at the same packet as in a single engine.
    Chunk {
        batch: PacketBatch,
        times: Arc<[Timestamp]>,
    },
    /// End of input: report every open flow and stop.
    Finish,
}

pub struct Done {
    /// The events, formatted, in chunk order (by tag); for `Finish`, in
    /// table order.
    pub events: FormattedBatch,
    /// The emptied batch, for reuse.
    pub batch: PacketBatch,
}

/// The worker's loop; returns the engine (its statistics) when told to
/// finish or when the router goes away.
pub fn run(
    mut engine: Engine,
    mut formatter: Formatter,
    jobs: Receiver<Job>,
    done: SyncSender<Done>,
) -> Engine {
    for job in jobs {
        match job {
            Job::Chunk { mut batch, times } => {
                let events = process_chunk(&mut engine, &mut formatter, &batch, &times);
                batch.clear();
                if done.send(Done { events, batch }).is_err() {
                    break;
                }
            }
            Job::Finish => {
                let mut events = FormattedBatch::default();
                engine.finish(&mut |ev| formatter.format(0, ev, &mut events));
                let _ = done.send(Done {
                    events,
                    batch: PacketBatch::default(),
                });
                break;
            }
        }
    }
    engine
}

fn process_chunk(
    engine: &mut Engine,
    formatter: &mut Formatter,
    batch: &PacketBatch,
    times: &[Timestamp],
) -> FormattedBatch {
    let mut events = FormattedBatch::default();
    let mut own = batch.iter().peekable();
    for (index, &ts) in (0u32..).zip(times) {
        let expiry = tag(index, Phase::Expiry);
        engine.advance_time(ts, &mut |ev| formatter.format(expiry, ev, &mut events));
        while let Some((_, raw, seq)) = own.next_if(|(i, _, _)| *i == index) {
            let packet = tag(index, Phase::Packet);
            engine.process_routed(&raw, seq, &mut |ev| {
                formatter.format(packet, ev, &mut events)
            });
        }
    }
    events
}
