//! Helpers for tests that build hostile traffic: a pcap writer, frame
//! builders, TLS/SSH/HTTP payloads, and a `decnet-sniffer read` child whose
//! peak memory is measured.
#![allow(dead_code)]

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A classic little-endian microsecond pcap, Ethernet link type.
pub struct PcapWriter<W: Write> {
    out: W,
    pub packets: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> Self {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&h).unwrap();
        PcapWriter { out, packets: 0 }
    }

    pub fn packet(&mut self, micros: i64, frame: &[u8]) {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&h).unwrap();
        self.out.write_all(frame).unwrap();
        self.packets += 1;
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH_ACK: u8 = 0x18;
pub const SYN_ACK: u8 = 0x12;
pub const FIN_ACK: u8 = 0x11;
pub const RST: u8 = 0x04;

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

fn eth_ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = (20 + l4.len()).min(65535) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&1u16.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// An Ethernet/IPv4/TCP frame. SYNs carry Linux's options.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let opts: &[u8] = if flags & SYN != 0 {
        &[
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]
    } else {
        &[]
    };
    let hlen = 20 + opts.len();
    let mut t = Vec::with_capacity(hlen + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(((hlen / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(opts);
    t.extend_from_slice(payload);
    eth_ipv4(src, dst, 6, &t)
}

pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    eth_ipv4(src, dst, 17, &u)
}

/// One TCP connection written into a pcap: handshake, client payload in
/// segments of at most `mss`, server reply, FIN.
pub struct Conn {
    pub client: Ipv4Addr,
    pub cport: u16,
    pub server: Ipv4Addr,
    pub sport: u16,
    pub cseq: u32,
    pub sseq: u32,
    pub t: i64,
}

impl Conn {
    pub fn new(client: Ipv4Addr, cport: u16, server: Ipv4Addr, sport: u16) -> Self {
        Conn {
            client,
            cport,
            server,
            sport,
            cseq: 1000,
            sseq: 5000,
            t: 1_776_789_350_000_000,
        }
    }

    fn tick(&mut self) -> i64 {
        self.t += 1000;
        self.t
    }

    pub fn handshake<W: Write>(&mut self, w: &mut PcapWriter<W>) {
        let (c, s) = (self.client, self.server);
        let t = self.tick();
        w.packet(
            t,
            &tcp(c, self.cport, s, self.sport, self.cseq, 0, SYN, &[]),
        );
        self.cseq = self.cseq.wrapping_add(1);
        let t = self.tick();
        w.packet(
            t,
            &tcp(
                s,
                self.sport,
                c,
                self.cport,
                self.sseq,
                self.cseq,
                SYN_ACK,
                &[],
            ),
        );
        self.sseq = self.sseq.wrapping_add(1);
        let t = self.tick();
        w.packet(
            t,
            &tcp(c, self.cport, s, self.sport, self.cseq, self.sseq, ACK, &[]),
        );
    }

    pub fn client_data<W: Write>(&mut self, w: &mut PcapWriter<W>, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss.max(1)) {
            let t = self.tick();
            let f = tcp(
                self.client,
                self.cport,
                self.server,
                self.sport,
                self.cseq,
                self.sseq,
                PSH_ACK,
                chunk,
            );
            w.packet(t, &f);
            self.cseq = self.cseq.wrapping_add(chunk.len() as u32);
        }
    }

    pub fn server_data<W: Write>(&mut self, w: &mut PcapWriter<W>, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss.max(1)) {
            let t = self.tick();
            let f = tcp(
                self.server,
                self.sport,
                self.client,
                self.cport,
                self.sseq,
                self.cseq,
                PSH_ACK,
                chunk,
            );
            w.packet(t, &f);
            self.sseq = self.sseq.wrapping_add(chunk.len() as u32);
        }
    }

    pub fn close<W: Write>(&mut self, w: &mut PcapWriter<W>) {
        let t = self.tick();
        w.packet(
            t,
            &tcp(
                self.client,
                self.cport,
                self.server,
                self.sport,
                self.cseq,
                self.sseq,
                FIN_ACK,
                &[],
            ),
        );
        let t = self.tick();
        w.packet(
            t,
            &tcp(
                self.server,
                self.sport,
                self.client,
                self.cport,
                self.sseq,
                self.cseq.wrapping_add(1),
                FIN_ACK,
                &[],
            ),
        );
    }
}

