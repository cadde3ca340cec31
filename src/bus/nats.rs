//! NATS transport (async-nats): core publish on the same subjects with the
//! same envelope as the DECNET bus, or JetStream publish with
//! acknowledgement when `--bus-jetstream STREAM` is given.
//!
//! Delivery accounting. Core NATS is at-most-once: a message counts as
//! published once the client flushed it to the server's socket; messages
//! whose batch could not be flushed within the write timeout count as
//! failures. While the client is disconnected nothing is handed to it: the
//! messages wait in the bus queue (so an outage costs exactly the queue's
//! counted drops) and flow again after async-nats reconnects (exponential
//! backoff, 100 ms doubling to 5 s, forever).
//!
//! JetStream: every message carries `Nats-Msg-Id` (the envelope id) and
//! `Nats-Expected-Stream`. A missing acknowledgement (timeout, no responders
//! while JetStream starts, lost connection) is retried with backoff up to ten
//! times (the server drops duplicates by id), then counted as a failure; an
//! error answer from the stream (wrong stream, limits) counts at once.
//! If the stream does not exist it is created with subjects
//! `decky.*.traffic` and the server's default limits (file storage); an
//! existing stream is used as configured. Health heartbeats use core publish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::{self, ErrorCode};
use async_nats::{Client, ConnectOptions, Event, ServerAddr};
use futures_util::StreamExt;
use tokio::time::{interval_at, sleep, timeout, Instant, MissedTickBehavior};

use super::control::{handle_control, health_message, CONTROL_TOPIC};
use super::shared::{
    shutdown_deadline, Backoff, Counters, DropReporter, Message, Shared, ShutdownRx,
};
use super::{BusConfigError, BusTarget, NatsAuth, NatsTls, Tuning, JETSTREAM_SUBJECTS};

/// Messages handed to the client per flush (core) or in flight (JetStream).
const BATCH: usize = 256;
/// Batches sent before the loop looks at health and shutdown again.
const ROUNDS: usize = 16;
/// JetStream publish attempts per message before it counts as failed. With
/// the default backoff (100 ms doubling to 5 s) that is about 25 s: long
/// enough for a restarted server to recover its streams.
const JS_ATTEMPTS: u8 = 10;

/// What became of one JetStream publish.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Acked,
    /// Refused by the server: counted as a failure at once.
    Refused,
    /// No answer: sent again later with the same `Nats-Msg-Id`.
    Retry,
}

/// A NATS target, as [`BusTarget::Nats`] holds it.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub url: String,
    pub jetstream: Option<String>,
    pub auth: NatsAuth,
    pub tls: NatsTls,
}

/// Parses `nats://[user:pass@|token@]host[:port]` (or `tls://`), several
/// separated by commas. Credentials move into [`NatsAuth`] (async-nats does
/// not read them from the URL) and out of the stored URL, so it can be
/// logged.
pub fn parse_servers(spec: &str) -> Result<BusTarget, BusConfigError> {
    let bad = |reason: &str| BusConfigError::BadUrl {
        url: redact(spec),
        reason: reason.into(),
    };
    let mut auth = NatsAuth::default();
    let mut tls = NatsTls::default();
    let mut urls = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut u = url::Url::parse(part).map_err(|e| bad(&e.to_string()))?;
        match u.scheme() {
            "nats" => {}
            "tls" => tls.required = true,
            _ => return Err(bad("scheme must be nats:// or tls://")),
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if !u.username().is_empty() {
            let user = percent_decode(u.username());
            match u.password() {
                Some(pass) => {
                    auth.user = Some(user);
                    auth.password = Some(percent_decode(pass));
                }
                None => auth.token = Some(user),
            }
            let _ = u.set_username("");
            let _ = u.set_password(None);
        }
        urls.push(u.as_str().trim_end_matches('/').to_string());
    }
    if urls.is_empty() {
        return Err(bad("no server"));
    }
    Ok(BusTarget::Nats {
        url: urls.join(","),
        jetstream: None,
        auth,
        tls,
    })
}

