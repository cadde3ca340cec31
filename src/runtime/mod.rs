//! The engine as the commands run it: on the calling thread, or spread
//! over worker threads with the events formatted there and merged back
//! into capture order. Above [`crate::engine`] and [`crate::output`]
//! (the shards format their events); the engine knows nothing of threads.

pub mod pipeline;
pub mod sharded;

pub use pipeline::{start, PacketEngine};
pub use sharded::{ShardedEngine, MAX_WORKERS};
