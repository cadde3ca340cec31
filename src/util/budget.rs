//! One accounted byte budget for everything that grows with traffic
//! (`--memcap`, in the spirit of Suricata's `stream.memcap` /
//! `flow.memcap` / `defrag.memcap`, but one sum instead of several).
//!
//! A [`Budget`] is a cloneable handle: every table and buffer that grows
//! with traffic holds one and charges what it really allocates (capacity,
//! per-entry overhead, boxed state) to its [`Pool`], and releases it when
//! freed. Two ways to charge:
//!
//! - [`Budget::try_charge`] refuses past the cap; for state that is only
//!   worth keeping while memory allows (held out-of-order bytes).
//! - [`Budget::charge`] always succeeds and may overshoot; for state that
//!   must exist for the packet at hand (a new flow: a newcomer is never
//!   refused). The owner then sheds the oldest partial state until
//!   [`Budget::over`] is false again (see `Engine::shed`).
//!
//! Counters are atomics so that the metrics thread and the sharded engine's
//! router can read a shard's budget; each shard has its own handle, so they
//! are never contended.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The default `--memcap`: 256 MiB.
pub const DEFAULT_MEMCAP: usize = 256 << 20;

/// Of a `--memcap` of `memcap` bytes, what the accounted state may take:
/// three eighths. Measured (ROBUSTNESS.md), a process holding N accounted
/// bytes of flows and partial handshakes has about 1.5 N resident (malloc
/// keeps freed chunks of the churned state), and the count-capped tables
/// outside the budget (output dedup, up to 1M entries) with the program
/// itself take up to about 90 MB; so that the whole process stays within
/// `memcap`, the accounted part is held to 3/8 of it. 0: unlimited.
pub fn traffic_share(memcap: usize) -> usize {
    memcap / 8 * 3
}

/// Of a `--memcap` of `memcap` bytes, what the output's dedup table (on
/// the output thread, outside the engine's budget) may hold: a quarter,
/// 64 MiB at the default, room for `--max-dedup`'s default million
/// emissions. 0: unlimited.
pub fn dedup_share(memcap: usize) -> usize {
    memcap / 4
}

/// What a charge is for: each has its own use and eviction counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Established TCP flows (table entry and per-flow state).
    Flows = 0,
    /// Half-open TCP flows (only the client's SYN seen).
    HalfOpenFlows,
    /// Out-of-order bytes and their bookkeeping, and the delivered-bytes
    /// history kept to spot rewriting retransmissions.
    Reassembly,
    /// TLS, SSH and HTTP readers of partial handshakes and requests.
    StreamReaders,
    /// Partial QUIC ClientHellos.
    Quic,
    /// Partial DTLS ClientHellos.
    Dtls,
    /// IP-ID/ISN samples per source.
    SeqSources,
    /// IP fragments waiting for their datagram (the defragmenter).
    Fragments,
    /// Link-local (IPv6 leak, ARP) tables.
    LinkLocal,
    /// Per-host TCP timestamp samples (p0f uptime).
    P0fHosts,
    /// DHCP/DHCPv6 clients already reported, by MAC.
    DhcpClients,
    /// Per-source client claims (`client_mismatch`).
    ClientClaims,
    /// The output's dedup table (on the output thread, its own share).
    OutputDedup,
}

impl Pool {
    pub const ALL: [Pool; 13] = [
        Pool::Flows,
        Pool::HalfOpenFlows,
        Pool::Reassembly,
        Pool::StreamReaders,
        Pool::Quic,
        Pool::Dtls,
        Pool::SeqSources,
        Pool::Fragments,
        Pool::LinkLocal,
        Pool::P0fHosts,
        Pool::DhcpClients,
        Pool::ClientClaims,
        Pool::OutputDedup,
    ];

    /// The name in `--summary` and the `table` label in `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Pool::Flows => "flows",
            Pool::HalfOpenFlows => "half_open_flows",
            Pool::Reassembly => "reassembly",
            Pool::StreamReaders => "stream_readers",
            Pool::Quic => "quic_hellos",
            Pool::Dtls => "dtls_hellos",
            Pool::SeqSources => "seq_sources",
            Pool::Fragments => "ip_fragments",
            Pool::LinkLocal => "link_local",
            Pool::P0fHosts => "p0f_hosts",
            Pool::DhcpClients => "dhcp_clients",
            Pool::ClientClaims => "client_claims",
            Pool::OutputDedup => "output_dedup",
        }
    }
}

