//! Frames shared by the micro-benchmarks, built here so the benches need no
//! files: a Linux SYN (the options of a 6.x kernel's connect()), a nmap SYN
//! and a full-size data segment, all Ethernet/IPv4/TCP.
#![allow(dead_code)]

use decnet_sniffer::capture::{linktype, RawPacket};
use decnet_sniffer::util::time::Timestamp;

/// MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
pub const LINUX_OPTS: &[u8] = &[
    2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
];
/// nmap -sS: MSS 1460 only.
pub const NMAP_OPTS: &[u8] = &[2, 4, 5, 180];

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;

/// An Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    window: u16,
    ttl: u8,
    df: bool,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 40 + opts.len() + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0xbb, 1, 2, 0, 0, 0, 0xaa, 1, 8, 0]);
    let total = (40 + opts.len() + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0x12, 0x34, if df { 0x40 } else { 0 }, 0, ttl, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    f.extend_from_slice(&(if flags & ACK != 0 { 1u32 } else { 0 }).to_be_bytes());
    f.push(((5 + opts.len() / 4) as u8) << 4);
    f.push(flags);
    f.extend_from_slice(&window.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(opts);
    f.extend_from_slice(payload);
    f
}

pub fn linux_syn() -> Vec<u8> {
    tcp_frame(
        [203, 0, 113, 7],
        [10, 200, 0, 1],
        51234,
        443,
        SYN,
        64240,
        57,
        true,
        LINUX_OPTS,
        &[],
    )
}

pub fn nmap_syn() -> Vec<u8> {
    tcp_frame(
        [203, 0, 113, 8],
        [10, 200, 0, 1],
        41000,
        22,
        SYN,
        1024,
        44,
        false,
        NMAP_OPTS,
        &[],
    )
}

pub fn data_segment() -> Vec<u8> {
    tcp_frame(
        [10, 200, 0, 1],
        [198, 18, 0, 1],
        80,
        40000,
        ACK,
        64240,
        64,
        true,
        &[],
        &[0x5a; 1460],
    )
}

pub fn raw(data: &[u8], secs: i64) -> RawPacket<'_> {
    RawPacket {
        ts: Timestamp::new(secs, 0),
        linktype: linktype::ETHERNET,
        data,
        orig_len: data.len() as u32,
    }
}
