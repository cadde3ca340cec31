//! The one configuration of both commands: command-line flags, then
//! environment variables, then an optional TOML file (`run --config PATH`),
//! then built-in defaults, in that order of precedence. `read` has flags
//! only, and defaults of its own (no state file, events to stdout, no bus).
//!
//! Each source becomes a [`Layer`] (every setting optional); layers are
//! merged field by field and [`Settings::resolve`] (for `run`) or
//! [`Settings::for_read`] fills in the defaults, once. The commands then
//! load what the settings name ([`Settings::load_databases`],
//! [`DeckySettings::load`]) and hand the values on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::bus::{BusTarget, DEFAULT_DECNET_SOCKET};
use crate::capture::live::LiveOptions;
use crate::deckies::{Decap, DeckyMap, DeckySource, MissingFile};
use crate::engine::Limits;
use crate::fingerprint::p0f::Database as P0fDatabase;

/// DECNET's state file when nothing else names one (`run`).
pub const DEFAULT_STATE: &str = "/opt/decnet/decnet-state.json";
/// DECNET's log file (the JSON sidecar sits beside it as `decnet.json`).
pub const DEFAULT_LOG: &str = "/var/log/decnet/decnet.log";
/// The JSON sidecar beside [`DEFAULT_LOG`].
pub const DEFAULT_JSON: &str = "/var/log/decnet/decnet.json";

/// One source of settings. The TOML file has exactly these keys (unknown
/// keys are an error, so a typo does not silently fall back to a default).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub iface: Option<String>,
    pub state: Option<PathBuf>,
    /// `NAME=IP` entries, added to the state file's deckies.
    pub deckies: Option<Vec<String>>,
    pub log: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub filter: Option<String>,
    /// Kernel ring size in bytes.
    pub buffer_size: Option<u64>,
    pub snaplen: Option<u32>,
    pub promisc: Option<bool>,
    /// Seconds to wait for a missing interface at start.
    pub wait_iface: Option<u64>,
    pub user: Option<String>,
    pub metrics: Option<SocketAddr>,
    /// `decnet:PATH`, `nats://HOST:PORT` or `off`.
    pub bus: Option<String>,
    pub bus_jetstream: Option<String>,
    pub dedup_ttl: Option<u64>,
    pub max_dedup: Option<usize>,
    pub flow_idle: Option<u64>,
    pub max_flows: Option<usize>,
    pub reassembly_bytes: Option<usize>,
    pub max_seq_sources: Option<usize>,
    pub max_pending_handshakes: Option<usize>,
    /// Byte budget of all traffic-grown state (`--memcap`).
    pub memcap: Option<usize>,
    /// p0f v3 database replacing the bundled one.
    pub p0f_db: Option<PathBuf>,
    /// Engine worker threads (1: the capture thread analyses).
    pub workers: Option<usize>,
    /// Why the environment's bus settings are unusable (an unknown
    /// `DECNET_BUS_TYPE`); never from the file.
    #[serde(skip)]
    pub bus_env_error: Option<String>,
    /// `--decap`: flag only.
    #[serde(skip)]
    pub decap: Option<Decap>,
    /// `--quic-ports` (443 is always added): flag only.
    #[serde(skip)]
    pub quic_ports: Option<Vec<u16>>,
    /// `--clients-db`: flag only.
    #[serde(skip)]
    pub clients_db: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not readable, not a regular file, or over the size cap.
    #[error("{0}")]
    Read(crate::util::load::LoadError),
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

macro_rules! merge_fields {
    ($hi:ident, $lo:ident; $($f:ident),* $(,)?) => {
        Layer { $($f: $hi.$f.or($lo.$f)),* }
    };
}

impl Layer {
    /// `self` wins wherever it has a value.
    pub fn over(self, lower: Layer) -> Layer {
        merge_fields!(self, lower; iface, state, deckies, log, json, filter, buffer_size,
            snaplen, promisc, wait_iface, user, metrics, bus, bus_jetstream, dedup_ttl,
            max_dedup, flow_idle, max_flows, reassembly_bytes, max_seq_sources,
            max_pending_handshakes, memcap, p0f_db, workers, bus_env_error, decap, quic_ports,
            clients_db)
    }

