//! `TaskId`: how the loop names a task, and how it tells a live task from a stale one.
//!
//! Tasks live in a `slab`, a vector of slots whose freed slots are reused. The slot index alone is
//! therefore not a safe name: a waker may outlive its task (a worker thread still holds it, a timer
//! fires late), and by the time its wake arrives the slot may hold a *different* task. A wake for
//! the wrong task is harmless in theory (a spurious poll) but confusing in logs and wasteful, so a
//! `TaskId` carries two numbers:
//!
//! - `slot`: where the task sits in the slab, for an O(1) lookup;
//! - `seq`: a number given out once per spawn and never reused (a `u64` does not wrap in practice:
//!   at a billion spawns per second it lasts 584 years).
//!
//! The run queue holds `TaskId`s. When one is popped, the loop looks at the slab slot and polls the
//! task only if the task sitting there has the same `seq`; otherwise the id is *stale* (its task
//! finished, perhaps its slot was reused) and it is dropped without a poll.

use std::fmt;

/// The name of one spawned task: its slab slot plus a never-reused spawn number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    /// Index of the task's slot in the runtime's task slab.
    pub(crate) slot: usize,
    /// Spawn sequence number, unique for the runtime's lifetime; what logs print as "task 7".
    pub(crate) seq: u64,
}

impl TaskId {
    /// The number users see in logs and stats ("task 7").
    pub fn as_u64(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.seq)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({}@{})", self.seq, self.slot)
    }
}
