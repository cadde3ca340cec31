//! Issue 18, item 1: IP fragments are reassembled, so a handshake split
//! over IPv4 or IPv6 fragments gives the events the unfragmented one gives.
//! Each case takes real captures, cuts their IP packets into pieces (in
//! order, reversed, or interleaved), and compares `read`'s output with the
//! original's: the decky's kernel reassembles these datagrams, so the
//! sensor must report the same handshakes.

mod support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{PcapWriter, SYN};

/// The records of a little-endian classic pcap (Ethernet): (ts header, frame).
fn records(pcap: &[u8]) -> Vec<([u8; 8], Vec<u8>)> {
    assert!(pcap.len() >= 24);
    let magic = u32::from_le_bytes(pcap[0..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "little-endian pcap"
    );
    assert_eq!(u32::from_le_bytes(pcap[20..24].try_into().unwrap()), 1);
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= pcap.len() {
        let ts: [u8; 8] = pcap[at..at + 8].try_into().unwrap();
        let incl = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16;
        out.push((ts, pcap[at..at + incl].to_vec()));
        at += incl;
    }
    out
}

fn write_pcap(header: &[u8], recs: &[([u8; 8], Vec<u8>)]) -> Vec<u8> {
    let mut out = header[..24].to_vec();
    for (ts, frame) in recs {
        out.extend_from_slice(ts);
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    out
}

#[derive(Clone, Copy)]
enum Order {
    InOrder,
    Reversed,
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Byte ranges of `len` bytes cut into `pieces` parts (all but the last a
/// multiple of 8); 0 pieces: the first 8 bytes, then the rest (`nmap -f`'s
/// cut of a TCP header).
fn cuts(len: usize, pieces: usize) -> Vec<(usize, usize)> {
    if pieces == 0 {
        return vec![(0, 8), (8, len)];
    }
    let step = (len.div_ceil(pieces)).div_ceil(8) * 8;
    let mut out = Vec::new();
    let mut at = 0;
    while at < len {
        let end = (at + step).min(len);
        out.push((at, end));
        at = end;
    }
    out
}

/// Cuts the Ethernet/IPv4 or IPv6 `frame` into fragments over `ranges` of
/// its IP payload (`id` names IPv6's); other frames come back unchanged. IPv4 keeps the DF bit
/// as it was, so the fingerprints of the reassembled packet are unchanged.
fn fragment(frame: &[u8], ranges: &[(usize, usize)], id: u32, order: Order) -> Vec<Vec<u8>> {
    let eth = &frame[..14];
    let ip = &frame[14..];
    let mut out = Vec::new();
    match (frame[12], frame[13], ip[0] >> 4) {
        (0x08, 0x00, 4) => {
            let ihl = usize::from(ip[0] & 15) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let payload = &ip[ihl..total];
            for &(from, to) in ranges {
                let mut h = ip[..ihl].to_vec();
                h[2..4].copy_from_slice(&((ihl + to - from) as u16).to_be_bytes());
                // The IP ID stays: it is part of the SYN's fingerprint.
                let more = if to < payload.len() { 0x2000 } else { 0 };
                let ff = (u16::from(ip[6] & 0x40) << 8) | more | (from / 8) as u16;
                h[6..8].copy_from_slice(&ff.to_be_bytes());
                h[10] = 0;
                h[11] = 0;
                let c = checksum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                let mut f = eth.to_vec();
                f.extend_from_slice(&h);
                f.extend_from_slice(&payload[from..to]);
                out.push(f);
            }
        }
        (0x86, 0xdd, 6) => {
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let payload = &ip[40..40 + plen];
            for &(from, to) in ranges {
                let mut h = ip[..40].to_vec();
                h[6] = 44;
                h[4..6].copy_from_slice(&((8 + to - from) as u16).to_be_bytes());
                let more = u16::from(to < payload.len());
                h.push(ip[6]);
                h.push(0);
                h.extend_from_slice(&(((from / 8) as u16) << 3 | more).to_be_bytes());
                h.extend_from_slice(&id.to_be_bytes());
                let mut f = eth.to_vec();
                f.extend_from_slice(&h);
                f.extend_from_slice(&payload[from..to]);
                out.push(f);
            }
        }
        _ => return vec![frame.to_vec()],
    }
    if let Order::Reversed = order {
        out.reverse();
    }
    out
}

/// Every IP packet of `pcap` whose payload exceeds `min` bytes, cut into
/// `pieces` fragments.
fn fragment_all(pcap: &[u8], min: usize, pieces: usize, order: Order) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut cut = 0;
    for (n, (ts, frame)) in records(pcap).into_iter().enumerate() {
        let ip_payload = match (frame[12], frame[13]) {
            (0x08, 0x00) => {
                let ihl = usize::from(frame[14] & 15) * 4;
                usize::from(u16::from_be_bytes([frame[16], frame[17]])).saturating_sub(ihl)
            }
            (0x86, 0xdd) => usize::from(u16::from_be_bytes([frame[18], frame[19]])),
            _ => 0,
        };
        if ip_payload > min {
            cut += 1;
            for f in fragment(&frame, &cuts(ip_payload, pieces), 1000 + n as u32, order) {
                out.push((ts, f));
            }
        } else {
            out.push((ts, frame));
        }
    }
    (write_pcap(pcap, &out), cut)
}

struct Output {
    log: String,
    summary: String,
}

fn read(dir: &Path, pcap: &[u8], name: &str, args: &[&str]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, pcap).unwrap();
    // `--log` appends: each run starts from nothing.
    let _ = std::fs::remove_file(dir.join("out.log"));
    let _ = std::fs::remove_file(dir.join("out.json"));
    let run = support::read_child(dir, &path, args);
    assert_eq!(run.status, 0, "{}", run.stderr);
    Output {
        log: String::from_utf8(run.log).unwrap(),
        summary: run.stderr,
    }
}

/// The log's lines.
fn events(log: &str) -> Vec<String> {
    log.lines().map(str::to_owned).collect()
}

fn counter(summary: &str, name: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            (k == name).then(|| v.parse().unwrap())
        })
        .unwrap_or(0)
}

