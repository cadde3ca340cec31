//! Publication of traffic events (docs/spec.md section 7): DECNET's UNIX-socket bus or NATS.
//!
//! The engine calls [`Bus::publish`] after dedup and the file write. Publish
//! builds the v1 envelope and pushes it into a bounded drop-oldest queue; a
//! dedicated thread running a single-threaded tokio runtime drains the queue
//! into the transport, reconnects with exponential backoff, sends health
//! heartbeats and listens on the control subject. Nothing the bus does can
//! make the capture path wait: publish takes one short lock and never
//! performs I/O.
//!
//! Modules: [`queue`] (the bounded queue), [`envelope`] (subjects, ids,
//! envelope JSON), [`control`] (health and stop), [`decnet`] (UNIX-socket
//! client), [`nats`] (async-nats core and JetStream).

pub mod control;
pub mod decnet;
pub mod envelope;
pub mod nats;
pub mod queue;
mod shared;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::event::Event;

use envelope::{traffic_envelope, traffic_topic, MAX_BODY_LEN};
use shared::{Counters, Message, Shared};

/// DECNET's default bus socket (docs/spec.md section 7).
pub const DEFAULT_DECNET_SOCKET: &str = "/run/decnet/bus.sock";
/// Default NATS URL when `DECNET_BUS_TYPE=nats` names no `DECNET_BUS_URL`.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
/// Subjects a stream created by `--bus-jetstream` captures.
pub const JETSTREAM_SUBJECTS: &str = "decky.*.traffic";

/// Counters for the health payload, supplied by the engine.
pub type HealthSource = Box<dyn Fn() -> serde_json::Map<String, serde_json::Value> + Send + Sync>;

/// Where events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusTarget {
    /// Files only.
    Off,
    /// DECNET's UNIX-socket bus at this path.
    Decnet(PathBuf),
    /// A NATS server or cluster.
    Nats {
        /// One URL or a comma-separated list (`nats://` or `tls://`), with
        /// any credentials moved into `auth`.
        url: String,
        /// `--bus-jetstream STREAM`: publish with acknowledgement into it.
        jetstream: Option<String>,
        auth: NatsAuth,
        tls: NatsTls,
    },
}

/// NATS credentials. URL userinfo fills them too: `nats://user:pass@host`
/// gives user and password, `nats://token@host` a token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NatsAuth {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("NatsAuth")
            .field("user", &self.user)
            .field("password", &redact(&self.password))
            .field("token", &redact(&self.token))
            .finish()
    }
}

/// NATS TLS settings (rustls with the ring provider; system roots are
/// trusted in addition to `ca_file`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// Refuse a plaintext connection (implied by a `tls://` URL).
    pub required: bool,
    /// Extra PEM root certificates.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Start TLS before the server's INFO (servers with `handshake_first`).
    pub tls_first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusConfigError {
    #[error("bus target {0:?}: expected off, decnet:PATH or nats://HOST:PORT")]
    UnknownTarget(String),
    #[error("bus target decnet: needs a socket path")]
    EmptyPath,
    #[error("bus URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "JetStream stream name {0:?}: must be non-empty without spaces, '.', '*', '>', '/' or '\\'"
    )]
    BadStreamName(String),
    #[error("--bus-jetstream needs a nats:// bus")]
    JetstreamWithoutNats,
    #[error("DECNET_BUS_TYPE={0:?}: expected unix or nats")]
    UnknownBusType(String),
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus runtime: {0}")]
    Runtime(std::io::Error),
    #[error("bus thread: {0}")]
    Thread(std::io::Error),
}

