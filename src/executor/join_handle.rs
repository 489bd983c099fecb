//! `JoinHandle<T>`: the spawner's end of a task — await its output, cancel it, or let it go.
//!
//! Awaiting a `JoinHandle` gives `Ok(output)` when the task completed, or a [`JoinError`] that says
//! whether it panicked or was cancelled. Dropping the handle *detaches* the task: it keeps running,
//! and its output is dropped when it finishes. `abort()` cancels it: the next time the loop picks it
//! up, the future is dropped without being polled again, and the handle resolves to a cancelled
//! `JoinError`.
//!
//! Taking the output spends one unit of the awaiting task's cooperative budget (`coop.rs`), as in
//! tokio: a task that awaits the handles of tasks that have all finished never hears "wait", and
//! would otherwise join a thousand of them in one poll while every other task waits.
//!
//! A `JoinHandle` is not `Send`: it touches the task's loop-only fields (see `cell.rs`), so it
//! must stay on the loop thread, like the task's future itself.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::abort_handle::AbortTarget;
use super::cell::{Stage, Task, TaskCell};
use super::coop;
use super::{AbortHandle, JoinError, TaskId, drop_payload};

/// An owned permission to await (or cancel) a spawned task's output.
pub struct JoinHandle<T> {
    /// The task itself, seen only through what a handle may do.
    task: Arc<dyn JoinTarget<T>>,
    /// Keeps the handle on the loop thread (`*const ()` is neither `Send` nor `Sync`).
    _not_send: PhantomData<*const ()>,
}

impl<T> JoinHandle<T> {
    /// Wraps the spawned task.
    pub(crate) fn new(task: Arc<dyn JoinTarget<T>>) -> Self {
        JoinHandle {
            task,
            _not_send: PhantomData,
        }
    }

    /// Cancels the task. If it has not finished, it is dropped at the loop's next turn and awaiting
    /// this handle gives a cancelled `JoinError`; if it already finished, nothing changes.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// A handle that can cancel the task but not take its output (`abort_handle.rs`).
    pub fn abort_handle(&self) -> AbortHandle {
        // Trait upcasting: the same task, seen through the part that does not know `T`.
        let task: Arc<dyn AbortTarget> = self.task.clone();
        AbortHandle::new(task)
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

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Taking the output spends budget (see the module docs); asked for first, so a refused
        // poll leaves the output where it is.
        let coop = ready!(coop::poll_proceed(cx));
        let poll = self.task.poll_join(cx);
        if poll.is_ready() {
            coop.made_progress();
        }
        poll
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.task.id())
            .finish()
    }
}

/// What a `JoinHandle<T>` needs from its task, whatever the future type (and, through the
/// supertrait, what an `AbortHandle` made from it needs: `id`, `abort`, `is_finished`).
pub(crate) trait JoinTarget<T>: AbortTarget {
    /// Takes the output if the task finished, else remembers `cx`'s waker.
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    /// The handle is going away: nobody will take the output.
    fn detach(&self);
}

impl<F: Future + 'static> JoinTarget<F::Output> for TaskCell<F> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        // A task awaiting its own handle finds its stage borrowed by its own poll: it can never
        // finish, exactly as in tokio. Pending (forever) is the honest answer.
        let Ok(mut stage) = self.stage.try_borrow_mut() else {
            return Poll::Pending;
        };
        if matches!(&mut *stage, Stage::Running(_)) {
            // Not done: remember who to wake (keeping the old waker when it is the same task).
            let waker = match self.join_waker.take() {
                Some(w) if w.will_wake(cx.waker()) => w,
                _ => cx.waker().clone(),
            };
            self.join_waker.set(Some(waker));
            return Poll::Pending;
        }
        // Finished: move the result out (no future left to keep pinned).
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned its output"),
        }
    }

    fn detach(&self) {
        self.header.lose_join_interest();
        self.join_waker.set(None);
        if let Ok(mut stage) = self.stage.try_borrow_mut()
            && matches!(&mut *stage, Stage::Finished(_))
        {
            // Keep the promise: the output is dropped here, on the loop thread. Its destructor
            // (or a panic payload's) may panic; the caller only dropped a handle, so the panic is
            // contained and logged, as `finish` does for the output of a detached task.
            let output = std::mem::replace(&mut *stage, Stage::Consumed);
            drop(stage);
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(output))) {
                log::warn!(
                    "{} ({}): output destructor panicked when its JoinHandle was dropped",
                    self.header.id(),
                    self.meta()
                );
                drop_payload(payload);
            }
        }
    }
}