/// The URL list with any userinfo replaced, for error messages.
fn redact(spec: &str) -> String {
    spec.split(',')
        .map(|p| match (p.find("://"), p.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}***{}", &p[..s + 3], &p[at..]),
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn connect_options(shared: &Arc<Shared>, cfg: &NatsConfig, tuning: &Tuning) -> ConnectOptions {
    let (min, max) = (tuning.reconnect_min, tuning.reconnect_max);
    let events_shared = Arc::clone(shared);
    let seen_connect = Arc::new(AtomicBool::new(false));
    let mut opts = ConnectOptions::new()
        .name("decnet-sniffer")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(tuning.write_timeout)
        // A server that stops answering is noticed after ~2 pings.
        .ping_interval(Duration::from_secs(10))
        .reconnect_delay_callback(move |attempt| Backoff::delay_for_attempt(min, max, attempt))
        .event_callback(move |event| {
            let shared = Arc::clone(&events_shared);
            let seen = Arc::clone(&seen_connect);
            async move { on_event(&shared, &seen, event) }
        });
    match (&cfg.auth.user, &cfg.auth.password, &cfg.auth.token) {
        (Some(user), pass, _) => {
            opts = opts.user_and_password(user.clone(), pass.clone().unwrap_or_default())
        }
        (None, _, Some(token)) => opts = opts.token(token.clone()),
        _ => {}
    }
    if cfg.tls.required {
        opts = opts.require_tls(true);
    }
    if let Some(ca) = &cfg.tls.ca_file {
        opts = opts.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&cfg.tls.cert_file, &cfg.tls.key_file) {
        opts = opts.add_client_certificate(cert.clone(), key.clone());
    }
    if cfg.tls.tls_first {
        opts = opts.tls_first();
    }
    opts
}

fn on_event(shared: &Shared, seen_connect: &AtomicBool, event: Event) {
    match event {
        Event::Connected => {
            if seen_connect.swap(true, Ordering::Relaxed) {
                Counters::add(&shared.counters.reconnects, 1);
            }
            shared.set_connected(true);
            shared.wake.notify_one();
        }
        Event::Disconnected | Event::Closed => {
            shared.set_connected(false);
            tracing::warn!("bus: NATS connection lost; reconnecting");
        }
        Event::ServerError(e) => tracing::warn!("bus: NATS server error: {e}"),
        Event::ClientError(e) => tracing::debug!("bus: NATS client: {e}"),
        other => tracing::debug!("bus: NATS event: {other}"),
    }
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    cfg: NatsConfig,
    tuning: Tuning,
    mut shutdown: ShutdownRx,
) {
    let servers: Result<Vec<ServerAddr>, _> = cfg.url.split(',').map(str::parse).collect();
    let servers = match servers {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("bus: bad NATS server list {}: {e}", cfg.url);
            return;
        }
    };
    let client = match connect_options(&shared, &cfg, &tuning)
        .connect(servers)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("bus: NATS client for {}: {e}", cfg.url);
            return;
        }
    };
    tracing::info!("bus: publishing to NATS {}", cfg.url);
    let control = tokio::spawn(control_loop(client.clone(), Arc::clone(&shared)));
    let mut js = cfg
        .jetstream
        .as_ref()
        .map(|name| JetStreamPublisher::new(&client, name, &tuning));

    let mut health = interval_at(
        Instant::now() + tuning.health_interval,
        tuning.health_interval,
    );
    health.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(BATCH);
    let mut retry = Backoff::new(tuning.reconnect_min, tuning.reconnect_max);
    let mut drops = DropReporter::default();
    loop {
        let draining = shutdown_deadline(&shutdown);
        // Events can be lost under a storm; the client state is the truth.
        shared.set_connected(is_connected(&client));
        drops.check(&shared);
        let mut stalled = false;
        // Under sustained load the queue never empties: after a bounded
        // number of batches, give health and shutdown their turn.
        let mut more = false;
        if is_connected(&client) {
            for round in 0..ROUNDS {
                let progress = match js.as_mut() {
                    Some(js) => js.publish_batch(&shared, &tuning).await,
                    None => publish_core_batch(&client, &shared, &mut batch, &tuning).await,
                };
                match progress {
                    Progress::Idle => break,
                    Progress::Sent => retry.reset(),
                    Progress::Stalled => {
                        stalled = true;
                        break;
                    }
                }
                if draining.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                more = round + 1 == ROUNDS;
            }
        }
        if let Some(deadline) = draining {
            let idle = shared.queue.is_empty() && js.as_ref().is_none_or(|j| j.pending.is_empty());
            // Not connected yet (or any more): wait for it until the deadline.
            if idle || Instant::now() >= deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = timeout(left.max(Duration::from_millis(100)), client.flush()).await;
                break;
            }
        }
        // Re-check the connection now and then in case an event was missed.
        let mut pause = if stalled {
            retry.next_delay()
        } else if more {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        if let Some(d) = draining {
            pause = pause.min(d.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = shutdown.changed(), if draining.is_none() => {}
            _ = health.tick() => {
                if is_connected(&client) {
                    let msg = health_message(&shared);
                    let _ = timeout(tuning.write_timeout, client.publish(msg.topic, msg.body)).await;
                }
            }
            _ = shared.wake.notified(), if !stalled => {}
            _ = sleep(pause) => {}
        }
    }
    control.abort();
    shared.set_connected(false);
}

