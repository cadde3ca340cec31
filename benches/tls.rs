//! TLS: ClientHello parsing, JA3 and JA4 on real hellos cut from the test
//! captures (a 517-byte OpenSSL TLS 1.2 hello and a ~1.9 KB Chromium
//! post-quantum one spanning two segments), the ServerHello with JA3S and
//! JA4S, the record reader that reassembles the hello, the fingerprint
//! caches (a hello and a certificate seen before), and the engine on whole
//! connections of those captures.
//!
//! Before measuring, JA3, JA4 and JA3S are checked against the values
//! Suricata 7.0.10 computed (`tests/data/captures/expected.tsv`), so the
//! benches provably run on the hellos they claim to.

use std::path::{Path, PathBuf};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::RawPacket;
use decnet_sniffer::decode::{decode, Transport};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::fingerprint::tls::cert_prints::CertPrintCache;
use decnet_sniffer::fingerprint::tls::certificate;
use decnet_sniffer::fingerprint::tls::hello_prints::HelloPrintCache;
use decnet_sniffer::fingerprint::tls::ja3::{ja3, ja3s};
use decnet_sniffer::fingerprint::tls::ja4::{ja4, HelloTransport};
use decnet_sniffer::fingerprint::tls::prelude::{find_hello, PRELUDE_LIMIT};
use decnet_sniffer::fingerprint::tls::{
    handshake_type, ClientHello, HandshakeReader, Next, ServerHello,
};
use decnet_sniffer::util::time::Timestamp;

/// One TLS capture: its frames and the first connection's hellos.
struct Capture {
    name: &'static str,
    frames: Vec<(Timestamp, u32, Vec<u8>)>,
    /// Client-to-server payloads of the first connection, one per segment,
    /// in sequence order.
    client_segments: Vec<Vec<u8>>,
    client_hello: Vec<u8>,
    server_hello: Vec<u8>,
}

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures")
}

/// Keeps `payload` at `seq` if it continues the stream (the captures
/// chosen here are in order; a retransmission is skipped).
fn append(segments: &mut Vec<Vec<u8>>, next: &mut Option<u32>, seq: u32, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    let expected = *next.get_or_insert(seq);
    if seq == expected {
        segments.push(payload.to_vec());
        *next = Some(seq.wrapping_add(payload.len() as u32));
    }
}

/// The first complete handshake message of type `ty` in `stream`.
fn first_message(stream: &[u8], ty: u8) -> Vec<u8> {
    let mut reader = HandshakeReader::default();
    let mut found = None;
    reader.feed(stream, |t, body| {
        if t == ty {
            found = Some(body.to_vec());
            Next::Stop
        } else {
            Next::Continue
        }
    });
    found.unwrap_or_else(|| panic!("no handshake message {ty} in the stream"))
}

fn load(name: &'static str) -> Capture {
    let mut file = CaptureFile::open(&captures_dir().join(name)).expect("capture opens");
    let mut frames = Vec::new();
    let (mut client_segments, mut server_segments) = (Vec::new(), Vec::new());
    let (mut client_next, mut server_next) = (None, None);
    let mut client_port = None;
    file.for_each(|pkt| {
        frames.push((pkt.ts, pkt.linktype, pkt.data.to_vec()));
        let Ok(p) = decode(&pkt) else { return };
        let Transport::Tcp(tcp) = p.transport else {
            return;
        };
        // The first connection: the client port of the first packet to 443.
        if tcp.dst_port() == 443 && *client_port.get_or_insert(tcp.src_port()) == tcp.src_port() {
            append(
                &mut client_segments,
                &mut client_next,
                tcp.seq(),
                tcp.payload,
            );
        } else if tcp.src_port() == 443 && client_port == Some(tcp.dst_port()) {
            append(
                &mut server_segments,
                &mut server_next,
                tcp.seq(),
                tcp.payload,
            );
        }
    })
    .expect("capture reads");
    let client_hello = first_message(&client_segments.concat(), handshake_type::CLIENT_HELLO);
    let server_hello = first_message(&server_segments.concat(), handshake_type::SERVER_HELLO);
    Capture {
        name,
        frames,
        client_segments,
        client_hello,
        server_hello,
    }
}