#[derive(Debug, Default)]
struct Account {
    used: AtomicUsize,
    /// Entries or buffers dropped to stay within the budget.
    evictions: AtomicU64,
    /// Charges refused (`try_charge` past the cap).
    refused: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    cap: usize,
    used: AtomicUsize,
    pools: [Account; Pool::ALL.len()],
}

/// A shared byte budget; clones share it.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Inner>);

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_MEMCAP)
    }
}

/// One pool's figures, for the summary and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub name: &'static str,
    pub bytes: usize,
    pub evictions: u64,
    pub refused: u64,
}

impl Budget {
    /// A budget of `cap` bytes (0: unlimited, for tests and tools).
    pub fn new(cap: usize) -> Self {
        let cap = if cap == 0 { usize::MAX } else { cap };
        Budget(Arc::new(Inner {
            cap,
            used: AtomicUsize::new(0),
            pools: Default::default(),
        }))
    }

    /// An unlimited budget that still accounts.
    pub fn unlimited() -> Self {
        Budget::new(0)
    }

    pub fn cap(&self) -> usize {
        self.0.cap
    }

    /// Bytes charged, all pools together.
    pub fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    /// Bytes charged to one pool.
    pub fn pool_used(&self, pool: Pool) -> usize {
        self.0.pools[pool as usize].used.load(Ordering::Relaxed)
    }

    /// Whether more than the cap is charged: the owner should shed.
    pub fn over(&self) -> bool {
        self.used() > self.0.cap
    }

    /// Charges `bytes` if they fit under the cap; false (and counted as
    /// refused) otherwise.
    pub fn try_charge(&self, pool: Pool, bytes: usize) -> bool {
        let inner = &*self.0;
        let before = inner.used.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > inner.cap {
            inner.used.fetch_sub(bytes, Ordering::Relaxed);
            inner.pools[pool as usize]
                .refused
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        inner.pools[pool as usize]
            .used
            .fetch_add(bytes, Ordering::Relaxed);
        true
    }

    /// Charges `bytes` even past the cap (see the module comment).
    pub fn charge(&self, pool: Pool, bytes: usize) {
        let inner = &*self.0;
        inner.used.fetch_add(bytes, Ordering::Relaxed);
        inner.pools[pool as usize]
            .used
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// Gives back bytes charged earlier to `pool`. Saturating: an
    /// accounting slip must never wrap the total and make every later
    /// packet shed all state.
    pub fn release(&self, pool: Pool, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let inner = &*self.0;
        let down = |v: usize| Some(v.saturating_sub(bytes));
        let _ = inner
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, down);
        let _ = inner.pools[pool as usize].used.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            down,
        );
    }