impl BusTarget {
    /// Parses `off`, `decnet:/run/decnet/bus.sock`, `nats://host:port`,
    /// `tls://host:port` or a comma-separated list of NATS URLs.
    pub fn parse(spec: &str) -> Result<Self, BusConfigError> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("off") {
            return Ok(BusTarget::Off);
        }
        if let Some(path) = spec.strip_prefix("decnet:") {
            if path.is_empty() {
                return Err(BusConfigError::EmptyPath);
            }
            return Ok(BusTarget::Decnet(PathBuf::from(path)));
        }
        if spec.starts_with("nats://") || spec.starts_with("tls://") {
            return nats::parse_servers(spec);
        }
        Err(BusConfigError::UnknownTarget(spec.to_string()))
    }

    /// The target DECNET's environment selects (docs/spec.md section 7), as a `--bus`
    /// value, or `None` when none of `DECNET_BUS_ENABLED`,
    /// `DECNET_BUS_TYPE`, `DECNET_BUS_SOCKET` is set (the caller then
    /// applies its default). `run` reads its environment through this.
    ///
    /// - `DECNET_BUS_ENABLED=false` (or `0`, `no`, `off`; any case): off.
    /// - `DECNET_BUS_TYPE` unset or `unix`: the DECNET socket,
    ///   `DECNET_BUS_SOCKET` or [`DEFAULT_DECNET_SOCKET`].
    /// - `DECNET_BUS_TYPE=nats`: `DECNET_BUS_URL` or [`DEFAULT_NATS_URL`]
    ///   (an addition; DECNET's Python workers have no NATS transport).
    /// - `fake`/`null` (DECNET's in-process buses): off.
    ///
    /// Empty values count as unset.
    pub fn env_spec(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, BusConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let enabled = var("DECNET_BUS_ENABLED").map(|v| v.to_ascii_lowercase());
        let kind = var("DECNET_BUS_TYPE").map(|v| v.to_ascii_lowercase());
        let socket = var("DECNET_BUS_SOCKET");
        if enabled.is_none() && kind.is_none() && socket.is_none() {
            return Ok(None);
        }
        if enabled.is_some_and(|v| matches!(v.as_str(), "false" | "0" | "no" | "off")) {
            return Ok(Some("off".to_owned()));
        }
        match kind.as_deref() {
            None | Some("unix") => Ok(Some(format!(
                "decnet:{}",
                socket.as_deref().unwrap_or(DEFAULT_DECNET_SOCKET)
            ))),
            Some("nats") => Ok(Some(
                var("DECNET_BUS_URL").unwrap_or_else(|| DEFAULT_NATS_URL.to_owned()),
            )),
            Some("fake") | Some("null") => Ok(Some("off".to_owned())),
            Some(other) => Err(BusConfigError::UnknownBusType(other.to_string())),
        }
    }

    /// Applies `--bus-jetstream STREAM` (only meaningful for NATS).
    pub fn set_jetstream(&mut self, stream: Option<String>) -> Result<(), BusConfigError> {
        let Some(name) = stream else {
            if let BusTarget::Nats { jetstream, .. } = self {
                *jetstream = None;
            }
            return Ok(());
        };
        let bad = |c: char| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c);
        if name.is_empty() || name.chars().any(bad) {
            return Err(BusConfigError::BadStreamName(name));
        }
        match self {
            BusTarget::Nats { jetstream, .. } => {
                *jetstream = Some(name);
                Ok(())
            }
            _ => Err(BusConfigError::JetstreamWithoutNats),
        }
    }
}

