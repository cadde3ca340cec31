//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and
//! the regression replay (`tests/fuzz_regressions.rs`), so a saved input
//! reaches exactly the code the fuzzer drove. Every function must return
//! normally on any input; a panic or abort is a finding.
#![allow(dead_code)]

use std::path::Path;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::{linktype, RawPacket};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::Event;
use decnet_sniffer::fingerprint::p0f::Database;
use decnet_sniffer::output::json::write_record;
use decnet_sniffer::output::syslog::write_line;
use decnet_sniffer::util::time::Timestamp;

/// Link types a fuzz input may select with its first byte.
const LINKTYPES: [u32; 8] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::NULL,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
];

fn pick_linktype(b: u8) -> u32 {
    LINKTYPES[usize::from(b) % LINKTYPES.len()]
}

/// `decode` input: one link-type byte, then the frame.
pub fn decode(data: &[u8]) {
    let Some((&lt, frame)) = data.split_first() else {
        return;
    };
    let raw = RawPacket {
        ts: Timestamp::default(),
        linktype: pick_linktype(lt),
        data: frame,
        orig_len: frame.len() as u32,
    };
    let _ = decnet_sniffer::decode::decode(&raw);
}

/// Splits an `engine` input into packets: a link-type byte, then records
/// of `[len: u16 BE][time step in ms: u8][frame: len bytes]`. A short last
/// record takes what is left, so every byte string is a valid input.
pub fn frames(data: &[u8]) -> (u32, Vec<(Timestamp, &[u8])>) {
    let Some((&lt, mut rest)) = data.split_first() else {
        return (linktype::ETHERNET, Vec::new());
    };
    let mut out = Vec::new();
    let mut us: i64 = 1_700_000_000_000_000;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        // Steps above 250 ms mean "jump ahead" so idle expiry is reached too.
        let step = match rest[2] {
            s @ 0..=250 => i64::from(s) * 1000,
            s => i64::from(s - 250) * 60_000_000,
        };
        us += step;
        rest = &rest[3..];
        let take = len.min(rest.len());
        out.push((Timestamp::from_micros(us), &rest[..take]));
        rest = &rest[take..];
    }
    (pick_linktype(lt), out)
}

/// The output invariants every event must keep whatever its fields hold:
/// one line without CR/LF, one JSON record that parses, every field present.
pub fn check_event(ev: &Event) {
    let mut line = Vec::new();
    write_line(ev, &mut line);
    assert!(
        !line.iter().any(|&b| b == b'\n' || b == b'\r' || b == 0),
        "syslog line holds a line break or NUL: {:?}",
        String::from_utf8_lossy(&line)
    );
    let mut rec = Vec::new();
    write_record(ev, &line, &mut rec);
    assert!(!rec.contains(&b'\n'), "JSON record holds a newline");
    let v: serde_json::Value = serde_json::from_slice(&rec).expect("JSON record parses");
    let fields = v["fields"].as_object().expect("fields object");
    for f in ev.fields() {
        assert!(fields.contains_key(f.name), "field {} missing", f.name);
    }
}

/// Small limits so eviction paths are reached with few packets.
fn small_limits() -> Limits {
    Limits {
        flows: 16,
        reassembly_bytes: 4096,
        pending_handshakes: 16,
        seq_sources: 16,
        ..Limits::default()
    }
}

/// `engine` input (see [`frames`]) through a whole engine in observe-all
/// mode, with tight limits; every event is written and checked.
pub fn engine(data: &[u8]) {
    let (lt, frames) = frames(data);
    let mut engine = Engine::new(small_limits(), DeckyMap::observe_all());
    let mut sink = |ev: Event| check_event(&ev);
    for (ts, frame) in frames {
        let raw = RawPacket {
            ts,
            linktype: lt,
            data: frame,
            orig_len: frame.len() as u32,
        };
        engine.process(&raw, &mut sink);
    }
    engine.finish(&mut sink);
}

