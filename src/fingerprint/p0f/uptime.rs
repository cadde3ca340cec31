//! p0f 3.09b's uptime from TCP timestamps (fp_tcp.c `check_ts_tcp`): a
//! host's TSval now against the TSval of its last SYN (client) or SYN+ACK
//! (server), the clock frequency that gives, rounded as p0f rounds it, and
//! the uptime in minutes modulo the counter's wrap.
//!
//! The per-host samples live in [`HostTsTable`], a bounded LRU: a host costs
//! [`HOST_ENTRY_BYTES`], the table holds `memcap / HOST_ENTRY_BYTES` hosts
//! and counts what it evicts.

use std::net::IpAddr;

use crate::fingerprint::budgeted::sheds_for_newcomer;
use crate::util::budget::{Budget, Charge, Pool};
use crate::util::lru::Lru;

/// p0f's `MIN_TWAIT` and `MAX_TWAIT` (ms).
const MIN_TWAIT: u64 = 25;
const MAX_TWAIT: u64 = 1000 * 60 * 10;
/// p0f's `TSTAMP_GRACE` (ms), `MIN_TSCALE` and `MAX_TSCALE` (Hz).
const TSTAMP_GRACE: u64 = 100;
const MIN_TSCALE: f64 = 0.7;
const MAX_TSCALE: u32 = 1500;

/// A timestamped SYN or SYN+ACK: its TSval and when it was seen (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsSample {
    pub ts1: u32,
    pub recv_ms: u64,
}

/// What p0f concluded for one direction of a flow (`cli_tps`/`srv_tps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TpsState {
    /// Nothing yet: later packets are still tried.
    #[default]
    Pending,
    /// An implausible frequency on a non-SYN: no more tries.
    Bad,
    /// Reported (with this rounded frequency): no more tries.
    Done(u32),
}

/// One uptime observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uptime {
    /// The measured frequency (`raw_freq`).
    pub raw_freq: f64,
    /// The rounded frequency used for the uptime.
    pub freq: u32,
    pub up_min: u32,
    /// Days after which the counter wraps at that frequency.
    pub mod_days: u32,
}

impl Uptime {
    /// Uptime in seconds (minute resolution, as p0f's).
    pub fn seconds(&self) -> u64 {
        u64::from(self.up_min) * 60
    }

    /// p0f's `uptime=` text: `13 days 0 hrs 6 min (modulo 49 days)`.
    pub fn text(&self) -> String {
        let m = self.up_min;
        format!(
            "{} days {} hrs {} min (modulo {} days)",
            m / 60 / 24,
            (m / 60) % 24,
            m % 60,
            self.mod_days
        )
    }

    /// p0f's `raw_freq=` number: `994.38`.
    pub fn raw_freq_text(&self) -> String {
        format!("{:.2}", self.raw_freq)
    }
}

/// p0f's rounding of a frequency.
fn round_freq(freq: u32) -> u32 {
    match freq {
        0 => 1,
        1..=10 => freq,
        11..=50 => (freq + 3) / 5 * 5,
        51..=100 => (freq + 7) / 10 * 10,
        101..=500 => (freq + 33) / 50 * 50,
        _ => (freq + 67) / 100 * 100,
    }
}

