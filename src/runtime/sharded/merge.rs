//! Putting the shards' events back into one stream: each shard's list is
//! already in order, so a stable k-way merge by position in the chunk
//! gives the order a single engine would have produced.

use std::iter::Peekable;
use std::vec::IntoIter;

use crate::output::formatted::FormattedBatch;
use crate::util::time::Timestamp;

/// What happens at one packet, in the order a single engine does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Flows gone idle by this packet's time.
    Expiry = 0,
    /// The router's link-local leak check.
    Leak = 1,
    /// The packet's own events.
    Packet = 2,
}

/// An event's place: the packet's position in its chunk, then the phase.
pub fn tag(index: u32, phase: Phase) -> u32 {
    index << 2 | phase as u32
}

/// The order to write the events of `parts` in: by tag, then by time
/// (flows expiring at the same packet on different shards go by the time
/// they went idle, as in one engine's table), then by the events' `order`
/// (for flows idle since the same time: established before half-open,
/// then by their last frame, as one engine's tables give them up),
/// earlier part first on ties.
pub fn merge_order(parts: &[FormattedBatch]) -> Vec<(u16, u32)> {
    // (tag, time, order, part, item)
    type Entry = (u32, Timestamp, u64, u16, u32);
    let lists: Vec<Vec<Entry>> = (0u16..)
        .zip(parts)
        .map(|(p, batch)| {
            (0u32..)
                .zip(batch.keys())
                .map(|(i, (tag, ts, order))| (tag, ts, order, p, i))
                .collect()
        })
        .collect();
    let mut order = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    merge_by(lists, |k| (k.0, k.1, k.2), |k| order.push((k.3, k.4)));
    order
}

/// Merges `lists`, each sorted by `key`, into `out`. Stable: on equal keys
/// the earlier list goes first, so the result depends only on the lists.
pub fn merge_by<T, K: Ord>(lists: Vec<Vec<T>>, key: impl Fn(&T) -> K, mut out: impl FnMut(T)) {
    let mut heads: Vec<Peekable<IntoIter<T>>> = lists
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.into_iter().peekable())
        .collect();
    while heads.len() > 1 {
        let mut best: Option<(usize, K)> = None;
        for (i, head) in heads.iter_mut().enumerate() {
            if let Some(t) = head.peek() {
                let k = key(t);
                if best.as_ref().is_none_or(|(_, b)| k < *b) {
                    best = Some((i, k));
                }
            }
        }
        let Some((i, _)) = best else { break };
        if let Some(t) = heads[i].next() {
            out(t);
        }
        if heads[i].peek().is_none() {
            drop(heads.remove(i));
        }
    }
    // One list left: no comparisons needed.
    heads.into_iter().flatten().for_each(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_k_way_merge() {
        let lists = vec![
            vec![(1, 'a'), (3, 'b'), (3, 'c')],
            vec![],
            vec![(0, 'd'), (3, 'e'), (9, 'f')],
            vec![(3, 'g')],
        ];
        let mut out = Vec::new();
        merge_by(lists, |t| t.0, |t| out.push(t.1));
        assert_eq!(out, vec!['d', 'a', 'b', 'c', 'e', 'g', 'f']);
    }

    #[test]
    fn phases_order_within_a_packet() {
        assert!(Phase::Expiry < Phase::Leak && Phase::Leak < Phase::Packet);
        assert!(tag(5, Phase::Leak) < tag(5, Phase::Packet));
        assert!(tag(5, Phase::Packet) < tag(6, Phase::Expiry));
    }
}
