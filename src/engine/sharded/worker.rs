//! One shard: an [`Engine`] on its own thread, fed chunk by chunk.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use super::batch::PacketBatch;
use super::merge::{Phase, Tagged};
use crate::engine::Engine;
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
    /// In chunk order ([`Tagged::key`]); for `Finish`, in table order.
    pub events: Vec<Tagged>,
    /// The emptied batch, for reuse.
    pub batch: PacketBatch,
}

/// The worker's loop; returns the engine (its statistics) when told to
/// finish or when the router goes away.
pub fn run(mut engine: Engine, jobs: Receiver<Job>, done: SyncSender<Done>) -> Engine {
    for job in jobs {
        match job {
            Job::Chunk { mut batch, times } => {
                let events = process_chunk(&mut engine, &batch, &times);
                batch.clear();
                if done.send(Done { events, batch }).is_err() {
                    break;
                }
            }
            Job::Finish => {
                let mut events = Vec::new();
                engine.finish(&mut |ev| events.push(Tagged::new(0, Phase::Packet, ev)));
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

fn process_chunk(engine: &mut Engine, batch: &PacketBatch, times: &[Timestamp]) -> Vec<Tagged> {
    let mut events = Vec::new();
    let mut own = batch.iter().peekable();
    for (index, &ts) in (0u32..).zip(times) {
        engine.advance_time(ts, &mut |ev| {
            events.push(Tagged::new(index, Phase::Expiry, ev))
        });
        while let Some((_, raw, seq)) = own.next_if(|(i, _, _)| *i == index) {
            engine.process_routed(&raw, seq, &mut |ev| {
                events.push(Tagged::new(index, Phase::Packet, ev))
            });
        }
    }
    events
}