/// `check_ts_tcp` for a packet with TSval `ts1` seen at `now_ms`, against
/// the host's last SYN / SYN+ACK `base`. `state` is the flow direction's;
/// `is_syn` lets an implausible reading on a SYN not end the tries.
pub fn check(
    state: &mut TpsState,
    ts1: u32,
    now_ms: u64,
    base: Option<TsSample>,
    is_syn: bool,
) -> Option<Uptime> {
    if ts1 == 0 || *state != TpsState::Pending {
        return None;
    }
    let base = base.filter(|b| b.ts1 != 0)?;
    let ms_diff = now_ms.wrapping_sub(base.recv_ms);
    let ts_diff = ts1.wrapping_sub(base.ts1);
    if !(MIN_TWAIT..=MAX_TWAIT).contains(&ms_diff) {
        return None;
    }
    // At least 5 ticks; a timestamp slightly behind within a short window
    // is reordering, not a reading.
    if ts_diff < 5
        || (ms_diff < TSTAMP_GRACE
            && u64::from(!ts_diff / 1000) < (MAX_TSCALE as u64) / TSTAMP_GRACE)
    {
        return None;
    }
    let raw_freq = if ts_diff > !ts_diff {
        f64::from(!ts_diff) * -1000.0 / ms_diff as f64
    } else {
        f64::from(ts_diff) * 1000.0 / ms_diff as f64
    };
    if raw_freq < MIN_TSCALE || raw_freq > f64::from(MAX_TSCALE) {
        if !is_syn {
            *state = TpsState::Bad;
        }
        return None;
    }
    let freq = round_freq(raw_freq as u32);
    *state = TpsState::Done(freq);
    Some(Uptime {
        raw_freq,
        freq,
        up_min: ts1 / freq / 60,
        mod_days: u32::MAX / (freq * 60 * 60 * 24),
    })
}

/// A host's last timestamped SYN and SYN+ACK, and its host change scores.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTs {
    pub last_syn: Option<TsSample>,
    pub last_synack: Option<TsSample>,
    pub nat: super::nat::HostNat,
}

/// Bytes one host costs in [`HostTsTable`]: key, value, LRU links and index.
pub const HOST_ENTRY_BYTES: usize =
    std::mem::size_of::<IpAddr>() + std::mem::size_of::<HostTs>() + 16;

/// Default byte cap of [`HostTsTable`] (about 90k hosts).
pub const DEFAULT_MEMCAP: usize = 32 << 20;

/// Per-host uptime samples, bounded by a byte cap.
pub struct HostTsTable {
    hosts: Lru<IpAddr, HostTs>,
    pub evictions: u64,
    /// Charged to the memory budget (`p0f_hosts`).
    charge: Charge,
}