/// `engine` input through one engine and through three shards: the same
/// lines in the same order, the flows still open at the end in any order
/// (the documented difference). Where a per-source budget or a table cap
/// came into play the shards may rightly differ (each holds its share, and
/// in observe-all mode one source's connections spread over shards), so
/// such inputs are only run, not compared.
pub fn sharded(data: &[u8]) {
    use decnet_sniffer::output::Output;
    use decnet_sniffer::runtime::ShardedEngine;
    let (lt, frames) = frames(data);
    let packets = || {
        frames.iter().map(move |&(ts, frame)| RawPacket {
            ts,
            linktype: lt,
            data: frame,
            orig_len: frame.len() as u32,
        })
    };
    let text = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
    let line = |ev: &Event| {
        let mut out = Vec::new();
        write_line(ev, &mut out);
        text(&out)
    };

    let mut single = Engine::new(Limits::default(), DeckyMap::observe_all());
    let (mut want, mut want_end) = (Vec::new(), Vec::new());
    packets().for_each(|p| single.process(&p, &mut |ev| want.push(line(&ev))));
    single.finish(&mut |ev| want_end.push(line(&ev)));

    let formatter = Output::new(60, 1024).formatter();
    let Ok(mut shards) = ShardedEngine::new(
        Limits::default(),
        DeckyMap::observe_all(),
        Database::bundled(),
        3,
        formatter,
    ) else {
        return;
    };
    let (mut got, mut got_end) = (Vec::new(), Vec::new());
    packets().for_each(|p| shards.process(&p, &mut |c| got.extend(c.lines().map(text))));
    shards.finish(&mut |c| got_end.extend(c.lines().map(text)));

    let capped = |name: &str| {
        ["budget", "evict", "refused", "too_", "over_"]
            .iter()
            .any(|w| name.contains(w))
    };
    if single.stats().counters().any(|(n, _)| capped(n))
        || shards.stats().counters().any(|(n, _)| capped(n))
    {
        return;
    }
    // The shards hand events over in chunks, so some of the reading's
    // events may come out of `finish`: compare the whole sequences, the
    // flows one engine ended at the end as a set.
    let split = want.len();
    want.extend(want_end);
    got.extend(got_end);
    assert_eq!(want.len(), got.len(), "event counts differ");
    if let Some(i) = (0..split).find(|&i| want[i] != got[i]) {
        panic!(
            "event {i} of {split} differs:\n  one engine: {}\n  shards:     {}",
            want[i], got[i]
        );
    }
    want[split..].sort();
    got[split..].sort();
    assert_eq!(want[split..], got[split..], "flows open at the end differ");
}

/// A capture file (pcap or pcapng bytes) read to the end, every packet
/// through an engine: what `decnet-sniffer read` does.
pub fn capture_file(data: &[u8]) {
    let owned: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut file) = CaptureFile::from_reader(Path::new("fuzz.pcap"), owned) else {
        return;
    };
    let mut engine = Engine::new(small_limits(), DeckyMap::observe_all());
    let mut sink = |ev: Event| check_event(&ev);
    let _ = file.for_each(|pkt| engine.process(&pkt, &mut sink));
    engine.finish(&mut sink);
}

/// DECNET's state file; a name that loads must be safe as a syslog HOSTNAME.
pub fn state_file(data: &[u8]) {
    if let Ok(map) = DeckyMap::parse(Path::new("decnet-state.json"), data) {
        let _ = map.len();
    }
}

/// A p0f.fp database text.
pub fn p0f_db(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Database::parse(text);
    }
}

/// The byte at stream offset `off` of the reference stream.
fn stream_byte(off: u64) -> u8 {
    (off.wrapping_mul(31) ^ (off >> 8)) as u8
}

