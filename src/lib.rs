//! decnet-sniffer: a passive network fingerprinting sensor for DECNET.
//!
//! Layers, from the wire up (docs/architecture.md; `tests/layers.rs` keeps
//! every import pointing down):
//! - [`util`]: byte budget, LRU, time, file loading.
//! - [`event`]: the event type; [`capture`]: packet sources (pcap/pcapng
//!   files, live interfaces).
//! - [`decode`]: zero-copy views of link, tunnel, IP and transport headers;
//!   [`output`]: DECNET's RFC 5424 and JSON wire formats, dedup, file sinks.
//! - [`stats`], [`limits`]: the packet path's counters and caps.
//! - [`flow`]: the bounded flow table, TCP reassembly, defragmentation.
//! - [`fingerprint`]: pure fingerprint algorithms (TCP/IP, p0f, TLS, SSH,
//!   HTTP, QUIC); [`bus`]: publication of traffic events.
//! - [`analyzers`]: the application analyzers (TLS, SSH, HTTP, QUIC, DTLS)
//!   behind one interface, and the one event emitter.
//! - [`deckies`]: who is observed: the decky map, DECNET's state file and
//!   its watcher.
//! - [`engine`]: decky attribution, flows, dispatch to the analyzers.
//! - [`runtime`]: the engine as the commands run it, on the calling thread
//!   or sharded over worker threads.
//! - [`cli`]: the `decnet-sniffer` command line.
//!
//! There is no `unsafe` code: live capture goes through the `pcap` crate and
//! system calls through `nix` and `caps`. Keep it that way (issue 6).
#![forbid(unsafe_code)]

pub mod analyzers;
pub mod bus;
pub mod capture;
pub mod cli;
pub mod deckies;
pub mod decode;
pub mod engine;
pub mod event;
pub mod fingerprint;
pub mod flow;
pub mod limits;
pub mod output;
pub mod runtime;
pub mod stats;
pub mod util;
