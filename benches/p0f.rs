//! p0f: raw signature extraction and matching against the bundled database
//! (TCP SYNs, and HTTP request heads with and without the match memo).

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use decnet_sniffer::decode::{decode, Transport};
use decnet_sniffer::fingerprint::p0f::http::{read_head, HeadRead, HttpDir, HttpMatchMemo};
use decnet_sniffer::fingerprint::p0f::{Database, P0fResult, RawSig};

/// A browser's request head (the shape p0f reads most often).
const FIREFOX_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";

fn bench_http(c: &mut Criterion) {
    let db = Database::bundled();
    let HeadRead::Done(sig) = read_head(&db.http, HttpDir::Request, FIREFOX_GET) else {
        panic!("bench head reads")
    };
    let mut g = c.benchmark_group("p0f_http");
    g.bench_function("read_head", |b| {
        b.iter(|| {
            black_box(read_head(
                &db.http,
                HttpDir::Request,
                black_box(FIREFOX_GET),
            ))
        })
    });
    g.bench_function("find_scan", |b| {
        b.iter(|| black_box(db.http.find(black_box(&sig)).dishonest))
    });
    let mut memo = HttpMatchMemo::default();
    g.bench_function("find_memo", |b| {
        b.iter(|| black_box(db.http.find_memo(black_box(&sig), &mut memo).dishonest))
    });
    g.bench_function("raw_sig", |b| {
        b.iter(|| black_box(db.http.raw_sig(black_box(&sig)).len()))
    });
    g.bench_function("ua_os", |b| {
        b.iter(|| black_box(db.http.ua_os(black_box(sig.software.unwrap_or_default()))))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let db = Database::bundled();
    let mut g = c.benchmark_group("p0f");
    for (name, frame) in [
        ("linux_syn", common::linux_syn()),
        ("nmap_syn", common::nmap_syn()),
    ] {
        let raw = common::raw(&frame, 1);
        let pkt = decode(&raw).expect("bench frame decodes");
        let Transport::Tcp(tcp) = pkt.transport else {
            panic!("bench frame is TCP")
        };
        let ip = pkt.ip;
        g.bench_function(format!("sig_{name}"), |b| {
            b.iter(|| black_box(RawSig::from_views(black_box(&ip), black_box(&tcp), 0)))
        });
        let sig = RawSig::from_views(&ip, &tcp, 0).expect("valid SYN");
        g.bench_function(format!("match_{name}"), |b| {
            b.iter(|| black_box(P0fResult::analyze(db, black_box(sig))))
        });
        g.bench_function(format!("match_and_text_{name}"), |b| {
            b.iter(|| {
                let r = P0fResult::analyze(db, black_box(sig));
                (r.raw_sig().len(), r.label().len(), r.dist_text().len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_http);
criterion_main!(benches);