fn is_connected(client: &Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

enum Progress {
    /// Nothing to send.
    Idle,
    Sent,
    /// The connection did not take the batch; wait before trying again.
    Stalled,
}

async fn publish_core_batch(
    client: &Client,
    shared: &Shared,
    batch: &mut Vec<Message>,
    tuning: &Tuning,
) -> Progress {
    batch.clear();
    if shared.queue.pop_batch(BATCH, batch) == 0 {
        return Progress::Idle;
    }
    let counters = &shared.counters;
    let deadline = Instant::now() + tuning.write_timeout;
    let total = batch.len();
    let mut handed = 0;
    for (i, m) in batch.drain(..).enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, client.publish(m.topic, m.body)).await {
            Ok(Ok(())) => handed += 1,
            Ok(Err(e)) => {
                Counters::add(&counters.publish_failures, 1);
                tracing::debug!("bus: NATS refused a message: {e}");
            }
            Err(_) => {
                // The client's buffer is full and not moving: what was handed
                // over is unconfirmed, the rest of the batch never left.
                Counters::add(&counters.publish_failures, handed + (total - i));
                return Progress::Stalled;
            }
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match timeout(left, client.flush()).await {
        Ok(Ok(())) => {
            Counters::add(&counters.published, handed);
            Progress::Sent
        }
        _ => {
            Counters::add(&counters.publish_failures, handed);
            Progress::Stalled
        }
    }
}

/// Reads `system.sniffer.control` for stop requests.
async fn control_loop(client: Client, shared: Arc<Shared>) {
    let mut sub = match client.subscribe(CONTROL_TOPIC).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("bus: cannot subscribe to {CONTROL_TOPIC}: {e}");
            return;
        }
    };
    while let Some(msg) = sub.next().await {
        handle_control(&shared, &msg.payload);
    }
}

/// JetStream publishing with acknowledgement and bounded retries.
struct JetStreamPublisher {
    ctx: jetstream::Context,
    stream: String,
    stream_checked: bool,
    /// Messages sent but not yet acknowledged, with their attempt count.
    pending: Vec<(Message, u8)>,
}

impl JetStreamPublisher {
    fn new(client: &Client, stream: &str, tuning: &Tuning) -> Self {
        let ctx = jetstream::ContextBuilder::new()
            .timeout(tuning.write_timeout)
            .build(client.clone());
        JetStreamPublisher {
            ctx,
            stream: stream.to_string(),
            stream_checked: false,
            pending: Vec::with_capacity(BATCH),
        }
    }

    /// Looks the stream up once and creates it when missing.
    async fn ensure_stream(&mut self) {
        if self.stream_checked {
            return;
        }
        match self.ctx.get_stream(&self.stream).await {
            Ok(_) => self.stream_checked = true,
            Err(e) if is_stream_not_found(&e) => {
                let config = jetstream::stream::Config {
                    name: self.stream.clone(),
                    subjects: vec![JETSTREAM_SUBJECTS.to_string()],
                    ..Default::default()
                };
                match self.ctx.create_stream(config).await {
                    Ok(_) => tracing::info!(
                        "bus: created JetStream stream {} for {JETSTREAM_SUBJECTS}",
                        self.stream
                    ),
                    Err(e) => tracing::warn!(
                        "bus: cannot create JetStream stream {}: {e}; publishing anyway",
                        self.stream
                    ),
                }
                self.stream_checked = true;
            }
            // Timeouts and disconnects: ask again next time.
            Err(e) => tracing::debug!("bus: JetStream stream lookup {}: {e}", self.stream),
        }
    }

