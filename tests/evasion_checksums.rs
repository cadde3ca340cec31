//! Issue 18, item 2: the insertion attack. A ClientHello (or HTTP request)
//! with a harmless SNI (User-Agent) is sent first with a broken TCP
//! checksum, then the real one at the same sequence numbers. The decky's
//! kernel drops the first, so the sensor must report the second.

mod support;

use std::net::Ipv4Addr;

use support::{PcapWriter, ACK, PSH_ACK, SYN, SYN_ACK};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 30);
const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn sum(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Fills in the TCP checksum of an Ethernet/IPv4/TCP frame (the support
/// builder leaves it 0); `broken` makes it wrong by one.
fn checksummed(mut f: Vec<u8>, broken: bool) -> Vec<u8> {
    let tcp_len = f.len() - 34;
    f[50] = 0;
    f[51] = 0;
    let pseudo = sum(&f[26..34]) + 6 + tcp_len as u32;
    let c = !fold(pseudo + sum(&f[34..]));
    let c = if broken { c.wrapping_add(1) } else { c };
    f[50..52].copy_from_slice(&c.to_be_bytes());
    f
}

/// Handshake, the decoy with a broken checksum, the real payload at the
/// same sequence number, the decky's acknowledgement.
fn insertion(port: u16, decoy: &[u8], real: &[u8]) -> Vec<u8> {
    insertion_after_junk(port, 0, decoy, real)
}

/// [`insertion`], with `junk` bad-checksum segments from the attacker
/// before the decoy: an attempt to make its direction look offloaded.
fn insertion_after_junk(port: u16, junk: usize, decoy: &[u8], real: &[u8]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new());
    let t = 1_776_789_350_000_000i64;
    let junk_frames = (0..junk).map(|_| {
        (
            support::tcp(ATTACKER, 41000, DECKY, port, 101, 901, PSH_ACK, b"junk"),
            true,
        )
    });
    let frames = [
        (
            support::tcp(ATTACKER, 41000, DECKY, port, 100, 0, SYN, &[]),
            false,
        ),
        (
            support::tcp(DECKY, port, ATTACKER, 41000, 900, 101, SYN_ACK, &[]),
            false,
        ),
        (
            support::tcp(ATTACKER, 41000, DECKY, port, 101, 901, ACK, &[]),
            false,
        ),
        (
            support::tcp(ATTACKER, 41000, DECKY, port, 101, 901, PSH_ACK, decoy),
            true,
        ),
        (
            support::tcp(ATTACKER, 41000, DECKY, port, 101, 901, PSH_ACK, real),
            false,
        ),
        (
            support::tcp(
                DECKY,
                port,
                ATTACKER,
                41000,
                901,
                101 + real.len() as u32,
                ACK,
                &[],
            ),
            false,
        ),
    ];
    let (head, tail) = frames.split_at(3);
    let frames: Vec<_> = head
        .iter()
        .cloned()
        .chain(junk_frames)
        .chain(tail.iter().cloned())
        .collect();
    for (i, (f, broken)) in frames.into_iter().enumerate() {
        w.packet(t + i as i64 * 1000, &checksummed(f, broken));
    }
    w.into_inner()
}

fn read(name: &str, pcap: &[u8], args: &[&str]) -> (String, String) {
    let dir = support::scratch(name);
    let path = dir.join("in.pcap");
    std::fs::write(&path, pcap).unwrap();
    let run = support::read_child(&dir, &path, args);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(dir);
    (String::from_utf8(run.log).unwrap(), run.stderr)
}

#[test]
fn client_hello_insertion_reports_what_the_decky_got() {
    let decoy = support::client_hello(b"harmless.exa", &[], &[]);
    let real = support::client_hello(b"evil.example", &[], &[]);
    // Same length, so both cover exactly the same sequence numbers.
    assert_eq!(decoy.len(), real.len());
    let pcap = insertion(443, &decoy, &real);
    for args in [
        &[][..],
        &["--decky", "web=10.0.0.5"][..],
        &["--workers", "2"][..],
    ] {
        let (log, summary) = read("cksum-tls", &pcap, args);
        assert!(log.contains("sni=\"evil.example\""), "{args:?}: {log}");
        assert!(!log.contains("harmless"), "{args:?}: {log}");
        assert!(summary.contains("checksum_bad_dropped: 1"), "{summary}");
    }
}

#[test]
fn http_insertion_reports_what_the_decky_got() {
    let decoy = b"GET / HTTP/1.1\r\nHost: d\r\nUser-Agent: harmless/1.0\r\n\r\n";
    let real = b"GET / HTTP/1.1\r\nHost: d\r\nUser-Agent: evil-bot/6.6\r\n\r\n";
    assert_eq!(decoy.len(), real.len());
    let (log, summary) = read("cksum-http", &insertion(80, decoy, real), &[]);
    assert!(log.contains("evil-bot/6.6"), "{log}");
    assert!(!log.contains("harmless"), "{log}");
    assert!(summary.contains("checksum_bad_dropped: 1"), "{summary}");
}

/// An attacker cannot switch validation off for its own connection: its SYN
/// had a good checksum (the decky accepted the connection), so junk
/// segments with bad checksums before the decoy change nothing.
#[test]
fn junk_before_the_decoy_does_not_switch_validation_off() {
    let decoy = support::client_hello(b"harmless.exa", &[], &[]);
    let real = support::client_hello(b"evil.example", &[], &[]);
    let pcap = insertion_after_junk(443, 5, &decoy, &real);
    for args in [
        &[][..],
        &["--decky", "web=10.0.0.5"][..],
        &["--decky", "web=10.0.0.5", "--workers", "2"][..],
    ] {
        let (log, summary) = read("cksum-junk", &pcap, args);
        assert!(log.contains("sni=\"evil.example\""), "{args:?}: {log}");
        assert!(!log.contains("harmless"), "{args:?}: {log}");
        assert!(summary.contains("checksum_bad_dropped: 6"), "{summary}");
        assert!(
            !summary.contains("checksum_validation_turned_off"),
            "{summary}"
        );
    }
}
