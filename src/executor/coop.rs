//! The cooperative budget: how a task that is never told "wait" still gives the loop back.
//!
//! A task gives the loop back only by returning from `poll`, and an `async fn` returns only when
//! something it awaits says `Pending`. A socket that always has more data (a client streaming as
//! fast as it can) never says so: every read succeeds, every write finds room, and the task's one
//! poll goes on and on. No call in it blocks, yet no other task runs, no socket event is read and
//! no timer fires: the loop is blocked all the same (`docs/05-what-blocking-means.md`, "The
//! second way to block a loop").
//!
//! So each poll gets a **budget** of resource operations — 128, tokio's number. The scheduler sets
//! it before it polls a task (`Scheduler::run_task`) or the `block_on` future; every operation
//! that completes (a socket read, write, accept or readiness wait in `net`, a channel receive in
//! `sync`) spends one unit. When the budget is spent, the next operation does not run: it wakes
//! its own task and returns `Pending`, as if the resource had said "not now". The task goes to the
//! back of the run queue, and the loop checks the reactor before it polls the task again.
//!
//! ```text
//!  run_task: budget = 128 ─► poll ─► read ─► 127 ─► write ─► 126 ─► ... ─► 0
//!                                                                          │
//!            next operation: wake own task, Pending (nothing read) ◄───────┘
//!  the loop: other ready tasks, then the reactor (events for everyone), then this task again
//! ```
//!
//! An operation that returns `Pending` for its own reasons gives its unit back
//! ([`RestoreOnPending`]): only completed operations count.
//!
//! The budget lives in a thread-local, not in the task, for the same reason tokio keeps it there:
//! the operations that spend it (in `net` and `sync`, layers above this one) see only a `Context`,
//! and one loop polls one future at a time on its thread. Outside a poll, and in a runtime built
//! with `Builder::coop_budget(None)`, the budget is unlimited: a future polled by some other
//! executor is never refused.
//!
//! The reactor never sees the budget: it is spent by the callers of `Registration`
//! (`net/poll_evented.rs`), so the reactor stays a pure wrapper of `mio::Poll`.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations per poll unless the runtime is built with another budget (tokio's value).
pub(crate) const DEFAULT_BUDGET: u32 = 128;

/// How many more operations the future being polled may complete; `None`: no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget(Option<u32>);

impl Budget {
    /// No limit: outside any poll, or when the runtime has the budget turned off.
    pub(crate) const UNCONSTRAINED: Budget = Budget(None);

    /// A budget of `units` operations per poll (at least one: a budget of zero would refuse every
    /// operation and the task could never make progress); `None` for no limit.
    pub(crate) fn new(units: Option<u32>) -> Budget {
        Budget(units.map(|n| n.max(1)))
    }
}

/// The budget of the poll running on this thread, and whether one ran out since the loop last
/// asked.
struct CoopState {
    /// What the future being polled may still spend.
    budget: Cell<Budget>,
    /// Set when an operation was refused for lack of budget; cleared by [`take_yielded`].
    yielded: Cell<bool>,
}

thread_local! {
    /// One per thread: a thread runs at most one poll at a time. Const-initialised and without a
    /// destructor, so reading it is a plain thread-local load.
    static COOP: CoopState = const {
        CoopState {
            budget: Cell::new(Budget::UNCONSTRAINED),
            yielded: Cell::new(false),
        }
    };
}

/// Runs `poll` (one poll of a task or of the `block_on` future) with `budget`, then restores the
/// budget that was there before — also when `poll` panics, so a budget can never leak out of its
/// poll into code that is not a poll at all.
#[inline]
pub(crate) fn with_budget<R>(budget: Budget, poll: impl FnOnce() -> R) -> R {
    /// Puts the previous budget back when dropped.
    struct ResetGuard(Budget);
    impl Drop for ResetGuard {
        #[inline]
        fn drop(&mut self) {
            COOP.with(|coop| coop.budget.set(self.0));
        }
    }
    let _reset = ResetGuard(COOP.with(|coop| coop.budget.replace(budget)));
    poll()
}

