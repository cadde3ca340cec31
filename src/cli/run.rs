//! `decnet-sniffer run`: the daemon (docs/spec.md section 8).
//!
//! One thread captures and runs the engine (with `--workers N`, it routes
//! frames to N engine threads and writes what they format); helpers around
//! it never block it: the state-file watcher parses on its own thread, the metrics endpoint
//! reads snapshots the loop publishes once a second, signal handlers only
//! set flags the loop checks after every batch (a batch waits at most
//! [`POLL`] for packets, so a silent link still turns the loop).
//!
//! Time: events carry packet time only. On a silent link no packet moves
//! the engine's clock, so once a second the loop advances it to the last
//! packet's time plus the wall-clock time elapsed since that packet, less
//! [`RING_SLACK`] (packets may wait that long in a ring block). Idle flows
//! are then reported with the time the engine computes from their last
//! packet, the same as in `read`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::config::{ConfigError, Layer, Settings};
use super::{DeckyArgs, Failure, LimitArgs, OutputArgs};
use crate::bus::{Bus, BusTarget};
use crate::capture::live::{
    retry_missing_interface, select_interface, CaptureError, KernelStats, LiveCapture,
    SysfsInterfaces,
};
use crate::deckies::{DeckyMap, MissingFile, ReloadCounters, StateWatcher, WatchOptions};
use crate::decode::DecodeError;
use crate::event::EventKind;
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::output::metrics::{MetricsHub, MetricsServer, MetricsSnapshot};
use crate::output::{Output, OutputStats};
use crate::runtime::PacketEngine;
use crate::util::time::Timestamp;

/// Longest wait for packets before the loop checks signals and timers.
const POLL: Duration = Duration::from_millis(200);
/// How often counters are published and the clock of a silent link advanced.
const TICK: Duration = Duration::from_secs(1);
/// Packets may sit this long in a ring block before the kernel hands it over.
const RING_SLACK: Duration = Duration::from_secs(1);
/// Longest wait at shutdown for the bus to take the queued events (docs/spec.md section 8).
const BUS_DRAIN: Duration = Duration::from_secs(2);

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Interface to capture on (default: DECNET_SNIFFER_IFACE, the state file's
    /// config.interface, else the parent NIC of decnet_macvlan0/decnet_ipvlan0).
    #[arg(long, value_name = "IFACE")]
    pub iface: Option<String>,
    #[command(flatten)]
    pub deckies: DeckyArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub daemon: Box<DaemonArgs>,
}

/// The daemon's own options (boxed: `run` has many more than `read`).
#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// RFC 5424 log file (same as --log; default /var/log/decnet/decnet.log,
    /// with the JSON sidecar beside it as .json).
    #[arg(long, value_name = "PATH", conflicts_with = "log")]
    pub log_file: Option<PathBuf>,
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Kernel BPF filter replacing the default (TCP, QUIC/DTLS over UDP, ICMPv6).
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Analyse on N worker threads, each holding the flows of a share of
    /// the remote hosts; the capture thread routes frames and writes the
    /// events (default 1: the capture thread analyses).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Kernel ring size in bytes (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub buffer_size: Option<u64>,
    /// Bytes kept of each frame (default 262144).
    #[arg(long, value_name = "BYTES")]
    pub snaplen: Option<u32>,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Seconds to wait for a missing interface at start (default 0: fail at once).
    #[arg(long, value_name = "SECS")]
    pub wait_iface: Option<u64>,
    /// Switch to this user (and its group) once the capture is open.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Event bus: decnet:PATH, nats://HOST:PORT or off.
    #[arg(long, value_name = "TARGET")]
    pub bus: Option<String>,
    /// With a NATS bus: publish to this JetStream stream with acknowledgement.
    #[arg(long, value_name = "STREAM")]
    pub bus_jetstream: Option<String>,
}

