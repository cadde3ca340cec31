//! The `decnet-sniffer` command line: argument parsing and the `read`
//! command; `run` (the daemon) lives in [`run`].

pub mod config;
pub mod read;
pub mod run;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::deckies::{DeckyMap, DeckySource, MissingFile};
use crate::engine::Limits;
use crate::fingerprint::p0f::Database as P0fDatabase;

#[derive(Parser, Debug)]
#[command(
    name = "decnet-sniffer",
    version,
    about = "Passive network fingerprinting sensor for DECNET deckies",
    long_about = "Passive network fingerprinting sensor for DECNET deckies.\n\n\
        Reads captures (`read`) or a live interface (`run`), attributes traffic to deckies \
        and writes fingerprint events (TCP/IP, TLS, SSH, HTTP, QUIC) in DECNET's RFC 5424 \
        and JSON-lines formats. Event catalogue: docs/spec.md section 5."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read pcap/pcapng files ('-' = stdin) and write their events.
    Read(read::ReadArgs),
    /// Capture live traffic as a daemon until SIGTERM/SIGINT.
    Run(run::RunArgs),
}

/// Who is observed (docs/spec.md section 3).
#[derive(Args, Debug, Clone, Default)]
pub struct DeckyArgs {
    /// DECNET state file (decnet-state.json); deckies come from config.deckies[].name/ip.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Add a decky by hand (repeatable). With neither --state nor --decky,
    /// every server seen is observed under its IP address.
    #[arg(long = "decky", value_name = "NAME=IP")]
    pub deckies: Vec<String>,
    /// Which tunnels (IP-in-IP, GRE/ERSPAN, VXLAN, Geneve) are opened:
    /// `auto` opens those not addressed to or from a decky (mirrored
    /// traffic) and, with no deckies, all; a tunnel to a decky is analysed
    /// as the datagram it is. `never` opens none, `always` all.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub decap: crate::deckies::Decap,
}

impl DeckyArgs {
    /// Builds the decky map, or a one-line error naming the cause.
    pub fn load(&self) -> Result<DeckyMap, String> {
        DeckySource::new(
            self.state.clone(),
            self.deckies.clone(),
            self.decap,
            MissingFile::Error,
        )
        .load()
    }
}

/// Engine limits and timeouts (docs/spec.md section 9).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Seconds of silence after which a TCP flow is reported and dropped.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub flow_idle: u64,
    /// Maximum tracked TCP flows (least recently used evicted first).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Reassembly bytes held per direction until the handshake is complete.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub reassembly_bytes: usize,
    /// Maximum sources with IP-ID/ISN samples.
    #[arg(long, value_name = "N", default_value_t = 262_144)]
    pub max_seq_sources: usize,
    /// Bytes all state that grows with traffic may take together (flows,
    /// reassembly, partial handshakes...); past it the oldest partial state
    /// is dropped first. 0: unlimited.
    #[arg(long, value_name = "BYTES", default_value_t = crate::util::budget::DEFAULT_MEMCAP)]
    pub memcap: usize,
    /// Maximum pending handshakes: half-open TCP connections (only the
    /// client's SYN seen yet), partial QUIC ClientHellos and the like.
    #[arg(long, value_name = "N", default_value_t = 262_144)]
    pub max_pending_handshakes: usize,
    /// p0f v3 fingerprint database (p0f.fp format) replacing the bundled one
    /// (Debian's p0f 3.09b database).
    #[arg(long, value_name = "PATH")]
    pub p0f_db: Option<PathBuf>,
    /// Client labels database (data/clients/clients.db format) replacing the
    /// bundled one: names the program behind JA4, JA4H, HASSH, JA4T values.
    #[arg(long, value_name = "PATH")]
    pub clients_db: Option<PathBuf>,
    /// UDP ports whose datagrams are read as QUIC, comma-separated; 443 is always included.
    #[arg(
        long,
        value_name = "PORTS",
        value_delimiter = ',',
        default_value = "443"
    )]
    pub quic_ports: Vec<u16>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            flows: self.max_flows.max(1),
            reassembly_bytes: self.reassembly_bytes,
            pending_handshakes: self.max_pending_handshakes.max(1),
            seq_sources: self.max_seq_sources.max(1),
            flow_idle_secs: self.flow_idle,
            quic_ports: quic_ports(&self.quic_ports),
            tally_fingerprints: 0,
            memcap: self.memcap,
        }
    }

    /// The p0f database to match with: `--p0f-db` loaded once for the life
    /// of the process, else the bundled one. Errors name the file and line.
    pub fn p0f_database(&self) -> Result<&'static P0fDatabase, String> {
        load_p0f_database(self.p0f_db.as_deref())
    }

    /// Installs `--clients-db` for the life of the process (else the
    /// bundled database stays). Errors name the file and line.
    pub fn install_clients_database(&self) -> Result<(), String> {
        let Some(path) = &self.clients_db else {
            return Ok(());
        };
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let db = crate::fingerprint::clients::Database::parse(&String::from_utf8_lossy(&text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        crate::fingerprint::clients::install(Box::leak(Box::new(db)));
        Ok(())
    }
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

/// 443 plus the given ports, sorted, without repeats.
fn quic_ports(given: &[u16]) -> Vec<u16> {
    let mut ports: Vec<u16> = given.iter().copied().chain([443]).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Where events go.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Append RFC 5424 lines (DECNET wire format) to PATH.
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Append JSON records (DECNET's parsed form) to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Seconds during which a repeat of the same (source, event, key) is dropped; 0 disables.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub dedup_ttl: u64,
    /// Maximum dedup entries (oldest evicted first).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_dedup: usize,
}

/// Runs the program and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging();
    match cli.command {
        Command::Read(args) => read::run(args),
        Command::Run(args) => run::run(args),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DECNET_SNIFFER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // No colours: every line passes through `one_line`, which would
    // escape them.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| OneLineStderr(Vec::new()))
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Prints `decnet-sniffer: MESSAGE` to stderr as one bounded line.
pub fn error(msg: impl std::fmt::Display) {
    eprintln!(
        "{}",
        crate::util::message::one_line(&format!("decnet-sniffer: {msg}"))
    );
}

/// A log record collected whole, then written to stderr as one line of at
/// most [`MAX_MESSAGE`](crate::util::message::MAX_MESSAGE) characters.
struct OneLineStderr(Vec<u8>);

impl std::io::Write for OneLineStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A record is a line; anything past a bound is cut anyway.
        let room = (64 * 1024usize).saturating_sub(self.0.len());
        self.0.extend_from_slice(&buf[..buf.len().min(room)]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for OneLineStderr {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let line = crate::util::message::one_line(text.trim_end_matches('\n'));
        eprintln!("{line}");
    }
}