    /// The environment variables DECNET sets for its workers. Empty values
    /// count as unset.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Layer {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // One reading of DECNET's bus variables, shared with the bus.
        let (bus, bus_env_error) = match BusTarget::env_spec(&get) {
            Ok(spec) => (spec, None),
            Err(e) => (None, Some(e.to_string())),
        };
        Layer {
            iface: var("DECNET_SNIFFER_IFACE"),
            state: var("DECNET_STATE_FILE").map(PathBuf::from),
            memcap: var("DECNET_MEMCAP").and_then(|v| v.parse().ok()),
            bus,
            bus_env_error,
            ..Layer::default()
        }
    }

    pub fn from_toml(path: &Path, text: &str) -> Result<Layer, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_owned(),
            reason: toml_reason(text, &e),
        })
    }

    pub fn from_toml_file(path: &Path) -> Result<Layer, ConfigError> {
        let bytes = crate::util::load::load_file(path).map_err(ConfigError::Read)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let at = e.valid_up_to();
            let (line, column) = line_column(&bytes, at);
            ConfigError::Parse {
                path: path.to_owned(),
                reason: format!("line {line}, column {column} (byte {at}): not UTF-8"),
            }
        })?;
        Self::from_toml(path, text)
    }
}

/// A TOML error as one line: where (line, column) and the parser's own
/// message (its first line; the rest is a quote of the file).
fn toml_reason(text: &str, e: &toml::de::Error) -> String {
    let message = crate::util::message::excerpt_str(e.message().trim(), 160);
    match e.span() {
        Some(span) => {
            let (line, column) = line_column(text.as_bytes(), span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// 1-based line and column (in bytes) of byte `at` of `text`.
fn line_column(text: &[u8], at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, column)
}

/// Who is observed: the state file and `--decky` entries (docs/spec.md section 3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeckySettings {
    /// `None`: no state file (`read` without `--state`). `run` always has one.
    pub state: Option<PathBuf>,
    /// `NAME=IP` entries, added to the state file's deckies.
    pub manual: Vec<String>,
    pub decap: Decap,
}

impl DeckySettings {
    /// `read`'s decky map, or a one-line error naming the cause. With
    /// neither a state file nor `--decky`, every server is observed.
    pub fn load(&self) -> Result<DeckyMap, String> {
        self.source(self.state.clone(), MissingFile::Error).load()
    }

    /// The loader of these settings' maps from the state file `state`.
    pub fn source(&self, state: Option<PathBuf>, missing: MissingFile) -> DeckySource {
        DeckySource::new(state, self.manual.clone(), self.decap, missing)
    }
}

/// Everything a command needs, defaults filled in; built once per process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The interface named by a flag, the environment or the config file,
    /// with a phrase saying which (for the start-up log).
    pub iface: Option<(String, &'static str)>,
    pub deckies: DeckySettings,
    /// RFC 5424 lines; `run` always has a log file.
    pub log: Option<PathBuf>,
    /// JSON records; `run` always has one (beside the log unless named),
    /// `read` writes them to stdout when neither is named.
    pub json: Option<PathBuf>,
    pub live: LiveOptions,
    pub wait_iface: Duration,
    pub user: Option<String>,
    pub metrics: Option<SocketAddr>,
    pub bus: BusTarget,
    pub dedup_ttl: u64,
    pub max_dedup: usize,
    pub flow_idle: u64,
    pub max_flows: usize,
    pub reassembly_bytes: usize,
    pub max_seq_sources: usize,
    pub max_pending_handshakes: usize,
    pub memcap: usize,
    /// UDP ports read as QUIC: 443 plus `--quic-ports`, sorted.
    pub quic_ports: Vec<u16>,
    pub p0f_db: Option<PathBuf>,
    pub clients_db: Option<PathBuf>,
    pub workers: usize,
}

/// Which command's defaults fill the gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defaults {
    /// `read`: no state file, no bus, events on stdout unless `--log`/`--json`.
    Read,
    /// `run`: DECNET's state file, log files and bus socket.
    Run,
}

impl Settings {
    /// `run`'s settings: merges the three sources (highest precedence
    /// first) and applies DECNET's defaults.
    pub fn resolve(flags: Layer, env: Layer, file: Layer) -> Result<Settings, ConfigError> {
        Self::resolve_for(Defaults::Run, flags, env, file)
    }

    /// `read`'s settings: its flags only (no environment, no file).
    pub fn for_read(flags: Layer) -> Result<Settings, ConfigError> {
        Self::resolve_for(Defaults::Read, flags, Layer::default(), Layer::default())
    }

    fn resolve_for(
        defaults: Defaults,
        flags: Layer,
        env: Layer,
        file: Layer,
    ) -> Result<Settings, ConfigError> {
        let run = defaults == Defaults::Run;
        let iface = flags
            .iface
            .clone()
            .map(|i| (i, "given with --iface"))
            .or_else(|| env.iface.clone().map(|i| (i, "from DECNET_SNIFFER_IFACE")))
            .or_else(|| file.iface.clone().map(|i| (i, "from the config file")));
        // An unusable bus environment matters only when no flag names a bus.
        let bus_env_error = if flags.bus.is_none() {
            env.bus_env_error.clone()
        } else {
            None
        };
        if let Some(e) = bus_env_error {
            return Err(ConfigError::Invalid(e));
        }
        let l = flags.over(env).over(file);
        let live_defaults = LiveOptions::default();
        let (log, json) = if run {
            let log = l.log.unwrap_or_else(|| PathBuf::from(DEFAULT_LOG));
            // The JSON sidecar sits beside the log unless named.
            let json = l.json.unwrap_or_else(|| log.with_extension("json"));
            if json == log {
                return Err(ConfigError::Invalid(format!(
                    "--log and --json both name {}",
                    log.display()
                )));
            }
            (Some(log), Some(json))
        } else {
            // `read` refuses outputs naming each other with its inputs
            // (`crate::output::clash`).
            (l.log, l.json)
        };
        let buffer_size = match l.buffer_size {
            Some(n) if n < 64 << 10 => {
                return Err(ConfigError::Invalid(format!(
                    "buffer size {n} is below 64 KiB"
                )));
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => live_defaults.buffer_size,
        };
        let max_workers = crate::runtime::MAX_WORKERS;
        let workers = match l.workers {
            Some(n) if !(1..=max_workers).contains(&n) => {
                return Err(ConfigError::Invalid(format!(
                    "workers {n} is outside 1..={max_workers}"
                )));
            }
            Some(n) => n,
            None => 1,
        };
        let bus = match (&l.bus, run) {
            (Some(spec), true) => BusTarget::parse(spec)
                .map_err(|e| ConfigError::Invalid(format!("--bus {spec:?}: {e}")))?,
            (None, true) => BusTarget::Decnet(PathBuf::from(DEFAULT_DECNET_SOCKET)),
            (Some(spec), false) => {
                BusTarget::parse(spec).map_err(|e| ConfigError::Invalid(e.to_string()))?
            }
            (None, false) => BusTarget::Off,
        };
        let bus = with_jetstream(bus, l.bus_jetstream.clone(), run)?;
        let limits = Limits::default();
        let state = match l.state {
            Some(path) => Some(path),
            None if run => Some(PathBuf::from(DEFAULT_STATE)),
            None => None,
        };
        Ok(Settings {
            iface,
            deckies: DeckySettings {
                state,
                manual: l.deckies.unwrap_or_default(),
                decap: l.decap.unwrap_or_default(),
            },
            log,
            json,
            live: LiveOptions {
                buffer_size,
                snaplen: l.snaplen.unwrap_or(live_defaults.snaplen).max(256),
                promisc: l.promisc.unwrap_or(live_defaults.promisc),
                filter: l.filter.filter(|f| !f.trim().is_empty()),
                ..live_defaults
            },
            wait_iface: Duration::from_secs(l.wait_iface.unwrap_or(0)),
            user: l.user.filter(|u| !u.is_empty()),
            metrics: l.metrics,
            bus,
            dedup_ttl: l.dedup_ttl.unwrap_or(300),
            max_dedup: l.max_dedup.unwrap_or(1_000_000).max(1),
            flow_idle: l.flow_idle.unwrap_or(limits.flow_idle_secs),
            max_flows: l.max_flows.unwrap_or(limits.flows).max(1),
            reassembly_bytes: l.reassembly_bytes.unwrap_or(limits.reassembly_bytes),
            max_seq_sources: l.max_seq_sources.unwrap_or(limits.seq_sources).max(1),
            max_pending_handshakes: l
                .max_pending_handshakes
                .unwrap_or(limits.pending_handshakes)
                .max(1),
            memcap: l.memcap.unwrap_or(limits.memcap),
            quic_ports: quic_ports(l.quic_ports.as_deref().unwrap_or_default()),
            p0f_db: l.p0f_db,
            clients_db: l.clients_db,
            workers,
        })
    }

    /// The engine's limits (no fingerprint tally: `read --summary` adds it).
    pub fn limits(&self) -> Limits {
        Limits {
            flows: self.max_flows,
            reassembly_bytes: self.reassembly_bytes,
            pending_handshakes: self.max_pending_handshakes,
            seq_sources: self.max_seq_sources,
            flow_idle_secs: self.flow_idle,
            quic_ports: self.quic_ports.clone(),
            tally_fingerprints: 0,
            memcap: self.memcap,
        }
    }

    /// `run`'s state file ([`Settings::resolve`] always names one).
    pub fn state_file(&self) -> &Path {
        self.deckies
            .state
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_STATE))
    }

    /// `run`'s log and JSON files ([`Settings::resolve`] always names both).
    pub fn output_files(&self) -> (&Path, &Path) {
        let log = self.log.as_deref().unwrap_or(Path::new(DEFAULT_LOG));
        let json = self.json.as_deref().unwrap_or(Path::new(DEFAULT_JSON));
        (log, json)
    }

    /// Loads the databases the settings name, once for the life of the
    /// process: installs `--clients-db` (else the bundled one stays) and
    /// returns `--p0f-db`'s database (else the bundled one). Errors name
    /// the flag, the file, the line and the reason.
    pub fn load_databases(&self) -> Result<&'static P0fDatabase, String> {
        if let Some(path) = &self.clients_db {
            let db = load_clients_database(path).map_err(|e| format!("--clients-db {e}"))?;
            crate::fingerprint::clients::install(db);
        }
        load_p0f_database(self.p0f_db.as_deref()).map_err(|e| format!("--p0f-db {e}"))
    }
}

