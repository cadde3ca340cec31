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
                        let _ = ja4::ja4(&ch, ja4::Transport::Tcp);
                        let _ = (ch.sni(), ch.alpn().count(), ch.resumption());
                    }
                    if let Ok(ch) = ClientHello::parse_dtls(body) {
                        let _ = ja4::ja4(&ch, ja4::Transport::Tcp);
                    }
                }
                ht::SERVER_HELLO => {
                    if let Ok(sh) = ServerHello::parse(body) {
                        let _ = ja3::ja3s(&sh);
                        #[cfg(feature = "ja4plus")]
                        let _ =
                            decnet_sniffer::fingerprint::tls::ja4s::ja4s(&sh, ja4::Transport::Tcp);
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
