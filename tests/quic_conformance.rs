//! `quic_client_hello` and `ipv6_link_local_leak` against independent tools:
//! FoxIO's ja4 snapshots (JA4 `q`), Suricata 7.0.10 (QUIC JA3, SNI,
//! version) and tshark 4.0.17 (our own captures, see
//! tests/data/quic/make_captures.sh), plus a junk-Initial flood.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::{linktype, RawPacket};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::util::time::Timestamp;

mod support;

fn foxio() -> PathBuf {
    support::corpus().join("foxio")
}

fn own(name: &str) -> PathBuf {
    support::test_data("quic").join(name)
}

use support::replay as run;

fn field(ev: &Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap_or_else(|| panic!("{name} missing"))).into_owned()
}

/// quic_client_hello events keyed by client port.
fn hellos(path: &Path, limits: Limits) -> BTreeMap<String, Event> {
    let (events, _) = run(path, limits, DeckyMap::observe_all());
    let mut out = BTreeMap::new();
    for ev in events
        .into_iter()
        .filter(|e| e.kind == EventKind::QuicClientHello)
    {
        let port = field(&ev, "src_port");
        assert!(
            out.insert(port.clone(), ev).is_none(),
            "two hellos from port {port}"
        );
    }
    out
}

/// The UDP records of a FoxIO snapshot: (src_port, sni, ja4).
fn snapshot_udp(capture: &str) -> Vec<(String, String, String)> {
    let path = foxio().join(format!("snapshots/ja4__insta@{capture}.snap"));
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.splitn(3, "---").nth(2).unwrap();
    let mut out = Vec::new();
    for block in body.split("\n- stream:") {
        if !block.contains("transport: udp") {
            continue;
        }
        let value = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("  {key}: ")))
                .unwrap_or("")
                .to_string()
        };
        out.push((value("src_port"), value("tls_server_name"), value("ja4")));
    }
    out
}

/// Suricata's quic records with a ClientHello: (src_port, sni, ja3, version).
fn suricata_quic(capture: &str) -> Vec<(String, String, String, String)> {
    let path = foxio().join(format!("suricata-7.0.10-eve/{capture}.eve.json"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event_type"] != "quic" {
            continue;
        }
        let q = &v["quic"];
        let Some(ja3) = q["ja3"]["hash"].as_str() else {
            continue;
        };
        out.push((
            v["src_port"].to_string(),
            q["sni"].as_str().unwrap_or("").to_string(),
            ja3.to_string(),
            q["version"].as_str().unwrap_or("").to_string(),
        ));
    }
    out
}

const CORPUS: [&str; 6] = [
    "quic-tls-handshake.pcapng",
    "quic-with-several-tls-frames.pcapng",
    "chrome-cloudflare-quic-with-secrets.pcapng",
    "tls-handshake.pcapng",
    "tls3.pcapng",
    "tls-sni.pcapng",
];

#[test]
fn ja4_quic_matches_the_foxio_snapshots() {
    let mut checked = 0;
    for capture in CORPUS {
        let ours = hellos(&foxio().join("pcap").join(capture), Limits::default());
        let expected = snapshot_udp(capture);
        assert!(!expected.is_empty(), "{capture}");
        assert_eq!(
            ours.len(),
            expected.len(),
            "{capture}: one hello per QUIC stream"
        );
        for (port, sni, ja4) in expected {
            let ev = ours
                .get(&port)
                .unwrap_or_else(|| panic!("{capture}: no hello from {port}"));
            assert_eq!(field(ev, "ja4_quic"), ja4, "{capture} port {port}");
            assert_eq!(field(ev, "sni"), sni, "{capture} port {port}");
            checked += 1;
        }
    }
    // 1 + 1 + 1 + 20 + 6 + 20 UDP streams.
    assert_eq!(checked, 49);
}

#[test]
fn ja3_sni_version_match_suricata() {
    let mut checked = 0;
    for capture in CORPUS {
        let ours = hellos(&foxio().join("pcap").join(capture), Limits::default());
        for (port, sni, ja3, version) in suricata_quic(capture) {
            let ev = ours
                .get(&port)
                .unwrap_or_else(|| panic!("{capture}: no hello from {port}"));
            assert_eq!(field(ev, "ja3"), ja3, "{capture} port {port}");
            assert_eq!(field(ev, "sni"), sni, "{capture} port {port}");
            assert_eq!(field(ev, "quic_version"), version, "{capture} port {port}");
            checked += 1;
        }
    }
    assert_eq!(checked, 49);
}