/// Bus settings; [`BusOptions::new`] gives docs/spec.md defaults.
#[derive(Debug, Clone)]
pub struct BusOptions {
    pub target: BusTarget,
    /// Messages held while the bus is slow or down (docs/spec.md section 9: 65,536).
    pub queue_cap: usize,
    /// Heartbeat period on `system.sniffer.health` (docs/spec.md section 7: 30 s).
    pub health_interval: Duration,
    /// Longest a single write (DECNET), batch hand-over or flush (NATS), or
    /// JetStream acknowledgement may take before the connection is
    /// considered stuck.
    pub write_timeout: Duration,
    /// First reconnect delay; doubles per failure up to `reconnect_max`.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

impl BusOptions {
    pub fn new(target: BusTarget) -> Self {
        BusOptions {
            target,
            queue_cap: 65_536,
            health_interval: Duration::from_secs(30),
            write_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

impl Default for BusOptions {
    fn default() -> Self {
        BusOptions::new(BusTarget::Off)
    }
}

/// A snapshot of the bus counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Messages waiting in the queue now.
    pub queued: usize,
    /// Messages ever queued.
    pub enqueued: u64,
    /// Messages discarded because the queue was full (oldest first).
    pub dropped: u64,
    /// Messages handed to the transport: written to the DECNET socket,
    /// flushed to the NATS connection, or acknowledged by JetStream.
    pub published: u64,
    /// Messages lost to a failed write, a refused publish or a JetStream
    /// acknowledgement that never came (after retries).
    pub publish_failures: u64,
    /// Connections re-established after the first one.
    pub reconnects: u64,
    /// Events not published because their subject was invalid.
    pub rejected_topics: u64,
    /// Events not published because their envelope exceeded 1 MiB.
    pub oversize: u64,
    pub connected: bool,
}

impl Shared {
    pub(crate) fn stats(&self) -> BusStats {
        let c: &Counters = &self.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        BusStats {
            queued: self.queue.len(),
            enqueued: self.queue.pushed(),
            dropped: self.queue.dropped(),
            published: get(&c.published),
            publish_failures: get(&c.publish_failures),
            reconnects: get(&c.reconnects),
            rejected_topics: get(&c.rejected_topics),
            oversize: get(&c.oversize),
            connected: c.connected.load(Ordering::Relaxed),
        }
    }
}

/// The engine's handle on the bus.
pub struct Bus {
    shared: Arc<Shared>,
    worker: Option<Worker>,
}

struct Worker {
    thread: std::thread::JoinHandle<()>,
    shutdown: watch::Sender<Option<Instant>>,
    done: std::sync::mpsc::Receiver<()>,
}

/// Timing and identity settings the transports need.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    pub health_interval: Duration,
    pub write_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

impl Bus {
    /// Starts the bus thread (none for [`BusTarget::Off`]). Returns at once:
    /// connecting happens in the background, and events queue meanwhile.
    pub fn start(opts: BusOptions) -> Result<Bus, BusError> {
        let shared = Arc::new(Shared::new(opts.queue_cap));
        if opts.target == BusTarget::Off {
            return Ok(Bus {
                shared,
                worker: None,
            });
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BusError::Runtime)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(None);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let tuning = Tuning {
            health_interval: opts.health_interval.max(Duration::from_millis(10)),
            write_timeout: opts.write_timeout.max(Duration::from_millis(10)),
            reconnect_min: opts.reconnect_min.max(Duration::from_millis(1)),
            reconnect_max: opts.reconnect_max.max(opts.reconnect_min),
        };
        let task_shared = Arc::clone(&shared);
        let target = opts.target;
        let thread = std::thread::Builder::new()
            .name("bus".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match target {
                        BusTarget::Off => {}
                        BusTarget::Decnet(path) => {
                            decnet::run(task_shared, path, tuning, shutdown_rx).await
                        }
                        BusTarget::Nats {
                            url,
                            jetstream,
                            auth,
                            tls,
                        } => {
                            let cfg = nats::NatsConfig {
                                url,
                                jetstream,
                                auth,
                                tls,
                            };
                            nats::run(task_shared, cfg, tuning, shutdown_rx).await
                        }
                    }
                });
                // Tasks still parked on a dead connection must not hold up exit.
                runtime.shutdown_timeout(Duration::from_millis(100));
                let _ = done_tx.send(());
            })
            .map_err(BusError::Thread)?;
        Ok(Bus {
            shared,
            worker: Some(Worker {
                thread,
                shutdown: shutdown_tx,
                done: done_rx,
            }),
        })
    }

    /// Queues `event` for publication if docs/spec.md section 7 puts its type on the bus.
    /// Never blocks and never does I/O; when the queue is full the oldest
    /// message is dropped and counted.
    pub fn publish(&self, event: &Event) {
        if self.worker.is_some() {
            enqueue(&self.shared, event);
        }
    }

