//! The task waker, all of it: how "this task can make progress" travels back to the loop.
//!
//! A [`Waker`](std::task::Waker) is the only thing a future gives to whoever it waits on (the reactor, a timer, a
//! channel, a worker thread). Calling `wake()` must put the task back on the run queue. There are
//! two roads for that, and choosing the right one is the whole job of this file:
//!
//! ```text
//!  wake() on the loop thread ─────────────► run queue (a VecDeque; no lock, no syscall)   LOCAL
//!
//!  wake() on another thread ──► inbox (Mutex<Vec<TaskId>>) ──► the loop drains it          REMOTE
//!                                  └─► mio::Waker (eventfd write) ──► epoll_wait returns early
//! ```
//!
//! - **Local**: the loop thread is by far the common case (a socket becomes readable, a timer
//!   fires, a channel on the loop receives a value), so it must cost no syscall: we only push an
//!   id. A wake is local when the scheduler running on this thread (the thread-local
//!   of `current.rs`) is the one that owns the task: the task's [`Inbox`] is that scheduler's.
//! - **Remote**: a worker thread finishing a blocking job is the rare case; it cannot touch the run
//!   queue (that is not thread-safe), so it leaves the id in the task's loop's [`Inbox`] and rings
//!   the bell (the `mio::Waker`): the loop may be asleep in `epoll_wait` with nothing else to do.
//!
//! ## The vtable that `std::task::Wake` writes for us
//!
//! A `Waker` is a data pointer plus a table of four functions (`RawWakerVTable`): *clone*, *wake*
//! (consumes the waker), *wake_by_ref*, *drop*. Runtimes such as tokio write that table by hand:
//! each function is `unsafe` code that must get the task's reference count exactly right, and the
//! hand-written table saves a count or two per poll. `std::task::Wake` generates the same table
//! over an `Arc<T>`:
//!
//! ```text
//!  clone       -> Arc::increment_strong_count      (a new Waker shares the task)
//!  wake        -> T::wake(Arc<T>)                  (then the Arc is dropped)
//!  wake_by_ref -> T::wake_by_ref(&Arc<T>)
//!  drop        -> Arc::decrement_strong_count      (the last one frees the task cell)
//! ```
//!
//! All we write is what *wake* means ([`Header::schedule`]). The one promise we must make
//! ourselves is that the task may be touched from other threads: `Wake` requires `Send + Sync`,
//! because a `Waker` may be sent anywhere. That promise, and why it holds, is the pair of
//! `unsafe impl`s below. For a reader this is one unsafe claim to check instead of four unsafe
//! functions. (Course step 1 writes the vtable by hand, in `examples/course/common/waker.rs`;
//! `docs/01-step1-block-on.md` walks through it.)
//!
//! The waker of the `block_on` future is a second, simpler `Wake` type, [`MainWake`]: that future
//! is not in the task slab (it borrows from the caller's stack), so its wake just sets a flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use super::TaskId;
use super::cell::{Header, TaskCell};
use super::scheduler::Scheduler;
use std::future::Future;

/// A loop's inbox: what other threads may touch. Everything else of the loop stays on its thread.
pub(crate) struct Inbox {
    /// Tasks woken by other threads, waiting to be moved into the run queue by the loop.
    remote: Mutex<Vec<TaskId>>,
    /// True while a ring of the bell is pending, so a burst of remote wakes costs one eventfd
    /// write, not one per wake. Cleared by the loop before it drains `remote`.
    bell_pending: AtomicBool,
    /// Set when the `block_on` future was woken; the loop polls it (and does not sleep) when set.
    main_woken: AtomicBool,
    /// The bell: interrupts the reactor's `epoll_wait` from any thread (an eventfd in epoll).
    bell: mio::Waker,
}

impl Inbox {
    /// An empty inbox around the reactor's interrupt (`Reactor::new` makes it).
    pub(crate) fn new(bell: mio::Waker) -> Inbox {
        Inbox {
            remote: Mutex::new(Vec::new()),
            bell_pending: AtomicBool::new(false),
            main_woken: AtomicBool::new(true),
            bell,
        }
    }

    /// A wake from another thread: leave the id for the loop and make sure it notices.
    pub(crate) fn push_remote(&self, id: TaskId) {
        // A poisoned lock only means a thread panicked while pushing an id; the Vec is still fine.
        self.remote
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(id);
        self.ring();
    }

    /// Wakes the loop out of `epoll_wait`, once per burst.
    pub(crate) fn ring(&self) {
        if !self.bell_pending.swap(true, Ordering::AcqRel) {
            // An eventfd write fails only if the counter would overflow, which means a wake is
            // already pending: either way the loop will wake up, so the error can be ignored.
            let _ = self.bell.wake();
        }
    }

