//! The thread-local "current runtime": how sockets, timers and `spawn_blocking` find the loop.
//!
//! `TcpStream::connect(addr)` and `sleep(d)` take no runtime argument, just like tokio's. They
//! find the runtime through a thread-local variable that `block_on` sets on entry and clears on
//! exit (also when a panic unwinds through it). Entering a runtime makes three things current,
//! each in the layer that owns it, so that no lower layer has to reach up to the runtime:
//!
//! - the runtime's `Core` (here): for the reactor and the timers, used by `net` and `time`;
//! - its executor's `Scheduler` (`executor/current.rs`): for `spawn`, and to tell a local wake
//!   from a remote one;
//! - its `Worker` (`worker/current.rs`): for `spawn_blocking`.
//!
//! The same variable answers one more question: *is this a nested `block_on`?* Yes, if a
//! runtime is already current: that would block the loop that is running us, so it is refused
//! with a panic that says what to do instead.

use std::cell::RefCell;
use std::rc::Rc;

use super::core::Core;
use crate::executor::current;
use crate::executor::scheduler::Scheduler;
use crate::worker;

thread_local! {
    /// The runtime whose `block_on` is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Runs `f` with the current runtime, or returns `None` outside one.
///
/// `f` must not run user code: it holds a shared borrow of `CURRENT`, and a nested `block_on`
/// inside it would fail to set the variable.
pub(crate) fn with_core<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    // `try_with`: a waker may be dropped or woken while this thread's locals are being destroyed.
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// A clone of the current runtime's core, for things that outlive one call (a `Sleep`, a socket).
pub(crate) fn current() -> Option<Rc<Core>> {
    with_core(Rc::clone)
}

/// Like [`current()`], but panics with a helpful message naming `what` outside a runtime.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    current().unwrap_or_else(|| {
        panic!(
            "{what} must be used inside an evloop runtime: call it from a future run by \
             `Runtime::block_on(...)` or by a spawned task"
        )
    })
}

/// Makes a runtime current until the guard is dropped. Restores whatever was current before, so
/// a runtime can also be entered to run destructors during its shutdown.
pub(crate) struct EnterGuard {
    /// What was current before `enter`.
    previous: Option<Rc<Core>>,
    /// Keeps the runtime's scheduler current (dropped after `previous` is restored).
    _scheduler: current::EnterGuard,
    /// Keeps the runtime's worker current.
    _worker: worker::current::EnterGuard,
}

/// Enters `core` for `block_on`.
///
/// # Panics
/// If a runtime is already current on this thread: a nested `block_on` would block the outer loop.
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    let nested = with_core(|_| ()).is_some();
    assert!(
        !nested,
        "Runtime::block_on called from inside a runtime: this would block the event loop that is \
         running the caller. Use `.await` on the future instead, or `evloop::spawn` it"
    );
    enter_unchecked(core)
}

/// Enters `core` whatever is current (used by runtime shutdown to run destructors).
pub(crate) fn enter_unchecked(core: &Rc<Core>) -> EnterGuard {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(Rc::clone(core)));
    EnterGuard {
        previous,
        _scheduler: Scheduler::enter(core.scheduler()),
        _worker: worker::current::enter(core.worker(), core.trace()),
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Take the old value out first and drop it after the borrow ends: dropping an `Rc<Core>`
        // may run arbitrary destructors that look at `CURRENT` again.
        let old =
            CURRENT.try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous));
        drop(old);
    }
}
