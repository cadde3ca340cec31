//! Flow tracking: the bounded LRU flow table ([`table`]) and per-direction
//! TCP reassembly ([`reassembly`]).

pub mod reassembly;
pub mod table;
