//! `decnet-sniffer read FILE...`: offline analysis of capture files.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::config::{ConfigError, Layer, Settings};
use super::{error, warning, DeckyArgs, Failure, LimitArgs, OutputArgs};
use crate::bus::Bus;
use crate::capture::file::{CaptureFile, FileEnd};
use crate::decode::DecodeError;
use crate::engine::{Counter, FingerprintTally};
use crate::event::EventKind;
use crate::output::{Output, OutputStats, OutputThread};
use crate::runtime::PacketEngine;

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// pcap or pcapng files, read in order as one stream of packets; '-' reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub deckies: DeckyArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Analyse on N worker threads, each holding the flows of a share of
    /// the remote hosts (and that share of the table caps); 1 analyses on
    /// the reading thread. The output does not depend on timing: the same
    /// for every run with the same N, and the same as with 1 except for the
    /// order of the flows still open at the end, and where tables overflow.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=crate::runtime::MAX_WORKERS as i64))]
    pub workers: u16,
    /// Print a summary to stderr at the end (packets, decode errors, events,
    /// flows, evictions, and the most frequent fingerprints per decky).
    #[arg(long)]
    pub summary: bool,
    /// Never show the progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Read capture files in place through a memory map instead of read()
    /// (classic pcap files that no one has open for writing; the others are
    /// read as usual). Same output.
    #[arg(long)]
    pub mmap: bool,
    /// Also publish traffic events on a bus: decnet:PATH, nats://HOST:PORT or off (default).
    #[arg(long, value_name = "TARGET")]
    pub bus: Option<String>,
    /// With a NATS bus: publish into this JetStream stream with acknowledgement.
    #[arg(long, value_name = "STREAM", requires = "bus")]
    pub bus_jetstream: Option<String>,
}

/// How long `read` waits at exit for the bus to take the last events.
const BUS_DRAIN: Duration = Duration::from_secs(5);

