//! The hand-made waker: how "this task can make progress" travels back to the loop.
//!
//! A [`Waker`] is the only thing a future gives to whoever it waits on (the reactor, a timer, a
//! channel, a worker thread). Calling `wake()` must put the task back on the run queue. evloop has
//! two roads for that, and choosing the right one is the whole job of this file:
//!
//! ```text
//!  wake() on the loop thread ─────────────► run queue (a VecDeque; no lock, no syscall)
//!
//!  wake() on another thread ──► remote queue (Mutex<Vec<TaskId>>) ──► the loop drains it
//!                                  └─► mio::Waker (eventfd write) ──► epoll_wait returns early
//! ```
//!
//! The loop thread is by far the common case (a socket becomes readable, a timer fires, a channel
//! on the loop receives a value), so it must cost no syscall: we only push an id. A worker thread
//! finishing a blocking job is the rare case; it cannot touch the run queue (that is not
//! thread-safe), so it leaves the id in the remote queue and interrupts `epoll_wait` — the loop may
//! be asleep there with nothing else to do. To tell the two apart, a wake looks at the thread-local
//! "current runtime" (`runtime::context`): if it is the runtime the task belongs to, we are on its
//! loop thread.
//!
//! ## Why `std::task::Wake` and not a hand-written `RawWakerVTable`
//!
//! A waker is a pointer plus four functions (clone, wake, wake_by_ref, drop). Writing the vtable by
//! hand (as tokio does) saves a reference count or two per poll, but every one of those four
//! functions is `unsafe` code that must get reference counting exactly right. `std::task::Wake`
//! generates the same vtable over an `Arc<T>` for us: clone is `Arc::clone`, drop is `Arc::drop`,
//! and all we write is what *wake* means. The one promise we must make ourselves is that the task
//! may be touched from other threads (`Wake` requires `Send + Sync`); that promise, and why it
//! holds, is written next to `unsafe impl Sync for TaskCell` in `task/cell.rs`. For a reader this
//! is one unsafe claim to check instead of four unsafe functions.
//!
//! The waker of the `block_on` future is a second, simpler `Wake` type, [`MainWake`]: that future
//! is not in the task slab (it borrows from the caller's stack), so its wake just sets a flag.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::runtime::context;
use crate::task::TaskId;

/// The part of a runtime that other threads may touch. Everything else lives in `Core`, which
/// never leaves the loop thread.
pub(crate) struct Shared {
    /// Tasks woken by other threads, waiting to be moved into the run queue by the loop.
    remote: Mutex<Vec<TaskId>>,
    /// True while an interrupt of `epoll_wait` is pending, so a burst of remote wakes costs one
    /// eventfd write, not one per wake. Cleared by the loop before it drains `remote`.
    interrupt_pending: AtomicBool,
    /// Set when the `block_on` future was woken; the loop polls it (and does not sleep) when set.
    pub(crate) main_woken: AtomicBool,
    /// Interrupts the reactor's `epoll_wait` from any thread (an eventfd registered with epoll).
    interrupt: mio::Waker,
}

impl Shared {
    /// Creates the shared part around the reactor's interrupt waker.
    pub(crate) fn new(interrupt: mio::Waker) -> Shared {
        Shared {
            remote: Mutex::new(Vec::new()),
            interrupt_pending: AtomicBool::new(false),
            main_woken: AtomicBool::new(true),
            interrupt,
        }
    }

    /// True (and cleared) if the `block_on` future was woken since the last call.
    ///
    /// The loop asks once per turn and the answer is nearly always "no" while tasks run, so it
    /// first *loads* the flag: a plain load costs nothing, where the `swap` that clears it is an
    /// atomic read-modify-write (a locked instruction, ~8 ns here) on every turn. A wake that
    /// lands just after the load is seen at the next turn; the loop does not sleep without
    /// looking at the flag again (`Core::has_ready_work`).
    pub(crate) fn take_main_wake(&self) -> bool {
        self.main_woken.load(Ordering::Acquire) && self.main_woken.swap(false, Ordering::AcqRel)
    }

    /// A wake from another thread: leave the id for the loop and make sure it notices.
    pub(crate) fn push_remote(&self, id: TaskId) {
        // A poisoned lock only means a thread panicked while pushing an id; the Vec is still fine.
        self.remote
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(id);
        self.interrupt_loop();
    }

    /// Wakes the loop out of `epoll_wait`, once per burst.
    pub(crate) fn interrupt_loop(&self) {
        if !self.interrupt_pending.swap(true, Ordering::AcqRel) {
            // An eventfd write fails only if the counter would overflow, which means a wake is
            // already pending: either way the loop will wake up, so the error can be ignored.
            let _ = self.interrupt.wake();
        }
    }

    /// True if another thread may have left ids in the remote queue since the last `take_remote`.
    ///
    /// A pusher sets `interrupt_pending` *after* pushing, so a push this check misses has not
    /// raised the flag yet; it will, and the loop sees it at its next turn (an idle loop is woken
    /// by the eventfd that the same push writes). No wake is lost, only noticed one turn later.
    pub(crate) fn has_remote_wakes(&self) -> bool {
        self.interrupt_pending.load(Ordering::Acquire)
    }

    /// Moves all remotely woken ids into `into` (called by the loop after every park).
    ///
    /// The flag is cleared *before* the queue is drained: a wake that lands after the drain then
    /// sees the flag clear and interrupts the next `epoll_wait`, so no wake is ever stranded.
    pub(crate) fn take_remote(&self, into: &mut Vec<TaskId>) {
        self.interrupt_pending.store(false, Ordering::SeqCst);
        let mut remote = self
            .remote
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        std::mem::swap(&mut *remote, into);
    }
}

/// The waker of the future passed to `block_on`.
pub(crate) struct MainWake {
    /// The runtime whose `block_on` is waiting.
    pub(crate) shared: Arc<Shared>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.main_woken.store(true, Ordering::Release);
        // On the loop thread the flag is enough: the loop checks it before it sleeps.
        if !context::is_loop_of(&self.shared) {
            self.shared.interrupt_loop();
        }
    }
}

/// Creates the reactor's interrupt waker; here so that all of "how wakes travel" is one file.
pub(crate) fn interrupt_waker(registry: &mio::Registry) -> io::Result<mio::Waker> {
    mio::Waker::new(registry, crate::reactor::INTERRUPT_TOKEN)
}