fn pcapng_to_pcap(dir: &Path, src: &Path) -> Vec<u8> {
    let out = dir.join("converted.pcap");
    let st = Command::new("editcap")
        .args(["-F", "pcap", "-T", "ether"])
        .arg(src)
        .arg(&out)
        .status()
        .expect("editcap (tshark's wireshark-common) is installed");
    assert!(st.success());
    std::fs::read(out).unwrap()
}

/// The original and its fragmented copy give the same events, and the
/// summary shows the datagrams were reassembled.
fn same_events(dir: &Path, original: &[u8], min: usize, pieces: usize, order: Order) -> usize {
    let (fragmented, cut) = fragment_all(original, min, pieces, order);
    assert!(cut > 0, "nothing to fragment");
    for args in [&[][..], &["--workers", "2"][..]] {
        let plain = read(dir, original, "plain.pcap", args);
        let frag = read(dir, &fragmented, "frag.pcap", args);
        let plain_events = events(&plain.log);
        assert!(!plain_events.is_empty());
        let frag_events = events(&frag.log);
        if plain_events != frag_events {
            let only_plain: Vec<_> = plain_events
                .iter()
                .filter(|l| !frag_events.contains(l))
                .collect();
            let only_frag: Vec<_> = frag_events
                .iter()
                .filter(|l| !plain_events.contains(l))
                .collect();
            panic!("differ with {args:?}:\nonly unfragmented: {only_plain:#?}\nonly fragmented: {only_frag:#?}");
        }
        assert_eq!(
            counter(&frag.summary, "ip_fragment_datagrams_reassembled"),
            cut as u64,
            "{}",
            frag.summary
        );
    }
    cut
}

fn data(rel: &str) -> PathBuf {
    support::test_data(rel)
}