    /// Counts one entry or buffer of `pool` dropped to stay within budget.
    pub fn note_eviction(&self, pool: Pool) {
        self.0.pools[pool as usize]
            .evictions
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn evictions(&self, pool: Pool) -> u64 {
        self.0.pools[pool as usize]
            .evictions
            .load(Ordering::Relaxed)
    }

    /// Every pool's use and counters, in [`Pool::ALL`] order.
    pub fn stats(&self) -> Vec<PoolStats> {
        Pool::ALL
            .iter()
            .map(|&p| {
                let a = &self.0.pools[p as usize];
                PoolStats {
                    name: p.name(),
                    bytes: a.used.load(Ordering::Relaxed),
                    evictions: a.evictions.load(Ordering::Relaxed),
                    refused: a.refused.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// A separate budget with `1/n` of this one's cap: each worker shard
    /// gets its share, so the shards together stay within the cap.
    pub fn share(&self, n: usize) -> Budget {
        if self.0.cap == usize::MAX {
            return Budget::unlimited();
        }
        Budget::new((self.0.cap / n.max(1)).max(1))
    }
}

/// Adds pool figures of several budgets (the shards) by name.
pub fn add_pool_stats(total: &mut Vec<PoolStats>, more: &[PoolStats]) {
    for s in more {
        match total.iter_mut().find(|t| t.name == s.name) {
            Some(t) => {
                t.bytes += s.bytes;
                t.evictions += s.evictions;
                t.refused += s.refused;
            }
            None => total.push(*s),
        }
    }
}

/// What a table has charged to one pool of a budget: the table says what
/// it holds now ([`Charge::settle`]) and the difference is charged or
/// released, one atomic add when it changed and none otherwise. Dropping
/// it gives everything back.
#[derive(Debug)]
pub struct Charge {
    budget: Budget,
    pool: Pool,
    charged: usize,
}

impl Charge {
    pub fn new(budget: Budget, pool: Pool) -> Self {
        Charge {
            budget,
            pool,
            charged: 0,
        }
    }

    /// Brings the charge to `bytes` (forced: a newcomer is never refused);
    /// true when the budget is now over its cap and the owner should shed.
    pub fn settle(&mut self, bytes: usize) -> bool {
        if bytes > self.charged {
            self.budget.charge(self.pool, bytes - self.charged);
        } else if bytes < self.charged {
            self.budget.release(self.pool, self.charged - bytes);
        }
        self.charged = bytes;
        self.budget.over()
    }

    /// Counts one entry shed to stay within the budget.
    pub fn note_eviction(&self) {
        self.budget.note_eviction(self.pool);
    }

    pub fn charged(&self) -> usize {
        self.charged
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Moves the charge to `budget` (set before the table fills).
    pub fn set_budget(&mut self, budget: Budget) {
        let held = self.charged;
        self.settle(0);
        self.budget = budget;
        self.settle(held);
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.release(self.pool, self.charged);
    }
}

/// What one heap allocation of `bytes` costs beyond them: glibc malloc's
/// 8-byte header, rounded to its 16-byte granule (minimum chunk 32).
pub const fn heap_cost(bytes: usize) -> usize {
    if bytes == 0 {
        return 0;
    }
    let chunk = (bytes + 8 + 15) & !15;
    if chunk < 32 {
        32
    } else {
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_refused_past_the_cap_and_released() {
        let b = Budget::new(1000);
        assert!(b.try_charge(Pool::Reassembly, 600));
        assert!(!b.try_charge(Pool::Reassembly, 500));
        assert_eq!(b.used(), 600);
        let clone = b.clone();
        assert!(clone.try_charge(Pool::Dtls, 400));
        assert!(!b.over());
        b.charge(Pool::Flows, 10);
        assert!(b.over(), "forced charges overshoot");
        b.release(Pool::Flows, 10);
        b.release(Pool::Reassembly, 600);
        assert_eq!(b.pool_used(Pool::Dtls), 400);
        assert_eq!(b.used(), 400);
        // Releasing more than charged saturates instead of wrapping.
        b.release(Pool::Flows, 10_000);
        assert_eq!((b.used(), b.pool_used(Pool::Flows)), (0, 0));
        assert!(!b.over());
        let s = b.stats();
        assert_eq!(s[Pool::Reassembly as usize].refused, 1);
    }

    #[test]
    fn charge_settles_the_difference_and_gives_back_on_drop() {
        let b = Budget::new(100);
        let mut c = Charge::new(b.clone(), Pool::OutputDedup);
        assert!(!c.settle(60));
        assert!(c.settle(160), "over the cap: shed");
        assert_eq!(b.pool_used(Pool::OutputDedup), 160);
        assert!(!c.settle(40));
        assert_eq!(b.used(), 40);
        let other = Budget::new(100);
        c.set_budget(other.clone());
        assert_eq!((b.used(), other.used()), (0, 40));
        drop(c);
        assert_eq!(other.used(), 0);
    }

    #[test]
    fn shares_split_the_cap() {
        let b = Budget::new(1000);
        assert_eq!(b.share(4).cap(), 250);
        assert_eq!(Budget::unlimited().share(4).cap(), usize::MAX);
    }

    #[test]
    fn heap_cost_rounds_like_malloc() {
        assert_eq!(heap_cost(0), 0);
        assert_eq!(heap_cost(1), 32);
        assert_eq!(heap_cost(24), 32);
        assert_eq!(heap_cost(25), 48);
        assert_eq!(heap_cost(16384), 16400);
    }
}