impl HostTsTable {
    /// A table holding at most `memcap` bytes of hosts (at least one).
    pub fn with_memcap(memcap: usize) -> Self {
        HostTsTable {
            hosts: Lru::new((memcap / HOST_ENTRY_BYTES).max(1)),
            evictions: 0,
            charge: Charge::new(Budget::unlimited(), Pool::P0fHosts),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.charge.set_budget(budget);
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    pub fn cap(&self) -> usize {
        self.hosts.cap()
    }

    /// Bytes in use.
    pub fn bytes(&self) -> usize {
        self.hosts.len() * HOST_ENTRY_BYTES
    }

    pub fn get(&self, host: &IpAddr) -> Option<HostTs> {
        self.hosts.peek(host).copied()
    }

    /// The host's entry if it has one (touched as recently used).
    pub fn get_mut(&mut self, host: &IpAddr) -> Option<&mut HostTs> {
        self.hosts.get_mut(host)
    }

    /// The host's entry, created if absent (evicting the least recently
    /// used host when full).
    pub fn entry(&mut self, host: IpAddr) -> &mut HostTs {
        // A new host is charged, shedding the oldest others (over budget,
        // the stalest goes before, not after).
        let at = match self.hosts.probe(&host) {
            Ok(at) => at,
            Err(absent) => {
                // Settled after a new host unless the cap made room.
                let (at, left, settle) = if sheds_for_newcomer(&self.hosts, &self.charge) {
                    // Over budget, the stalest goes before, not after:
                    // the newcomer takes its place.
                    self.charge.note_eviction();
                    let (at, _) = self.hosts.replace_oldest(absent, host, HostTs::default());
                    (at, true, true)
                } else {
                    let (at, evicted) = self.hosts.insert_absent(absent, host, HostTs::default());
                    (at, evicted.is_some(), evicted.is_none())
                };
                self.evictions += u64::from(left);
                if settle {
                    self.evictions += self.hosts.settle_budget(&mut self.charge);
                }
                at
            }
        };
        self.hosts.get_mut_at(at).expect("just located")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(ts1: u32, recv_ms: u64) -> Option<TsSample> {
        Some(TsSample { ts1, recv_ms })
    }

    #[test]
    fn millisecond_clock_reads_as_p0f_prints_it() {
        let mut st = TpsState::Pending;
        // 1000 ticks in 1000 ms from a counter at 13 days.
        let ts = 13 * 86_400_000 + 6 * 60_000;
        let up = check(&mut st, ts + 1000, 2000, base(ts, 1000), false).unwrap();
        assert_eq!(up.freq, 1000);
        assert_eq!(up.text(), "13 days 0 hrs 6 min (modulo 49 days)");
        assert_eq!(up.raw_freq_text(), "1000.00");
        assert_eq!(st, TpsState::Done(1000));
        // Only once per direction.
        assert!(check(&mut st, ts + 2000, 3000, base(ts, 1000), false).is_none());
    }

    #[test]
    fn bounds_and_rounding() {
        assert_eq!(round_freq(0), 1);
        assert_eq!(round_freq(994), 1000);
        assert_eq!(round_freq(942), 1000);
        assert_eq!(round_freq(932), 900);
        assert_eq!(round_freq(250), 250);
        assert_eq!(round_freq(97), 100);
        assert_eq!(round_freq(12), 15);
        let mut st = TpsState::Pending;
        // Too soon, too few ticks, too late.
        assert!(check(&mut st, 1010, 1010, base(1000, 1000), false).is_none());
        assert!(check(&mut st, 1003, 2000, base(1000, 1000), false).is_none());
        assert!(check(&mut st, 9000, 700_000, base(1000, 1000), false).is_none());
        assert_eq!(st, TpsState::Pending);
        // 5000 Hz is implausible: a SYN may try again, anything else not.
        assert!(check(&mut st, 6000, 2000, base(1000, 1000), true).is_none());
        assert_eq!(st, TpsState::Pending);
        assert!(check(&mut st, 6000, 2000, base(1000, 1000), false).is_none());
        assert_eq!(st, TpsState::Bad);
        // A counter that went backwards reads negative.
        let mut st = TpsState::Pending;
        assert!(check(&mut st, 900, 2000, base(1000, 1000), false).is_none());
        assert_eq!(st, TpsState::Bad);
    }

    #[test]
    fn host_table_is_bounded() {
        let mut t = HostTsTable::with_memcap(HOST_ENTRY_BYTES * 100);
        for i in 0..1000u32 {
            t.entry(IpAddr::from(i.to_be_bytes())).last_syn = base(i, 0);
        }
        assert_eq!(t.len(), 100);
        assert_eq!(t.evictions, 900);
        assert!(t.bytes() <= HOST_ENTRY_BYTES * 100);
    }

    // A host's state stays small: the default cap holds ~90k hosts (the
    // HTTP module's last response and OS request take 40 bytes of it).
    const _: () = assert!(HOST_ENTRY_BYTES <= 360);

    #[test]
    fn budget_accounts_hosts_and_sheds_the_oldest() {
        use crate::util::budget::{Budget, Pool};
        let per = Lru::<IpAddr, HostTs>::entry_bytes();
        let budget = Budget::unlimited();
        let mut t = HostTsTable::with_memcap(DEFAULT_MEMCAP);
        t.set_budget(budget.clone());
        for i in 0..100u32 {
            t.entry(IpAddr::from(i.to_be_bytes())).last_syn = base(i, 0);
        }
        assert_eq!(budget.pool_used(Pool::P0fHosts), 100 * per);
        drop(t);
        assert_eq!(budget.used(), 0);
        let budget = Budget::new(10 * per);
        let mut t = HostTsTable::with_memcap(DEFAULT_MEMCAP);
        t.set_budget(budget.clone());
        for i in 0..100u32 {
            t.entry(IpAddr::from(i.to_be_bytes())).last_syn = base(i, 0);
        }
        assert_eq!((t.len(), t.evictions), (10, 90));
        assert_eq!(budget.evictions(Pool::P0fHosts), 90);
        // The newest host is kept, with what was written to it.
        assert!(t
            .get(&IpAddr::from(99u32.to_be_bytes()))
            .unwrap()
            .last_syn
            .is_some());
    }
}