#[test]
fn syn_split_over_two_ipv4_fragments() {
    let dir = support::scratch("frag-syn");
    let mut w = PcapWriter::new(Vec::new());
    let attacker = Ipv4Addr::new(198, 51, 100, 9);
    let decky = Ipv4Addr::new(10, 0, 0, 5);
    for (i, port) in [22u16, 80, 443, 8080].iter().enumerate() {
        let f = support::tcp(attacker, 40000 + i as u16, decky, *port, 7, 0, SYN, &[]);
        w.packet(1_000_000 + i as i64, &f);
    }
    let original = w.into_inner();
    // 40 bytes of TCP header: 8 in the first piece (the ports and sequence
    // number, as `nmap -f` sends), 32 in the second.
    let (fragmented, _) = fragment_all(&original, 0, 0, Order::InOrder);
    assert_eq!(records(&fragmented).len(), 8, "two pieces per SYN");
    same_events(&dir, &original, 0, 0, Order::InOrder);
    same_events(&dir, &original, 0, 0, Order::Reversed);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn client_hello_segment_in_three_fragments() {
    let dir = support::scratch("frag-tls");
    for name in ["tls-openssl-tls13.pcap", "tls-go.pcap"] {
        let original = std::fs::read(data(&format!("captures/{name}"))).unwrap();
        same_events(&dir, &original, 200, 3, Order::InOrder);
        same_events(&dir, &original, 200, 3, Order::Reversed);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ipv6_client_hello_in_fragments() {
    let dir = support::scratch("frag-v6");
    let original = std::fs::read(data("captures/tls-curl-ipv6.pcap")).unwrap();
    same_events(&dir, &original, 200, 3, Order::Reversed);
    same_events(&dir, &original, 100, 2, Order::InOrder);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ipv6_first_piece_must_hold_the_tcp_header() {
    // RFC 8200 4.5 (Linux since 5.16): an IPv6 first fragment that stops
    // inside the upper-layer header is dropped, so a SYN cut at 8 bytes
    // never reaches the decky; IPv4 accepts the same cut.
    let dir = support::scratch("frag-v6-tiny");
    let original = std::fs::read(data("captures/tls-curl-ipv6.pcap")).unwrap();
    let (fragmented, _) = fragment_all(&original, 0, 0, Order::InOrder);
    let out = read(&dir, &fragmented, "tiny.pcap", &[]);
    assert!(!out.log.contains("tcp_syn_fingerprint"), "{}", out.log);
    assert!(counter(&out.summary, "ip_fragments_tiny") > 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn quic_initial_in_two_fragments() {
    let dir = support::scratch("frag-quic");
    for name in [
        "quic-tls-handshake.pcapng",
        "chrome-cloudflare-quic-with-secrets.pcapng",
    ] {
        let original = pcapng_to_pcap(&dir, &support::foxio_pcap(name));
        same_events(&dir, &original, 1000, 2, Order::InOrder);
        same_events(&dir, &original, 1000, 2, Order::Reversed);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn overlapping_rewrite_is_discarded_like_linux() {
    // The ClientHello's packet in two pieces, and between them a third
    // that overlaps the first with other bytes: Linux (4.19+) discards the
    // datagram, so no ClientHello reached the decky and none is reported.
    let dir = support::scratch("frag-overlap");
    let original = std::fs::read(data("captures/tls-openssl-tls13.pcap")).unwrap();
    let mut out = Vec::new();
    let mut attacked = 0;
    for (n, (ts, frame)) in records(&original).into_iter().enumerate() {
        let tcp_data = 34 + usize::from(frame[46] >> 4) * 4;
        let is_hello = frame.len() > 300 && frame[14] >> 4 == 4 && frame[tcp_data] == 0x16;
        if !is_hello || attacked > 0 {
            out.push((ts, frame));
            continue;
        }
        attacked += 1;
        let len = frame.len() - 34;
        let pieces = fragment(&frame, &[(0, 64), (64, len)], n as u32, Order::InOrder);
        let mut evil = frame.clone();
        evil[34 + 60..34 + 80].fill(b'A');
        let overlap = fragment(&evil, &[(56, 80)], n as u32, Order::InOrder);
        out.push((ts, pieces[0].clone()));
        out.push((ts, overlap[0].clone()));
        out.push((ts, pieces[1].clone()));
    }
    assert_eq!(attacked, 1);
    let plain = read(&dir, &original, "plain.pcap", &[]);
    let attacked = read(&dir, &write_pcap(&original, &out), "attack.pcap", &[]);
    assert!(plain.log.contains("tls_client_hello"));
    assert!(
        !attacked.log.contains("tls_client_hello"),
        "{}",
        attacked.log
    );
    assert_eq!(
        counter(&attacked.summary, "ip_fragment_datagrams_overlap"),
        1
    );
    let _ = std::fs::remove_dir_all(dir);
}
