//! DECNET wire formats, dedup and file sinks.