#[test]
fn fields_in_catalogue_order() {
    let ours = hellos(
        &foxio().join("pcap/quic-tls-handshake.pcapng"),
        Limits::default(),
    );
    let ev = ours.get("59102").unwrap();
    let names: Vec<&str> = ev.fields().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "src_ip",
            "dst_ip",
            "dst_port",
            "ja4_quic",
            "sni",
            "alpn",
            "raw_ciphers",
            "src_port",
            "ja3",
            "raw_extensions",
            "quic_version",
            "client",
            "client_source",
            "direction"
        ]
    );
    // Values Suricata lists for this hello (its extension list, in order).
    assert_eq!(
        field(ev, "raw_extensions"),
        "45-27-17513-13-43-0-10-57-16-51"
    );
    assert_eq!(field(ev, "raw_ciphers"), "4865-4866-4867");
    assert_eq!(field(ev, "alpn"), "h3");
    assert_eq!(field(ev, "dst_ip"), "142.251.163.147");
    assert_eq!(ev.kind.severity() as u8, 4);
}

/// One tshark row of tests/data/quic/*.tshark.tsv:
/// ip.src ipv6.src udp.srcport udp.dstport quic.version sni ja3.
fn tshark_rows(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(own(name))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn aioquic_captures_match_tshark() {
    let limits = Limits {
        quic_ports: vec![443, 8443],
        ..Limits::default()
    };
    for (capture, version) in [
        ("quic-v1-ipv4", "1"),
        ("quic-v1-ipv6", "1"),
        ("quic-v2-ipv4", "2"),
        ("quic-split-hello", "1"),
    ] {
        let ours = hellos(&own(&format!("{capture}.pcap")), limits.clone());
        let rows = tshark_rows(&format!("{capture}.tshark.tsv"));
        assert_eq!(ours.len(), 1, "{capture}");
        assert_eq!(rows.len(), 1, "{capture}");
        let r = &rows[0];
        let ev = ours
            .get(&r[2])
            .unwrap_or_else(|| panic!("{capture}: port {}", r[2]));
        let src = if r[0].is_empty() { &r[1] } else { &r[0] };
        assert_eq!(&field(ev, "src_ip"), src, "{capture}");
        assert_eq!(field(ev, "dst_port"), r[3], "{capture}");
        let wire = u32::from_str_radix(r[4].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(
            wire,
            if version == "1" { 1 } else { 0x6b33_43cf },
            "{capture}"
        );
        assert_eq!(field(ev, "quic_version"), version, "{capture}");
        assert_eq!(field(ev, "sni"), r[5], "{capture}");
        assert_eq!(field(ev, "ja3"), r[6], "{capture}");
    }
}

#[test]
fn split_hello_needs_every_initial_and_the_port_option() {
    // tshark: the ClientHello's CRYPTO frames (type 6) are in three Initials.
    let initials = std::fs::read_to_string(own("quic-split-hello.initials.tsv")).unwrap();
    let crypto = initials.lines().filter(|l| l.ends_with("\t6")).count();
    assert_eq!(crypto, 3);
    let ours = hellos(&own("quic-split-hello.pcap"), Limits::default());
    assert!(ours.is_empty(), "port 8443 is not QUIC unless asked");
    let limits = Limits {
        quic_ports: vec![443, 8443],
        ..Limits::default()
    };
    let (events, engine) = run(
        &own("quic-split-hello.pcap"),
        limits,
        DeckyMap::observe_all(),
    );
    let hello = events
        .iter()
        .find(|e| e.kind == EventKind::QuicClientHello)
        .unwrap();
    assert_eq!(field(hello, "alpn").split(',').count(), 60);
    // The three that carry it, and the client's ACK-only Initial after it,
    // opened in case a second ClientHello (HelloRetryRequest) follows.
    assert_eq!(engine.stats().get("quic_initials_decrypted"), 4);
    assert_eq!(engine.stats().get("quic_client_hellos"), 1);
    assert_eq!(engine.stats().get("quic_decrypt_failed"), 0);
}

/// tests/data/quic/ipv6-link-local.tshark.tsv: frame, eth.src, ipv6.src,
/// ipv6.dst, ipv6.src_slaac_mac, icmpv6.type, NS target.
#[test]
fn link_local_leaks_match_tshark() {
    let rows = tshark_rows("ipv6-link-local.tshark.tsv");
    let arp: BTreeMap<String, String> = tshark_rows("ipv6-link-local.arp.tsv")
        .into_iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    // The server is the decky, known by its link-local address; its own
    // packets (sent from its MAC) are never a leak.
    let server = rows.iter().find(|r| r[5] == "136").unwrap();
    let (server_mac, server_ll) = (&server[1], &server[2]);
    let rows: Vec<&Vec<String>> = rows.iter().filter(|r| &r[1] != server_mac).collect();
    assert_eq!(rows.len(), 4);
    let mut deckies = DeckyMap::default();
    deckies.insert("srv", server_ll.parse().unwrap());
    let (events, _) = run(&own("ipv6-link-local.pcap"), Limits::default(), deckies);
    let leaks: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::Ipv6LinkLocalLeak)
        .collect();
    assert_eq!(
        leaks.len(),
        rows.len(),
        "every link-local packet to the decky"
    );
    for (ev, r) in leaks.iter().zip(rows.iter().copied()) {
        assert_eq!(field(ev, "src_ip"), r[2]);
        assert_eq!(field(ev, "dst_ip"), r[3]);
        let slaac = &r[4];
        if slaac.is_empty() {
            assert_eq!(field(ev, "iid_kind"), "stable_privacy");
            assert_eq!(field(ev, "mac_oui"), "");
        } else {
            assert_eq!(field(ev, "iid_kind"), "eui64");
            assert_eq!(field(ev, "mac_oui"), slaac[..8]);
        }
        assert_eq!(&field(ev, "attacker_v4"), arp.get(&r[1]).unwrap());
        assert!(field(ev, "observed_at").ends_with('Z'));
        assert!(ev.get("direction").is_none());
        assert_eq!(&*ev.decky, "srv");
    }
    assert!(leaks.iter().all(|e| field(e, "iid_kind") == "eui64"));
}

#[test]
fn link_local_leak_to_a_decky_known_by_ipv4() {
    // DECNET knows deckies by IPv4: the link-local packets are tied to the
    // decky through its MAC (ARP, then the link-local address it sends from).
    let arp = tshark_rows("ipv6-link-local.arp.tsv");
    let server_v4: IpAddr = arp.iter().find(|r| r[2].ends_with(".1")).unwrap()[2]
        .parse()
        .unwrap();
    let mut deckies = DeckyMap::default();
    deckies.insert("srv", server_v4);
    let (events, engine) = run(&own("ipv6-link-local.pcap"), Limits::default(), deckies);
    let leaks: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::Ipv6LinkLocalLeak)
        .collect();
    // The client's packets but its first neighbor solicitation, sent to a
    // multicast group before the decky's link-local address was seen. The
    // decky's own four (its MAC was seen with its IPv4 address) are not
    // leaks, and counted.
    let rows = tshark_rows("ipv6-link-local.tshark.tsv");
    let server_mac = &arp.iter().find(|r| r[2] == server_v4.to_string()).unwrap()[1];
    let own_rows = rows.iter().filter(|r| &r[1] == server_mac).count();
    assert_eq!(own_rows, 4);
    assert_eq!(leaks.len(), rows.len() - own_rows - 1);
    assert_eq!(engine.stats().get("ipv6_leak_decky_own"), own_rows as u64);
    for leak in &leaks {
        assert_eq!(field(leak, "iid_kind"), "eui64");
        assert_eq!(field(leak, "mac_oui"), "00:1b:21");
        assert_eq!(field(leak, "attacker_v4"), "10.77.0.2");
    }
}

