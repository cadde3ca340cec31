//! `--metrics ADDR:PORT`: Prometheus text exposition (docs/spec.md section 8).
//!
//! The engine is single-threaded and must never wait for a scraper, so it
//! does not share live counters. About once a second the capture loop
//! publishes a [`MetricsSnapshot`] into a [`MetricsHub`] (one short mutex
//! hold); a scrape clones the latest snapshot and encodes it with
//! `prometheus-client` on the HTTP thread.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// Everything the endpoint reports, as absolute values at one instant.
/// Labelled lists are kept in a stable order by the producer.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// Wall-clock time the snapshot was taken (seconds since the epoch).
    pub taken_at: f64,
    pub packets: u64,
    pub bytes: u64,
    pub kernel_received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
    /// Decode errors by kind.
    pub decode_errors: Vec<(String, u64)>,
    /// Events written, by event type.
    pub events_emitted: Vec<(String, u64)>,
    /// Events dropped by dedup, by event type.
    pub events_deduplicated: Vec<(String, u64)>,
    pub flows_created: u64,
    /// Current entries per bounded table (flows, dedup, ...).
    pub table_entries: Vec<(String, u64)>,
    /// Entries evicted because a table was full, per table.
    pub evictions: Vec<(String, u64)>,
    /// Bytes charged to the memory budget (`--memcap`), per table.
    pub memory_bytes: Vec<(String, u64)>,
    /// Entries or buffers dropped to stay within the budget, per table.
    pub memcap_evictions: Vec<(String, u64)>,
    pub bus_queue_depth: u64,
    pub bus_published: u64,
    pub bus_publish_failures: u64,
    /// Messages dropped because the bus queue was full.
    pub bus_queue_dropped: u64,
    pub reloads_applied: u64,
    pub reloads_failed: u64,
    /// Any other engine counter (parse errors, overlaps, ...), by name.
    pub counters: Vec<(String, u64)>,
}

impl MetricsSnapshot {
    pub fn stamp_now(&mut self) {
        self.taken_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
    }
}

/// Where the capture loop leaves snapshots for the HTTP thread.
#[derive(Debug, Clone, Default)]
pub struct MetricsHub(Arc<Mutex<MetricsSnapshot>>);

impl MetricsHub {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn publish(&self, snapshot: MetricsSnapshot) {
        // A poisoned lock only means a scrape panicked; the data is plain.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }

