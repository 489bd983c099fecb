//! The run queue: tasks that were woken and wait for their turn to be polled.
//!
//! A plain FIFO of [`TaskId`]s. FIFO is what makes the loop fair: a task woken now runs after the
//! tasks woken before it, never before. Each entry also records *when* the task was woken, so the
//! loop can measure scheduling delay ("lag"): the time a ready task waited before it was polled.
//!
//! The queue itself does not deduplicate; the task does. Every task has a `scheduled` flag
//! (`cell::Header::scheduled`) that a wake sets and the loop clears just before polling, and only
//! the wake that flips it from false to true pushes the id. Waking a queued task ten times
//! therefore queues it once. Keeping the flag in the task (not a `HashSet` here) makes the check
//! O(1) and lets other threads perform it with one atomic swap.
//!
//! Only the loop thread touches this queue (it lives in `Core`, which is not `Send`); wakes from
//! other threads go through the inbox in `waker.rs` first.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Instant;

use super::TaskId;

/// One woken task waiting to be polled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Notified {
    /// The task to poll (may be stale by the time it is popped; see `task/id.rs`).
    pub(crate) id: TaskId,
    /// When it was woken, as the loop's clock saw it; the start of its scheduling delay.
    pub(crate) woken_at: Instant,
}

/// FIFO of woken tasks, owned by the loop thread.
#[derive(Default)]
pub(crate) struct RunQueue {
    /// The queue; a `RefCell` because tasks push onto it while the loop holds `&Core`.
    queue: RefCell<VecDeque<Notified>>,
}

impl RunQueue {
    /// Appends a woken task at the back.
    pub(crate) fn push(&self, notified: Notified) {
        self.queue.borrow_mut().push_back(notified);
    }

    /// Takes the task at the front, if any.
    pub(crate) fn pop(&self) -> Option<Notified> {
        self.queue.borrow_mut().pop_front()
    }

    /// How many tasks are waiting; the loop runs exactly this many per turn (see `Scheduler::run_ready_tasks`).
    pub(crate) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// True when no task waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }

    /// Empties the queue (runtime shutdown).
    pub(crate) fn clear(&self) {
        self.queue.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> Notified {
        Notified {
            id: TaskId {
                slot: seq as usize,
                seq,
            },
            woken_at: Instant::now(),
        }
    }

    #[test]
    fn pops_in_wake_order() {
        let q = RunQueue::default();
        for seq in [3, 1, 2] {
            q.push(id(seq));
        }
        assert_eq!(q.len(), 3);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|n| n.id.seq).collect();
        assert_eq!(order, [3, 1, 2]);
        assert!(q.is_empty());
    }
}