/// A raw IPv4/UDP packet (no link header).
fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    p.extend(src);
    p.extend(dst);
    let ulen = 8 + payload.len();
    p.extend(sport.to_be_bytes());
    p.extend(dport.to_be_bytes());
    p.extend([(ulen >> 8) as u8, ulen as u8, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// Thousands of junk Initials (valid headers, bad tags) from one source:
/// the decryption attempts stay at that source's budget, the rest are
/// counted as skipped, and another client is still served.
#[test]
fn junk_initial_flood_is_bounded() {
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut events = Vec::new();
    let mut junk = vec![
        0xc3, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x9e,
    ];
    junk.resize(18 + 0x49e, 0x5a);
    const N: u32 = 5_000;
    for i in 0..N {
        junk[6..14].copy_from_slice(&u64::from(i).to_be_bytes());
        let data = udp4([203, 0, 113, 66], 4444, [10, 0, 0, 2], 443, &junk);
        // 5 s of packet time.
        let ts = Timestamp::new(1_700_000_000 + i64::from(i / 1000), (i % 1000) * 1_000_000);
        let raw = RawPacket {
            ts,
            linktype: linktype::RAW,
            data: &data,
            orig_len: data.len() as u32,
        };
        engine.process(&raw, &mut |e| events.push(e));
    }
    let failed = engine.stats().get("quic_decrypt_failed");
    let skipped = engine.stats().get("quic_decrypt_skipped");
    // Per-source budget: a burst of 64, then 16 per second.
    assert!(
        (64 + 16 * 4..=64 + 16 * 5).contains(&failed),
        "{failed} attempts"
    );
    assert_eq!(failed + skipped, u64::from(N));
    assert!(events.is_empty());
    // A real client afterwards, from another source, is decrypted.
    let mut file = CaptureFile::open(&own("quic-v1-ipv4.pcap")).unwrap();
    file.for_each(|p| engine.process(&p, &mut |e| events.push(e)))
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::QuicClientHello)
            .count(),
        1
    );
}

