//! Inserting into a per-source table whose memory budget is already
//! spent. [`Lru::get_or_insert_with`] followed by
//! [`Lru::settle_budget`] charges the newcomer, finds the budget over and
//! sheds the oldest entry, giving the same bytes back: under a flood of
//! spoofed sources that is a charge and a release (four atomic updates)
//! per table per packet for no net change. [`shed_for_newcomer`] sheds
//! that oldest entry first, when the charge would put the budget over,
//! so the newcomer takes its bytes and nothing is charged: the same
//! entries leave in the same order, counted the same way.

use std::hash::Hash;

use crate::util::budget::Charge;
use crate::util::lru::Lru;

/// Before inserting `key` (call only when it is absent): sheds the least
/// recently used entry when settling after the insert would have shed
/// it (see [`sheds_for_newcomer`]). Returns the entries shed (0 or 1),
/// each counted as a budget eviction.
pub fn shed_for_newcomer<K: Hash + Eq, V>(lru: &mut Lru<K, V>, charge: &mut Charge) -> u64 {
    if !sheds_for_newcomer(lru, charge) {
        return 0;
    }
    lru.pop_oldest();
    charge.note_eviction();
    1
}

/// Whether a newcomer must take the least recently used entry's place
/// (with [`Lru::replace_oldest`], counted by the caller with
/// [`Charge::note_eviction`]) rather than be added: when the table is
/// not full (a full table makes room by its cap, at no charge), holds
/// something, and its charge grown by one entry would put the budget
/// over.
pub fn sheds_for_newcomer<K: Hash + Eq, V>(lru: &Lru<K, V>, charge: &Charge) -> bool {
    if lru.is_empty() || lru.is_full() {
        return false;
    }
    let budget = charge.budget();
    let grown = (lru.len() + 1) * Lru::<K, V>::entry_bytes();
    let others = budget.used().saturating_sub(charge.charged());
    others.saturating_add(grown) > budget.cap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::budget::{Budget, Pool};

    /// Inserts `keys` one by one, settling after each as the tables do,
    /// with or without shedding first (`None`: by replacing the oldest
    /// in place); what is left and what was shed.
    fn run(
        first: Option<bool>,
        budget_entries: usize,
        cap: usize,
        keys: &[u32],
    ) -> (Vec<u32>, u64, u64) {
        let per = Lru::<u32, u32>::entry_bytes();
        let budget = Budget::new(budget_entries * per);
        // Another pool's use: the table shares the budget with others.
        budget.charge(Pool::Flows, per / 2);
        let mut charge = Charge::new(budget.clone(), Pool::SeqSources);
        let mut t: Lru<u32, u32> = Lru::new(cap);
        let (mut shed, mut capped) = (0, 0);
        for &k in keys {
            if first == Some(true) && !t.contains(&k) {
                shed += shed_for_newcomer(&mut t, &mut charge);
            }
            let evicted = match (first, t.probe(&k)) {
                // In place, as the per-source tables do it.
                (None, Err(absent)) if sheds_for_newcomer(&t, &charge) => {
                    charge.note_eviction();
                    shed += 1;
                    t.replace_oldest(absent, k, k);
                    false
                }
                _ => t.get_or_insert_with(k, || k).1.is_some(),
            };
            capped += u64::from(evicted);
            shed += t.settle_budget(&mut charge);
            assert_eq!(charge.charged(), t.len() * per);
        }
        let mut left = Vec::new();
        while let Some((k, _)) = t.pop_oldest() {
            left.push(k);
        }
        assert_eq!(budget.evictions(Pool::SeqSources), shed);
        (left, shed, capped)
    }

    #[test]
    fn sheds_what_settling_sheds_in_the_same_order() {
        let keys: Vec<u32> = (0..200).map(|i| (i * 7919) % 61).collect();
        for budget_entries in [1, 2, 5, 20, 100] {
            for cap in [1, 3, 10, 50] {
                let settled = run(Some(false), budget_entries, cap, &keys);
                assert_eq!(
                    run(Some(true), budget_entries, cap, &keys),
                    settled,
                    "budget {budget_entries} entries, cap {cap}"
                );
                assert_eq!(
                    run(None, budget_entries, cap, &keys),
                    settled,
                    "in place: budget {budget_entries} entries, cap {cap}"
                );
            }
        }
    }

    #[test]
    fn a_flood_over_budget_charges_nothing_new() {
        let per = Lru::<u32, u32>::entry_bytes();
        let budget = Budget::new(10 * per);
        let mut charge = Charge::new(budget.clone(), Pool::SeqSources);
        let mut t: Lru<u32, u32> = Lru::new(1000);
        for k in 0..1000u32 {
            if !t.contains(&k) {
                shed_for_newcomer(&mut t, &mut charge);
            }
            t.get_or_insert_with(k, || k);
            t.settle_budget(&mut charge);
            // Never above the budget, even for a moment.
            assert!(budget.used() <= 10 * per);
        }
        assert_eq!((t.len(), budget.evictions(Pool::SeqSources)), (10, 990));
    }
}
