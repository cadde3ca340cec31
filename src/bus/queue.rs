//! The bounded queue between the engine and the bus client.
//!
//! The engine must never wait on the bus (docs/spec.md section 7), so a push never blocks on
//! capacity: when the queue is full the oldest message is discarded and
//! counted. The lock is held only for an O(1) `VecDeque` operation; the
//! displaced message is freed after the lock is released.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A FIFO of at most `cap` items that drops its oldest item when full.
pub struct DropOldestQueue<T> {
    items: Mutex<VecDeque<T>>,
    cap: usize,
    pushed: AtomicU64,
    dropped: AtomicU64,
}

impl<T> DropOldestQueue<T> {
    /// A queue holding at most `cap` items (at least one).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        // Grow on demand: a 65,536-slot queue that is usually near-empty
        // should not pin its full size up front.
        DropOldestQueue {
            items: Mutex::new(VecDeque::with_capacity(cap.min(1024))),
            cap,
            pushed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        // A panic elsewhere while holding the lock leaves a valid VecDeque.
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `item`; returns `true` when the oldest item had to go.
    pub fn push(&self, item: T) -> bool {
        let displaced = {
            let mut items = self.lock();
            let displaced = if items.len() >= self.cap {
                items.pop_front()
            } else {
                None
            };
            items.push_back(item);
            displaced
        };
        self.pushed.fetch_add(1, Ordering::Relaxed);
        if displaced.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Moves up to `max` of the oldest items into `out`; returns how many.
    pub fn pop_batch(&self, max: usize, out: &mut Vec<T>) -> usize {
        let mut items = self.lock();
        let n = max.min(items.len());
        out.extend(items.drain(..n));
        n
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Items ever pushed.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Items discarded because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_items_and_counts_the_rest() {
        let q = DropOldestQueue::new(3);
        for i in 0..10 {
            q.push(i);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.pushed(), 10);
        assert_eq!(q.dropped(), 7);
        let mut out = Vec::new();
        assert_eq!(q.pop_batch(100, &mut out), 3);
        assert_eq!(out, vec![7, 8, 9]);
        assert!(q.is_empty());
    }

    #[test]
    fn pops_in_fifo_order_in_batches() {
        let q = DropOldestQueue::new(100);
        for i in 0..5 {
            assert!(!q.push(i));
        }
        let mut out = Vec::new();
        assert_eq!(q.pop_batch(2, &mut out), 2);
        assert_eq!(q.pop_batch(2, &mut out), 2);
        assert_eq!(out, vec![0, 1, 2, 3]);
        assert_eq!(q.len(), 1);
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn zero_capacity_means_one() {
        let q = DropOldestQueue::new(0);
        q.push(1);
        assert!(q.push(2));
        assert_eq!(q.capacity(), 1);
        let mut out = Vec::new();
        q.pop_batch(10, &mut out);
        assert_eq!(out, vec![2]);
    }
}