    pub fn latest(&self) -> MetricsSnapshot {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The latest snapshot in Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("decnet_sniffer");
        registry.register_collector(Box::new(SnapshotCollector(self.clone())));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
        out
    }
}

#[derive(Debug)]
struct SnapshotCollector(MetricsHub);

fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge<N>(e: &mut DescriptorEncoder, name: &str, help: &str, v: N) -> Result<(), std::fmt::Error>
where
    ConstGauge<N>: EncodeMetric,
{
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

fn labelled(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    kind: MetricType,
    values: &[(String, u64)],
) -> Result<(), std::fmt::Error> {
    let mut m = e.encode_descriptor(name, help, None, kind)?;
    for (value, n) in values {
        let labels = [(label, value.as_str())];
        let fm = m.encode_family(&labels)?;
        match kind {
            MetricType::Gauge => {
                ConstGauge::new(i64::try_from(*n).unwrap_or(i64::MAX)).encode(fm)?
            }
            _ => ConstCounter::new(*n).encode(fm)?,
        }
    }
    Ok(())
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.latest();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        use MetricType::{Counter, Gauge};
        counter(
            &mut e,
            "packets",
            "Packets handed to the engine.",
            s.packets,
        )?;
        counter(
            &mut e,
            "bytes",
            "Bytes of the packets handed to the engine (wire length).",
            s.bytes,
        )?;
        counter(
            &mut e,
            "kernel_received_packets",
            "Packets that passed the kernel filter.",
            s.kernel_received,
        )?;
        counter(
            &mut e,
            "kernel_dropped_packets",
            "Packets the kernel ring had no room for (the sensor was too slow).",
            s.kernel_dropped,
        )?;
        counter(
            &mut e,
            "interface_dropped_packets",
            "Packets dropped by the interface or driver.",
            s.interface_dropped,
        )?;
        labelled(
            &mut e,
            "decode_errors",
            "Frames that did not decode, by kind.",
            "kind",
            Counter,
            &s.decode_errors,
        )?;
        labelled(
            &mut e,
            "events_emitted",
            "Events written, by type.",
            "type",
            Counter,
            &s.events_emitted,
        )?;
        labelled(
            &mut e,
            "events_deduplicated",
            "Events suppressed by dedup, by type.",
            "type",
            Counter,
            &s.events_deduplicated,
        )?;
        counter(
            &mut e,
            "flows_created",
            "Flows the flow table started tracking.",
            s.flows_created,
        )?;
        labelled(
            &mut e,
            "table_entries",
            "Entries in each bounded table.",
            "table",
            Gauge,
            &s.table_entries,
        )?;
        labelled(
            &mut e,
            "table_evictions",
            "Entries evicted from a full table.",
            "table",
            Counter,
            &s.evictions,
        )?;
        labelled(
            &mut e,
            "table_memory_bytes",
            "Bytes each table holds, as charged to the memory budget (--memcap).",
            "table",
            Gauge,
            &s.memory_bytes,
        )?;
        labelled(
            &mut e,
            "memcap_evictions",
            "Entries or partial state dropped to stay within the memory budget.",
            "table",
            Counter,
            &s.memcap_evictions,
        )?;
        gauge(
            &mut e,
            "bus_queue_depth",
            "Messages waiting for the bus.",
            i64::try_from(s.bus_queue_depth).unwrap_or(i64::MAX),
        )?;
        counter(
            &mut e,
            "bus_published",
            "Messages the bus accepted.",
            s.bus_published,
        )?;
        counter(
            &mut e,
            "bus_publish_failures",
            "Publish attempts that failed.",
            s.bus_publish_failures,
        )?;
        counter(
            &mut e,
            "bus_queue_dropped",
            "Messages dropped because the bus queue was full.",
            s.bus_queue_dropped,
        )?;
        let reloads = [
            ("applied".to_owned(), s.reloads_applied),
            ("failed".to_owned(), s.reloads_failed),
        ];
        labelled(
            &mut e,
            "state_reloads",
            "State-file loads, by result.",
            "result",
            Counter,
            &reloads,
        )?;
        labelled(
            &mut e,
            "engine_counter",
            "Other engine counters, by name.",
            "name",
            Counter,
            &s.counters,
        )?;
        // A stuck capture loop stops publishing: alert on this growing.
        let age = if s.taken_at > 0.0 {
            (now - s.taken_at).max(0.0)
        } else {
            f64::NAN
        };
        gauge(
            &mut e,
            "snapshot_age_seconds",
            "Seconds since the capture loop last published counters.",
            age,
        )?;
        Ok(())
    }
}

/// Connections served at once; more are closed at once.
const MAX_CLIENTS: usize = 8;

/// The HTTP endpoint: a listener thread answering `GET /metrics`.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
}

