//! Flow tracking: the bounded LRU flow table ([`table`]), per-direction
//! TCP reassembly ([`reassembly`]) and IP defragmentation ([`defrag`]).

pub mod defrag;
pub mod reassembly;
pub mod table;
