//! The current scheduler: which loop runs on this thread, for `spawn` and for every wake.
//!
//! While a runtime's `block_on` runs, its scheduler is *current* on that thread (a thread-local
//! that the runtime sets through [`Scheduler::enter`]). Two things ask for it:
//!
//! - `spawn` (`executor/mod.rs`): where to put the new task;
//! - a wake (`waker.rs`): is it *local* — this thread runs the loop that owns the task, so the id
//!   goes straight onto the run queue — or *remote*, through the task's loop's inbox? The answer
//!   is a pointer comparison of the two loops' inboxes.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::TaskId;
use super::scheduler::Scheduler;
use super::waker::Inbox;

thread_local! {
    /// The scheduler whose loop is running on this thread, if any (set by `Scheduler::enter`).
    static CURRENT: RefCell<Option<Rc<Scheduler>>> = const { RefCell::new(None) };
}

impl Scheduler {
    /// Makes `scheduler` current on this thread until the guard is dropped; restores whatever
    /// was current before (a runtime may be dropped, and so entered, inside another).
    pub(crate) fn enter(scheduler: &Rc<Scheduler>) -> EnterGuard {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(Rc::clone(scheduler)));
        EnterGuard { previous }
    }

    /// Runs `f` with the current scheduler, or returns `None` outside a loop.
    ///
    /// `f` must not run user code: it holds a shared borrow of the thread-local.
    pub(crate) fn with_current<R>(f: impl FnOnce(&Scheduler) -> R) -> Option<R> {
        // `try_with`: a waker may be dropped or woken while this thread's locals are destroyed.
        CURRENT
            .try_with(|current| current.borrow().as_deref().map(f))
            .ok()
            .flatten()
    }

    /// True when this thread runs the loop that owns `inbox`.
    pub(crate) fn is_current(inbox: &Arc<Inbox>) -> bool {
        Scheduler::with_current(|s| Arc::ptr_eq(&s.inbox, inbox)).unwrap_or(false)
    }

    /// Pushes `id` onto the run queue if this thread runs the loop that owns `inbox`.
    /// Returns false (and does nothing) on any other thread: the caller then uses the inbox.
    pub(crate) fn schedule_if_current(inbox: &Arc<Inbox>, id: TaskId) -> bool {
        Scheduler::with_current(|s| {
            let local = Arc::ptr_eq(&s.inbox, inbox);
            if local {
                s.schedule_local(id);
            }
            local
        })
        .unwrap_or(false)
    }
}

/// Keeps a scheduler current; see [`Scheduler::enter`].
pub(crate) struct EnterGuard {
    /// What was current before `enter`.
    previous: Option<Rc<Scheduler>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Take the old value out first and drop it after the borrow ends: dropping an `Rc` may
        // run destructors that look at `CURRENT` again.
        let old =
            CURRENT.try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous));
        drop(old);
    }
}