/// `reassembly` input: ISN (4 bytes), cap selector (1), then segments of
/// `[offset: u16 BE][len: u8][flags: u8]`, offsets relative to the ISN
/// (wrapping near 2^32 when the ISN is high). Segments carry the reference
/// stream's bytes unless flag bit 0 asks for conflicting bytes. Checks:
/// delivery is contiguous, never exceeds the cap held, and without
/// conflicts equals the reference stream.
pub fn reassembly(data: &[u8]) {
    use decnet_sniffer::flow::reassembly::StreamBuffer;
    if data.len() < 5 {
        return;
    }
    let isn = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let cap = [16usize, 256, 4096, 16384][usize::from(data[4] % 4)];
    let mut buf = StreamBuffer::new(cap);
    if data[4] & 0x80 == 0 {
        buf.start(isn);
    }
    let mut delivered: Vec<u8> = Vec::new();
    let mut conflicted = false;
    for seg in data[5..].chunks_exact(4) {
        let off = u64::from(u16::from_be_bytes([seg[0], seg[1]]));
        let len = u64::from(seg[2]);
        let bytes: Vec<u8> = (off..off + len)
            .map(|o| {
                if seg[3] & 1 == 1 {
                    stream_byte(o) ^ 0x5a
                } else {
                    stream_byte(o)
                }
            })
            .collect();
        conflicted |= seg[3] & 1 == 1;
        let seq = isn.wrapping_add(off as u32);
        buf.push(seq, &bytes, |at, b| {
            assert_eq!(at, delivered.len() as u64, "delivery not contiguous");
            delivered.extend_from_slice(b);
        });
        assert!(
            buf.held_bytes() <= cap,
            "held {} over cap {cap}",
            buf.held_bytes()
        );
        if seg[3] & 0x80 != 0 {
            buf.release();
        }
    }
    if !conflicted && data[4] & 0x80 == 0 {
        for (i, &b) in delivered.iter().enumerate() {
            assert_eq!(b, stream_byte(i as u64), "byte {i} differs from the stream");
        }
    }
}

/// `tls_handshake` input: a chunking byte, then a TLS byte stream fed to
/// the handshake reader in chunks; every ClientHello, ServerHello and
/// Certificate message is parsed and fingerprinted as the engine would.
pub fn tls_handshake(data: &[u8]) {
    use decnet_sniffer::fingerprint::tls::certificate::{summarize, CertificateList};
    use decnet_sniffer::fingerprint::tls::{handshake_type as ht, ja3, ja4};
    use decnet_sniffer::fingerprint::tls::{ClientHello, HandshakeReader, Next, ServerHello};
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut reader = HandshakeReader::new(16 * 1024);
    reader.set_ignore_change_cipher_spec(chunk % 2 == 0);
    for piece in stream.chunks(chunk) {
        reader.feed(piece, |ty, body| {
            match ty {
                ht::CLIENT_HELLO => {
                    if let Ok(ch) = ClientHello::parse(body) {
                        let _ = ja3::ja3(&ch);
                        let _ = ja4::ja4(&ch, ja4::HelloTransport::Tcp);
                        let _ = (ch.sni(), ch.alpn().count(), ch.resumption());
                    }
                    if let Ok(ch) = ClientHello::parse_dtls(body) {
                        let _ = ja4::ja4(&ch, ja4::HelloTransport::Tcp);
                    }
                }
                ht::SERVER_HELLO => {
                    if let Ok(sh) = ServerHello::parse(body) {
                        let _ = ja3::ja3s(&sh);
                        #[cfg(feature = "ja4plus")]
                        let _ = decnet_sniffer::fingerprint::tls::ja4s::ja4s(
                            &sh,
                            ja4::HelloTransport::Tcp,
                        );
                        let _ = (sh.alpn_selected(), sh.is_hello_retry_request());
                    }
                }
                ht::CERTIFICATE => {
                    if let Ok(list) = CertificateList::parse(body) {
                        for der in list.take(4) {
                            let _ = summarize(der);
                        }
                    }
                }
                _ => {}
            }
            Next::Continue
        });
        if !reader.is_reading() {
            break;
        }
    }
    assert!(
        reader.buffered() <= 16 * 1024 + 4,
        "reader holds {}",
        reader.buffered()
    );
}

/// `x509` input: one DER certificate, summarised and JA4X-fingerprinted.
pub fn x509(data: &[u8]) {
    use decnet_sniffer::fingerprint::tls::certificate::{parse_der, summary_of};
    if let Ok(cert) = parse_der(data) {
        let _ = summary_of(&cert, data);
        #[cfg(feature = "ja4plus")]
        let _ = decnet_sniffer::fingerprint::tls::ja4x::ja4x(&cert);
    }
}

