//! Floods an attacker can send to take the sensor's memory, each piped
//! from a generator into `decnet-sniffer read -` at the default settings:
//! the child's peak RSS (VmHWM, from wait4) stays within 256 MiB, and a
//! real client's TLS handshake placed after the flood is still reported
//! (the flood's state makes room; the newcomer is never refused).
//!
//! Nothing is written to disk but the events: the captures are generated
//! as they are read. `DECNET_FLOOD_BIN` runs another binary (to measure
//! an older build for ROBUSTNESS.md).

mod support;

use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use support::{client_hello, tcp, udp, wait4, Conn, PcapWriter, PSH_ACK, SYN, SYN_ACK};

const LIMIT_KIB: i64 = 256 * 1024;
const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
/// Flood packets start here, one microsecond apart.
const T0: i64 = 1_776_789_000_000_000;

struct Run {
    status: i32,
    max_rss_kib: i64,
    /// The log line reporting the real client, if any.
    real_client: Option<String>,
    summary: String,
}

/// The first line of the file containing every needle, read line by line:
/// a flood's log can be hundreds of MB, and this process must stay small
/// (a spawned child starts with its parent's peak RSS as its own
/// `ru_maxrss`, which Linux keeps across exec).
fn find_line(path: &std::path::Path, needles: &[&str]) -> Option<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).ok()?;
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .find(|l| needles.iter().all(|n| l.contains(n)))
}