/// Applies a JetStream stream name. `read --bus-jetstream` needs a NATS
/// bus; `run` ignores a stream name for other buses (as it always has, so
/// one config file serves both kinds).
fn with_jetstream(
    mut bus: BusTarget,
    stream: Option<String>,
    run: bool,
) -> Result<BusTarget, ConfigError> {
    if !run || matches!(bus, BusTarget::Nats { .. }) {
        bus.set_jetstream(stream)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    }
    Ok(bus)
}

/// 443 plus the given ports, sorted, without repeats.
fn quic_ports(given: &[u16]) -> Vec<u16> {
    let mut ports: Vec<u16> = given.iter().copied().chain([443]).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// A clients database file (data/clients/clients.db format), parsed and
/// kept for the life of the process.
fn load_clients_database(
    path: &Path,
) -> Result<&'static crate::fingerprint::clients::Database, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let db = crate::fingerprint::clients::Database::parse(&String::from_utf8_lossy(&text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Box::leak(Box::new(db)))
}

/// `--p0f-db PATH` read whole (a regular file under the size cap) and
/// parsed, kept for the life of the process; the bundled database without
/// a path. The error is one line naming the file, the line and the reason.
pub fn load_p0f_database(path: Option<&Path>) -> Result<&'static P0fDatabase, String> {
    let Some(path) = path else {
        return Ok(P0fDatabase::bundled());
    };
    let text = crate::util::load::load_file(path).map_err(|e| e.to_string())?;
    let db = P0fDatabase::parse(&String::from_utf8_lossy(&text)).map_err(|e| {
        format!(
            "{}: p0f database line {}: {}",
            path.display(),
            e.line,
            crate::util::message::excerpt_str(&e.reason, 160)
        )
    })?;
    Ok(Box::leak(Box::new(db)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Layer {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Layer::from_env(|k| m.get(k).cloned())
    }

    fn toml(text: &str) -> Layer {
        Layer::from_toml(Path::new("test.toml"), text).unwrap()
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let flags = Layer {
            iface: Some("flag0".into()),
            dedup_ttl: Some(5),
            ..Layer::default()
        };
        let e = env(&[
            ("DECNET_SNIFFER_IFACE", "env0"),
            ("DECNET_STATE_FILE", "/env/state.json"),
        ]);
        let f = toml(
            "iface = \"file0\"\nstate = \"/file/state.json\"\ndedup_ttl = 60\nmax_flows = 10\n\
             log = \"/srv/log/decnet.log\"\n",
        );
        let s = Settings::resolve(flags, e.clone(), f.clone()).unwrap();
        assert_eq!(s.iface, Some(("flag0".into(), "given with --iface")));
        assert_eq!(s.state_file(), Path::new("/env/state.json"));
        assert_eq!(s.dedup_ttl, 5);
        assert_eq!(s.max_flows, 10);
        assert_eq!(
            s.output_files(),
            (
                Path::new("/srv/log/decnet.log"),
                Path::new("/srv/log/decnet.json")
            )
        );
        assert_eq!(s.max_dedup, 1_000_000);

        let s = Settings::resolve(Layer::default(), e, f.clone()).unwrap();
        assert_eq!(s.iface, Some(("env0".into(), "from DECNET_SNIFFER_IFACE")));
        let s =
            Settings::resolve(Layer::default(), env(&[("DECNET_SNIFFER_IFACE", "")]), f).unwrap();
        assert_eq!(s.iface, Some(("file0".into(), "from the config file")));
        assert_eq!(s.state_file(), Path::new("/file/state.json"));
    }

    #[test]
    fn defaults_are_decnets_paths() {
        let s = Settings::resolve(Layer::default(), Layer::default(), Layer::default()).unwrap();
        assert_eq!(s.iface, None);
        assert_eq!(s.deckies.state.as_deref(), Some(Path::new(DEFAULT_STATE)));
        assert_eq!(
            s.log.as_deref(),
            Some(Path::new("/var/log/decnet/decnet.log"))
        );
        assert_eq!(s.json.as_deref(), Some(Path::new(DEFAULT_JSON)));
        assert_eq!(s.bus, BusTarget::Decnet(DEFAULT_DECNET_SOCKET.into()));
        assert_eq!(s.live.buffer_size, 64 << 20);
        assert_eq!(s.wait_iface, Duration::ZERO);
        assert_eq!(s.flow_idle, 120);
    }

    #[test]
    fn bus_environment() {
        let s = |vars: &[(&str, &str)]| {
            Settings::resolve(Layer::default(), env(vars), Layer::default())
                .unwrap()
                .bus
        };
        assert_eq!(s(&[("DECNET_BUS_ENABLED", "false")]), BusTarget::Off);
        assert_eq!(
            s(&[("DECNET_BUS_ENABLED", "False"), ("DECNET_BUS_SOCKET", "/x")]),
            BusTarget::Off
        );
        assert_eq!(
            s(&[("DECNET_BUS_SOCKET", "/tmp/bus.sock")]),
            BusTarget::Decnet("/tmp/bus.sock".into())
        );
        assert_eq!(
            s(&[("DECNET_BUS_ENABLED", "true")]),
            BusTarget::Decnet(DEFAULT_DECNET_SOCKET.into())
        );
        let flags = Layer {
            bus: Some("nats://127.0.0.1:4222".into()),
            ..Layer::default()
        };
        let got = Settings::resolve(
            flags,
            env(&[("DECNET_BUS_ENABLED", "false")]),
            Layer::default(),
        )
        .unwrap()
        .bus;
        assert_eq!(got, BusTarget::parse("nats://127.0.0.1:4222").unwrap());
        // DECNET_BUS_TYPE=nats with DECNET_BUS_URL, or the default URL.
        assert_eq!(
            s(&[
                ("DECNET_BUS_TYPE", "nats"),
                ("DECNET_BUS_URL", "nats://10.1.1.1:4223")
            ]),
            BusTarget::parse("nats://10.1.1.1:4223").unwrap()
        );
        assert_eq!(
            s(&[("DECNET_BUS_TYPE", "NATS")]),
            BusTarget::parse(crate::bus::DEFAULT_NATS_URL).unwrap()
        );
        assert_eq!(
            s(&[("DECNET_BUS_TYPE", "unix"), ("DECNET_BUS_SOCKET", "/b")]),
            BusTarget::Decnet("/b".into())
        );
        assert_eq!(s(&[("DECNET_BUS_ENABLED", "0")]), BusTarget::Off);
        // The environment's jetstream stream applies to its NATS bus.
        let flags = Layer {
            bus_jetstream: Some("DECNET".into()),
            ..Layer::default()
        };
        let got = Settings::resolve(flags, env(&[("DECNET_BUS_TYPE", "nats")]), Layer::default())
            .unwrap()
            .bus;
        assert!(matches!(got, BusTarget::Nats { jetstream: Some(ref j), .. } if j == "DECNET"));
        // An unknown type is an error, unless a flag names the bus.
        let e = Settings::resolve(
            Layer::default(),
            env(&[("DECNET_BUS_TYPE", "amqp")]),
            Layer::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("DECNET_BUS_TYPE"), "{e}");
        let flags = Layer {
            bus: Some("off".into()),
            ..Layer::default()
        };
        let got = Settings::resolve(flags, env(&[("DECNET_BUS_TYPE", "amqp")]), Layer::default())
            .unwrap()
            .bus;
        assert_eq!(got, BusTarget::Off);
    }

    #[test]
    fn config_file_errors_name_the_problem() {
        let e = Layer::from_toml(
            Path::new("/etc/x.toml"),
            "iface = \"eth0\"\nifcae = \"eth1\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("ifcae"), "{e}");
        let e = Layer::from_toml(Path::new("/etc/x.toml"), "wait_iface = \"soon\"\n").unwrap_err();
        assert!(e.to_string().starts_with("/etc/x.toml: "), "{e}");
        let bad = Layer {
            bus: Some("amqp://x".into()),
            ..Layer::default()
        };
        assert!(Settings::resolve(bad, Layer::default(), Layer::default()).is_err());
        let same = Layer {
            log: Some("/a.log".into()),
            json: Some("/a.log".into()),
            ..Layer::default()
        };
        assert!(Settings::resolve(same, Layer::default(), Layer::default()).is_err());
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/decnet-sniffer.toml.example");
        let text = std::fs::read_to_string(&path).unwrap();
        // Every key is commented out in the example; uncommented it must parse whole.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = "))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let layer = Layer::from_toml(&path, &uncommented).unwrap();
        assert_eq!(layer.iface.as_deref(), Some("eth0"));
        assert!(layer.metrics.is_some() && layer.max_pending_handshakes.is_some());
        assert_eq!(layer.memcap, Some(268_435_456));
        Settings::resolve(Layer::default(), Layer::default(), layer).unwrap();
    }

    /// `read` builds the same settings from its flags, with its own
    /// defaults: no state file, no bus, events on stdout.
    #[test]
    fn read_has_its_own_defaults() {
        let s = Settings::for_read(Layer::default()).unwrap();
        assert_eq!(s.deckies, DeckySettings::default());
        assert_eq!((&s.log, &s.json), (&None, &None));
        assert_eq!(s.bus, BusTarget::Off);
        assert_eq!(s.quic_ports, vec![443]);
        assert_eq!(s.limits().quic_ports, vec![443]);
        assert_eq!(s.workers, 1);
        // The environment is not read: an unknown bus type is no error.
        let s = Settings::for_read(Layer {
            quic_ports: Some(vec![8443, 443, 4433]),
            bus: Some("nats://127.0.0.1:4222".into()),
            bus_jetstream: Some("DECNET".into()),
            ..Layer::default()
        })
        .unwrap();
        assert_eq!(s.limits().quic_ports, vec![443, 4433, 8443]);
        assert!(matches!(s.bus, BusTarget::Nats { jetstream: Some(ref j), .. } if j == "DECNET"));
    }

    /// A stream name on `read` needs a NATS bus; `run` ignores one for
    /// other buses (one config file serves both kinds).
    #[test]
    fn jetstream_without_nats() {
        let flags = Layer {
            bus: Some("decnet:/x".into()),
            bus_jetstream: Some("S".into()),
            ..Layer::default()
        };
        let e = Settings::for_read(flags.clone()).unwrap_err();
        assert!(e.to_string().contains("nats"), "{e}");
        let s = Settings::resolve(flags, Layer::default(), Layer::default()).unwrap();
        assert_eq!(s.bus, BusTarget::Decnet("/x".into()));
    }

    /// `--quic-ports`, `--decap` and `--clients-db` reach `run` too.
    #[test]
    fn run_takes_the_flag_only_settings() {
        let flags = Layer {
            quic_ports: Some(vec![8443]),
            decap: Some(Decap::Never),
            clients_db: Some("/x/clients.db".into()),
            ..Layer::default()
        };
        let s = Settings::resolve(flags, Layer::default(), Layer::default()).unwrap();
        assert_eq!(s.limits().quic_ports, vec![443, 8443]);
        assert_eq!(s.deckies.decap, Decap::Never);
        assert_eq!(s.clients_db.as_deref(), Some(Path::new("/x/clients.db")));
        // Not config file keys.
        assert!(Layer::from_toml(Path::new("x.toml"), "quic_ports = [8443]").is_err());
    }

    #[test]
    fn memcap_from_flag_env_and_file() {
        let file = Layer::from_toml(Path::new("x.toml"), "memcap = 1000").unwrap();
        let s = Settings::resolve(Layer::default(), Layer::default(), file.clone()).unwrap();
        assert_eq!(s.limits().memcap, 1000);
        let s =
            Settings::resolve(Layer::default(), env(&[("DECNET_MEMCAP", "2000")]), file).unwrap();
        assert_eq!(s.limits().memcap, 2000);
        let s = Settings::resolve(Layer::default(), Layer::default(), Layer::default()).unwrap();
        assert_eq!(s.limits().memcap, crate::util::budget::DEFAULT_MEMCAP);
    }
}