/// Seals `plaintext` as a client Initial of `version` for `dcid` with
/// packet number `pn` (RFC 9001 sections 5.3 and 5.4): what a real client
/// puts on the wire, so the fuzzer's bytes reach the decrypted frames.
pub fn seal_initial(
    version: decnet_sniffer::fingerprint::quic::Version,
    dcid: &[u8],
    pn: u32,
    plaintext: &[u8],
) -> Vec<u8> {
    use aes_gcm::aead::AeadInPlace;
    use decnet_sniffer::fingerprint::quic::decrypt::nonce;
    use decnet_sniffer::fingerprint::quic::keys::InitialSecrets;
    use decnet_sniffer::fingerprint::quic::protect::mask;
    use decnet_sniffer::fingerprint::quic::Version;
    let keys = InitialSecrets::client(version, dcid).ciphers();
    // Pad so the header-protection sample (4 bytes past the PN) exists.
    let mut payload = plaintext.to_vec();
    if payload.len() < 20 {
        payload.resize(20, 0);
    }
    let pn_len = 4usize;
    let type_bits: u8 = if version == Version::V1 { 0 } else { 1 };
    let first = 0xc0 | (type_bits << 4) | (pn_len as u8 - 1);
    let mut pkt = vec![first];
    pkt.extend_from_slice(&version.wire().to_be_bytes());
    pkt.push(dcid.len() as u8);
    pkt.extend_from_slice(dcid);
    pkt.push(0); // SCID
    pkt.push(0); // token length
    let length = pn_len + payload.len() + 16;
    pkt.extend_from_slice(&(0x4000u16 | (length as u16 & 0x3fff)).to_be_bytes());
    let pn_offset = pkt.len();
    pkt.extend_from_slice(&pn.to_be_bytes());
    let n = nonce(&keys.iv, u64::from(pn));
    let tag = keys
        .aead
        .encrypt_in_place_detached((&n).into(), &pkt, &mut payload)
        .expect("AES-GCM seals any length we build");
    pkt.extend_from_slice(&payload);
    pkt.extend_from_slice(&tag);
    let mut sample = [0u8; 16];
    sample.copy_from_slice(&pkt[pn_offset + 4..pn_offset + 20]);
    let m = mask(&keys.hp, &sample);
    pkt[0] ^= m[0] & 0x0f;
    for i in 0..pn_len {
        pkt[pn_offset + i] ^= m[1 + i];
    }
    pkt
}

/// `quic_initial` input: a header byte (bit 0: version 2; bits 1-5: DCID
/// length 0..=20), the DCID, then packets of `[len: u16 BE][plaintext]`,
/// each sealed as a real client Initial (packet numbers 0, 1, ...) and fed
/// to the collector as its own datagram; odd-length inputs also feed the
/// raw bytes unsealed, for the header parser.
pub fn quic_initial(data: &[u8]) {
    use decnet_sniffer::fingerprint::quic::{CollectorConfig, InitialCollector, Version};
    use std::collections::BTreeMap;
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let version = if head & 1 == 0 {
        Version::V1
    } else {
        Version::V2
    };
    let dcid_len = usize::from((head >> 1) & 0x1f).min(20).min(rest.len());
    let (dcid, mut rest) = rest.split_at(dcid_len);
    let cfg = CollectorConfig {
        max_connections: 4,
        max_hello_bytes: 4096,
        max_held_bytes: 16 * 1024,
        ..CollectorConfig::default()
    };
    let mut collector = InitialCollector::new(cfg);
    let mut counters = BTreeMap::new();
    let client: std::net::SocketAddr = "198.51.100.7:50000".parse().unwrap();
    let server: std::net::SocketAddr = "10.0.0.5:443".parse().unwrap();
    let mut pn = 0u32;
    let mut us = 1_700_000_000_000_000i64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let plaintext = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let datagram = seal_initial(version, dcid, pn, plaintext);
        pn += 1;
        us += 1000;
        let ts = decnet_sniffer::util::time::Timestamp::from_micros(us);
        if let decnet_sniffer::fingerprint::quic::Outcome::Quic(Some(hello)) =
            collector.on_datagram(client, server, ts, &datagram, &mut counters)
        {
            assert!(hello.message.len() <= 4096, "hello over the cap");
        }
        if data.len() % 2 == 1 {
            let _ = collector.on_datagram(client, server, ts, plaintext, &mut counters);
            let _ = collector.on_server_datagram(server, client, plaintext);
        }
        assert!(collector.held_bytes() <= 16 * 1024);
    }
}

