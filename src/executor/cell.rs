//! `TaskCell`: one spawned future, its output slot and its wake-up flag, in one allocation.
//!
//! Spawning allocates exactly once: an `Arc<TaskCell<F>>`. Three parties hold that `Arc`:
//!
//! ```text
//!   task slab (runtime)  ── polls it while it runs; lets go when it finishes
//!   JoinHandle           ── takes the output, or cancels it
//!   Wakers (any thread)  ── only ever touch `header`: set `scheduled`, push the id
//! ```
//!
//! One of those wakers is the task's own: `own_waker`, made once at spawn and lent to every poll.
//! A `Waker` made from an `Arc` (`std::task::Wake`) owns one reference count; making a fresh one
//! for each poll and dropping it afterwards costs two atomic read-modify-write instructions per
//! poll (~16 ns here, as much as a small task's whole poll). Lending the same waker avoids them,
//! and a future that keeps the waker (`cx.waker().clone()`) still gets its own counted clone.
//! The own waker points at the cell that holds it: a reference cycle, on purpose, which `finish`
//! breaks — every task is finished (completed, panicked, cancelled, or at runtime shutdown).
//!
//! ## States
//!
//! ```text
//!   Running(future) ──poll → Ready──► Finished(Ok(output)) ──JoinHandle takes it──► Consumed
//!         │          ──poll panics──► Finished(Err(panic))
//!         └──abort / runtime drop──► Finished(Err(cancelled))   (Consumed if nobody will join)
//! ```
//!
//! ## Which field may be touched where
//!
//! - `header` is thread-safe (atomics and an `Arc<Inbox>`): any thread that holds a waker uses it.
//! - Everything else (`stage`, `join_waker`, the flags) is plain `Cell`/`RefCell` and is touched
//!   only on the loop thread: by the scheduler, which is not `Send`, and by the `JoinHandle`,
//!   which is not `Send` either. `waker.rs` turns this into the `Send + Sync` argument a `Waker`
//!   needs.
//!
//! The `Arc` may be dropped last by another thread (a worker thread drops its waker after the task
//! is gone). That is why the runtime keeps one more promise: **when neither the slab nor a
//! `JoinHandle` holds the task any more, `stage` is `Consumed`**. The future and its output, which
//! need not be `Send`, are always dropped on the loop thread; a foreign thread only ever frees an
//! empty shell.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub(crate) use super::header::{Header, TaskMeta};
use super::join_error::drop_payload;
use super::waker::Inbox;
use super::{JoinError, TaskId};

/// Where a task is in its life (see the state diagram in the module docs).
///
/// Always inspect it through `&mut` (`borrow_mut`), never through `&`: the future may hold
/// references into itself (an `async fn` borrowing its own locals across an `.await`), and a shared
/// reference to the whole future would, under Rust's aliasing rules, invalidate those. A `&mut` to
/// a `!Unpin` future is exempt from that rule; Miri checks it (`tests/sync.rs` found the bug).
pub(super) enum Stage<F: Future> {
    /// Still running; holds the future.
    Running(F),
    /// Done; holds the result until the `JoinHandle` takes it.
    Finished(Result<F::Output, JoinError>),
    /// Nothing left inside: the output was taken, or nobody will ever take it.
    Consumed,
}

/// A spawned future plus everything the runtime and its `JoinHandle` need; one allocation.
pub(crate) struct TaskCell<F: Future> {
    /// The thread-safe part, used by wakers.
    pub(crate) header: Header,
    /// Name or spawn location, for logs and stats.
    meta: TaskMeta,
    /// The future or its output. `RefCell` rather than `UnsafeCell`: a task that awaits its own
    /// `JoinHandle` would otherwise alias the future while it is being polled.
    pub(super) stage: RefCell<Stage<F>>,
    /// The waker of the task awaiting the `JoinHandle`, woken when this task finishes.
    pub(super) join_waker: Cell<Option<Waker>>,
    /// The waker lent to every poll (see the module docs); `None` once the task has finished.
    own_waker: Cell<Option<Waker>>,
}

/// How the scheduler sees a task, whatever its future type: the slab holds `Arc<dyn Task>`.
/// (A trait object: tokio erases the type with a hand-made vtable and a raw pointer instead.)
pub(crate) trait Task {
    /// The thread-safe part.
    fn header(&self) -> &Header;
    /// Name or spawn location.
    fn meta(&self) -> &TaskMeta;
    /// Polls the future once (or cancels it, if `abort` asked). Returns how the poll ended.
    fn run(&self) -> RunResult;
    /// Drops the future now because the runtime is shutting down.
    fn shutdown(&self);
}

/// What one call of `Task::run` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunResult {
    /// The future returned `Pending`; it is parked until woken.
    Pending,
    /// The future completed with a value.
    Completed,
    /// The future panicked; the panic was caught and handed to the `JoinHandle`.
    Panicked,
    /// `abort()` was called; the future was dropped.
    Cancelled,
}