/// Runs the daemon until a signal or a stop request (`Ok`), or a fatal
/// error (`Err`, after the open flows were reported). Unusable settings,
/// outputs naming inputs and broken databases fail with status 2 before
/// anything starts.
pub fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let settings = settings_of(&args).map_err(Failure::config)?;
    let (log, json) = settings.output_files();
    let outputs = [("--log", log), ("--json", json)];
    let mut inputs = vec![("--state", settings.state_file())];
    inputs.extend(settings.p0f_db.as_deref().map(|p| ("--p0f-db", p)));
    inputs.extend(args.daemon.config.as_deref().map(|p| ("--config", p)));
    crate::output::clash::refuse_clashes(&outputs, &inputs).map_err(Failure::config)?;
    let p0f_db = settings.load_databases().map_err(Failure::config)?;
    match Daemon::start(settings, p0f_db).map_err(Failure::fatal)? {
        Some(daemon) => daemon.run(),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Flags, environment and config file, merged (see [`super::config`]).
fn settings_of(args: &RunArgs) -> Result<Settings, ConfigError> {
    let given = flags_on_command_line();
    // Flags with a clap default count only when typed, so the config file can set them.
    let typed = |id: &str| given.iter().any(|g| g == id);
    let flags = Layer {
        iface: args.iface.clone(),
        state: args.deckies.state.clone(),
        deckies: (!args.deckies.deckies.is_empty()).then(|| args.deckies.deckies.clone()),
        log: args
            .daemon
            .log_file
            .clone()
            .or_else(|| args.output.log.clone()),
        json: args.output.json.clone(),
        filter: args.daemon.filter.clone(),
        buffer_size: args.daemon.buffer_size,
        snaplen: args.daemon.snaplen,
        promisc: args.daemon.no_promisc.then_some(false),
        wait_iface: args.daemon.wait_iface,
        user: args.daemon.user.clone(),
        metrics: args.daemon.metrics,
        bus: args.daemon.bus.clone(),
        bus_jetstream: args.daemon.bus_jetstream.clone(),
        dedup_ttl: typed("dedup_ttl").then_some(args.output.dedup_ttl),
        max_dedup: typed("max_dedup").then_some(args.output.max_dedup),
        flow_idle: typed("flow_idle").then_some(args.limits.flow_idle),
        max_flows: typed("max_flows").then_some(args.limits.max_flows),
        reassembly_bytes: typed("reassembly_bytes").then_some(args.limits.reassembly_bytes),
        max_seq_sources: typed("max_seq_sources").then_some(args.limits.max_seq_sources),
        max_pending_handshakes: typed("max_pending_handshakes")
            .then_some(args.limits.max_pending_handshakes),
        memcap: typed("memcap").then_some(args.limits.memcap),
        p0f_db: args.limits.p0f_db.clone(),
        workers: args.daemon.workers,
        bus_env_error: None,
        decap: Some(args.deckies.decap),
        quic_ports: typed("quic_ports").then(|| args.limits.quic_ports.clone()),
        clients_db: args.limits.clients_db.clone(),
    };
    let env = Layer::from_env(|k| std::env::var(k).ok());
    let file = match &args.daemon.config {
        Some(path) => Layer::from_toml_file(path)?,
        None => Layer::default(),
    };
    let settings = Settings::resolve(flags, env, file)?;
    for d in &settings.deckies.manual {
        DeckyMap::default()
            .add_arg(d)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    }
    Ok(settings)
}

/// Ids of the `run` arguments typed on this process's command line (clap
/// cannot tell a typed value from a default once parsed into a struct).
fn flags_on_command_line() -> Vec<String> {
    use clap::parser::ValueSource;
    use clap::CommandFactory;
    let Ok(m) = super::Cli::command().try_get_matches_from(std::env::args_os()) else {
        return Vec::new();
    };
    let Some(("run", sub)) = m.subcommand() else {
        return Vec::new();
    };
    sub.ids()
        .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Signal flags, set by handlers, read by the loop.
struct Signals {
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let term = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        for sig in [SIGTERM, SIGINT] {
            // A second SIGTERM/SIGINT while shutting down exits at once (status 1).
            signal_hook::flag::register_conditional_shutdown(sig, 1, term.clone())?;
            signal_hook::flag::register(sig, term.clone())?;
        }
        signal_hook::flag::register(SIGHUP, hup.clone())?;
        Ok(Signals { term, hup })
    }
}

fn describe(map: &DeckyMap) -> String {
    if map.is_observe_all() {
        "no state file yet and no --decky: observing every server".into()
    } else {
        format!("{} decky addresses", map.len())
    }
}

struct Daemon {
    settings: Settings,
    signals: Signals,
    cap: LiveCapture,
    engine: Box<dyn PacketEngine>,
    output: Output,
    watcher: Option<StateWatcher<DeckyMap>>,
    reloads: Option<Arc<ReloadCounters>>,
    metrics: Option<(MetricsHub, MetricsServer)>,
    bus: Option<Bus>,
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("{0}")]
    Capture(#[from] CaptureError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("dropping privileges: {0}")]
    Privileges(String),
    #[error("output: {0}")]
    Output(#[from] crate::output::sink::SinkError),
    #[error("bus: {0}")]
    Bus(String),
    #[error("--metrics {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("state-file watcher: {0}")]
    Watcher(std::io::Error),
    #[error("cannot start the worker threads: {0}")]
    Workers(std::io::Error),
}

impl Daemon {
    /// Opens everything; `None` when a signal ended the start-up.
    fn start(
        settings: Settings,
        p0f_db: &'static P0fDatabase,
    ) -> Result<Option<Daemon>, StartError> {
        let signals = Signals::install().map_err(StartError::Signals)?;
        let state = settings.state_file().to_path_buf();
        let mut source = settings
            .deckies
            .source(Some(state.clone()), MissingFile::Wait);
        let deckies = source.load().unwrap_or_else(|e| {
            tracing::error!("{e}; starting with no deckies until the state file is fixed");
            DeckyMap::default()
        });
        tracing::info!("state file {}: {}", state.display(), describe(&deckies));

        let explicit = settings.iface.clone();
        let state_iface = deckies.interface.clone();
        let opened = retry_missing_interface(
            settings.wait_iface,
            &signals.term,
            || {
                let choice = select_interface(
                    explicit.as_ref().map(|(i, why)| (i.as_str(), *why)),
                    state_iface.as_deref(),
                    &SysfsInterfaces,
                )?;
                let cap = LiveCapture::open(&choice.iface, &settings.live)?;
                Ok((cap, choice))
            },
            |err, pause| {
                tracing::warn!(
                    "{err}; retrying in {:.1}s (--wait-iface)",
                    pause.as_secs_f64()
                )
            },
        );
        let (cap, choice) = match opened {
            Ok(c) => c,
            Err(CaptureError::Stopped { .. }) => {
                tracing::info!("stopped by signal while waiting for the interface");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(
            "capturing on {} ({}); ring {} MiB, filter: {}",
            choice.iface,
            choice.reason,
            settings.live.buffer_size >> 20,
            settings.live.filter.as_deref().unwrap_or("default")
        );

        drop_privileges(settings.user.as_deref()).map_err(StartError::Privileges)?;

        let mut output = Output::new(settings.dedup_ttl, settings.max_dedup);
        output.set_memcap(settings.memcap);
        let (log, json) = settings.output_files();
        output.log_to(log)?;
        output.json_to(json)?;
        if settings.bus != BusTarget::Off {
            tracing::info!("publishing traffic events to {:?}", settings.bus);
        }
        let bus = super::start_bus(&settings.bus).map_err(StartError::Bus)?;
        if let Some(b) = &bus {
            output.publish_with(Box::new(b.publisher()));
        }
        tracing::info!("writing {} and {}", log.display(), json.display());

        let metrics = match settings.metrics {
            Some(addr) => {
                let hub = MetricsHub::new();
                let server = MetricsServer::spawn(addr, hub.clone())
                    .map_err(|source| StartError::Metrics { addr, source })?;
                tracing::info!("metrics at http://{}/metrics", server.local_addr());
                Some((hub, server))
            }
            None => None,
        };

        let watcher = StateWatcher::spawn(state, WatchOptions::default(), move |_: &Path| {
            source.load()
        })
        .map_err(StartError::Watcher)?;
        let reloads = Some(watcher.counters());
        let mut engine = crate::runtime::start(
            settings.limits(),
            deckies,
            p0f_db,
            settings.workers,
            output.formatter(),
        )
        .map_err(StartError::Workers)?;
        engine.set_interface(&choice.iface);
        if settings.workers > 1 {
            tracing::info!("analysing on {} worker threads", settings.workers);
        }
        Ok(Some(Daemon {
            settings,
            signals,
            cap,
            engine,
            output,
            watcher: Some(watcher),
            reloads,
            metrics,
            bus,
        }))
    }

    /// The capture loop, until a signal or a stop request; a fatal error
    /// stops it the same way (open flows reported) and is returned.
    fn run(mut self) -> Result<ExitCode, Failure> {
        let mut last_tick = Instant::now();
        // Newest packet time and when it was processed.
        let mut clock: Option<(Timestamp, Instant)> = None;
        let mut first_map = true;
        self.publish_metrics();
        loop {
            if self.signals.term.load(Ordering::Relaxed) {
                tracing::info!("signal received: flushing open flows and stopping");
                self.drain_ring();
                return self.shutdown().map(|()| ExitCode::SUCCESS);
            }
            if self.bus.as_ref().is_some_and(Bus::stop_requested) {
                tracing::info!(
                    "stop requested on system.sniffer.control: flushing open flows and stopping"
                );
                self.drain_ring();
                return self.shutdown().map(|()| ExitCode::SUCCESS);
            }
            if self.signals.hup.swap(false, Ordering::Relaxed) {
                let (log, json) = self.settings.output_files();
                tracing::info!(
                    "SIGHUP: reopening {} and {}, reloading the state file",
                    log.display(),
                    json.display()
                );
                if let Err(e) = self.output.reopen() {
                    // As on SIGTERM: open flows reported, the bus drained.
                    return self.stop_on(format!("cannot reopen the output: {e}"));
                }
                if let Some(w) = &self.watcher {
                    w.request_reload();
                }
            }
            if let Some(map) = self.watcher.as_ref().and_then(|w| w.try_recv()) {
                // The watcher's first map repeats the one loaded at start.
                if std::mem::take(&mut first_map) {
                    tracing::debug!("decky map confirmed: {}", describe(&map));
                } else {
                    tracing::info!("decky map now: {}", describe(&map));
                }
                self.engine.set_deckies(map);
            }

            let (engine, output) = (&mut self.engine, &mut self.output);
            let mut newest: Option<Timestamp> = None;
            let batch = self.cap.next_batch(POLL, |pkt| {
                newest = Some(newest.map_or(pkt.ts, |n| n.max(pkt.ts)));
                engine.process(&pkt, output);
            });
            engine.flush(output);
            if let Some(ts) = newest {
                if clock.is_none_or(|(t, _)| ts >= t) {
                    clock = Some((ts, Instant::now()));
                }
            }
            if let Err(e) = batch {
                return self.stop_on(e.to_string());
            }
            if let Err(e) = self.flush_output() {
                return self.stop_on(format!("cannot write events: {e}"));
            }

            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.engine.sync(&mut self.output);
                if let Some((ts, at)) = clock {
                    if let Some(quiet) = at.elapsed().checked_sub(RING_SLACK) {
                        let now =
                            Timestamp::from_micros(ts.as_micros().saturating_add(
                                i64::try_from(quiet.as_micros()).unwrap_or(i64::MAX),
                            ));
                        self.engine.advance_time(now, &mut self.output);
                    }
                }
                self.publish_metrics();
            }
        }
    }

    /// Processes what is still in the ring: the kernel hands over a partly
    /// filled block only when its timeout fires.
    fn drain_ring(&mut self) {
        let wait = self.settings.live.block_timeout + Duration::from_millis(50);
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            let (engine, output) = (&mut self.engine, &mut self.output);
            let batch = self
                .cap
                .next_batch(wait, |pkt| engine.process(&pkt, output));
            engine.flush(output);
            match batch {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    fn flush_output(&mut self) -> Result<(), crate::output::sink::SinkError> {
        self.output.flush()?;
        match self.output.last_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Stops as on SIGTERM after a fatal error, which is returned (with
    /// the shutdown's own failure, if any).
    fn stop_on(&mut self, cause: String) -> Result<ExitCode, Failure> {
        tracing::info!("fatal error: flushing open flows and stopping");
        let message = match self.shutdown() {
            Ok(()) => cause,
            Err(then) => format!("{cause}; then {}", then.message),
        };
        Err(Failure::fatal(message))
    }

    /// Reports every open flow, writes everything out, stops the helpers.
    fn shutdown(&mut self) -> Result<(), Failure> {
        self.engine.finish(&mut self.output);
        let flushed = self
            .flush_output()
            .map_err(|e| Failure::fatal(format!("writing the last events failed: {e}")));
        self.publish_metrics();
        if let Some(bus) = self.bus.take() {
            bus.shutdown(BUS_DRAIN);
        }
        self.watcher = None;
        let s = self.engine.stats();
        tracing::info!("stopped: {} packets, {} bytes", s.packets, s.bytes);
        flushed
    }

    fn publish_metrics(&mut self) {
        let kernel = self.cap.stats();
        if let Some(bus) = &self.bus {
            bus.update_health(health_counters(&*self.engine, &self.output.stats(), kernel));
        }
        let Some((hub, _)) = &self.metrics else {
            return;
        };
        let reloads = self.reloads.as_deref();
        let mut snap = snapshot(&*self.engine, &self.output.stats(), kernel, reloads);
        if let Some(bus) = &self.bus {
            let b = bus.stats();
            snap.bus_queue_depth = b.queued as u64;
            snap.bus_published = b.published;
            snap.bus_publish_failures = b.publish_failures;
            snap.bus_queue_dropped = b.dropped;
        }
        hub.publish(snap);
    }
}

/// Counters for the metrics endpoint.
fn snapshot(
    engine: &dyn PacketEngine,
    out: &OutputStats,
    kernel: KernelStats,
    reloads: Option<&ReloadCounters>,
) -> MetricsSnapshot {
    let s = engine.stats();
    let by_kind = |v: &[u64]| -> Vec<(String, u64)> {
        EventKind::ALL
            .iter()
            .map(|k| {
                (
                    k.as_str().to_owned(),
                    v.get(k.index()).copied().unwrap_or(0),
                )
            })
            .collect()
    };
    let tables = engine.table_stats();
    let mut table_entries: Vec<(String, u64)> = tables
        .iter()
        .map(|(n, len, _)| (n.to_string(), *len as u64))
        .collect();
    table_entries.push(("dedup".into(), out.dedup_entries as u64));
    let mut evictions: Vec<(String, u64)> = tables
        .iter()
        .map(|(n, _, ev)| (n.to_string(), *ev))
        .collect();
    evictions.push(("dedup".into(), out.dedup_evictions));
    let mut memory = engine.memory_stats();
    out.fill_memory(&mut memory);
    let memory_bytes = memory
        .iter()
        .map(|p| (p.name.to_string(), p.bytes as u64))
        .collect();
    let memcap_evictions = memory
        .iter()
        .map(|p| (p.name.to_string(), p.evictions))
        .collect();
    let mut counters: Vec<(String, u64)> = s
        .counters()
        .map(|(name, n)| (name.to_string(), n))
        .collect();
    counters.push(("output_write_errors".into(), out.write_errors));
    counters.push(("output_files_recreated".into(), out.files_recreated));
    let mut snap = MetricsSnapshot {
        packets: s.packets,
        bytes: s.bytes,
        kernel_received: kernel.received,
        kernel_dropped: kernel.dropped,
        interface_dropped: kernel.if_dropped,
        decode_errors: DecodeError::ALL
            .iter()
            .map(|e| e.kind().to_string())
            .zip(s.decode_errors)
            .collect(),
        events_emitted: by_kind(&out.written),
        events_deduplicated: by_kind(&out.deduplicated),
        flows_created: s.flows_created,
        table_entries,
        evictions,
        memory_bytes,
        memcap_evictions,
        reloads_applied: reloads.map_or(0, |r| r.applied.load(Ordering::Relaxed)),
        reloads_failed: reloads.map_or(0, |r| r.failed.load(Ordering::Relaxed)),
        counters,
        ..MetricsSnapshot::default()
    };
    snap.stamp_now();
    snap
}

/// Engine counters carried by the bus health heartbeat (docs/spec.md section 7).
fn health_counters(
    engine: &dyn PacketEngine,
    out: &OutputStats,
    kernel: KernelStats,
) -> serde_json::Map<String, serde_json::Value> {
    let s = engine.stats();
    let mut m = serde_json::Map::new();
    m.insert("packets".into(), s.packets.into());
    m.insert("bytes".into(), s.bytes.into());
    m.insert("kernel_dropped".into(), kernel.dropped.into());
    m.insert("flows_created".into(), s.flows_created.into());
    m.insert(
        "events_written".into(),
        out.written.iter().sum::<u64>().into(),
    );
    m.insert(
        "events_deduplicated".into(),
        out.deduplicated.iter().sum::<u64>().into(),
    );
    m.insert("write_errors".into(), out.write_errors.into());
    m.insert("files_recreated".into(), out.files_recreated.into());
    m
}

/// After the capture socket is open nothing privileged is left to do:
/// switch to `--user` (its primary group, no supplementary groups), and drop
/// every capability a non-root process was started with (systemd's ambient
/// CAP_NET_RAW). Started as root without `--user`, stays root (docs/spec.md: default stay).
///
/// When dropping, the bounding set is emptied first (while CAP_SETPCAP is
/// still held) and no_new_privs is set, so nothing the process could exec
/// later (a set-uid or file-capability program) hands privileges back.
/// No thread exists yet: capability sets and no_new_privs are per thread,
/// and every thread started later inherits these.
fn drop_privileges(user: Option<&str>) -> Result<(), String> {
    use caps::{CapSet, Capability};
    use nix::unistd::{setgid, setgroups, setuid, Uid, User};
    let dropping = user.is_some() || !Uid::effective().is_root();
    if dropping && caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false)
    {
        caps::clear(None, CapSet::Bounding)
            .map_err(|e| format!("clearing the bounding capability set: {e}"))?;
    }
    if let Some(name) = user {
        let u = User::from_name(name).map_err(|e| format!("--user {name}: {e}"))?;
        let u = u.ok_or_else(|| format!("--user {name}: no such user"))?;
        setgroups(&[u.gid]).map_err(|e| format!("setgroups: {e}"))?;
        setgid(u.gid).map_err(|e| format!("setgid({}): {e}", u.gid))?;
        setuid(u.uid).map_err(|e| format!("setuid({}): {e}", u.uid))?;
        if !u.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
            return Err("could switch back to root after setuid".into());
        }
        tracing::info!("running as {name} (uid {}, gid {})", u.uid, u.gid);
    }
    if !Uid::effective().is_root() {
        for set in [
            CapSet::Ambient,
            CapSet::Inheritable,
            CapSet::Effective,
            CapSet::Permitted,
        ] {
            caps::clear(None, set).map_err(|e| format!("clearing {set:?} capabilities: {e}"))?;
        }
    }
    if dropping {
        nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    }
    Ok(())
}
