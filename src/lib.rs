//! decnet-sniffer: a passive network fingerprinting sensor for DECNET.
//!
//! Layers, from the wire up:
//! - [`capture`]: packet sources (pcap/pcapng files, live interfaces).
//! - [`decode`]: zero-copy views of link, tunnel, IP and transport headers.
//! - [`flow`]: the bounded flow table and per-flow TCP reassembly.
//! - [`fingerprint`]: pure fingerprint algorithms (TCP/IP, p0f, TLS, SSH, HTTP, QUIC).
//! - [`engine`]: decky attribution, per-flow dispatch, event construction.
//! - [`output`]: DECNET's RFC 5424 and JSON wire formats, dedup, file sinks.
//! - [`bus`]: publication of traffic events.
//! - [`cli`]: the `decnet-sniffer` command line.
//!
//! `unsafe` code is denied everywhere but in one small module,
//! `capture::mapped` (the memory map of a capture file under a read lease,
//! issue 24; `#[allow(unsafe_code)]` on its `mod` line only): live capture
//! goes through the `pcap` crate and system calls through `nix` and `caps`.
//! Keep it that way (issue 6).
#![deny(unsafe_code)]

pub mod bus;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod engine;
pub mod event;
pub mod fingerprint;
pub mod flow;
pub mod output;
pub mod util;
