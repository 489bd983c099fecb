//! The thread-local "current runtime": how `spawn`, `sleep` and wakers find the loop.
//!
//! `evloop::spawn(fut)` takes no runtime argument, just like tokio's. It finds the runtime through
//! a thread-local variable that `block_on` sets on entry and clears on exit (also when a panic
//! unwinds through it). That one variable answers three questions:
//!
//! - *Which runtime does `spawn` / `sleep` / `TcpStream::connect` use?* The current one.
//! - *Is this wake on the loop thread?* Yes, if the current runtime is the task's runtime; then the
//!   wake can push onto the run queue directly (see `waker.rs`).
//! - *Is this a nested `block_on`?* Yes, if a runtime is already current: that would block the
//!   loop that is running us, so it is refused with a panic that says what to do instead.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::core::Core;
use crate::task::TaskId;
use crate::waker::Shared;

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

/// Like [`current`], but panics with a helpful message naming `what` outside a runtime.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    current().unwrap_or_else(|| {
        panic!(
            "{what} must be used inside an evloop runtime: call it from a future run by \
             `Runtime::block_on(...)` or by a spawned task"
        )
    })
}

/// True when this thread is running the loop that owns `shared`.
pub(crate) fn is_loop_of(shared: &Arc<Shared>) -> bool {
    with_core(|core| Arc::ptr_eq(core.shared(), shared)).unwrap_or(false)
}

/// Pushes `id` onto the run queue if this thread runs the loop that owns `shared`.
/// Returns false (and does nothing) on any other thread: the caller then uses the remote queue.
pub(crate) fn schedule_local(shared: &Arc<Shared>, id: TaskId) -> bool {
    with_core(|core| {
        let local = Arc::ptr_eq(core.shared(), shared);
        if local {
            core.schedule_local(id);
        }
        local
    })
    .unwrap_or(false)
}

/// Makes `core` current until the guard is dropped. Restores whatever was current before, so a
/// runtime can also be entered to run destructors during its shutdown.
pub(crate) struct EnterGuard {
    /// What was current before `enter`.
    previous: Option<Rc<Core>>,
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
    EnterGuard { previous }
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