    /// A cheap, cloneable publishing handle for the output pipeline
    /// ([`crate::output::Output::publish_with`]); the `Bus` itself stays with
    /// the caller for `stats`, `stop_requested` and `shutdown`.
    pub fn publisher(&self) -> BusPublisher {
        BusPublisher {
            shared: Arc::clone(&self.shared),
            active: self.worker.is_some(),
        }
    }

    /// Whether `{"action":"stop"}` arrived on `system.sniffer.control`.
    pub fn stop_requested(&self) -> bool {
        self.shared.stop_requested.load(Ordering::Relaxed)
    }

    /// The flag behind [`Bus::stop_requested`], for a loop that polls it
    /// without holding the `Bus`.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.stop_requested)
    }

    /// Supplies the engine counters merged into each health payload. Called
    /// on the bus thread once per heartbeat.
    pub fn set_health_source(&self, f: HealthSource) {
        *self
            .shared
            .health_source
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(f));
    }

    /// Replaces the engine counters carried by the next heartbeats; for a
    /// loop that already gathers its counters periodically (the daemon's
    /// metrics tick). Merged with [`Bus::set_health_source`]'s, these first.
    pub fn update_health(&self, counters: serde_json::Map<String, serde_json::Value>) {
        *self
            .shared
            .health_counters
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = counters;
    }

    pub fn stats(&self) -> BusStats {
        self.shared.stats()
    }

    /// Drains the queue for at most `drain` (docs/spec.md section 8: 2 s), says BYE on the
    /// DECNET bus, closes the connection and stops the thread. Returns
    /// within `drain` plus a short grace period even if the peer hangs.
    /// Returns the final counters (`queued`: what the drain left behind).
    pub fn shutdown(mut self, drain: Duration) -> BusStats {
        let Some(worker) = self.worker.take() else {
            return self.shared.stats();
        };
        self.shared.closed.store(true, Ordering::Relaxed);
        let _ = worker.shutdown.send(Some(Instant::now() + drain));
        let grace = Duration::from_millis(500);
        match worker.done.recv_timeout(drain + grace) {
            Ok(()) => {
                let _ = worker.thread.join();
            }
            Err(_) => tracing::warn!("bus: thread did not stop in time; leaving it behind"),
        }
        let s = self.shared.stats();
        tracing::info!(
            "bus: stopped; published {}, dropped {}, failed {}, left in queue {}",
            s.published,
            s.dropped,
            s.publish_failures,
            s.queued
        );
        s
    }
}

/// Builds the envelope of an on-bus event and queues it.
fn enqueue(shared: &Shared, event: &Event) {
    if !event.kind.on_bus() || shared.closed.load(Ordering::Relaxed) {
        return;
    }
    let counters = &shared.counters;
    let topic = match traffic_topic(&event.decky) {
        Ok(topic) => topic,
        Err(e) => {
            Counters::add(&counters.rejected_topics, 1);
            tracing::debug!("bus: not publishing for decky {:?}: {e}", event.decky);
            return;
        }
    };
    let id = shared.ids.next_id();
    let body = traffic_envelope(event, &topic, &id);
    if body.len() > MAX_BODY_LEN {
        Counters::add(&counters.oversize, 1);
        return;
    }
    shared.queue.push(Message {
        topic,
        id,
        body: Bytes::from(body),
    });
    shared.wake.notify_one();
}

/// The publishing side of a [`Bus`], for the output pipeline. Publishing
/// after the bus was shut down does nothing.
#[derive(Clone)]
pub struct BusPublisher {
    shared: Arc<Shared>,
    active: bool,
}

impl BusPublisher {
    pub fn publish(&self, event: &Event) {
        if self.active {
            enqueue(&self.shared, event);
        }
    }
}

impl crate::output::Publish for BusPublisher {
    fn publish(&self, ev: &Event) {
        BusPublisher::publish(self, ev);
    }
}

