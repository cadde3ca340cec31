//! Test-only capture walker: pcap/pcapng records down to IP and TCP
//! headers (Ethernet with VLAN tags, BSD NULL, Linux cooked v1/v2, raw IP).
//! Stands in for the engine's decoder until the tests read through it.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;

use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};

/// IP header bytes (options / extension headers included), TCP header
/// bytes, payload length and addresses in p0f's log notation.
pub struct Segment {
    pub ip: Vec<u8>,
    pub tcp: Vec<u8>,
    pub payload_len: usize,
    pub src: String,
    pub dst: String,
}

/// Every TCP segment of the capture, in file order.
pub fn segments(path: &Path) -> Vec<Segment> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = create_reader(1 << 20, file).expect("capture reader");
    let mut linktypes: Vec<i32> = Vec::new();
    let mut legacy_linktype = 1;
    let mut out = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let frame = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_linktype = h.network.0;
                        None
                    }
                    PcapBlockOwned::Legacy(b) => Some((legacy_linktype, b.data.to_vec())),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        linktypes.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        linktypes.push(idb.linktype.0);
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let lt = linktypes.get(epb.if_id as usize).copied().unwrap_or(1);
                        Some((
                            lt,
                            epb.data
                                .get(..epb.caplen as usize)
                                .unwrap_or(epb.data)
                                .to_vec(),
                        ))
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        Some((linktypes.first().copied().unwrap_or(1), spb.data.to_vec()))
                    }
                    _ => None,
                };
                if let Some((lt, data)) = frame {
                    if let Some(seg) = link_to_ip(lt, &data).and_then(ip_to_tcp) {
                        out.push(seg);
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    out
}

fn link_to_ip(linktype: i32, d: &[u8]) -> Option<&[u8]> {
    match linktype {
        // Ethernet, with any number of 802.1Q / 802.1ad tags.
        1 => {
            let mut at = 12;
            loop {
                let et = u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]);
                match et {
                    0x8100 | 0x88a8 | 0x9100 => at += 4,
                    0x0800 | 0x86dd => return d.get(at + 2..),
                    _ => return None,
                }
            }
        }
        // BSD loopback / NULL and OpenBSD loop: 4-byte family.
        0 | 108 => d.get(4..),
        // Linux cooked v1 and v2.
        113 => d.get(16..),
        276 => d.get(20..),
        // Raw IP.
        101 | 12 | 14 | 228 | 229 => Some(d),
        _ => None,
    }
}

fn ip_to_tcp(d: &[u8]) -> Option<Segment> {
    match d.first()? >> 4 {
        4 => {
            let ihl = usize::from(d[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
            let frag = u16::from_be_bytes([*d.get(6)?, *d.get(7)?]) & 0x3fff;
            if *d.get(9)? != 6 || frag != 0 || ihl < 20 || total < ihl {
                return None;
            }
            let d = d.get(..total.min(d.len()))?;
            let src = d
                .get(12..16)?
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(".");
            let dst = d
                .get(16..20)?
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(".");
            split_tcp(d, ihl, src, dst)
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes([*d.get(4)?, *d.get(5)?]));
            let d = d.get(..(40 + plen).min(d.len()))?;
            let v6 = |b: &[u8]| {
                b.chunks(2)
                    .map(|c| format!("{:x}", u16::from_be_bytes([c[0], c[1]])))
                    .collect::<Vec<_>>()
                    .join(":")
            };
            let (src, dst) = (v6(d.get(8..24)?), v6(d.get(24..40)?));
            // Walk extension headers to TCP.
            let (mut next, mut at) = (*d.get(6)?, 40usize);
            for _ in 0..8 {
                match next {
                    6 => return split_tcp(d, at, src, dst),
                    0 | 43 | 60 => {
                        next = *d.get(at)?;
                        at += (usize::from(*d.get(at + 1)?) + 1) * 8;
                    }
                    51 => {
                        next = *d.get(at)?;
                        at += (usize::from(*d.get(at + 1)?) + 2) * 4;
                    }
                    _ => return None,
                }
            }
            None
        }
        _ => None,
    }
}

fn split_tcp(d: &[u8], ip_len: usize, src: String, dst: String) -> Option<Segment> {
    let tcp = d.get(ip_len..)?;
    let doff = usize::from(*tcp.get(12)? >> 4) * 4;
    let hdr = tcp.get(..doff)?;
    let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
    Some(Segment {
        ip: d[..ip_len].to_vec(),
        tcp: hdr.to_vec(),
        payload_len: tcp.len() - doff,
        src: format!("{src}/{sport}"),
        dst: format!("{dst}/{dport}"),
    })
}