/// Runs `read -` with the generator's pcap on stdin; events go to a log
/// file (JSON to /dev/null), the summary to stderr.
// The child is reaped by `wait4` (for its own rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn read_stream(
    name: &str,
    args: &[&str],
    generate: impl FnOnce(&mut PcapWriter<BufWriter<std::process::ChildStdin>>),
) -> Run {
    let dir = support::scratch(name);
    let log = dir.join("out.log");
    let stderr = dir.join("stderr");
    let bin = std::env::var_os("DECNET_FLOOD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_decnet-sniffer")));
    let mut child = Command::new(bin)
        .args([
            "read",
            "-",
            "--no-progress",
            "--summary",
            "--json",
            "/dev/null",
        ])
        .arg("--log")
        .arg(&log)
        .args(args)
        .args(
            std::env::var("DECNET_FLOOD_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, stdin));
    generate(&mut w);
    drop(w.into_inner());
    let (status, max_rss_kib) = wait4(child.id() as i32);
    let run = Run {
        status,
        max_rss_kib,
        real_client: find_line(&log, &["tls_client_hello", "real.example"]),
        summary: std::fs::read_to_string(&stderr).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

fn flood_src(i: u32) -> Ipv4Addr {
    // 100.64.0.0/10 and beyond: distinct for every i below 2^22.
    Ipv4Addr::from(0x6440_0000u32.wrapping_add(i))
}

/// A real client's complete handshake and ClientHello, after the flood.
fn real_client<W: Write>(w: &mut PcapWriter<W>, after: i64) {
    let mut c = Conn::new(Ipv4Addr::new(198, 51, 100, 7), 50_000, DECKY, 443);
    c.t = after + 1000;
    c.handshake(w);
    let hello = client_hello(b"real.example", &[b"h2"], &[]);
    c.client_data(w, &hello, 1460);
    c.close(w);
}

fn check(run: &Run, what: &str) {
    eprintln!(
        "{what}: peak RSS {} MiB, exit {}\n{}",
        run.max_rss_kib / 1024,
        run.status,
        run.summary
            .lines()
            .filter(|l| l.contains("memcap")
                || l.starts_with("  ")
                || l.contains("memory")
                || l.contains("quic")
                || l.starts_with("packets"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(run.status, 0, "{what}: {}", run.summary);
    assert!(
        run.max_rss_kib <= LIMIT_KIB,
        "{what}: peak RSS {} KiB over {LIMIT_KIB}",
        run.max_rss_kib
    );
    assert!(
        run.real_client.is_some(),
        "{what}: the real client was not reported"
    );
}

/// The first segment of a ClientHello that announces 16 KiB and never ends.
fn endless_hello_start(len: usize) -> Vec<u8> {
    let mut p = vec![
        0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc, 0x03, 0x03,
    ];
    p.resize(len, 0x41);
    p
}

/// `conns` connections to the decky's 443, each sending 15 KB of a
/// ClientHello that never ends, in turn (all open at once); with
/// `handshake`, each connection's SYN, SYN-ACK and ACK first.
fn endless_hellos<W: Write>(w: &mut PcapWriter<W>, conns: u32, handshake: bool) -> i64 {
    endless_hellos_to(w, conns, handshake, DECKY)
}

fn endless_hellos_to<W: Write>(
    w: &mut PcapWriter<W>,
    conns: u32,
    handshake: bool,
    decky: Ipv4Addr,
) -> i64 {
    const SEG: usize = 1400;
    const SEGS: usize = 11;
    let first = endless_hello_start(SEG);
    let rest = vec![0x42u8; SEG];
    let mut t = T0;
    let isn = |i: u32| i.wrapping_mul(2_654_435_761);
    let sport = |i: u32| 1024 + (i % 60_000) as u16;
    if handshake {
        for i in 0..conns {
            let (c, p) = (flood_src(i), sport(i));
            t += 1;
            w.packet(t, &tcp(c, p, decky, 443, isn(i), 0, SYN, &[]));
            t += 1;
            w.packet(t, &tcp(decky, 443, c, p, 7, isn(i) + 1, SYN_ACK, &[]));
        }
    }
    for k in 0..SEGS {
        let payload = if k == 0 { &first } else { &rest };
        for i in 0..conns {
            let seq = isn(i).wrapping_add(1 + (k * SEG) as u32);
            t += 1;
            w.packet(
                t,
                &tcp(flood_src(i), sport(i), decky, 443, seq, 8, PSH_ACK, payload),
            );
        }
    }
    t
}

#[test]
fn endless_client_hellos_without_handshake() {
    let run = read_stream("memcap-hellos-data-only", &[], |w| {
        let end = endless_hellos(w, 60_000, false);
        real_client(w, end);
    });
    check(&run, "60k data-only endless ClientHellos");
}

#[test]
fn endless_client_hellos_after_handshake() {
    let run = read_stream("memcap-hellos-handshake", &[], |w| {
        let end = endless_hellos(w, 60_000, true);
        real_client(w, end);
    });
    check(&run, "60k endless ClientHellos after handshakes");
}

/// A million connections, each a SYN, one segment of an HTTP request that
/// never ends and one of an SSH banner that never ends.
#[test]
fn a_million_partial_http_and_ssh_connections() {
    let run = read_stream("memcap-http-ssh", &[], |w| {
        let http = b"GET /index.html HTTP/1.1\r\nHost: decky\r\nUser-Agent: flood";
        let ssh = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu";
        let mut t = T0;
        for i in 0..1_000_000u32 {
            let (c, p) = (flood_src(i), 1024 + (i % 60_000) as u16);
            let isn = i.wrapping_mul(2_654_435_761);
            t += 1;
            w.packet(t, &tcp(c, p, DECKY, 80, isn, 0, SYN, &[]));
            t += 1;
            w.packet(t, &tcp(c, p, DECKY, 80, isn + 1, 9, PSH_ACK, http));
            t += 1;
            w.packet(
                t,
                &tcp(
                    DECKY,
                    80,
                    c,
                    p,
                    8,
                    isn + 1 + http.len() as u32,
                    PSH_ACK,
                    ssh,
                ),
            );
        }
        real_client(w, t);
    });
    check(&run, "1M partial HTTP + SSH connections");
}

/// Three million SYNs from distinct spoofed sources.
#[test]
fn three_million_spoofed_syns() {
    let run = read_stream("memcap-syns", &[], |w| {
        let mut t = T0;
        for i in 0..3_000_000u32 {
            let src = Ipv4Addr::from(i.wrapping_mul(0x9e37_79b1) ^ 0x5bd1_e995);
            t += 1;
            w.packet(
                t,
                &tcp(src, 1024 + (i % 60_000) as u16, DECKY, 22, i, 0, SYN, &[]),
            );
        }
        real_client(w, t);
    });
    check(&run, "3M spoofed SYNs");
}

/// The first DTLS 1.2 ClientHello fragment (of a 2000-byte hello) from a
/// million sources: each waits for fragments that never come.
#[test]
fn a_million_partial_dtls_hellos() {
    let run = read_stream("memcap-dtls", &[], |w| {
        let body = dtls_first_fragment(2000, 400);
        let mut t = T0;
        for i in 0..1_000_000u32 {
            t += 1;
            w.packet(
                t,
                &udp(flood_src(i), 1024 + (i % 60_000) as u16, DECKY, 4433, &body),
            );
        }
        real_client(w, t);
    });
    check(&run, "1M partial DTLS ClientHellos");
}

/// The first client Initial of tests/data/quic/quic-split-hello.pcap (its
/// ClientHello spans three Initials), sent to port 443 from a million
/// sources: each leaves a partial ClientHello waiting.
#[test]
fn a_million_partial_quic_hellos() {
    let initial = first_quic_initial(&support::test_data("quic/quic-split-hello.pcap"));
    let run = read_stream("memcap-quic", &[], |w| {
        let mut t = T0;
        for i in 0..1_000_000u32 {
            t += 1;
            w.packet(
                t,
                &udp(
                    flood_src(i),
                    1024 + (i % 60_000) as u16,
                    DECKY,
                    443,
                    &initial,
                ),
            );
        }
        real_client(w, t);
    });
    check(&run, "1M partial QUIC Initials");
}

/// The first piece (offset 0, more to come) of a TCP datagram to the
/// decky's 443, in an Ethernet frame: IPv4 from `v4`, else IPv6 from
/// 2001:db8::/32 with a Fragment header. `piece` bytes of the datagram's
/// payload, a multiple of 8.
fn first_fragment(i: u32, v4: bool, piece: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    if v4 {
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + piece.len()) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&(i as u16).to_be_bytes());
        ip[6] = 0x20; // MF, offset 0
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&flood_src(i).octets());
        ip[16..20].copy_from_slice(&DECKY.octets());
        let mut sum = 0u32;
        for c in ip.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        f.extend_from_slice(&ip);
    } else {
        f.extend_from_slice(&[0x86, 0xdd]);
        let mut ip = [0u8; 40];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&((8 + piece.len()) as u16).to_be_bytes());
        ip[6] = 44;
        ip[7] = 64;
        ip[8..12].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        ip[20..24].copy_from_slice(&i.to_be_bytes());
        ip[24..28].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        ip[39] = 5;
        f.extend_from_slice(&ip);
        // Next header TCP, offset 0 with M set, identification i.
        f.extend_from_slice(&[6, 0, 0, 1]);
        f.extend_from_slice(&i.to_be_bytes());
    }
    f.extend_from_slice(piece);
    f
}

/// First pieces of IPv4 and IPv6 datagrams that never complete, from a
/// million sources (half of each family): the defragmenter holds them
/// within its cap and the budget, oldest evicted first.
#[test]
fn a_million_sources_of_fragments_that_never_complete() {
    let run = read_stream("memcap-fragments", &[], |w| {
        // A SYN's TCP header (data offset 5) and payload to fill the piece.
        let mut piece = vec![0u8; 512];
        piece[12] = 0x50;
        piece[13] = SYN;
        let mut t = T0;
        for i in 0..1_000_000u32 {
            piece[0..2].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
            piece[2..4].copy_from_slice(&443u16.to_be_bytes());
            t += 1;
            w.packet(t, &first_fragment(i, i % 2 == 0, &piece));
        }
        real_client(w, t);
    });
    check(
        &run,
        "1M sources of IPv4/IPv6 fragments that never complete",
    );
    assert!(
        run.summary.contains("ip_fragment_datagrams_evicted")
            || run.summary.contains("ip_fragment_datagrams_memcap_evicted"),
        "the fragment flood was not evicted: {}",
        run.summary
    );
}

/// The UDP payload of the first IPv4 datagram to port 8443 in a classic
/// little-endian pcap of Ethernet frames.
fn first_quic_initial(path: &std::path::Path) -> Vec<u8> {
    let d = std::fs::read(path).unwrap();
    let mut off = 24;
    while off + 16 <= d.len() {
        let cl = u32::from_le_bytes(d[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = &d[off + 16..off + 16 + cl];
        off += 16 + cl;
        if f.len() < 42 || f[12..14] != [0x08, 0x00] || f[23] != 17 {
            continue;
        }
        let ihl = usize::from(f[14] & 0x0f) * 4;
        let udp = &f[14 + ihl..];
        if u16::from_be_bytes([udp[2], udp[3]]) == 8443 {
            return udp[8..].to_vec();
        }
    }
    panic!("no Initial to 8443 in {}", path.display());
}

/// A DTLS record carrying the first `frag` bytes of a ClientHello of
/// `total` bytes.
fn dtls_first_fragment(total: usize, frag: usize) -> Vec<u8> {
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(total as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&[0, 0]); // message_seq
    hs.extend_from_slice(&[0, 0, 0]); // fragment_offset
    hs.extend_from_slice(&(frag as u32).to_be_bytes()[1..]);
    // client_version DTLS 1.2, then the random and the rest of the hello.
    hs.extend_from_slice(&[0xfe, 0xfd]);
    hs.resize(12 + frag, 0x5a);
    let mut rec = vec![0x16, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[path = "netns/mod.rs"]
mod netns_support;

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the replica and the scratch directory, whatever happens.
struct LiveGuard {
    prefix: String,
    dir: PathBuf,
    daemon: Option<std::process::Child>,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
        let script = netns_support::script("replica.sh");
        sh(&format!("{} down {}", script.display(), self.prefix));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vm_hwm_kib(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The daemon (`run`) on the host namespace of a replica
/// (tests/netns/replica.sh), flooded over the veth from the attacker's
/// namespace with tcpreplay: 30k data-only connections each sending 15 KB
/// of a ClientHello that never ends, then a real client's handshake. The
/// daemon's VmHWM, read from /proc, stays within 256 MiB and the real
/// client is reported. Skipped without root or tcpreplay.
#[test]
fn live_flood_in_run_stays_within_memcap() {
    if let Some(why) = netns_support::skip_reason(&["tcpreplay"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let prefix = netns_support::prefix("mc");
    let dir = std::env::temp_dir().join(format!("memcap-live-{prefix}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = netns_support::script("replica.sh");
    let mut guard = LiveGuard {
        prefix: prefix.clone(),
        dir: dir.clone(),
        daemon: None,
    };
    assert!(
        sh(&format!("{} up {prefix} 1 macvlan", script.display())),
        "replica up"
    );
    let decky = "10.213.0.11";
    std::fs::write(
        dir.join("state.json"),
        format!(
            r#"{{"config": {{"interface": "eth0", "deckies": [{{"name": "d1", "ip": "{decky}", "services": ["https"]}}], "log_target": "x"}}, "compose_path": "/x"}}"#
        ),
    )
    .unwrap();
    let target: Ipv4Addr = decky.parse().unwrap();
    let write_pcap = |name: &str, f: &dyn Fn(&mut PcapWriter<BufWriter<std::fs::File>>)| {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        let mut w = PcapWriter::new(BufWriter::new(file));
        f(&mut w);
        w.into_inner().flush().unwrap();
    };
    write_pcap("flood.pcap", &|w| {
        endless_hellos_to(w, 30_000, false, target);
    });
    write_pcap("real.pcap", &|w| {
        let mut c = Conn::new(Ipv4Addr::new(198, 51, 100, 7), 50_000, target, 443);
        c.handshake(w);
        c.client_data(w, &client_hello(b"real.example", &[b"h2"], &[]), 1460);
        c.close(w);
    });
    let log = dir.join("decnet.log");
    let stderr = dir.join("daemon.stderr");
    let daemon = Command::new("ip")
        .args(["netns", "exec", &format!("{prefix}-host")])
        .arg(
            std::env::var_os("DECNET_FLOOD_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_decnet-sniffer"))),
        )
        .arg("run")
        .arg("--state")
        .arg(dir.join("state.json"))
        .arg("--log")
        .arg(&log)
        .args(["--dedup-ttl", "0", "--bus", "off"])
        .env("DECNET_SNIFFER_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    guard.daemon = Some(daemon);
    let wait_for = |path: &PathBuf, needle: &str, secs: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if std::fs::read_to_string(path)
                .unwrap_or_default()
                .contains(needle)
            {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    assert!(
        wait_for(&stderr, "capturing on", 20),
        "daemon did not start: {}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    let replay = |name: &str| {
        sh(&format!(
            "ip netns exec {prefix}-atk tcpreplay -q -i eth0 --topspeed {} >/dev/null 2>&1",
            dir.join(name).display()
        ))
    };
    assert!(replay("flood.pcap"), "tcpreplay of the flood");
    let after_flood = vm_hwm_kib(pid);
    assert!(replay("real.pcap"), "tcpreplay of the real client");
    let seen = wait_for(&log, "real.example", 30);
    let peak = vm_hwm_kib(pid).max(after_flood);
    eprintln!(
        "live flood: daemon VmHWM {} MiB, real client reported: {seen}",
        peak / 1024
    );
    if !seen {
        let _ = guard.daemon.take().map(|mut d| {
            let _ = d.kill();
            d.wait()
        });
        let err = std::fs::read_to_string(&stderr).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(40).collect();
        eprintln!(
            "daemon stderr (last lines, newest first):\n{}",
            tail.join("\n")
        );
    }
    assert!(seen, "the real client was not reported");
    assert!(peak > 0 && peak <= LIMIT_KIB, "VmHWM {peak} KiB");
}
