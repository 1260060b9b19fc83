//! A bounded hand-off queue that never makes the producer wait: when full,
//! the oldest item is dropped and handed back to the producer to count and
//! log. One consumer task pops items in order.
//!
//! Owns no I/O; knows nothing about what the items are.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct DropOldest<T> {
    items: Mutex<VecDeque<T>>,
    capacity: usize,
    wake: Notify,
    closed: AtomicBool,
}

impl<T> DropOldest<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds an item; returns the oldest one if it had to make room.
    pub(crate) fn push(&self, item: T) -> Option<T> {
        let dropped = {
            let mut items = self.lock();
            let dropped = if items.len() >= self.capacity {
                items.pop_front()
            } else {
                None
            };
            items.push_back(item);
            dropped
        };
        self.wake.notify_one();
        dropped
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// No more pushes will come: [`Self::pop`] returns `None` once empty.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// The next item, waiting for one; `None` when closed and drained.
    pub(crate) async fn pop(&self) -> Option<T> {
        loop {
            if let Some(item) = self.lock().pop_front() {
                return Some(item);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            self.wake.notified().await;
        }
    }

    /// A poisoned lock only means a thread panicked mid-push; the
    /// `VecDeque` itself is still valid.
    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_drops_the_oldest_and_keeps_order() {
        let queue = DropOldest::new(2);
        assert_eq!(queue.push(1), None);
        assert_eq!(queue.push(2), None);
        assert_eq!(queue.push(3), Some(1));
        queue.close();
        assert_eq!(queue.pop().await, Some(2));
        assert_eq!(queue.pop().await, Some(3));
        assert_eq!(queue.pop().await, None);
    }
}