    /// True if another thread may have left ids in the inbox since the last `take_remote`.
    ///
    /// A pusher sets `bell_pending` *after* pushing, so a push this check misses has not raised
    /// the flag yet; it will, and the loop sees it at its next turn (an idle loop is woken by the
    /// eventfd that the same push writes). No wake is lost, only noticed one turn later.
    pub(crate) fn has_remote_wakes(&self) -> bool {
        self.bell_pending.load(Ordering::Acquire)
    }

    /// Moves all remotely woken ids into `into` (called by the loop after every reactor wait).
    ///
    /// The flag is cleared *before* the queue is drained: a wake that lands after the drain then
    /// sees the flag clear and rings for the next `epoll_wait`, so no wake is ever stranded.
    pub(crate) fn take_remote(&self, into: &mut Vec<TaskId>) {
        self.bell_pending.store(false, Ordering::SeqCst);
        let mut remote = self
            .remote
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        std::mem::swap(&mut *remote, into);
    }

    /// Marks the `block_on` future as woken (a new `block_on` starts woken too).
    pub(crate) fn wake_main(&self) {
        self.main_woken.store(true, Ordering::Release);
    }

    /// True if the `block_on` future was woken and not yet polled (does not clear it).
    pub(crate) fn main_is_woken(&self) -> bool {
        self.main_woken.load(Ordering::Acquire)
    }

    /// True (and cleared) if the `block_on` future was woken since the last call.
    ///
    /// The loop asks once per turn and the answer is nearly always "no" while tasks run, so it
    /// first *loads* the flag: a plain load costs nothing, where the `swap` that clears it is an
    /// atomic read-modify-write (a locked instruction, ~8 ns here) on every turn. A wake that
    /// lands just after the load is seen at the next turn; the loop does not sleep without
    /// looking at the flag again (`Scheduler::has_ready_work`).
    pub(crate) fn take_main_wake(&self) -> bool {
        self.main_woken.load(Ordering::Acquire) && self.main_woken.swap(false, Ordering::AcqRel)
    }
}

impl Header {
    /// What `wake` means: put the task on its loop's run queue unless it is already there.
    ///
    /// Local or remote is decided here, and only here: local when this thread runs the
    /// scheduler that owns the task (the same inbox), remote otherwise.
    pub(crate) fn schedule(&self) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return; // already queued: one poll will see all the wakes
        }
        let id = self.id();
        if !Scheduler::schedule_if_current(&self.inbox, id) {
            self.inbox.push_remote(id);
        }
    }
}

// SAFETY: `Wake` (and so `Waker`, which may be sent anywhere) requires `TaskCell: Send + Sync`.
// The only field other threads touch is `header`, which is `Send + Sync` itself (atomics and an
// `Arc<Inbox>`). All other fields are touched only through `&TaskCell` on the loop thread:
// - the scheduler (not `Send`) polls, cancels and shuts tasks down;
// - `JoinHandle` (not `Send`) takes the output, sets the join waker and the flags;
// - `own_waker` is set by `TaskCell::new`, lent out by `poll_future` and dropped by `finish`, all
//   on the loop thread (a clone of it may travel anywhere: that is an ordinary `Waker`).
// Wakers expose nothing but `wake`, `wake_by_ref`, `clone` and `drop`, and `wake` only calls
// `Header::schedule`. The last `Arc` may be dropped on another thread; then the scheduler has let
// go and no `JoinHandle` exists, and by the invariant in `cell.rs`'s module docs `stage` is
// `Consumed`, so that thread drops no `F` and no `F::Output` — only a `Waker` (which is `Send`)
// and `TaskMeta`. (`own_waker` is `None` by then: it holds a reference itself, so the last `Arc`
// can only go after `finish` took it.)
unsafe impl<F: Future> Send for TaskCell<F> {}
// SAFETY: see the `Send` impl above; shared references from other threads reach only `header`.
unsafe impl<F: Future> Sync for TaskCell<F> {}

impl<F: Future + 'static> Wake for TaskCell<F> {
    fn wake(self: Arc<Self>) {
        self.header.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.header.schedule();
    }
}

/// The waker of the future passed to `block_on`.
pub(crate) struct MainWake {
    /// The inbox of the runtime whose `block_on` is waiting.
    pub(crate) inbox: Arc<Inbox>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox.wake_main();
        // On the loop thread the flag is enough: the loop checks it before it sleeps.
        if !Scheduler::is_current(&self.inbox) {
            self.inbox.ring();
        }
    }
}