fn u16be(v: usize) -> [u8; 2] {
    (v as u16).to_be_bytes()
}

/// A TLS 1.2/1.3 ClientHello record with SNI `sni`, ALPN `alpn` and
/// `extra` more extensions of type 0xfafa+i (GREASE-like padding types).
pub fn client_hello(sni: &[u8], alpn: &[&[u8]], extra: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut exts = Vec::new();
    let mut push_ext = |ty: u16, body: &[u8]| {
        exts.extend_from_slice(&ty.to_be_bytes());
        exts.extend_from_slice(&u16be(body.len()));
        exts.extend_from_slice(body);
    };
    if !sni.is_empty() {
        let mut b = Vec::new();
        b.extend_from_slice(&u16be(sni.len() + 3));
        b.push(0);
        b.extend_from_slice(&u16be(sni.len()));
        b.extend_from_slice(sni);
        push_ext(0, &b);
    }
    push_ext(10, &[0, 4, 0, 0x1d, 0, 0x17]);
    push_ext(11, &[1, 0]);
    push_ext(13, &[0, 4, 4, 3, 8, 4]);
    if !alpn.is_empty() {
        let mut list = Vec::new();
        for p in alpn {
            list.push(p.len() as u8);
            list.extend_from_slice(p);
        }
        let mut b = u16be(list.len()).to_vec();
        b.extend_from_slice(&list);
        push_ext(16, &b);
    }
    push_ext(43, &[4, 3, 4, 3, 3]);
    for (ty, body) in extra {
        push_ext(*ty, body);
    }
    let mut hello = Vec::new();
    hello.extend_from_slice(&[3, 3]);
    hello.extend_from_slice(&[0x11; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0, 6, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f]);
    hello.extend_from_slice(&[1, 0]);
    hello.extend_from_slice(&u16be(exts.len()));
    hello.extend_from_slice(&exts);
    handshake_record(1, &hello)
}

/// A handshake message of `ty` in one or more TLS records (split at 16 KiB).
pub fn handshake_record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![ty];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(body);
    let mut out = Vec::new();
    for frag in msg.chunks(16384) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&u16be(frag.len()));
        out.extend_from_slice(frag);
    }
    out
}

/// Where generated inputs go; removed by the caller.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("decnet-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What a `decnet-sniffer read` child did.
pub struct ReadRun {
    pub status: i32,
    pub log: Vec<u8>,
    pub json: Vec<u8>,
    pub stderr: String,
    /// Peak resident set of the child, KiB (getrusage of that child).
    pub max_rss_kib: i64,
    pub elapsed: Duration,
}

/// Runs `decnet-sniffer read PCAP --log --json ARGS...` in `dir` and
/// measures the child alone (wait4 on its pid).
pub fn read_child(dir: &Path, pcap: &Path, args: &[&str]) -> ReadRun {
    read_child_to(dir, pcap, args, true)
}

/// As [`read_child`]; with `keep` false the records go to /dev/null (floods
/// whose millions of lines would only cost disk).
// The child is reaped by `wait4` (for its own rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn read_child_to(dir: &Path, pcap: &Path, args: &[&str], keep: bool) -> ReadRun {
    let (log, json) = if keep {
        (dir.join("out.log"), dir.join("out.json"))
    } else {
        (PathBuf::from("/dev/null"), PathBuf::from("/dev/null"))
    };
    let stderr = dir.join("stderr");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .arg("read")
        .arg(pcap)
        .arg("--log")
        .arg(&log)
        .arg("--json")
        .arg(&json)
        .args(["--no-progress", "--summary"])
        .args(args)
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let (status, rss) = wait4(child.id() as i32);
    ReadRun {
        status,
        log: if keep {
            std::fs::read(&log).unwrap_or_default()
        } else {
            Vec::new()
        },
        json: if keep {
            std::fs::read(&json).unwrap_or_default()
        } else {
            Vec::new()
        },
        stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
        max_rss_kib: rss,
        elapsed: started.elapsed(),
    }
}