/// One SSH reader report, owned, for comparing two feedings.
#[derive(Debug, PartialEq, Eq)]
enum SshGot {
    Ident(Vec<u8>, bool),
    Kex(Vec<u8>),
    KexBad,
    NewKeys,
}

/// Splits an `ssh`/`tcp_stream` input into segments: a control byte, then
/// records of `[dir-and-len: u16 BE][bytes]` (bit 15: from the server; low
/// 15 bits: length). A short last record takes what is left.
pub fn segments(data: &[u8]) -> (u8, Vec<(usize, &[u8])>) {
    let Some((&ctrl, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let word = u16::from_be_bytes([rest[0], rest[1]]);
        let dir = usize::from(word >> 15);
        let len = usize::from(word & 0x7fff).min(rest.len() - 2);
        out.push((dir, &rest[2..2 + len]));
        rest = &rest[2 + len..];
    }
    (ctrl, out)
}

/// Both directions of an SSH connection through two `SshReader`s, wired as
/// the engine wires them (the client's line sets the server's packet
/// format), each segment fed `split` bytes at a time (0: whole). Returns
/// every report tagged with its segment, and checks the per-report bounds.
fn ssh_pass(segs: &[(usize, &[u8])], split: usize) -> Vec<(usize, usize, SshGot)> {
    use decnet_sniffer::fingerprint::ssh::reader::MAX_KEXINIT_PACKET;
    use decnet_sniffer::fingerprint::ssh::{
        Hassh, Ident, KexInit, ProtoFamily, Role, SshItem, SshReader, MAX_IDENT_LEN,
    };
    let mut readers = [SshReader::new(Role::Client), SshReader::new(Role::Server)];
    let mut log = Vec::new();
    for (i, &(dir, seg)) in segs.iter().enumerate() {
        let pieces: Vec<&[u8]> = if split == 0 || seg.is_empty() {
            vec![seg]
        } else {
            seg.chunks(split).collect()
        };
        let mut client_line = None;
        for piece in pieces {
            let finished = readers[dir].is_finished();
            readers[dir].feed(piece, |item| {
                assert!(!finished, "a finished reader reported {item:?}");
                let got = match item {
                    SshItem::Ident { line, truncated } => {
                        assert!(line.len() <= MAX_IDENT_LEN, "ident of {}", line.len());
                        if let Some(id) = Ident::parse(line) {
                            let _ = (id.family(), id.software, id.comments);
                        }
                        if dir == 0 {
                            client_line = Some(line.to_vec());
                        }
                        SshGot::Ident(line.to_vec(), truncated)
                    }
                    SshItem::KexInit(p) => {
                        assert!(p.len() <= MAX_KEXINIT_PACKET, "kexinit of {}", p.len());
                        if let Ok(k) = KexInit::parse(p) {
                            let h = if dir == 0 {
                                Hassh::client(&k)
                            } else {
                                Hassh::server(&k)
                            };
                            assert_eq!(h.hash.len(), 32, "HASSH is an MD5 hex digest");
                        }
                        SshGot::Kex(p.to_vec())
                    }
                    SshItem::KexInitUnreadable => SshGot::KexBad,
                    SshItem::NewKeys => SshGot::NewKeys,
                };
                log.push((i, dir, got));
            });
        }
        if let Some(line) = client_line {
            match Ident::parse(&line).map(|id| id.family()) {
                Some(ProtoFamily::V1) => readers[1].set_family(ProtoFamily::V1),
                Some(ProtoFamily::V2) => {}
                None => readers[1].set_unframed(),
            }
        }
    }
    for dir in 0..2 {
        let count =
            |want: fn(&SshGot) -> bool| log.iter().filter(|(_, d, g)| *d == dir && want(g)).count();
        assert!(count(|g| matches!(g, SshGot::Ident(..))) <= 1, "two idents");
        assert!(
            count(|g| matches!(g, SshGot::Kex(_) | SshGot::KexBad)) <= 1,
            "two KEXINIT reports"
        );
        assert!(count(|g| matches!(g, SshGot::NewKeys)) <= 1, "two NEWKEYS");
    }
    log
}

/// `ssh` input (see [`segments`]; the control byte's low 7 bits are a
/// re-split size): the reports must not depend on how the segments are cut.
/// JA4SSH windows are counted over the same segments.
pub fn ssh(data: &[u8]) {
    let (ctrl, segs) = segments(data);
    let whole = ssh_pass(&segs, 0);
    let split = usize::from(ctrl & 0x7f).max(1);
    let cut = ssh_pass(&segs, split);
    assert_eq!(whole, cut, "reports depend on segmentation");
    #[cfg(feature = "ja4plus")]
    {
        use decnet_sniffer::fingerprint::ssh::ja4ssh::{Ja4SshMeter, Side};
        use decnet_sniffer::fingerprint::ssh::{Role, SshReader};
        let window = u32::from(ctrl >> 7) * 3 + 2;
        let mut meter = Ja4SshMeter::new(window);
        let mut readers = [SshReader::new(Role::Client), SshReader::new(Role::Server)];
        let check = |v: decnet_sniffer::fingerprint::ssh::ja4ssh::Ja4Ssh, full: bool| {
            let total = v.packets[0] + v.packets[1];
            assert!(total <= window && (!full || total == window), "window {v}");
            let text = v.to_string();
            assert_eq!(text.split('_').count(), 3, "JA4SSH shape {text}");
        };
        for &(dir, seg) in &segs {
            let side = if dir == 0 { Side::Client } else { Side::Server };
            if readers[dir].is_ssh_segment(seg.len()) {
                if let Some(v) = meter.ssh_packet(side, seg.len()) {
                    check(v, true);
                }
            } else {
                meter.bare_ack(side);
            }
            readers[dir].feed(seg, |_| {});
        }
        if let Some(v) = meter.finish() {
            check(v, false);
        }
    }
}

/// One HTTP reader report, owned.
#[derive(Debug, PartialEq, Eq)]
enum HttpGot {
    Request {
        method: Vec<u8>,
        target: Vec<u8>,
        version: (u8, u8),
        headers: Vec<(Vec<u8>, Vec<u8>)>,
    },
    Oversized,
}

/// The client stream through a `RequestReader` fed `split` bytes at a time
/// (0: whole); every head is turned into the event's fields as the engine
/// does, and checked.
fn http_pass(stream: &[u8], cap: usize, split: usize) -> (Vec<HttpGot>, u64) {
    use decnet_sniffer::fingerprint::http::head::{is_tchar, MAX_METHOD_LEN};
    use decnet_sniffer::fingerprint::http::{HttpItem, Progress, RequestReader};
    let mut reader = RequestReader::new(cap);
    let mut log = Vec::new();
    let pieces: Vec<&[u8]> = if split == 0 {
        vec![stream]
    } else {
        stream.chunks(split).collect()
    };
    for piece in pieces {
        let progress = reader.feed(piece, |item| match item {
            HttpItem::Request(head) => {
                assert!(!head.method.is_empty() && head.method.len() <= MAX_METHOD_LEN);
                assert!(
                    head.method.iter().all(|&b| is_tchar(b)),
                    "method not a token"
                );
                assert!(head.target.len() <= cap, "target longer than the cap");
                let names: Vec<serde_json::Value> =
                    serde_json::from_str(&head.headers_ordered_json()).expect("headers JSON");
                assert_eq!(names.len(), head.headers().count());
                let _ = (
                    head.cookie(),
                    head.header("host"),
                    head.header("user-agent"),
                );
                #[cfg(feature = "ja4plus")]
                {
                    let j = decnet_sniffer::fingerprint::http::ja4h::Ja4h::compute(&head);
                    // The prefix carries Accept-Language bytes as sent (as
                    // FoxIO's reference does); the three hashes are fixed.
                    let hashes: Vec<&str> = j.hash.rsplitn(4, '_').take(3).collect();
                    assert!(
                        hashes.len() == 3
                            && hashes.iter().all(|h| {
                                h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit())
                            }),
                        "JA4H shape {}",
                        j.hash
                    );
                }
                log.push(HttpGot::Request {
                    method: head.method.to_vec(),
                    target: head.target.to_vec(),
                    version: head.version,
                    headers: head
                        .headers()
                        .map(|h| (h.name.to_vec(), h.value.to_vec()))
                        .collect(),
                });
            }
            HttpItem::OversizedHead => log.push(HttpGot::Oversized),
        });
        if progress == Progress::Done {
            assert!(reader.is_done());
            break;
        }
    }
    (log, reader.requests())
}

