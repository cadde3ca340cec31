//! decnet-sniffer: a passive network fingerprinting sensor for DECNET.
//!
//! Layers, from the wire up:
//! - [`capture`]: packet sources (pcap/pcapng files, live interfaces).
//! - [`decode`]: zero-copy views of link, tunnel, IP and transport headers.
//! - [`flow`]: the bounded flow table and per-flow TCP reassembly.
//! - [`fingerprint`]: pure fingerprint algorithms (TCP/IP, p0f, TLS, SSH, HTTP, QUIC).
//! - [`deckies`]: who is observed: the decky map, its state file and its watcher.
//! - [`engine`]: decky attribution, per-flow dispatch, event construction.
//! - [`runtime`]: the engine as the commands run it, on one thread or sharded
//!   over workers.
//! - [`output`]: DECNET's RFC 5424 and JSON wire formats, dedup, file sinks.
//! - [`bus`]: publication of traffic events.
//! - [`cli`]: the `decnet-sniffer` command line.
//!
//! There is no `unsafe` code: live capture goes through the `pcap` crate and
//! system calls through `nix` and `caps`. Keep it that way (issue 6).
#![forbid(unsafe_code)]

pub mod bus;
pub mod capture;
pub mod cli;
pub mod deckies;
pub mod decode;
pub mod engine;
pub mod event;
pub mod fingerprint;
pub mod flow;
pub mod output;
pub mod runtime;
pub mod util;