/// `field` of the first connection of `file` as Suricata 7.0.10 computed it.
fn expected(file: &str, field: &str) -> String {
    let tsv = std::fs::read_to_string(captures_dir().join("expected.tsv")).expect("expected.tsv");
    tsv.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|c| {
            c.len() == 7
                && c[0] == file
                && c[1] == "-/0"
                && c[4] == "suricata-7.0.10"
                && c[5] == field
        })
        .map(|c| c[6].to_owned())
        .unwrap_or_else(|| panic!("{file}: no {field} in expected.tsv"))
}

/// Refuses to benchmark hellos whose fingerprints differ from Suricata's.
fn check(cap: &Capture) {
    let ch = ClientHello::parse(&cap.client_hello).expect("ClientHello parses");
    assert_eq!(ja3(&ch).hash, expected(cap.name, "ja3"), "{}", cap.name);
    assert_eq!(
        ja4(&ch, HelloTransport::Tcp).ja4,
        expected(cap.name, "ja4"),
        "{}",
        cap.name
    );
    // Fed segment by segment, the reader delivers the same hello.
    let mut reader = HandshakeReader::default();
    let mut hello = None;
    for segment in &cap.client_segments {
        reader.feed(segment, |t, body| {
            if t == handshake_type::CLIENT_HELLO {
                hello = Some(body.to_vec());
                return Next::Stop;
            }
            Next::Continue
        });
    }
    assert_eq!(hello.as_ref(), Some(&cap.client_hello), "{}", cap.name);
    let sh = ServerHello::parse(&cap.server_hello).expect("ServerHello parses");
    assert_eq!(ja3s(&sh).hash, expected(cap.name, "ja3s"), "{}", cap.name);
}

fn deckies() -> DeckyMap {
    let mut d = DeckyMap::default();
    // The server of every capture in tests/data/captures.
    d.insert("decky-tls", "10.77.0.1".parse().unwrap());
    d
}

/// Small tables: building the engine is setup, not measured, but the
/// default caps would preallocate tens of MiB per iteration.
fn small_limits() -> Limits {
    Limits {
        flows: 1024,
        pending_handshakes: 1024,
        seq_sources: 1024,
        ..Limits::default()
    }
}

/// Every frame of `cap` through `engine`, then the end of capture.
fn replay(engine: &mut Engine, cap: &Capture, sink: &mut impl FnMut(Event)) {
    for (ts, linktype, data) in &cap.frames {
        let raw = RawPacket {
            ts: *ts,
            linktype: *linktype,
            data,
            orig_len: data.len() as u32,
        };
        engine.process(black_box(&raw), sink);
    }
    engine.finish(sink);
}

/// Refuses to benchmark an engine that does not report the hello.
fn check_engine(cap: &Capture) {
    let mut engine = Engine::new(small_limits(), deckies());
    let mut ja3_seen = Vec::new();
    replay(&mut engine, cap, &mut |ev| {
        if ev.kind == EventKind::TlsClientHello {
            ja3_seen.push(String::from_utf8_lossy(ev.get("ja3").unwrap_or_default()).into_owned());
        }
    });
    let want = expected(cap.name, "ja3");
    assert!(ja3_seen.contains(&want), "{}: {ja3_seen:?}", cap.name);
}