/// `http` input: a cap selector byte, a re-split size byte, then the
/// client's byte stream. The heads reported must not depend on how the
/// stream is cut, and every head fits the cap.
pub fn http(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let cap = [64usize, 512, 4096, 16 * 1024][usize::from(data[0] % 4)];
    let split = usize::from(data[1]).max(1);
    let stream = &data[2..];
    let (whole, n) = http_pass(stream, cap, 0);
    let (cut, m) = http_pass(stream, cap, split);
    // A request line longer than the cap cannot be checked whole when it
    // arrives in pieces (it is skipped as oversized, where in one piece it
    // is found not to be HTTP): from the first oversized head on, the two
    // feedings may differ. Before it they must agree.
    let first_oversized = |v: &[HttpGot]| v.iter().position(|g| *g == HttpGot::Oversized);
    match first_oversized(&whole)
        .into_iter()
        .chain(first_oversized(&cut))
        .min()
    {
        None => {
            assert_eq!(whole, cut, "heads depend on segmentation");
            assert_eq!(n, m);
        }
        Some(k) => assert_eq!(
            whole[..k.min(whole.len())],
            cut[..k.min(cut.len())],
            "heads before an oversized one depend on segmentation"
        ),
    }
    let heads = whole
        .iter()
        .filter(|g| matches!(g, HttpGot::Request { .. }))
        .count();
    assert_eq!(n, heads as u64, "requests() disagrees with the heads seen");
}

