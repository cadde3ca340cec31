//! Flow tracking: the bounded LRU flow table ([`table`]), per-direction
//! TCP reassembly ([`reassembly`]) and IP defragmentation ([`defrag`]).

pub mod defrag;
pub mod reassembly;
pub mod table;

/// Which end of a connection sent a packet, the one vocabulary for it
/// across the crate (TCP flows, stream analyzers, JA4SSH, QUIC keys).
pub use table::Side;
