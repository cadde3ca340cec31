//! State shared by the engine-side [`super::Bus`] handle and the transport
//! task running on the bus thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::envelope::{EnvelopeId, IdGen};
use super::queue::DropOldestQueue;
use super::HealthSource;

/// One envelope ready for the wire.
pub struct Message {
    pub topic: String,
    pub id: EnvelopeId,
    pub body: Bytes,
}

/// Counters the transports update; read by `Bus::stats` and the health
/// payload.
#[derive(Default)]
pub struct Counters {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    pub reconnects: AtomicU64,
    pub rejected_topics: AtomicU64,
    pub oversize: AtomicU64,
    pub connected: AtomicBool,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

pub struct Shared {
    pub queue: DropOldestQueue<Message>,
    /// Wakes the transport task: a message was queued, or (NATS) the
    /// connection came back.
    pub wake: Notify,
    pub counters: Counters,
    pub stop_requested: Arc<AtomicBool>,
    /// Set once shutdown began: later publishes are ignored.
    pub closed: AtomicBool,
    pub health_source: Mutex<Option<Arc<HealthSource>>>,
    /// Counters pushed by the engine's loop (`Bus::update_health`).
    pub health_counters: Mutex<serde_json::Map<String, serde_json::Value>>,
    pub ids: IdGen,
}

impl Shared {
    pub fn new(queue_cap: usize) -> Self {
        Shared {
            queue: DropOldestQueue::new(queue_cap),
            wake: Notify::new(),
            counters: Counters::default(),
            stop_requested: Arc::new(AtomicBool::new(false)),
            closed: AtomicBool::new(false),
            health_source: Mutex::new(None),
            health_counters: Mutex::new(serde_json::Map::new()),
            ids: IdGen::new(),
        }
    }

    pub fn set_connected(&self, up: bool) {
        self.counters.connected.store(up, Ordering::Relaxed);
    }

    pub fn is_connected(&self) -> bool {
        self.counters.connected.load(Ordering::Relaxed)
    }

    pub fn health_counters(&self) -> serde_json::Map<String, serde_json::Value> {
        self.health_counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn health_source(&self) -> Option<Arc<HealthSource>> {
        self.health_source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Warns, at most every ten seconds, that the queue overflowed: drops are
/// counted, never silent.
#[derive(Default)]
pub struct DropReporter {
    reported: u64,
    last: Option<Instant>,
}

impl DropReporter {
    pub fn check(&mut self, shared: &Shared) {
        let dropped = shared.queue.dropped();
        if dropped <= self.reported {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(10))
        {
            return;
        }
        tracing::warn!(
            "bus: queue full, dropped {} oldest message(s) ({dropped} in total)",
            dropped - self.reported
        );
        self.reported = dropped;
        self.last = Some(Instant::now());
    }
}

/// The shutdown signal: `Some(deadline)` once `Bus::shutdown` was called;
/// the transport drains the queue until the deadline, then says goodbye.
pub type ShutdownRx = watch::Receiver<Option<Instant>>;

pub fn shutdown_deadline(rx: &ShutdownRx) -> Option<Instant> {
    *rx.borrow()
}

/// Reconnect delays: `min`, doubling, capped at `max`.
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The delay before attempt number `attempt` (1-based; the first
    /// reconnect is immediate), for async-nats' reconnect callback.
    pub fn delay_for_attempt(min: Duration, max: Duration, attempt: usize) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let exp = u32::try_from(attempt - 2).unwrap_or(u32::MAX).min(20);
        min.saturating_mul(1 << exp).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let seq: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(seq, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        assert_eq!(Backoff::delay_for_attempt(min, max, 1), Duration::ZERO);
        assert_eq!(Backoff::delay_for_attempt(min, max, 2).as_millis(), 100);
        assert_eq!(Backoff::delay_for_attempt(min, max, 4).as_millis(), 400);
        assert_eq!(Backoff::delay_for_attempt(min, max, 1000).as_millis(), 5000);
    }
}