/// `dtls` input: one UDP payload, as the engine's DTLS path reads it.
pub fn dtls(data: &[u8]) {
    use decnet_sniffer::fingerprint::tls::dtls::client_hello;
    use decnet_sniffer::fingerprint::tls::ja4::{ja4, HelloTransport};
    use decnet_sniffer::fingerprint::tls::version::version_text;
    if let Ok(ch) = client_hello(data) {
        let j = ja4(&ch, HelloTransport::Dtls);
        assert!(j.ja4.starts_with('d'), "DTLS JA4 starts with d: {}", j.ja4);
        let _ = decnet_sniffer::fingerprint::tls::ja3::ja3(&ch);
        let _ = version_text(ch.highest_version());
        let _ = (ch.sni(), ch.alpn().joined());
    }
    dtls_fragments(data);
}

/// The fragment walker and the reassembly table over the same payload: its
/// ClientHello fragments fed in order, then in reverse order to a second
/// table (several records, or several fragments in a record, make the
/// reassembly reachable from one datagram).
fn dtls_fragments(data: &[u8]) {
    use decnet_sniffer::analyzers::dtls_hellos::DtlsHelloTable;
    use decnet_sniffer::engine::Stats;
    use decnet_sniffer::fingerprint::tls::dtls::{hello_fragments, HelloFragment};
    use decnet_sniffer::fingerprint::tls::ja4::{ja4, HelloTransport};
    use decnet_sniffer::fingerprint::tls::ClientHello;
    let frags: Vec<HelloFragment<'_>> = hello_fragments(data).take(64).collect();
    for f in &frags {
        assert!(
            f.offset + f.bytes.len() <= f.length,
            "fragment beyond its message"
        );
    }
    let client = "192.0.2.1:5000".parse().unwrap();
    let server = "198.51.100.2:4433".parse().unwrap();
    let mut stats = Stats::default();
    for reverse in [false, true] {
        let mut table = DtlsHelloTable::new(4, 16 * 1024);
        let order: Vec<&HelloFragment<'_>> = if reverse {
            frags.iter().rev().collect()
        } else {
            frags.iter().collect()
        };
        for (i, f) in order.into_iter().enumerate() {
            let ts = Timestamp::new(i as i64, 0);
            table.expire(ts, &mut stats);
            if let Some(message) = table.insert(client, server, ts, f, &mut stats) {
                assert_eq!(message.len(), 4 + f.length, "reassembled length");
                if let Ok(ch) = ClientHello::parse_dtls(&message[4..]) {
                    let _ = ja4(&ch, HelloTransport::Dtls);
                }
            }
            assert!(table.held_bytes() <= decnet_sniffer::analyzers::dtls_hellos::MAX_HELD_BYTES);
        }
        table.finish(&mut stats);
        assert!(table.is_empty());
    }
}

