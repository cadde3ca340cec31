//! Bounded decryption work: token buckets refilled by packet time.
//!
//! Anyone can send Initial packets that look valid up to the AEAD tag, and
//! each costs a key derivation and an AES-GCM pass to reject. Every attempt
//! spends a token from the sender's bucket and from a global bucket (spoofed
//! sources each get a fresh bucket; the global one still holds them back).
//! The source table is a bounded LRU.

use std::net::IpAddr;

use crate::util::lru::Lru;
use crate::util::time::Timestamp;

/// One token is this many micro-tokens; refill is computed in integers.
const MICRO: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketConfig {
    /// Tokens a full bucket holds (the burst).
    pub burst: u32,
    /// Tokens added per second of packet time.
    pub per_sec: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    micro_tokens: u64,
    last: Timestamp,
}

impl Bucket {
    fn full(cfg: BucketConfig, now: Timestamp) -> Self {
        Bucket {
            micro_tokens: u64::from(cfg.burst) * MICRO,
            last: now,
        }
    }

    fn refill(&mut self, cfg: BucketConfig, now: Timestamp) {
        // Packet time may step backwards (merged captures): no refill then.
        let elapsed_us = now.micros_since(self.last);
        if elapsed_us <= 0 {
            return;
        }
        let add = (elapsed_us as u64).saturating_mul(u64::from(cfg.per_sec));
        let cap = u64::from(cfg.burst) * MICRO;
        self.micro_tokens = self.micro_tokens.saturating_add(add).min(cap);
        self.last = now;
    }

    fn has_token(&self) -> bool {
        self.micro_tokens >= MICRO
    }

    fn take(&mut self) {
        self.micro_tokens = self.micro_tokens.saturating_sub(MICRO);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    pub per_source: BucketConfig,
    pub global: BucketConfig,
    /// Sources tracked at once.
    pub max_sources: usize,
}

impl Default for BudgetConfig {
    /// A browser opens a few QUIC connections a second, each costing one to
    /// three client Initials; a software AES-GCM pass over 1200 bytes costs
    /// tens of microseconds, so the global rate bounds the CPU spent on
    /// Initials to a small fraction of one core.
    fn default() -> Self {
        BudgetConfig {
            per_source: BucketConfig {
                burst: 64,
                per_sec: 16,
            },
            global: BucketConfig {
                burst: 4096,
                per_sec: 2048,
            },
            max_sources: 65_536,
        }
    }
}

/// Why an attempt was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This source spent its budget.
    Source,
    /// All sources together spent the global budget.
    Global,
}

pub struct DecryptBudget {
    cfg: BudgetConfig,
    sources: Lru<IpAddr, Bucket>,
    global: Option<Bucket>,
    /// Sources dropped from the table to make room.
    pub evictions: u64,
}

impl DecryptBudget {
    pub fn new(cfg: BudgetConfig) -> Self {
        DecryptBudget {
            cfg,
            sources: Lru::new(cfg.max_sources),
            global: None,
            evictions: 0,
        }
    }

    /// Spends one decryption attempt for `src` at packet time `now`, or
    /// says why not. Nothing is spent when refused.
    pub fn try_spend(&mut self, src: IpAddr, now: Timestamp) -> Result<(), Refusal> {
        let cfg = self.cfg;
        let global = self
            .global
            .get_or_insert_with(|| Bucket::full(cfg.global, now));
        global.refill(cfg.global, now);
        let source = match self.sources.get_mut(&src) {
            Some(b) => {
                b.refill(cfg.per_source, now);
                *b
            }
            None => Bucket::full(cfg.per_source, now),
        };
        if !source.has_token() {
            return Err(Refusal::Source);
        }
        if !global.has_token() {
            return Err(Refusal::Global);
        }
        global.take();
        let mut source = source;
        source.take();
        if self.sources.insert(src, source).is_some() {
            self.evictions += 1;
        }
        Ok(())
    }

    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(burst: u32, per_sec: u32, gburst: u32, gper_sec: u32, max: usize) -> BudgetConfig {
        BudgetConfig {
            per_source: BucketConfig { burst, per_sec },
            global: BucketConfig {
                burst: gburst,
                per_sec: gper_sec,
            },
            max_sources: max,
        }
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn burst_then_rate() {
        let mut b = DecryptBudget::new(cfg(10, 5, 1_000_000, 1_000_000, 16));
        let t0 = Timestamp::new(1000, 0);
        let ok = (0..100).filter(|_| b.try_spend(ip(1), t0).is_ok()).count();
        assert_eq!(ok, 10);
        assert_eq!(b.try_spend(ip(1), t0), Err(Refusal::Source));
        // Another source is unaffected.
        assert!(b.try_spend(ip(2), t0).is_ok());
        // 1 s later: 5 more tokens, not more.
        let t1 = Timestamp::new(1001, 0);
        let ok = (0..100).filter(|_| b.try_spend(ip(1), t1).is_ok()).count();
        assert_eq!(ok, 5);
        // 200 ms: one token.
        let t2 = Timestamp::new(1001, 200_000_000);
        assert!(b.try_spend(ip(1), t2).is_ok());
        assert_eq!(b.try_spend(ip(1), t2), Err(Refusal::Source));
        // An hour later the bucket is full again, capped at the burst.
        let t3 = Timestamp::new(4600, 0);
        let ok = (0..100).filter(|_| b.try_spend(ip(1), t3).is_ok()).count();
        assert_eq!(ok, 10);
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let mut b = DecryptBudget::new(cfg(2, 100, 1000, 1000, 16));
        let t = Timestamp::new(50, 0);
        assert!(b.try_spend(ip(1), t).is_ok());
        assert!(b.try_spend(ip(1), t).is_ok());
        assert_eq!(
            b.try_spend(ip(1), Timestamp::new(10, 0)),
            Err(Refusal::Source)
        );
    }

    #[test]
    fn global_bucket_holds_back_spoofed_sources() {
        let mut b = DecryptBudget::new(cfg(5, 5, 100, 10, 1000));
        let t = Timestamp::new(1, 0);
        let mut ok = 0;
        let mut global = 0;
        for n in 0..10_000 {
            match b.try_spend(ip(n), t) {
                Ok(()) => ok += 1,
                Err(Refusal::Global) => global += 1,
                Err(Refusal::Source) => unreachable!("every source is new"),
            }
        }
        assert_eq!(ok, 100);
        assert_eq!(global, 9_900);
        assert_eq!(b.tracked_sources(), 100, "refused sources are not tracked");
    }

    #[test]
    fn source_table_is_bounded() {
        let mut b = DecryptBudget::new(cfg(5, 5, u32::MAX, u32::MAX, 64));
        let t = Timestamp::new(1, 0);
        for n in 0..1000 {
            assert!(b.try_spend(ip(n), t).is_ok());
        }
        assert_eq!(b.tracked_sources(), 64);
        assert_eq!(b.evictions, 1000 - 64);
    }
}