/// An Ethernet frame carrying IPv6/UDP from `src` to `dst` (checksum right).
fn udp6_frame(mac: [u8; 6], src: &str, dst: &str) -> Vec<u8> {
    let (s, d): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
        (src.parse().unwrap(), dst.parse().unwrap());
    let payload = b"probe";
    let len = (8 + payload.len()) as u16;
    let mut udp = vec![0x9c, 0x40, 0x00, 0x09];
    udp.extend(len.to_be_bytes());
    udp.extend([0, 0]);
    udp.extend(payload);
    // RFC 8200 8.1 pseudo-header checksum.
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    add(&s.octets());
    add(&d.octets());
    add(&u32::from(len).to_be_bytes());
    add(&[0, 0, 0, 17]);
    add(&udp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    udp[6..8].copy_from_slice(&(if ck == 0 { 0xffff } else { ck }).to_be_bytes());
    let mut f = vec![0x33, 0x33, 0, 0, 0, 2];
    f.extend(mac);
    f.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend(len.to_be_bytes());
    f.extend([17, 64]);
    f.extend(s.octets());
    f.extend(d.octets());
    f.extend(udp);
    f
}

/// A decky known by its global IPv6 address: the MAC it sends from is a
/// decky's, so its link-local packets are not leaks (counted), while the same
/// packet from another MAC is one.
#[test]
fn a_deckys_own_link_local_packets_are_no_leak() {
    let decky_mac = [0x02, 0, 0, 0, 0, 0x13];
    let other_mac = [0x02, 0, 0, 0, 0, 0x66];
    let mut deckies = DeckyMap::default();
    deckies.insert("decky-03", "fd77::13".parse().unwrap());
    let mut engine = Engine::new(Limits::default(), deckies);
    let frames = [
        udp6_frame(decky_mac, "fd77::13", "fd77::66"),
        // The decky's own link-local packet to one of its addresses.
        udp6_frame(decky_mac, "fe80::8c3a:91ff:1e22:7b10", "fd77::13"),
        // Another host's.
        udp6_frame(other_mac, "fe80::1:2:3:4", "fd77::13"),
    ];
    let mut events = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let raw = RawPacket {
            ts: Timestamp::new(1_700_000_000 + i as i64, 0),
            linktype: linktype::ETHERNET,
            data: f,
            orig_len: f.len() as u32,
        };
        engine.process(&raw, &mut |e| events.push(e));
    }
    engine.finish(&mut |e| events.push(e));
    let leaks: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::Ipv6LinkLocalLeak)
        .collect();
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!(field(leaks[0], "src_ip"), "fe80::1:2:3:4");
    assert_eq!(field(leaks[0], "attacker_v4"), "");
    assert_eq!(engine.stats().get("ipv6_leak_decky_own"), 1);
    let tables = engine.table_stats();
    assert!(
        tables.iter().any(|t| t.0 == "decky_macs" && t.1 == 1),
        "{tables:?}"
    );
}
