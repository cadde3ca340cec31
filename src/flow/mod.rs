//! The bounded flow table and per-direction TCP reassembly.