impl<F: Future + 'static> TaskCell<F> {
    /// Wraps `future` in a new cell with its own waker; `scheduled` starts true because the
    /// spawner queues it at once.
    pub(crate) fn new(id: TaskId, inbox: Arc<Inbox>, future: F, meta: TaskMeta) -> Arc<Self> {
        let task = Arc::new(TaskCell {
            header: Header::new(id, inbox),
            meta,
            stage: RefCell::new(Stage::Running(future)),
            join_waker: Cell::new(None),
            own_waker: Cell::new(None),
        });
        task.own_waker.set(Some(Waker::from(Arc::clone(&task))));
        task
    }

    /// Polls the future with the task's own waker, catching a panic.
    fn poll_future(&self) -> Result<Poll<F::Output>, Box<dyn Any + Send>> {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return Ok(Poll::Pending); // finished already: a stale poll, nothing to do
        };
        // Running means not finished, so the own waker is there. Moving it out of its `Cell` and
        // back is a plain copy of two pointers: no reference count changes.
        let waker = self
            .own_waker
            .take()
            .expect("a running task has its own waker");
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the future lives inside the `Arc`'s heap allocation, which never moves, and it
        // stays in `Stage::Running` until it is dropped in place by `finish` or `shutdown`
        // (`Stage` is replaced, never moved out of while `Running`). That is the pinning promise.
        let future = unsafe { Pin::new_unchecked(future) };
        let poll = catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx)));
        self.own_waker.set(Some(waker));
        poll
    }

    /// Ends the task with `result`: drops the future, keeps the result for the `JoinHandle` (if it
    /// still exists) and wakes whoever awaits it.
    fn finish(&self, result: Result<F::Output, JoinError>) {
        // Break the cycle cell -> own waker -> cell: nothing will poll this task again. The caller
        // still holds the task, so this is never the last reference.
        drop(self.own_waker.take());
        // Drop the future first, on its own: its destructor may panic, and must not take the loop.
        // Assigning drops the old value *in place*: a pinned future must never be moved, not even
        // on its way to being dropped (`mem::replace` would move it out first).
        // (If the destructor panics, the assignment still completes while unwinding.)
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
            *self.stage.borrow_mut() = Stage::Consumed
        })) {
            log::warn!("{} ({}): destructor panicked", self.header.id(), self.meta);
            drop_payload(payload);
        }
        if self.header.join_interest() {
            *self.stage.borrow_mut() = Stage::Finished(result);
            if let Some(waker) = self.join_waker.take() {
                waker.wake();
            }
        } else if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(result))) {
            log::warn!(
                "{} ({}): output destructor panicked",
                self.header.id(),
                self.meta
            );
            drop_payload(payload);
        }
    }
}

impl<F: Future + 'static> Task for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn meta(&self) -> &TaskMeta {
        &self.meta
    }

    fn run(&self) -> RunResult {
        if self.header.cancel_requested() {
            self.finish(Err(JoinError::cancelled()));
            return RunResult::Cancelled;
        }
        match self.poll_future() {
            Ok(Poll::Pending) => RunResult::Pending,
            Ok(Poll::Ready(output)) => {
                self.finish(Ok(output));
                RunResult::Completed
            }
            Err(panic) => {
                self.finish(Err(JoinError::from_panic(panic)));
                RunResult::Panicked
            }
        }
    }

    fn shutdown(&self) {
        if matches!(&mut *self.stage.borrow_mut(), Stage::Running(_)) {
            self.finish(Err(JoinError::cancelled()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;
    use std::rc::Rc;

    /// A task cell outside any runtime: its `Inbox` needs only an interrupt waker.
    fn cell<F: Future + 'static>(future: F) -> Arc<TaskCell<F>> {
        let poll = mio::Poll::new().expect("epoll");
        let interrupt = mio::Waker::new(poll.registry(), mio::Token(0)).expect("eventfd");
        let id = TaskId { slot: 0, seq: 1 };
        let meta = TaskMeta {
            name: None,
            location: Location::caller(),
        };
        TaskCell::new(id, Arc::new(Inbox::new(interrupt)), future, meta)
    }

    /// A future of 48 bytes, the size of `examples/echo_server`'s idle connection task.
    struct FortyEightBytes(#[allow(dead_code)] [u64; 6]);

    impl Future for FortyEightBytes {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    #[test]
    fn issue_18_a_task_costs_88_bytes_beyond_its_future() {
        // Header 24 (id split in two, flags in its padding), meta 16, the stage's borrow flag and
        // tag 16, the join waker 16, the own waker 16. `Arc` adds its two counts (16) and malloc
        // its 8-byte header, rounded up to 16: a 48-byte future is a 160-byte allocation.
        // `docs/performance.md` ("Memory per idle connection") has the whole budget.
        assert_eq!(std::mem::size_of::<Header>(), 24);
        assert_eq!(std::mem::size_of::<TaskMeta>(), 16);
        let overhead = std::mem::size_of::<TaskCell<FortyEightBytes>>() - 48;
        assert!(overhead <= 88, "a task's overhead grew to {overhead} bytes");
        // The scheduler's slab holds a fat `Arc` per task (plus the slab's own 8-byte tag).
        assert_eq!(std::mem::size_of::<Option<Arc<dyn Task>>>(), 16);
    }

    #[test]
    fn the_own_waker_cycle_is_broken_when_the_task_completes() {
        let task = cell(async { 7 });
        assert_eq!(Arc::strong_count(&task), 2, "ours and the task's own waker");
        assert_eq!(task.run(), RunResult::Completed);
        assert_eq!(Arc::strong_count(&task), 1, "finish dropped the own waker");
        let cell = Arc::downgrade(&task);
        drop(task);
        assert!(cell.upgrade().is_none(), "the cell is freed");
    }

    #[test]
    fn the_own_waker_cycle_is_broken_at_shutdown_and_clones_stay_counted() {
        let kept = Rc::new(Cell::new(None::<Waker>));
        let slot = Rc::clone(&kept);
        let task = cell(std::future::poll_fn(move |cx| {
            slot.set(Some(cx.waker().clone())); // a future keeping its waker gets a counted clone
            Poll::<()>::Pending
        }));
        assert_eq!(task.run(), RunResult::Pending);
        assert_eq!(
            Arc::strong_count(&task),
            3,
            "ours, the own waker, the kept clone"
        );
        task.shutdown();
        assert_eq!(Arc::strong_count(&task), 2, "ours and the kept clone");
        drop(kept.take());
        assert_eq!(Arc::strong_count(&task), 1);
    }
}