fn bench(c: &mut Criterion) {
    let caps = [
        ("openssl_tls12", load("tls-openssl-tls12.pcap")),
        ("chromium_pq", load("tls-chromium-pq.pcap")),
    ];
    for (_, cap) in &caps {
        check(cap);
        check_engine(cap);
    }

    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Elements(1));
    for (name, cap) in &caps {
        let body = cap.client_hello.as_slice();
        let ch = ClientHello::parse(body).expect("ClientHello parses");
        g.bench_function(format!("client_hello_parse_{name}"), |b| {
            b.iter(|| black_box(ClientHello::parse(black_box(body))))
        });
        g.bench_function(format!("ja3_{name}"), |b| b.iter(|| ja3(black_box(&ch))));
        g.bench_function(format!("ja4_{name}"), |b| {
            b.iter(|| ja4(black_box(&ch), HelloTransport::Tcp))
        });
        // What the engine does per hello: parse, then both fingerprints.
        g.bench_function(format!("client_hello_ja3_ja4_{name}"), |b| {
            b.iter(|| {
                let ch = ClientHello::parse(black_box(body)).expect("parses");
                (ja3(&ch), ja4(&ch, HelloTransport::Tcp))
            })
        });
        // What the engine does per hello of a client seen before: parse,
        // then the fingerprints copied from the cache.
        let mut cache = HelloPrintCache::default();
        g.bench_function(format!("client_hello_cached_prints_{name}"), |b| {
            b.iter(|| {
                let ch = ClientHello::parse(black_box(body)).expect("parses");
                let p = cache.prints(&ch);
                let mut out = Vec::with_capacity(64);
                p.write_ja4(HelloTransport::Tcp, &mut out);
                (p.ja3().len(), out)
            })
        });
        // Record layer: the client's segments as they arrive, up to and
        // including the hello (the post-quantum one is buffered across two).
        let segments = cap.client_segments.as_slice();
        g.bench_function(format!("record_reader_client_hello_{name}"), |b| {
            b.iter(|| {
                let mut reader = HandshakeReader::default();
                let mut len = 0;
                for segment in segments {
                    reader.feed(black_box(segment), |t, body| {
                        len = body.len();
                        black_box(body);
                        if t == handshake_type::CLIENT_HELLO {
                            Next::Stop
                        } else {
                            Next::Continue
                        }
                    });
                    if !reader.is_reading() {
                        break;
                    }
                }
                len
            })
        });
        let sh_body = cap.server_hello.as_slice();
        g.bench_function(format!("server_hello_ja3s_ja4s_{name}"), |b| {
            b.iter(|| {
                let sh = ServerHello::parse(black_box(sh_body)).expect("parses");
                #[cfg(feature = "ja4plus")]
                let s = decnet_sniffer::fingerprint::tls::ja4s::ja4s(&sh, HelloTransport::Tcp).ja4s;
                #[cfg(not(feature = "ja4plus"))]
                let s = String::new();
                (ja3s(&sh), s)
            })
        });
    }
    // A certificate's reported fields: parsed, and from the cache (what a
    // server's every later connection costs).
    let der: &[u8] = include_bytes!("../src/fingerprint/tls/testdata/selfsigned-escapes.der");
    g.bench_function("certificate_summary", |b| {
        b.iter(|| certificate::summarize(black_box(der)).map(|s| s.serial.len()))
    });
    let mut certs = CertPrintCache::default();
    g.bench_function("certificate_cached_prints", |b| {
        b.iter(|| certs.prints(black_box(der)).map(|p| p.serial().len()))
    });
    // What every non-TLS stream costs the hello search: a plaintext
    // prelude (here an HTTP request of PRELUDE_LIMIT bytes) with no hello.
    let mut prelude = b"GET / HTTP/1.1\r\nHost: example.org\r\nCookie: ".to_vec();
    prelude.resize(PRELUDE_LIMIT as usize, b'a');
    g.bench_function("find_hello_in_plaintext_4k", |b| {
        b.iter(|| find_hello(black_box(&prelude), handshake_type::CLIENT_HELLO))
    });
    g.finish();

    // Whole captures through a fresh engine: handshakes, reassembly of the
    // hello, certificates, events. One element = one packet.
    let mut g = c.benchmark_group("tls_engine");
    for (name, cap) in &caps {
        g.throughput(Throughput::Elements(cap.frames.len() as u64));
        g.bench_function(format!("capture_{name}"), |b| {
            b.iter_batched(
                || Engine::new(small_limits(), deckies()),
                |mut engine| {
                    let mut events = 0u32;
                    replay(&mut engine, cap, &mut |ev| {
                        events += 1;
                        black_box(ev);
                    });
                    events
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