impl MetricsServer {
    /// Binds `addr` (port 0 picks a free one) and serves until the process ends.
    pub fn spawn(addr: SocketAddr, hub: MetricsHub) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                let busy = Arc::new(AtomicUsize::new(0));
                for conn in listener.incoming() {
                    match conn {
                        Ok(stream) => {
                            // A few clients at a time, each on its own thread, so a
                            // slow one cannot hold up the scraper.
                            if busy.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
                                busy.fetch_sub(1, Ordering::AcqRel);
                                continue;
                            }
                            let (hub, in_flight) = (hub.clone(), busy.clone());
                            let spawned = std::thread::Builder::new()
                                .name("metrics-client".into())
                                .spawn(move || {
                                    if let Err(e) = serve(stream, &hub) {
                                        tracing::debug!("metrics client: {e}");
                                    }
                                    in_flight.fetch_sub(1, Ordering::AcqRel);
                                });
                            if spawned.is_err() {
                                busy.fetch_sub(1, Ordering::AcqRel);
                            }
                        }
                        Err(e) => {
                            tracing::warn!("metrics listener: {e}");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })?;
        Ok(MetricsServer { addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One request per connection; a client that does not finish its request
/// head within 2 s or sends more than 8 KiB of it is dropped.
fn serve(stream: TcpStream, hub: &MetricsHub) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new((&stream).take(8192));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            hub.render(),
        ),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain",
            "metrics are at /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MetricsSnapshot {
        let mut s = MetricsSnapshot {
            packets: 1234,
            bytes: 567_890,
            kernel_received: 1300,
            kernel_dropped: 66,
            decode_errors: vec![("truncated".into(), 3)],
            events_emitted: vec![
                ("tcp_syn_fingerprint".into(), 10),
                ("tls_client_hello".into(), 2),
            ],
            events_deduplicated: vec![("tcp_syn_fingerprint".into(), 90)],
            table_entries: vec![("flows".into(), 42)],
            evictions: vec![("flows".into(), 7)],
            bus_queue_depth: 5,
            reloads_applied: 2,
            reloads_failed: 1,
            counters: vec![("tls_parse_errors".into(), 4)],
            ..MetricsSnapshot::default()
        };
        s.stamp_now();
        s
    }

    #[test]
    fn renders_every_counter_in_prometheus_text() {
        let hub = MetricsHub::new();
        hub.publish(sample());
        let text = hub.render();
        for line in [
            "decnet_sniffer_packets_total 1234",
            "decnet_sniffer_bytes_total 567890",
            "decnet_sniffer_kernel_dropped_packets_total 66",
            "decnet_sniffer_decode_errors_total{kind=\"truncated\"} 3",
            "decnet_sniffer_events_emitted_total{type=\"tls_client_hello\"} 2",
            "decnet_sniffer_events_deduplicated_total{type=\"tcp_syn_fingerprint\"} 90",
            "decnet_sniffer_table_entries{table=\"flows\"} 42",
            "decnet_sniffer_table_evictions_total{table=\"flows\"} 7",
            "decnet_sniffer_bus_queue_depth 5",
            "decnet_sniffer_state_reloads_total{result=\"failed\"} 1",
            "decnet_sniffer_engine_counter_total{name=\"tls_parse_errors\"} 4",
            "# TYPE decnet_sniffer_kernel_dropped_packets_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let age = text
            .lines()
            .find(|l| l.starts_with("decnet_sniffer_snapshot_age_seconds "))
            .unwrap();
        let age: f64 = age.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((0.0..5.0).contains(&age), "{age}");
    }

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_over_http_and_sees_new_snapshots() {
        let hub = MetricsHub::new();
        let server = MetricsServer::spawn("127.0.0.1:0".parse().unwrap(), hub.clone()).unwrap();
        let addr = server.local_addr();
        let resp = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert!(
            resp.contains("Content-Type: text/plain; version=0.0.4"),
            "{resp}"
        );
        assert!(
            resp.contains("\ndecnet_sniffer_packets_total 0\n"),
            "{resp}"
        );
        hub.publish(sample());
        let resp = get(addr, "GET /metrics HTTP/1.0\r\n\r\n");
        assert!(
            resp.contains("\ndecnet_sniffer_packets_total 1234\n"),
            "{resp}"
        );
        let body_len = resp.split("\r\n\r\n").nth(1).unwrap().len();
        assert!(resp.contains(&format!("Content-Length: {body_len}\r\n")));
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        // A client that never finishes its request does not block the next one.
        let _idle = TcpStream::connect(addr).unwrap();
        let t = std::time::Instant::now();
        assert!(get(addr, "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
