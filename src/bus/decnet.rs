//! Client for DECNET's UNIX-socket bus (docs/spec.md section 7).
//!
//! Frame: an ASCII header line `VERB[ args]\n`, a 4-byte big-endian body
//! length, then the body (a JSON object, or nothing). Header ≤ 4096 bytes,
//! body ≤ 1 MiB. On each connection the client sends `HELLO sniffer[<pid>]`
//! and `SUB system.sniffer.control` (DECNET's bus has SUB/EVT verbs, so the
//! control subject works on it as on NATS), then `PUB <topic>` frames with
//! the envelope as body, and `BYE` at shutdown. The server's `EVT
//! system.sniffer.control` frames carry stop requests.
//!
//! Every write is bounded by the write timeout: a bus that accepts but never
//! reads costs a reconnect, never a stalled engine (the queue absorbs the
//! wait, dropping its oldest messages when full).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior};

use super::control::{handle_control, health_message, CONTROL_TOPIC};
use super::envelope::{MAX_BODY_LEN, MAX_HEADER_LEN};
use super::shared::{
    shutdown_deadline, Backoff, Counters, DropReporter, Message, Shared, ShutdownRx,
};
use super::Tuning;

/// Messages written per `write_all`.
const BATCH: usize = 128;
/// Batches written before the session looks at health, control and
/// shutdown again.
const ROUNDS: usize = 32;

/// Appends one frame to `out`. The caller guarantees `verb` and `args`
/// are ASCII without newlines (topics are validated before queueing).
pub fn encode_frame(out: &mut Vec<u8>, verb: &str, args: &str, body: &[u8]) {
    out.extend_from_slice(verb.as_bytes());
    if !args.is_empty() {
        out.push(b' ');
        out.extend_from_slice(args.as_bytes());
    }
    out.push(b'\n');
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
}

/// One frame received from the bus.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub verb: String,
    pub args: String,
    pub body: Vec<u8>,
}

/// Reads one frame; `Ok(None)` on a clean end of stream. Oversized or
/// malformed frames are errors (the connection is then dropped).
pub async fn read_frame<R>(r: &mut R) -> io::Result<Option<Frame>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let mut line = Vec::with_capacity(64);
    let n = (&mut *r)
        .take(MAX_HEADER_LEN as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        let msg = if line.len() >= MAX_HEADER_LEN {
            "header too long"
        } else {
            "truncated header"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if !line.is_ascii() || line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad header line",
        ));
    }
    let text = String::from_utf8_lossy(&line).into_owned();
    let (verb, args) = match text.split_once(' ') {
        Some((v, a)) => (v.to_string(), a.trim().to_string()),
        None => (text, String::new()),
    };
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_BODY_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too long"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Frame { verb, args, body }))
}

/// Why a connection ended.
enum SessionEnd {
    Lost,
    Shutdown,
}

