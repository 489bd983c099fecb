//! `Header` and `TaskMeta`: the parts of a task that are not its future — how to wake it, and who
//! it is. Both live inside the task's one allocation (`cell.rs`), and both are laid out for size:
//! an idle server holds one task per connection ("Memory per idle connection" in
//! `docs/performance.md`; the unit test in `cell.rs` keeps the figures).

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::TaskId;
use super::waker::Inbox;
use crate::trace::Label;

/// The thread-safe part of a task: what a waker needs to schedule it.
///
/// Its fields are laid out by hand for size (an idle server holds one task per connection, see
/// "Memory per idle connection" in `docs/performance.md`): the id is split into its two numbers,
/// so that the 4-byte slot and the three flags share one 8-byte word instead of four.
pub(crate) struct Header {
    /// The task's spawn number (`TaskId::seq`).
    seq: u64,
    /// The inbox of the loop the task belongs to: for wakes from other threads, and to tell a
    /// local wake from a remote one (`waker.rs`).
    pub(crate) inbox: Arc<Inbox>,
    /// The task's slot in the slab (`TaskId::slot`).
    slot: u32,
    /// True while the task's id sits in a run queue (or the remote queue). Only the wake that
    /// flips it false → true enqueues, so a task is never queued twice; the loop clears it just
    /// before polling, so a wake *during* the poll queues the task again.
    pub(crate) scheduled: AtomicBool,
    /// False once the `JoinHandle` was dropped (detached): the output is then dropped at once.
    /// Only the loop thread touches it; an atomic with `Relaxed` loads and stores (plain moves, no
    /// read-modify-write) only because it lives here, in the thread-safe part, to share its word.
    join_interest: AtomicBool,
    /// Set by `JoinHandle::abort`; the next time the loop picks the task it cancels it. Loop
    /// thread only, like `join_interest`.
    cancel_requested: AtomicBool,
}

impl Header {
    /// The header of task `id` of the loop with `inbox`; `scheduled` starts true because the
    /// spawner queues the task at once.
    pub(super) fn new(id: TaskId, inbox: Arc<Inbox>) -> Header {
        Header {
            seq: id.seq,
            inbox,
            slot: u32::try_from(id.slot).expect("fewer than 2^32 tasks alive at once"),
            scheduled: AtomicBool::new(true),
            join_interest: AtomicBool::new(true),
            cancel_requested: AtomicBool::new(false),
        }
    }

    /// The task's name in the slab and in logs.
    pub(crate) fn id(&self) -> TaskId {
        TaskId {
            slot: self.slot as usize,
            seq: self.seq,
        }
    }

    /// See `join_interest`.
    pub(super) fn join_interest(&self) -> bool {
        self.join_interest.load(Ordering::Relaxed)
    }

    /// The `JoinHandle` is gone.
    pub(super) fn lose_join_interest(&self) {
        self.join_interest.store(false, Ordering::Relaxed);
    }

    /// See `cancel_requested`.
    pub(super) fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Relaxed)
    }

    /// `JoinHandle::abort` was called.
    pub(super) fn request_cancel(&self) {
        self.cancel_requested.store(true, Ordering::Relaxed);
    }
}

/// Who a task is, for logs and traces: a name given at spawn, or where it was spawned.
pub(crate) struct TaskMeta {
    /// The `spawn` call site, captured with `#[track_caller]`.
    pub(crate) location: &'static Location<'static>,
    /// The name given with `spawn_named`, if any: a `Label`, so that a trace can name every poll
    /// of the task without copying the text (`trace/event.rs`). Boxed: 8 bytes in every task
    /// instead of 24, for the few tasks that have a name.
    pub(crate) name: Option<Box<Label>>,
}

impl TaskMeta {
    /// The task's name for a trace: its own, or where it was spawned.
    pub(crate) fn label(&self) -> Label {
        match &self.name {
            Some(name) => Label::clone(name),
            None => Label::Location(self.location),
        }
    }
}

impl fmt::Display for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "spawned at {}", self.location),
        }
    }
}