impl crate::output::Publish for Bus {
    fn publish(&self, ev: &Event) {
        Bus::publish(self, ev);
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // Without an explicit shutdown, stop at once and do not wait.
        if let Some(worker) = self.worker.take() {
            self.shared.closed.store(true, Ordering::Relaxed);
            let _ = worker.shutdown.send(Some(Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parses_targets() {
        assert_eq!(BusTarget::parse("off").unwrap(), BusTarget::Off);
        assert_eq!(
            BusTarget::parse("decnet:/run/decnet/bus.sock").unwrap(),
            BusTarget::Decnet("/run/decnet/bus.sock".into())
        );
        assert_eq!(BusTarget::parse("decnet:"), Err(BusConfigError::EmptyPath));
        assert!(matches!(
            BusTarget::parse("kafka://x"),
            Err(BusConfigError::UnknownTarget(_))
        ));
        match BusTarget::parse("nats://127.0.0.1:4222").unwrap() {
            BusTarget::Nats {
                url,
                jetstream,
                auth,
                tls,
            } => {
                assert_eq!(url, "nats://127.0.0.1:4222");
                assert_eq!(jetstream, None);
                assert_eq!(auth, NatsAuth::default());
                assert!(!tls.required);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn env_selects_decnet_bus_per_spec() {
        let vars = |pairs: &[(&str, &str)]| {
            let m: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k: &str| m.get(k).cloned()
        };
        // The spec as a `--bus` value, parsed as `run` parses it.
        let target = |pairs: &[(&str, &str)]| {
            BusTarget::env_spec(vars(pairs)).map(|spec| spec.map(|s| BusTarget::parse(&s)))
        };
        assert_eq!(target(&[]), Ok(None));
        assert_eq!(
            target(&[("DECNET_BUS_ENABLED", "False")]),
            Ok(Some(Ok(BusTarget::Off)))
        );
        assert_eq!(
            target(&[("DECNET_BUS_ENABLED", "true")]),
            Ok(Some(Ok(BusTarget::Decnet(DEFAULT_DECNET_SOCKET.into()))))
        );
        assert_eq!(
            target(&[("DECNET_BUS_SOCKET", "/tmp/b.sock")]),
            Ok(Some(Ok(BusTarget::Decnet("/tmp/b.sock".into()))))
        );
        assert_eq!(
            target(&[
                ("DECNET_BUS_ENABLED", "false"),
                ("DECNET_BUS_SOCKET", "/tmp/b.sock")
            ]),
            Ok(Some(Ok(BusTarget::Off)))
        );
        assert_eq!(
            target(&[("DECNET_BUS_TYPE", "fake")]),
            Ok(Some(Ok(BusTarget::Off)))
        );
        assert!(matches!(
            target(&[
                ("DECNET_BUS_TYPE", "nats"),
                ("DECNET_BUS_URL", "nats://10.1.1.1:4222")
            ]),
            Ok(Some(Ok(BusTarget::Nats { .. })))
        ));
        assert_eq!(
            target(&[("DECNET_BUS_TYPE", "amqp")]),
            Err(BusConfigError::UnknownBusType("amqp".into()))
        );
    }

    #[test]
    fn jetstream_needs_nats_and_a_plain_name() {
        let mut t = BusTarget::parse("nats://h:4222").unwrap();
        assert!(t.set_jetstream(Some("DECNET_TRAFFIC".into())).is_ok());
        assert!(
            matches!(t, BusTarget::Nats { jetstream: Some(ref s), .. } if s == "DECNET_TRAFFIC")
        );
        assert!(t.set_jetstream(Some("a.b".into())).is_err());
        assert!(t.set_jetstream(Some(String::new())).is_err());
        let mut d = BusTarget::Decnet(DEFAULT_DECNET_SOCKET.into());
        assert_eq!(
            d.set_jetstream(Some("S".into())),
            Err(BusConfigError::JetstreamWithoutNats)
        );
        assert_eq!(d.set_jetstream(None), Ok(()));
    }

    #[test]
    fn off_bus_ignores_everything() {
        let bus = Bus::start(BusOptions::default()).unwrap();
        let ev = Event::new(
            crate::event::EventKind::TcpSynFingerprint,
            Default::default(),
            Arc::from("d"),
        );
        bus.publish(&ev);
        assert_eq!(bus.stats(), BusStats::default());
        bus.shutdown(Duration::from_millis(10));
    }
}