/// Connects, publishes and reconnects until shutdown.
pub(crate) async fn run(
    shared: Arc<Shared>,
    path: PathBuf,
    tuning: Tuning,
    mut shutdown: ShutdownRx,
) {
    let mut backoff = Backoff::new(tuning.reconnect_min, tuning.reconnect_max);
    let mut connected_before = false;
    let mut logged_failure = false;
    let mut drops = DropReporter::default();
    loop {
        // Shutting down: keep trying to reach the bus until the deadline
        // while events wait (`read` may finish before the first connect).
        let draining = shutdown_deadline(&shutdown);
        if draining.is_some_and(|d| shared.queue.is_empty() || Instant::now() >= d) {
            return;
        }
        drops.check(&shared);
        match timeout(tuning.write_timeout, UnixStream::connect(&path)).await {
            Ok(Ok(stream)) => {
                if connected_before {
                    Counters::add(&shared.counters.reconnects, 1);
                }
                connected_before = true;
                logged_failure = false;
                tracing::info!("bus: connected to DECNET bus {}", path.display());
                let end = session(
                    &shared,
                    stream,
                    &tuning,
                    &mut shutdown,
                    &mut backoff,
                    &mut drops,
                )
                .await;
                shared.set_connected(false);
                match end {
                    SessionEnd::Shutdown => return,
                    SessionEnd::Lost => {
                        tracing::warn!("bus: lost DECNET bus {}; reconnecting", path.display())
                    }
                }
            }
            Ok(Err(e)) => log_connect_failure(&path, &e.to_string(), &mut logged_failure),
            Err(_) => log_connect_failure(&path, "connect timed out", &mut logged_failure),
        }
        let mut delay = backoff.next_delay();
        if let Some(d) = draining {
            delay = delay.min(d.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = sleep(delay) => {}
            _ = shutdown.changed(), if draining.is_none() => {}
        }
    }
}

fn log_connect_failure(path: &Path, why: &str, logged: &mut bool) {
    // Once per outage at warn level; retries are debug noise.
    if !*logged {
        tracing::warn!(
            "bus: cannot reach DECNET bus {}: {why}; retrying",
            path.display()
        );
        *logged = true;
    } else {
        tracing::debug!(
            "bus: DECNET bus {} still unreachable: {why}",
            path.display()
        );
    }
}

async fn session(
    shared: &Arc<Shared>,
    stream: UnixStream,
    tuning: &Tuning,
    shutdown: &mut ShutdownRx,
    backoff: &mut Backoff,
    drops: &mut DropReporter,
) -> SessionEnd {
    let (rd, mut wr) = stream.into_split();
    let mut buf = Vec::with_capacity(64 * 1024);
    let hello = format!("sniffer[{}]", std::process::id());
    encode_frame(&mut buf, "HELLO", &hello, b"");
    encode_frame(&mut buf, "SUB", CONTROL_TOPIC, b"");
    if write_bounded(&mut wr, &buf, tuning, shutdown)
        .await
        .is_err()
    {
        return SessionEnd::Lost;
    }
    shared.set_connected(true);
    backoff.reset();
    let mut reader = ReaderGuard(tokio::spawn(read_loop(
        BufReader::new(rd),
        Arc::clone(shared),
    )));
    let start = Instant::now() + tuning.health_interval;
    let mut health = interval_at(start, tuning.health_interval);
    health.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch: Vec<Message> = Vec::with_capacity(BATCH);
    loop {
        if shutdown_deadline(shutdown).is_some() {
            return drain_and_close(shared, &mut wr, &mut buf, &mut batch, tuning, shutdown).await;
        }
        // Empty the queue before waiting again, but under sustained load
        // give health, control and shutdown their turn now and then.
        let mut more = false;
        for round in 0..ROUNDS {
            if publish_batch(shared, &mut wr, &mut buf, &mut batch, tuning, shutdown)
                .await
                .is_err()
            {
                return SessionEnd::Lost;
            }
            if batch.is_empty() || shutdown_deadline(shutdown).is_some() {
                break;
            }
            more = round + 1 == ROUNDS;
        }
        drops.check(shared);
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = &mut reader.0 => return SessionEnd::Lost,
            _ = health.tick() => {
                let msg = health_message(shared);
                buf.clear();
                encode_frame(&mut buf, "PUB", &msg.topic, &msg.body);
                if write_bounded(&mut wr, &buf, tuning, shutdown).await.is_err() {
                    return SessionEnd::Lost;
                }
            }
            _ = shared.wake.notified() => {}
            _ = tokio::task::yield_now(), if more => {}
        }
    }
}

/// Aborts the reader task when the session ends.
struct ReaderGuard(JoinHandle<()>);

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes one batch from the queue; leaves `batch` empty when the queue was.
async fn publish_batch(
    shared: &Shared,
    wr: &mut OwnedWriteHalf,
    buf: &mut Vec<u8>,
    batch: &mut Vec<Message>,
    tuning: &Tuning,
    shutdown: &mut ShutdownRx,
) -> io::Result<()> {
    batch.clear();
    buf.clear();
    if shared.queue.pop_batch(BATCH, batch) == 0 {
        return Ok(());
    }
    for m in batch.iter() {
        encode_frame(buf, "PUB", &m.topic, &m.body);
    }
    match write_bounded(wr, buf, tuning, shutdown).await {
        Ok(()) => {
            Counters::add(&shared.counters.published, batch.len());
            Ok(())
        }
        Err(e) => {
            // Part of the batch may have reached the bus; none is confirmed.
            Counters::add(&shared.counters.publish_failures, batch.len());
            batch.clear();
            Err(e)
        }
    }
}

