//! Issue 18, item 1, checked against the kernel the deckies run on: the
//! same fragment sequences are replayed (tcpreplay) into a network
//! namespace and read by the sensor; the namespace's reassembly counters
//! (`nstat`) and the sensor's must agree on which datagrams were put back
//! together and which were thrown away.

#[path = "netns/mod.rs"]
mod netns_support;
mod support;

use std::path::Path;
use std::process::Command;

use support::PcapWriter;

const MAC_A: [u8; 6] = [2, 0, 0, 0x31, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0x31, 0, 2];

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

fn eth(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = MAC_B.to_vec();
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// An IPv4 piece 10.231.0.1 -> 10.231.0.2 of protocol `proto`.
fn v4(id: u16, proto: u8, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    let ff = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    ip[6..8].copy_from_slice(&ff.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[10, 231, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 231, 0, 2]);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(data);
    eth(0x0800, &ip)
}

/// An IPv6 piece fd31::1 -> fd31::2 with next header `next`.
fn v6(id: u32, next: u8, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    ip[6] = 44;
    ip[7] = 64;
    ip[8] = 0xfd;
    ip[9] = 0x31;
    ip[23] = 1;
    ip[24] = 0xfd;
    ip[25] = 0x31;
    ip[39] = 2;
    ip.extend_from_slice(&[next, 0]);
    ip.extend_from_slice(&((((offset / 8) as u16) << 3) | u16::from(more)).to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(data);
    eth(0x86dd, &ip)
}

/// A UDP datagram to the discard port, `len` bytes in all (the checksum
/// left 0: IPv4 allows it; reassembly happens before it is looked at).
fn udp(len: usize) -> Vec<u8> {
    let mut u: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
    u[0..2].copy_from_slice(&40000u16.to_be_bytes());
    u[2..4].copy_from_slice(&9u16.to_be_bytes());
    u[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    u[6..8].fill(0);
    u
}

/// A TCP SYN to port 9 (40 bytes of header).
fn syn() -> Vec<u8> {
    let mut t: Vec<u8> = vec![0; 40];
    t[0..2].copy_from_slice(&40001u16.to_be_bytes());
    t[2..4].copy_from_slice(&9u16.to_be_bytes());
    t[4..8].copy_from_slice(&7u32.to_be_bytes());
    t[12] = 10 << 4;
    t[13] = 0x02;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t[20..24].copy_from_slice(&[2, 4, 5, 0xb4]);
    t[24..40].copy_from_slice(&[1; 16]);
    t
}

struct Case {
    name: &'static str,
    frames: Vec<Vec<u8>>,
    v6: bool,
}

fn cases() -> Vec<Case> {
    let d = udp(64);
    let mut other = d.clone();
    other[20..40].fill(0xee);
    let s = syn();
    vec![
        Case {
            name: "v4 clean",
            frames: vec![v4(1, 17, 0, true, &d[..32]), v4(1, 17, 32, false, &d[32..])],
            v6: false,
        },
        Case {
            name: "v4 overlap",
            frames: vec![
                v4(2, 17, 0, true, &d[..24]),
                v4(2, 17, 16, true, &other[16..40]),
                v4(2, 17, 40, false, &d[40..]),
            ],
            v6: false,
        },
        Case {
            name: "v4 duplicate within a run",
            frames: vec![
                v4(3, 17, 0, true, &d[..16]),
                v4(3, 17, 16, true, &d[16..32]),
                v4(3, 17, 8, true, &other[8..24]),
                v4(3, 17, 32, false, &d[32..]),
            ],
            v6: false,
        },
        Case {
            name: "v4 tiny first piece (nmap -f)",
            frames: vec![v4(4, 6, 0, true, &s[..8]), v4(4, 6, 8, false, &s[8..])],
            v6: false,
        },
        Case {
            name: "v6 clean",
            frames: vec![
                v6(11, 17, 32, false, &d[32..]),
                v6(11, 17, 0, true, &d[..32]),
            ],
            v6: true,
        },
        Case {
            name: "v6 overlap",
            frames: vec![
                v6(12, 17, 0, true, &d[..24]),
                v6(12, 17, 16, true, &other[16..40]),
                v6(12, 17, 40, false, &d[40..]),
            ],
            v6: true,
        },
        Case {
            name: "v6 first piece without the whole TCP header",
            frames: vec![v6(13, 6, 0, true, &s[..8]), v6(13, 6, 8, false, &s[8..])],
            v6: true,
        },
    ]
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The namespace's count of reassembled datagrams (IPv4 or IPv6).
fn kernel_reassembled(ns: &str, v6: bool) -> u64 {
    let name = if v6 { "Ip6ReasmOKs" } else { "IpReasmOKs" };
    let out = sh(&format!("ip netns exec {ns} nstat -az {name}"));
    out.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next().unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

fn sensor_reassembled(dir: &Path, pcap: &Path) -> u64 {
    let _ = std::fs::remove_file(dir.join("out.log"));
    let run = support::read_child(dir, pcap, &[]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    run.stderr
        .lines()
        .find_map(|l| l.strip_prefix("ip_fragment_datagrams_reassembled: "))
        .map_or(0, |n| n.parse().unwrap())
}

/// Two namespaces joined by a veth pair: `PREFIX-a` (10.231.0.1,
/// fd31::1 on PREFIXx) sends to `PREFIX-b` (10.231.0.2, fd31::2 on
/// PREFIXy). Removed on drop.
struct Pair {
    p: String,
    a: String,
    b: String,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let p = netns_support::prefix(tag);
        let (a, b) = (format!("{p}-a"), format!("{p}-b"));
        let pair = Pair { p, a, b };
        let (p, a, b) = (&pair.p, &pair.a, &pair.b);
        let setup = format!(
            "ip netns add {a} && ip netns add {b} && \
         ip link add {p}x netns {a} type veth peer name {p}y netns {b} && \
         ip -n {a} link set {p}x address 02:00:00:31:00:01 up && \
         ip -n {b} link set {p}y address 02:00:00:31:00:02 up && \
         ip -n {a} addr add 10.231.0.1/24 dev {p}x && \
         ip -n {b} addr add 10.231.0.2/24 dev {p}y && \
         ip -n {a} addr add fd31::1/64 dev {p}x nodad && \
         ip -n {b} addr add fd31::2/64 dev {p}y nodad && \
         ip -n {b} link set lo up"
        );
        let ok = Command::new("sh").args(["-c", &setup]).status().unwrap();
        assert!(ok.success(), "namespace setup failed");
        pair
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

#[test]
fn sensor_reassembles_what_the_kernel_reassembles() {
    if let Some(why) = netns_support::skip_reason(&["tcpreplay", "nstat"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let pair = Pair::new("ef");
    let (p, a, b) = (&pair.p, &pair.a, &pair.b);
    let dir = support::scratch("evasion-kernel");
    let mut failures = Vec::new();
    for case in cases() {
        let path = dir.join("case.pcap");
        let mut w = PcapWriter::new(Vec::new());
        for (i, f) in case.frames.iter().enumerate() {
            w.packet(1_000_000 + i as i64 * 1000, f);
        }
        std::fs::write(&path, w.into_inner()).unwrap();
        let before = kernel_reassembled(b, case.v6);
        sh(&format!(
            "ip netns exec {a} tcpreplay -q -i {p}x {} >/dev/null 2>&1",
            path.display()
        ));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let kernel = kernel_reassembled(b, case.v6) - before;
        let sensor = sensor_reassembled(&dir, &path);
        eprintln!("{}: kernel {kernel}, sensor {sensor}", case.name);
        if kernel != sensor {
            failures.push(format!("{}: kernel {kernel}, sensor {sensor}", case.name));
        }
    }
    drop(pair);
    let _ = std::fs::remove_dir_all(dir);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The fields of a SYN event that fingerprint the sender (not the ports,
/// IP ID, TTL or time, which nmap randomises per run).
fn syn_fingerprints(log: &str) -> Vec<String> {
    const KEEP: [&str; 8] = [
        "window",
        "mss",
        "options_sig",
        "ip_len",
        "ja4t",
        "p0f_sig",
        "scanner",
        "df",
    ];
    let mut out: Vec<String> = log
        .lines()
        .filter(|l| l.contains("tcp_syn_fingerprint"))
        .map(|l| {
            KEEP.iter()
                .map(|k| {
                    let at = l.find(&format!(" {k}=\"")).map(|i| i + k.len() + 3);
                    let v = at.map_or("", |i| &l[i..i + l[i..].find('"').unwrap_or(0)]);
                    if *k == "p0f_sig" {
                        // nmap picks a random TTL per run: not compared.
                        let mut parts: Vec<&str> = v.split(':').collect();
                        if parts.len() > 1 {
                            parts[1] = "*";
                        }
                        return format!("{k}={}", parts.join(":"));
                    }
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn nmap_fragmented_scans_fingerprint_like_unfragmented() {
    if let Some(why) = netns_support::skip_reason(&["nmap", "tcpdump"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let pair = Pair::new("en");
    let (p, a, b) = (&pair.p, &pair.a, &pair.b);
    let dir = support::scratch("evasion-nmap");
    let mut prints = Vec::new();
    for (name, flags) in [("plain", ""), ("f", "-f"), ("mtu8", "--mtu 8")] {
        let pcap = dir.join(format!("{name}.pcap"));
        let mut dump = Command::new("ip")
            .args(["netns", "exec", b, "tcpdump", "-U", "-n", "-s0", "-i"])
            .arg(format!("{p}y"))
            .arg("-w")
            .arg(&pcap)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        sh(&format!(
            "ip netns exec {a} nmap -sS -Pn -n {flags} -p 22,80,443 --max-retries 0 \
             10.231.0.2 >/dev/null 2>&1"
        ));
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = Command::new("kill").arg(dump.id().to_string()).status();
        let _ = dump.wait();
        let _ = std::fs::remove_file(dir.join("out.log"));
        let run = support::read_child(&dir, &pcap, &["--decky", "decky=10.231.0.2"]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        let log = String::from_utf8(run.log).unwrap();
        let fp = syn_fingerprints(&log);
        let syns = log.matches("tcp_syn_fingerprint").count();
        eprintln!("{name}: {syns} SYN events, fingerprints {fp:#?}");
        if name != "plain" {
            assert!(
                run.stderr.contains("ip_fragment_datagrams_reassembled"),
                "{name}: nothing reassembled\n{}",
                run.stderr
            );
        }
        // One event per source and fingerprint (the log deduplicates).
        assert!(syns >= 1, "{name}: no SYN event\n{log}");
        prints.push((name, fp));
    }
    drop(pair);
    let _ = std::fs::remove_dir_all(dir);
    assert!(!prints[0].1.is_empty());
    for (name, fp) in &prints[1..] {
        assert_eq!(
            fp, &prints[0].1,
            "{name} differs from the unfragmented scan"
        );
    }
}