/// Reaps `pid`, returning (exit code or 128+signal, ru_maxrss in KiB).
pub fn wait4(pid: i32) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, ru.ru_maxrss)
}

/// Splits a file into its lines; panics if the last one is unterminated.
pub fn lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    assert_eq!(data.last(), Some(&b'\n'), "file ends inside a line");
    data[..data.len() - 1].split(|&b| b == b'\n').collect()
}

/// The conformance corpus (`tests/corpus`: FoxIO's captures and the
/// expected outputs of independent tools, the JA3 vectors), or the folder
/// `DECNET_CORPUS` names. Every integration test finds it here.
pub fn corpus() -> PathBuf {
    match std::env::var_os("DECNET_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    }
}

/// A capture of the FoxIO set: `tests/corpus/foxio/pcap/NAME`.
pub fn foxio_pcap(name: &str) -> PathBuf {
    corpus().join("foxio/pcap").join(name)
}

/// Our own captures and test inputs: `tests/data/REL`.
pub fn test_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Every event of a capture, read as `decnet-sniffer read` reads it (capture
/// reader, decoder, engine, flows flushed at the end), before dedup; and the
/// engine, for its counters.
pub fn replay(
    path: &Path,
    limits: decnet_sniffer::engine::Limits,
    deckies: decnet_sniffer::engine::DeckyMap,
) -> (
    Vec<decnet_sniffer::event::Event>,
    decnet_sniffer::engine::Engine,
) {
    use decnet_sniffer::capture::file::CaptureFile;
    let mut engine = decnet_sniffer::engine::Engine::new(limits, deckies);
    let mut events = Vec::new();
    let mut file = CaptureFile::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.for_each(|p| engine.process(&p, &mut |e| events.push(e)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    engine.finish(&mut |e| events.push(e));
    (events, engine)
}

/// [`replay`] at the default limits with every server observed.
pub fn events_of(path: &Path) -> Vec<decnet_sniffer::event::Event> {
    use decnet_sniffer::engine::{DeckyMap, Limits};
    replay(path, Limits::default(), DeckyMap::observe_all()).0
}

/// A field of an event as text; panics naming a field the event lacks.
pub fn text(ev: &decnet_sniffer::event::Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap_or_else(|| panic!("{name} missing"))).into_owned()
}

/// The socket an event names by two fields (`src_ip`, `src_port`).
pub fn endpoint(ev: &decnet_sniffer::event::Event, ip: &str, port: &str) -> std::net::SocketAddr {
    std::net::SocketAddr::new(
        text(ev, ip).parse().expect("ip"),
        text(ev, port).parse().expect("port"),
    )
}

/// An endpoint as p0f logs it: `1.2.3.4/80`, or uncompressed IPv6
/// `2001:db8:0:0:0:0:0:1/80`.
pub fn p0f_endpoint(s: &str) -> Option<std::net::SocketAddr> {
    let (ip, port) = s.rsplit_once('/')?;
    Some(std::net::SocketAddr::new(
        ip.parse::<std::net::IpAddr>().ok()?,
        port.parse().ok()?,
    ))
}

/// p0f 3.09b's logs of the FoxIO captures (`tests/corpus/foxio/p0f-3.09b`),
/// sorted: (log file name, capture, log) for every log whose capture exists.
pub fn foxio_p0f_logs() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = corpus().join("foxio/p0f-3.09b");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("p0f logs")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|log| {
            let pcap = foxio_pcap(log.strip_suffix(".log")?);
            let path = dir.join(&log);
            pcap.exists().then_some((log, pcap, path))
        })
        .collect()
}
