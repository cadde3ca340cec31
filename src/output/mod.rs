//! DECNET's wire formats ([`syslog`], [`json`]), dedup ([`dedup`]), append-only
//! file sinks ([`sink`]) and the [`pipeline`] that ties them together:
//! event → dedup → RFC 5424 line → JSON record → bus; [`thread`] runs it
//! beside the engine.

pub mod clash;
pub mod dedup;
pub mod formatted;
pub mod json;
pub mod layout;
pub mod metrics;
pub mod pipeline;
pub mod sink;
pub mod syslog;
pub mod thread;

pub use pipeline::{Output, OutputStats, Publish};
pub use thread::OutputThread;

use crate::event::Event;
use formatted::MergedChunk;

/// Where the engine's events go: one at a time from one engine, or
/// formatted, a chunk at a time, from a sharded engine.
pub trait EventSink {
    fn event(&mut self, ev: Event);
    fn chunk(&mut self, chunk: MergedChunk);
}

impl EventSink for Output {
    fn event(&mut self, ev: Event) {
        self.handle(ev);
    }

    fn chunk(&mut self, chunk: MergedChunk) {
        chunk.drain(|f| self.handle_formatted(f));
    }
}

impl EventSink for OutputThread {
    fn event(&mut self, ev: Event) {
        self.handle(ev);
    }

    fn chunk(&mut self, chunk: MergedChunk) {
        self.handle_formatted(chunk);
    }
}