/// Asks to spend one unit of the current poll's budget on an operation.
///
/// `Ready(guard)`: go ahead; call [`RestoreOnPending::made_progress`] once the operation has
/// completed, or drop the guard on `Pending` and the unit is given back. `Pending`: the budget is
/// spent; the task has already been woken, so returning `Pending` now sends it to the back of the
/// run queue instead of parking it.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    COOP.with(|coop| {
        let before = coop.budget.get();
        match before.0 {
            None => Poll::Ready(RestoreOnPending(Cell::new(None))),
            Some(0) => {
                spent(coop, cx);
                Poll::Pending
            }
            Some(units) => {
                coop.budget.set(Budget(Some(units - 1)));
                Poll::Ready(RestoreOnPending(Cell::new(Some(before))))
            }
        }
    })
}

/// The budget ran out: wake the task (it is ready, only out of turn) and tell the loop.
#[cold]
fn spent(coop: &CoopState, cx: &mut Context<'_>) {
    log::trace!("budget spent: the task yields");
    coop.yielded.set(true);
    cx.waker().wake_by_ref();
}

/// True (and cleared) if an operation was refused for lack of budget since the last call: the
/// loop then asks the reactor for events before polling again (`Core::poll_reactor`), so that the
/// task that yielded does not go on starving sockets until the next regular check.
#[inline]
pub(crate) fn take_yielded() -> bool {
    COOP.with(|coop| coop.yielded.replace(false))
}

/// Gives the unit taken by [`poll_proceed`] back unless the operation made progress.
#[must_use = "drop it on Pending, call made_progress() on Ready"]
pub(crate) struct RestoreOnPending(Cell<Option<Budget>>);

impl RestoreOnPending {
    /// The operation completed: the unit stays spent.
    #[inline]
    pub(crate) fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if let Some(before) = self.0.get() {
            COOP.with(|coop| coop.budget.set(before));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    /// Counts its wakes.
    struct CountingWake(AtomicUsize);
    impl Wake for CountingWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Spends one unit as a completed operation would; true if it was allowed.
    fn operation(cx: &mut Context<'_>) -> bool {
        match poll_proceed(cx) {
            Poll::Ready(guard) => {
                guard.made_progress();
                true
            }
            Poll::Pending => false,
        }
    }

    #[test]
    fn a_spent_budget_refuses_the_next_operation_and_wakes_the_task() {
        let wakes = Arc::new(CountingWake(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let allowed = with_budget(Budget::new(Some(3)), || {
            (0..5).filter(|_| operation(&mut cx)).count()
        });
        assert_eq!(allowed, 3);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2, "each refusal wakes");
        assert!(take_yielded(), "the loop is told");
        assert!(!take_yielded(), "once");
    }

    #[test]
    fn an_operation_that_ends_pending_gives_its_unit_back() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        with_budget(Budget::new(Some(1)), || {
            for _ in 0..10 {
                let guard = poll_proceed(&mut cx);
                assert!(guard.is_ready(), "a Pending operation spends nothing");
                drop(guard); // the operation said Pending
            }
            assert!(operation(&mut cx), "the one unit is still there");
            assert!(!operation(&mut cx));
        });
        take_yielded();
    }

    #[test]
    fn outside_a_poll_and_when_turned_off_nothing_is_refused() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!((0..1000).all(|_| operation(&mut cx)), "outside any poll");
        with_budget(Budget::new(None), || {
            assert!((0..1000).all(|_| operation(&mut cx)), "budget off");
        });
        with_budget(Budget::new(Some(0)), || {
            assert!(operation(&mut cx), "a budget of zero is raised to one");
        });
    }

    #[test]
    fn the_budget_is_restored_after_a_poll_even_one_that_panics() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let panicked = std::panic::catch_unwind(|| {
            with_budget(Budget::new(Some(1)), || panic!("a poll panics"));
        });
        assert!(panicked.is_err());
        assert!((0..1000).all(|_| operation(&mut cx)), "unlimited again");
    }
}
