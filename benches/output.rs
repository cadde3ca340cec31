//! Event formatting: the RFC 5424 line and the JSON record of a
//! `tcp_syn_fingerprint` as the engine builds it (catalogue field order).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::output::dedup::Dedup;
use decnet_sniffer::output::json::{write_line_and_record, write_record};
use decnet_sniffer::output::layout::EventWriter;
use decnet_sniffer::output::syslog::write_line;
use decnet_sniffer::util::time::Timestamp;

fn syn_event() -> Event {
    let mut ev = Event::new(
        EventKind::TcpSynFingerprint,
        Timestamp::new(1_776_789_350, 123_456_000),
        "decky-01".into(),
    );
    let ip: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    let dst: std::net::IpAddr = "10.200.0.1".parse().unwrap();
    ev.push("src_ip", ip)
        .push("src_port", 51234u16)
        .push("dst_ip", dst)
        .push("dst_port", 443u16)
        .push("ttl", 57u8)
        .push("initial_ttl", 64u8)
        .push("hop_distance", 7u8)
        .push("window", 64240u16)
        .push("mss", 1460u16)
        .push("wscale", "7")
        .push("options_sig", "M1460,S,T,N,W7")
        .push("has_sack", true)
        .push("has_timestamps", true)
        .push("tos", 0u8)
        .push("dscp", 0u8)
        .push("ecn", 0u8)
        .push("ipid_class", "random")
        .push("ipid_samples", 1u32)
        .push("isn_class", "random")
        .push("isn_samples", 1u32)
        .push("os_guess", "linux")
        .push("df", true)
        .push("ip_len", 60u32)
        .push("ja4t", "64240_2-4-8-1-3_1460_7")
        .push(
            "p0f_sig",
            "4:57+7:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
        )
        .push("p0f_os", "Linux 3.11 and newer")
        .push("p0f_match", "exact")
        .push("p0f_dist", "7")
        .push("mtu", "1500")
        .push("link", "Ethernet or modem")
        .push("scanner", "")
        .push("direction", "inbound");
    ev
}

fn bench(c: &mut Criterion) {
    let ev = syn_event();
    let mut g = c.benchmark_group("output");
    let mut line = Vec::with_capacity(1024);
    g.bench_function("syslog_line_syn", |b| {
        b.iter(|| {
            line.clear();
            write_line(black_box(&ev), &mut line);
            line.len()
        })
    });
    let mut record = Vec::with_capacity(2048);
    g.bench_function("json_record_syn", |b| {
        b.iter(|| {
            record.clear();
            write_record(black_box(&ev), black_box(&line), &mut record);
            record.len()
        })
    });
    g.bench_function("build_event_syn", |b| b.iter(|| black_box(syn_event())));
    // What the output thread does per event: the one-pass escapers, and
    // the layout writer (line, record and dedup key).
    let mut raw = Vec::with_capacity(1024);
    g.bench_function("line_and_record_syn", |b| {
        b.iter(|| {
            line.clear();
            record.clear();
            write_line_and_record(black_box(&ev), &mut line, &mut record, &mut raw);
            line.len() + record.len()
        })
    });
    let dedup = Dedup::new(300, 1_000_000);
    let mut writer = EventWriter::new(dedup.keyer().clone());
    g.bench_function("layout_line_record_key_syn", |b| {
        b.iter(|| {
            line.clear();
            record.clear();
            let id = writer.prepare(black_box(&ev));
            writer.write(&ev, id, &mut line, Some(&mut record));
            writer.key(&ev, id) as usize + line.len() + record.len()
        })
    });
    // The same written in place, as the output thread writes a plain
    // event into its files' queues (no resizing of a `Vec`).
    let mut in_line = vec![0u8; 4096];
    let mut in_record = vec![0u8; 8192];
    g.bench_function("layout_write_into_syn", |b| {
        b.iter(|| {
            let id = writer.prepare(black_box(&ev));
            let room = writer.room(&ev, id).expect("a plain event");
            let (n, m) = writer.write_into(&ev, &room, &mut in_line, Some(&mut in_record));
            writer.key(&ev, id) as usize + n + m
        })
    });
    // A scan storm: every key new, packet time 10 us apart.
    let mut dedup = Dedup::new(300, 1_000_000);
    let mut n = 0u64;
    g.bench_function("dedup_admit_unique", |b| {
        b.iter(|| {
            n += 1;
            let ts = Timestamp::new(
                1_776_789_350 + (n / 100_000) as i64,
                (n % 100_000) as u32 * 10_000,
            );
            dedup.admit_key(black_box(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)), ts)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
