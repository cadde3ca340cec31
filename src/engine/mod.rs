//! Decky attribution, per-flow dispatch and event construction.