/// Reads every file; `Ok` with status 1 when a file could not be read or
/// an event not written (each said as it happened), `Err` when nothing
/// could start.
pub fn run(args: ReadArgs) -> Result<ExitCode, Failure> {
    let settings = settings_of(&args).map_err(Failure::fatal)?;
    let deckies = settings.deckies.load().map_err(Failure::fatal)?;
    refuse_clashes(&args.files, &settings).map_err(Failure::fatal)?;
    // Before any output file is touched or the bus connected.
    let p0f_db = settings.load_databases().map_err(Failure::fatal)?;
    let mut output = Output::new(settings.dedup_ttl, settings.max_dedup);
    output.set_memcap(settings.memcap);
    open_outputs(&settings, &mut output).map_err(Failure::fatal)?;
    let bus = super::start_bus(&settings.bus).map_err(Failure::fatal)?;
    if let Some(b) = &bus {
        output.publish_with(Box::new(b.publisher()));
    }
    let formatter = output.formatter();
    // Dedup, formatting and writing run on their own thread, beside
    // reading and decoding.
    let mut output = OutputThread::spawn(output)
        .map_err(|e| Failure::fatal(format!("cannot start the output thread: {e}")))?;
    let mut limits = settings.limits();
    if args.summary {
        limits.tally_fingerprints = TALLY_ENTRIES;
    }
    let mut engine = crate::runtime::start(limits, deckies, p0f_db, settings.workers, formatter)
        .map_err(|e| Failure::fatal(format!("cannot start the worker threads: {e}")))?;
    let started = Instant::now();
    let mut failed = false;
    for path in &args.files {
        let opened = if args.mmap {
            CaptureFile::open_mapped(path)
        } else {
            CaptureFile::open(path)
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                error(e);
                failed = true;
                continue;
            }
        };
        let progress = progress_bar(path, args.no_progress);
        let mut n: u64 = 0;
        let result = file.for_each(|pkt| {
            engine.process(&pkt, &mut output);
            n += 1;
            if n % 8192 == 0 {
                if let Some(p) = &progress {
                    p.set_position(n);
                }
            }
        });
        if let Some(p) = progress {
            p.finish_and_clear();
        }
        if let Ok(end) = &result {
            warn_skipped(&mut *engine, path, end);
        }
        match result {
            Ok(end) if end.truncated => warning(format!(
                "{}: last record truncated at byte {} ({} bytes not read); \
                 read {} packets",
                path.display(),
                file.position(),
                end.unread,
                end.packets
            )),
            Ok(_) => {}
            Err(e) => {
                error(e);
                failed = true;
            }
        }
    }
    engine.finish(&mut output);
    let mut output = output.finish();
    if let Err(e) = output.flush() {
        error(e);
        failed = true;
    } else if let Some(e) = output.last_error.take() {
        error(e);
        failed = true;
    }
    if let Some(b) = bus {
        stop_bus(b);
    }
    if args.summary {
        print_summary(&*engine, &output.stats(), started.elapsed().as_secs_f64());
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `read`'s flags as the one settings value (`read` has no environment or
/// config file).
fn settings_of(args: &ReadArgs) -> Result<Settings, ConfigError> {
    let (d, o, l) = (&args.deckies, &args.output, &args.limits);
    Settings::for_read(Layer {
        state: d.state.clone(),
        deckies: Some(d.deckies.clone()),
        decap: Some(d.decap),
        log: o.log.clone(),
        json: o.json.clone(),
        dedup_ttl: Some(o.dedup_ttl),
        max_dedup: Some(o.max_dedup),
        flow_idle: Some(l.flow_idle),
        max_flows: Some(l.max_flows),
        reassembly_bytes: Some(l.reassembly_bytes),
        max_seq_sources: Some(l.max_seq_sources),
        max_pending_handshakes: Some(l.max_pending_handshakes),
        memcap: Some(l.memcap),
        quic_ports: Some(l.quic_ports.clone()),
        p0f_db: l.p0f_db.clone(),
        clients_db: l.clients_db.clone(),
        workers: Some(usize::from(args.workers)),
        bus: args.bus.clone(),
        bus_jetstream: args.bus_jetstream.clone(),
        ..Layer::default()
    })
}

/// Counts the packets a file held but no analysis could take, and says so
/// once per file.
fn warn_skipped(engine: &mut dyn PacketEngine, path: &std::path::Path, end: &FileEnd) {
    if end.no_interface > 0 {
        engine.count(Counter::PcapngPacketsWithoutInterface, end.no_interface);
        warning(format!(
            "{}: {} packet(s) name an interface with no interface description block; skipped",
            path.display(),
            end.no_interface
        ));
    }
    if end.bad_time > 0 {
        engine.count(Counter::PacketsTimeOutOfRange, end.bad_time);
        warning(format!(
            "{}: {} packet(s) with a time outside 1970-01-01..9999-12-31; skipped",
            path.display(),
            end.bad_time
        ));
    }
}

/// Gives the bus [`BUS_DRAIN`] to publish what is queued; says what was lost.
fn stop_bus(bus: Bus) {
    let s = bus.shutdown(BUS_DRAIN);
    let unpublished = s.dropped + s.publish_failures + s.queued as u64;
    if unpublished + s.rejected_topics + s.oversize > 0 {
        warning(format!(
            "bus: {} event(s) not published ({} dropped from a full queue, {} failed, \
             {} left at exit), {} refused (invalid subject or over 1 MiB)",
            unpublished,
            s.dropped,
            s.publish_failures,
            s.queued,
            s.rejected_topics + s.oversize
        ));
    }
}

/// Refuses `--log`/`--json` naming a file `read` reads, or each other.
fn refuse_clashes(files: &[PathBuf], settings: &Settings) -> Result<(), String> {
    let mut outputs = Vec::new();
    outputs.extend(settings.log.as_deref().map(|p| ("--log", p)));
    outputs.extend(settings.json.as_deref().map(|p| ("--json", p)));
    let mut inputs: Vec<(&str, &std::path::Path)> =
        files.iter().map(|p| ("capture", p.as_path())).collect();
    inputs.extend(settings.deckies.state.as_deref().map(|p| ("--state", p)));
    inputs.extend(settings.p0f_db.as_deref().map(|p| ("--p0f-db", p)));
    crate::output::clash::refuse_clashes(&outputs, &inputs)
}

fn open_outputs(
    settings: &Settings,
    output: &mut Output,
) -> Result<(), crate::output::sink::SinkError> {
    if let Some(p) = &settings.log {
        output.log_to(p)?;
    }
    match &settings.json {
        Some(p) => output.json_to(p)?,
        None if settings.log.is_none() => output.json_to_stdout(),
        None => {}
    }
    Ok(())
}

fn progress_bar(path: &std::path::Path, disabled: bool) -> Option<ProgressBar> {
    if disabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} packets ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// Distinct (decky, fingerprint) pairs counted for `--summary`.
const TALLY_ENTRIES: usize = 65_536;
/// Values shown per decky and fingerprint field.
const TOP_SHOWN: usize = 5;

fn print_summary(engine: &dyn PacketEngine, out: &OutputStats, secs: f64) {
    let s = engine.stats();
    let mut text = String::new();
    let rate = if secs > 0.0 {
        s.packets as f64 / secs
    } else {
        0.0
    };
    text.push_str(&format!(
        "packets read: {} ({} bytes, {:.0} packets/s)\n",
        s.packets, s.bytes, rate
    ));
    let errors: u64 = s.decode_errors.iter().sum();
    text.push_str(&format!("decode errors: {errors}\n"));
    for (kind, n) in DecodeError::ALL.iter().zip(s.decode_errors) {
        if n > 0 {
            text.push_str(&format!("  {}: {n}\n", kind.kind()));
        }
    }
    text.push_str("events (emitted / written / deduplicated):\n");
    for kind in EventKind::ALL {
        let i = kind.index();
        if s.events[i] > 0 {
            text.push_str(&format!(
                "  {}: {} / {} / {}\n",
                kind.as_str(),
                s.events[i],
                out.written[i],
                out.deduplicated[i]
            ));
        }
    }
    text.push_str(&format!(
        "flows: {} created, {} open at end\n",
        s.flows_created,
        engine.flow_count()
    ));
    text.push_str("tables (entries, evictions):\n");
    for (name, len, evictions) in engine.table_stats() {
        text.push_str(&format!("  {name}: {len}, {evictions}\n"));
    }
    text.push_str(&format!(
        "  dedup: {}, {}\n",
        out.dedup_entries, out.dedup_evictions
    ));
    let mut memory = engine.memory_stats();
    out.fill_memory(&mut memory);
    let used: usize = memory.iter().map(|p| p.bytes).sum();
    text.push_str(&format!(
        "memory (bytes, memcap evictions), {used} in all:\n"
    ));
    for p in memory {
        text.push_str(&format!("  {}: {}, {}\n", p.name, p.bytes, p.evictions));
    }
    let recreated = out.files_recreated;
    if recreated > 0 {
        text.push_str(&format!(
            "output files recreated: {recreated}
"
        ));
    }
    for (name, n) in s.counters() {
        text.push_str(&format!("{name}: {n}\n"));
    }
    if out.write_errors > 0 {
        text.push_str(&format!("write errors: {}\n", out.write_errors));
    }
    if let Some(tally) = engine.fingerprint_tally() {
        push_top_fingerprints(&mut text, tally);
    }
    eprint!("{text}");
}

/// `top fingerprints per decky`: each decky's most frequent values of each
/// kind's headline fingerprint, with how many events carried them.
fn push_top_fingerprints(text: &mut String, tally: &FingerprintTally) {
    let top = tally.top(TOP_SHOWN);
    if top.is_empty() {
        return;
    }
    text.push_str(&format!(
        "top fingerprints per decky (events, {TOP_SHOWN} most frequent per field):\n"
    ));
    for (decky, entries) in top {
        text.push_str(&format!("  {}:\n", printable(decky.as_bytes())));
        for e in entries {
            text.push_str(&format!(
                "    {} {} {}\n",
                e.field,
                printable(e.value),
                e.count
            ));
        }
    }
    if tally.overflow > 0 {
        text.push_str(&format!(
            "  (table full: {} more events not counted)\n",
            tally.overflow
        ));
    }
}

/// Attacker text (an SSH banner) made safe for a terminal: control
/// characters and invalid UTF-8 escaped.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
