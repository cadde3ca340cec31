//! The output pipeline on a thread of its own: the engine hands events over
//! in batches and goes on with the next packets, so dedup, formatting and
//! `write(2)` run beside reading and decoding. One thread and one FIFO
//! queue, so the files get exactly the order the engine produced.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::formatted::MergedChunk;
use super::Output;
use crate::event::Event;

/// Events handed over at a time: one queue operation per batch.
const BATCH: usize = 1024;
/// Batches (or formatted chunks of a sharded engine, ~2 MB each in a scan
/// storm) in flight: bounds the memory between the threads.
const QUEUE: usize = 4;

/// What crosses to the output thread.
enum Work {
    Events(Vec<Event>),
    /// Formatted by the shards of a sharded engine.
    Formatted(MergedChunk),
}

pub struct OutputThread {
    tx: SyncSender<Work>,
    batch: Vec<Event>,
    worker: JoinHandle<Output>,
}

impl OutputThread {
    /// Moves `output` onto a new thread.
    pub fn spawn(mut output: Output) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Work>(QUEUE);
        let worker = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || {
                for work in rx {
                    match work {
                        Work::Events(batch) => batch.into_iter().for_each(|ev| output.handle(ev)),
                        Work::Formatted(chunk) => chunk.drain(|f| output.handle_formatted(f)),
                    }
                }
                output
            })?;
        Ok(OutputThread {
            tx,
            batch: Vec::with_capacity(BATCH),
            worker,
        })
    }

    /// Queues one event; blocks only while the output thread is a whole
    /// queue behind (back-pressure, never loss).
    pub fn handle(&mut self, ev: Event) {
        self.batch.push(ev);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    /// Queues a chunk of formatted events, after the events before it.
    pub fn handle_formatted(&mut self, chunk: MergedChunk) {
        if !self.batch.is_empty() {
            self.send();
        }
        if !chunk.is_empty() {
            // As in `send`: a failed send is reported by `finish`.
            let _ = self.tx.send(Work::Formatted(chunk));
        }
    }

    fn send(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // The receiver lives until every sender is gone; a failed send
        // means the thread panicked, which `finish` reports.
        let _ = self.tx.send(Work::Events(batch));
    }

    /// Hands over what is left, waits for the thread and returns the
    /// pipeline (to flush and read its statistics).
    pub fn finish(mut self) -> Output {
        if !self.batch.is_empty() {
            self.send();
        }
        drop(self.tx);
        match self.worker.join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::util::time::Timestamp;

    #[test]
    fn every_event_arrives_in_order() {
        let dir = std::env::temp_dir().join(format!("decnet-outthread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let mut output = Output::new(0, 16);
        output.log_to(&log).unwrap();
        let mut t = OutputThread::spawn(output).unwrap();
        for i in 0..1000u32 {
            let mut ev = Event::new(EventKind::TcpFlowTiming, Timestamp::new(1, 0), "d".into());
            ev.push("src_ip", "192.0.2.1").push("packets", i);
            t.handle(ev);
        }
        let mut output = t.finish();
        output.flush().unwrap();
        assert_eq!(
            output.stats().written[EventKind::TcpFlowTiming.index()],
            1000
        );
        let text = std::fs::read_to_string(&log).unwrap();
        let packets: Vec<u32> = text
            .lines()
            .map(|l| {
                let v = l.split("packets=\"").nth(1).unwrap();
                v[..v.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(packets, (0..1000).collect::<Vec<_>>());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
