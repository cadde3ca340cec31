//! IP-ID and ISN sequence classes per source (docs/spec.md section 5): how a host
//! numbers its packets gives away its stack or the tool that forged them.

use std::net::IpAddr;

use super::budgeted::sheds_for_newcomer;
use crate::util::budget::{Budget, Charge, Pool};
use crate::util::lru::Lru;

/// Samples kept per source; classes use the last [`SAMPLES`].
pub const SAMPLES: usize = 8;
/// Fewer samples than this classify as `unknown`.
const MIN_SAMPLES: usize = 4;
/// Largest step that still counts as incremental.
const MAX_STEP: u32 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqClass {
    Unknown,
    Zero,
    Constant,
    Incremental,
    Random,
}

impl SeqClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SeqClass::Unknown => "unknown",
            SeqClass::Zero => "zero",
            SeqClass::Constant => "constant",
            SeqClass::Incremental => "incremental",
            SeqClass::Random => "random",
        }
    }
}

/// A ring of the last samples of one counter.
#[derive(Debug, Clone, Copy, Default)]
struct Ring {
    values: [u32; SAMPLES],
    // Both below SAMPLES: u8 keeps the per-source entry small.
    len: u8,
    head: u8,
}

impl Ring {
    fn push(&mut self, v: u32) {
        let head = usize::from(self.head);
        self.values[head] = v;
        self.head = ((head + 1) % SAMPLES) as u8;
        self.len = (usize::from(self.len) + 1).min(SAMPLES) as u8;
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Samples oldest first.
    fn ordered(&self) -> impl Iterator<Item = u32> + '_ {
        let (len, head) = (self.len(), usize::from(self.head));
        let start = (head + SAMPLES - len) % SAMPLES;
        (0..len).map(move |i| self.values[(start + i) % SAMPLES])
    }