/// Polls a future that must finish at once (its reader is a byte slice).
fn ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("a read from a byte slice pended"),
    }
}

/// `bus` input: what DECNET's bus socket sends us. Frames are read until
/// the stream ends or a frame is refused; each frame must be within the
/// limits, re-encode to a frame that reads back the same, and a control
/// event's body goes through the stop-request parser. The body also
/// exercises the JSON string writer (its output must parse back to the
/// lossy UTF-8 text) and the topic builder.
pub fn bus(data: &[u8]) {
    use decnet_sniffer::bus::control::{is_stop_request, CONTROL_TOPIC};
    use decnet_sniffer::bus::decnet::{encode_frame, read_frame};
    use decnet_sniffer::bus::envelope::{
        traffic_topic, validate_topic, write_json_bytes, MAX_BODY_LEN, MAX_HEADER_LEN,
    };
    let mut r = data;
    let mut frames = 0usize;
    while let Ok(Some(f)) = ready(read_frame(&mut r)) {
        frames += 1;
        assert!(frames * 5 <= data.len(), "more frames than bytes allow");
        assert!(f.body.len() <= MAX_BODY_LEN);
        assert!(f.verb.len() + 1 + f.args.len() <= MAX_HEADER_LEN);
        assert!(f.verb.is_ascii() && f.args.is_ascii());
        assert!(!f.verb.contains(' ') && !f.args.contains('\n'));
        // A frame with a printable verb (every frame we send) survives
        // being written and read again.
        if !f.verb.is_empty() && f.verb.bytes().all(|b| b.is_ascii_graphic()) {
            let mut again = Vec::new();
            encode_frame(&mut again, &f.verb, &f.args, &f.body);
            let back = ready(read_frame(&mut &again[..]))
                .expect("a re-encoded frame reads back")
                .expect("a re-encoded frame is not end of stream");
            assert_eq!(back, f, "frame does not survive re-encoding");
        }
        if f.verb == "EVT" && f.args == CONTROL_TOPIC {
            let _ = is_stop_request(&f.body);
        }
        let mut json = Vec::new();
        write_json_bytes(&mut json, &f.body);
        let text: String = serde_json::from_slice(&json).expect("written JSON string parses");
        assert_eq!(
            text,
            String::from_utf8_lossy(&f.body),
            "JSON string differs"
        );
        if let Ok(topic) = traffic_topic(&f.args) {
            assert!(validate_topic(&topic).is_ok());
            assert_eq!(
                topic.split('.').count(),
                3,
                "topic {topic:?} has extra levels"
            );
        }
    }
    let _ = is_stop_request(data);
}
