//! `AbortHandle`: the right to cancel a task, without the right to its output.
//!
//! A `JoinHandle<T>` does two things: take the output, and cancel. Code that only needs the second
//! (a supervisor, a `JoinSet` handing out a handle per spawned task, a timeout that cancels a
//! worker) gets an `AbortHandle` from [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle)
//! — or from `JoinSet::spawn` — and may hold many of them. It has no type parameter: it sees the
//! task through `AbortTarget`, the part of the task that does not know `T`. Dropping one does
//! nothing to the task.
//!
//! Like the `JoinHandle`, it is not `Send`: aborting sets a flag only the loop thread touches (`cell.rs`). tokio's is
//! `Send`, because tokio's tasks may live on any thread.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use super::TaskId;
use super::cell::{Stage, TaskCell};

/// Cancels a task; does not give its output. Cloning is cheap (one reference count).
#[derive(Clone)]
pub struct AbortHandle {
    /// The task, seen only through what cancelling needs.
    task: Arc<dyn AbortTarget>,
    /// Keeps the handle on the loop thread (`*const ()` is neither `Send` nor `Sync`).
    _not_send: PhantomData<*const ()>,
}

impl AbortHandle {
    /// Wraps the task.
    pub(crate) fn new(task: Arc<dyn AbortTarget>) -> AbortHandle {
        AbortHandle {
            task,
            _not_send: PhantomData,
        }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort) does: dropped at the
    /// loop's next turn unless it already finished.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// True once the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id, as it appears in logs ("task 7").
    pub fn id(&self) -> TaskId {
        self.task.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.task.id())
            .finish()
    }
}

/// What an `AbortHandle` needs from its task: nothing that knows the output type, so the handle
/// has no type parameter. `JoinTarget<T>` (`join_handle.rs`) builds on it.
pub(crate) trait AbortTarget {
    /// The task's id.
    fn id(&self) -> TaskId;
    /// Asks the loop to cancel the task at its next turn.
    fn abort(&self);
    /// True once the task has finished (its output may already be taken).
    fn is_finished(&self) -> bool;
}

impl<F: Future + 'static> AbortTarget for TaskCell<F> {
    fn id(&self) -> TaskId {
        self.header.id()
    }

    fn abort(&self) {
        if !self.is_finished() {
            self.header.request_cancel();
            self.header.schedule();
        }
    }

    fn is_finished(&self) -> bool {
        match self.stage.try_borrow_mut() {
            Ok(mut stage) => !matches!(&mut *stage, Stage::Running(_)),
            Err(_) => false, // being polled right now: running
        }
    }
}