    /// Classifies with steps taken modulo `modulus_bits` (16 or 32).
    fn class(&self, modulus_bits: u32) -> SeqClass {
        if self.len() < MIN_SAMPLES {
            return SeqClass::Unknown;
        }
        let mask = if modulus_bits >= 32 {
            u32::MAX
        } else {
            (1u32 << modulus_bits) - 1
        };
        let mut it = self.ordered();
        let first = it.next().unwrap_or(0);
        let (mut all_zero, mut all_same, mut incremental) = (first == 0, true, true);
        let mut prev = first;
        for v in it {
            all_zero &= v == 0;
            all_same &= v == first;
            let step = v.wrapping_sub(prev) & mask;
            incremental &= step > 0 && step <= MAX_STEP;
            prev = v;
        }
        if all_zero {
            SeqClass::Zero
        } else if all_same {
            SeqClass::Constant
        } else if incremental {
            SeqClass::Incremental
        } else {
            SeqClass::Random
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SourceSamples {
    ipid: Ring,
    isn: Ring,
    /// (source port, ISN) of the last SYN, to skip retransmissions.
    last: Option<(u16, u32)>,
}

/// The classes for one SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqClasses {
    pub ipid: SeqClass,
    pub ipid_samples: usize,
    pub isn: SeqClass,
    pub isn_samples: usize,
}

/// Bounded table of per-source samples.
pub struct SeqClassTable {
    sources: Lru<IpAddr, SourceSamples>,
    pub evictions: u64,
    /// Charged to the memory budget (`seq_sources`).
    charge: Charge,
}

impl SeqClassTable {
    pub fn new(cap: usize) -> Self {
        SeqClassTable {
            sources: Lru::new(cap),
            evictions: 0,
            charge: Charge::new(Budget::unlimited(), Pool::SeqSources),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.charge.set_budget(budget);
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Records a SYN from `src` (IP-ID `None` for IPv6) and classifies.
    pub fn observe(&mut self, src: IpAddr, sport: u16, ipid: Option<u16>, isn: u32) -> SeqClasses {
        let at = match self.sources.probe(&src) {
            Ok(at) => at,
            Err(absent) => {
                // Over budget, the stalest source goes before, not after:
                // the newcomer takes its place.
                let (at, evicted) = if sheds_for_newcomer(&self.sources, &self.charge) {
                    self.charge.note_eviction();
                    self.sources
                        .replace_oldest(absent, src, SourceSamples::default())
                } else {
                    self.sources
                        .insert_absent(absent, src, SourceSamples::default())
                };
                // Shed by the budget or pushed out by the cap: one eviction.
                self.evictions += u64::from(evicted.is_some());
                at
            }
        };
        let s = self.sources.get_mut_at(at).expect("just located");
        if s.last != Some((sport, isn)) {
            s.last = Some((sport, isn));
            if let Some(id) = ipid {
                s.ipid.push(u32::from(id));
            }
            s.isn.push(isn);
        }
        let classes = SeqClasses {
            ipid: if ipid.is_some() {
                s.ipid.class(16)
            } else {
                SeqClass::Unknown
            },
            ipid_samples: s.ipid.len(),
            isn: s.isn.class(32),
            isn_samples: s.isn.len(),
        };
        self.evictions += self.sources.settle_budget(&mut self.charge);
        classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut SeqClassTable, ids: &[u16], isns: &[u32]) -> SeqClasses {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let mut last = None;
        for (i, (&id, &isn)) in ids.iter().zip(isns).enumerate() {
            last = Some(t.observe(src, 1000 + i as u16, Some(id), isn));
        }
        last.unwrap()
    }

    #[test]
    fn classes() {
        let mut t = SeqClassTable::new(16);
        let c = feed(&mut t, &[0, 0, 0], &[1, 2, 3]);
        assert_eq!(c.ipid, SeqClass::Unknown);
        let c = feed(&mut SeqClassTable::new(4), &[0, 0, 0, 0], &[7, 7, 7, 7]);
        assert_eq!((c.ipid, c.isn), (SeqClass::Zero, SeqClass::Constant));
        // IP-ID wraps at 2^16 and is still incremental.
        let c = feed(
            &mut SeqClassTable::new(4),
            &[65534, 65535, 1, 3],
            &[u32::MAX - 1, 100, 3_000_000_000, 5],
        );
        assert_eq!((c.ipid, c.isn), (SeqClass::Incremental, SeqClass::Random));
    }

    #[test]
    fn retransmitted_syn_counted_once() {
        let mut t = SeqClassTable::new(4);
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        t.observe(src, 5, Some(1), 42);
        let c = t.observe(src, 5, Some(2), 42);
        assert_eq!((c.ipid_samples, c.isn_samples), (1, 1));
    }

    #[test]
    fn table_is_bounded() {
        let mut t = SeqClassTable::new(100);
        for i in 0..1000u32 {
            t.observe(IpAddr::from(i.to_be_bytes()), 1, Some(1), i);
        }
        assert_eq!(t.len(), 100);
        assert_eq!(t.evictions, 900);
    }

    #[test]
    fn budget_accounts_sources_and_sheds_the_oldest() {
        use crate::util::budget::{Budget, Pool};
        let per = Lru::<IpAddr, SourceSamples>::entry_bytes();
        let budget = Budget::unlimited();
        let mut t = SeqClassTable::new(1000);
        t.set_budget(budget.clone());
        for i in 0..100u32 {
            t.observe(IpAddr::from(i.to_be_bytes()), 1, Some(1), i);
        }
        assert_eq!(budget.pool_used(Pool::SeqSources), 100 * per);
        drop(t);
        assert_eq!(budget.used(), 0);
        let budget = Budget::new(10 * per);
        let mut t = SeqClassTable::new(1000);
        t.set_budget(budget.clone());
        for i in 0..100u32 {
            t.observe(IpAddr::from(i.to_be_bytes()), 1, Some(1), i);
        }
        assert_eq!((t.len(), t.evictions), (10, 90));
        assert_eq!(budget.evictions(Pool::SeqSources), 90);
        assert!(!budget.over());
    }
}