    async fn publish_batch(&mut self, shared: &Shared, tuning: &Tuning) -> Progress {
        let mut fresh = Vec::new();
        shared
            .queue
            .pop_batch(BATCH.saturating_sub(self.pending.len()), &mut fresh);
        self.pending.extend(fresh.into_iter().map(|m| (m, 0)));
        if self.pending.is_empty() {
            return Progress::Idle;
        }
        self.ensure_stream().await;
        let counters = &shared.counters;
        let deadline = Instant::now() + tuning.write_timeout;

        // Send everything first so the acknowledgements overlap.
        let mut outcomes = vec![Outcome::Retry; self.pending.len()];
        let mut acks: Vec<(usize, PublishAckFuture)> = Vec::with_capacity(self.pending.len());
        for (i, (m, _)) in self.pending.iter().enumerate() {
            let publish = jetstream::message::PublishMessage::build()
                .payload(m.body.clone())
                .message_id(m.id.as_str())
                .expected_stream(&self.stream);
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.ctx.send_publish(m.topic.clone(), publish)).await {
                Ok(Ok(ack)) => acks.push((i, ack)),
                Ok(Err(e)) => {
                    tracing::debug!("bus: JetStream publish: {e}");
                    if e.kind() == PublishErrorKind::MaxPayloadExceeded {
                        outcomes[i] = Outcome::Refused;
                    }
                }
                Err(_) => {}
            }
        }
        for (i, ack) in acks {
            let left = deadline.saturating_duration_since(Instant::now());
            outcomes[i] = match timeout(left.max(Duration::from_millis(1)), ack).await {
                Ok(Ok(_)) => Outcome::Acked,
                // The stream answered with an error (wrong stream, limits...):
                // retrying cannot help.
                Ok(Err(e)) if e.kind() == PublishErrorKind::Other => {
                    tracing::debug!("bus: JetStream refused a message: {e}");
                    Outcome::Refused
                }
                // No responders (JetStream still starting), timeouts, lost
                // connection: try again.
                Ok(Err(e)) => {
                    tracing::debug!("bus: JetStream ack: {e}");
                    Outcome::Retry
                }
                Err(_) => Outcome::Retry,
            };
        }

        let (mut refused, mut gave_up) = (0, 0);
        let mut kept = Vec::with_capacity(self.pending.len());
        for ((m, attempts), outcome) in self.pending.drain(..).zip(outcomes) {
            match outcome {
                Outcome::Acked => Counters::add(&counters.published, 1),
                Outcome::Refused => refused += 1,
                Outcome::Retry if attempts + 1 >= JS_ATTEMPTS => gave_up += 1,
                Outcome::Retry => kept.push((m, attempts + 1)),
            }
        }
        Counters::add(&counters.publish_failures, refused + gave_up);
        if refused > 0 {
            tracing::warn!(
                "bus: JetStream stream {} refused {refused} message(s)",
                self.stream
            );
        }
        if gave_up > 0 {
            tracing::warn!(
                "bus: {gave_up} message(s) not acknowledged by JetStream stream {} after {JS_ATTEMPTS} attempts",
                self.stream
            );
        }
        let stalled = !kept.is_empty();
        self.pending = kept;
        if stalled || refused > 0 {
            // The stream may have been deleted or the server restarted.
            self.stream_checked = false;
        }
        if stalled {
            Progress::Stalled
        } else {
            Progress::Sent
        }
    }
}

fn is_stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(j)
        if j.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url() {
        match parse_servers("nats://alice:s%40cret@127.0.0.1:4222, tls://tok@h2").unwrap() {
            BusTarget::Nats { url, auth, tls, .. } => {
                assert_eq!(url, "nats://127.0.0.1:4222,tls://h2");
                assert_eq!(auth.user.as_deref(), Some("alice"));
                assert_eq!(auth.password.as_deref(), Some("s@cret"));
                assert_eq!(auth.token.as_deref(), Some("tok"));
                assert!(tls.required);
                assert!(!format!("{auth:?}").contains("cret"));
            }
            other => panic!("{other:?}"),
        }
        let err = parse_servers("http://u:pw@h").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
        assert!(parse_servers("nats://").is_err());
        assert!(parse_servers(",").is_err());
    }
}