async fn drain_and_close(
    shared: &Shared,
    wr: &mut OwnedWriteHalf,
    buf: &mut Vec<u8>,
    batch: &mut Vec<Message>,
    tuning: &Tuning,
    shutdown: &mut ShutdownRx,
) -> SessionEnd {
    let deadline = shutdown_deadline(shutdown).unwrap_or_else(Instant::now);
    while Instant::now() < deadline {
        if publish_batch(shared, wr, buf, batch, tuning, shutdown)
            .await
            .is_err()
        {
            return SessionEnd::Shutdown;
        }
        if batch.is_empty() {
            break;
        }
    }
    // BYE gets a moment even when the drain used up the deadline.
    buf.clear();
    encode_frame(buf, "BYE", "", b"");
    let bye = tokio::time::Duration::from_millis(100);
    let _ = timeout(bye, wr.write_all(buf)).await;
    let _ = timeout(bye, wr.shutdown()).await;
    SessionEnd::Shutdown
}

/// `write_all` bounded by the write timeout and by the shutdown deadline.
async fn write_bounded(
    wr: &mut OwnedWriteHalf,
    data: &[u8],
    tuning: &Tuning,
    shutdown: &mut ShutdownRx,
) -> io::Result<()> {
    let mut deadline = Instant::now() + tuning.write_timeout;
    if let Some(d) = shutdown_deadline(shutdown) {
        deadline = deadline.min(d);
    }
    let write = wr.write_all(data);
    tokio::pin!(write);
    loop {
        tokio::select! {
            r = &mut write => return r,
            _ = sleep_until(deadline) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "bus write timed out"));
            }
            Ok(()) = shutdown.changed() => {
                if let Some(d) = shutdown_deadline(shutdown) {
                    deadline = deadline.min(d);
                }
            }
        }
    }
}

/// Reads frames until the connection ends; acts on control events.
async fn read_loop(mut rd: BufReader<OwnedReadHalf>, shared: Arc<Shared>) {
    loop {
        match read_frame(&mut rd).await {
            Ok(Some(frame)) => match frame.verb.as_str() {
                "EVT" if frame.args == CONTROL_TOPIC => {
                    handle_control(&shared, &frame.body);
                }
                "BYE" => return,
                _ => {}
            },
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("bus: bad frame from DECNET bus: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_header_length_and_body() {
        let mut out = Vec::new();
        encode_frame(&mut out, "HELLO", "sniffer[7]", b"");
        encode_frame(&mut out, "PUB", "decky.a.traffic", b"{}");
        encode_frame(&mut out, "BYE", "", b"");
        assert_eq!(
            out,
            b"HELLO sniffer[7]\n\0\0\0\0PUB decky.a.traffic\n\0\0\0\x02{}BYE\n\0\0\0\0".to_vec()
        );
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn reads_frames_and_rejects_oversize() {
        rt().block_on(async {
            let mut data = Vec::new();
            encode_frame(
                &mut data,
                "EVT",
                "system.sniffer.control",
                br#"{"payload":{"action":"stop"}}"#,
            );
            data.extend_from_slice(b"BYE\r\n\0\0\0\0");
            let mut r = &data[..];
            let f = read_frame(&mut r).await.unwrap().unwrap();
            assert_eq!(
                (f.verb.as_str(), f.args.as_str()),
                ("EVT", "system.sniffer.control")
            );
            assert_eq!(f.body, br#"{"payload":{"action":"stop"}}"#);
            let f = read_frame(&mut r).await.unwrap().unwrap();
            assert_eq!(
                (f.verb.as_str(), f.args.as_str(), f.body.len()),
                ("BYE", "", 0)
            );
            assert!(read_frame(&mut r).await.unwrap().is_none());

            let mut big = b"EVT x\n".to_vec();
            big.extend_from_slice(&((MAX_BODY_LEN as u32) + 1).to_be_bytes());
            assert!(read_frame(&mut &big[..]).await.is_err());

            let long = vec![b'A'; MAX_HEADER_LEN + 10];
            assert!(read_frame(&mut &long[..]).await.is_err());

            let truncated = b"EVT x\n\0\0\0\x05ab".to_vec();
            assert!(read_frame(&mut &truncated[..]).await.is_err());
        });
    }
}
