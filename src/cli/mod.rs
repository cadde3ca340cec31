//! The `decnet-sniffer` command line: argument parsing, the one settings
//! value ([`config::Settings`]) each command builds from it, and the one
//! place that reports a failed command ([`main`]). `read` lives in
//! [`read`], `run` (the daemon) in [`run`].

pub mod config;
pub mod read;
pub mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::bus::{Bus, BusOptions, BusTarget};
use crate::engine::DeckyMap;

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
    pub decap: crate::engine::Decap,
}

impl DeckyArgs {
    /// Builds `read`'s decky map, or a one-line error naming the cause
    /// (see [`config::DeckySettings::load`]).
    pub fn load(&self) -> Result<DeckyMap, String> {
        self.settings().load()
    }

    /// These flags as settings.
    pub fn settings(&self) -> config::DeckySettings {
        config::DeckySettings {
            state: self.state.clone(),
            manual: self.deckies.clone(),
            decap: self.decap,
        }
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

/// Why a command stopped: the one line [`main`] prints and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub status: u8,
}

impl Failure {
    /// The command could not do its work (status 1).
    pub fn fatal(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            status: 1,
        }
    }

    /// `run`'s settings are unusable (status 2, like a usage error).
    pub fn config(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            status: 2,
        }
    }
}

/// Runs the program: parses the command line, runs the command, and is the
/// one place that reports its failure and picks the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging();
    let result = match cli.command {
        Command::Read(args) => read::run(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(status) => status,
        Err(failure) => {
            error(&failure.message);
            ExitCode::from(failure.status)
        }
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

/// The bus client for `target`, started (it connects in the background;
/// events queue meanwhile). `None` for `off`.
fn start_bus(target: &BusTarget) -> Result<Option<Bus>, String> {
    if *target == BusTarget::Off {
        return Ok(None);
    }
    Bus::start(BusOptions::new(target.clone()))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Prints `decnet-sniffer: error: MESSAGE` to stderr as one bounded line:
/// a command's failure ([`main`]), or an input `read` skips and goes on.
pub fn error(msg: impl std::fmt::Display) {
    print_line("error", msg);
}

/// Prints `decnet-sniffer: warning: MESSAGE` to stderr as one bounded line.
pub fn warning(msg: impl std::fmt::Display) {
    print_line("warning", msg);
}

fn print_line(level: &str, msg: impl std::fmt::Display) {
    eprintln!(
        "{}",
        crate::util::message::one_line(&format!("decnet-sniffer: {level}: {msg}"))
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
