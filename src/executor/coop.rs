//! The cooperative budget: how a task that is never told "wait" still gives the loop back.
//!
//! A task gives the loop back only by returning from `poll`, and an `async fn` returns only when
//! something it awaits says `Pending`. A socket that always has more data (a client streaming as
//! fast as it can) never says so: every read succeeds, every write finds room, and the task's one
//! poll goes on and on. No call in it blocks, yet no other task runs, no socket event is read and
//! no timer fires: the loop is blocked all the same (`docs/07-what-blocking-means.md`, "The
//! second way to block a loop").
//!
//! The same holds for anything else that can be ready every time it is asked: a mutex nobody else
//! wants, a semaphore with permits to spare, a deadline already past, a task that has already
//! finished.
//!
//! So each poll gets a **budget** of resource operations — 128, tokio's number. The scheduler sets
//! it before it polls a task (`Scheduler::run_task`) or the `block_on` future; every operation
//! that completes spends one unit:
//!
//! - `net` (`poll_evented.rs`): a socket read, write, accept or readiness wait;
//! - `sync`: a channel receive (`mpsc`, `broadcast`, `oneshot`), a `watch` `changed()`, a `Mutex`
//!   lock, a `Semaphore` acquire (and so an `RwLock` read or write, built on it), a `Notify`'s
//!   `notified()`;
//! - `time`: a `sleep` that ends, and so an `Interval` tick and a `timeout` that runs out;
//! - `executor` and `task`: a `JoinHandle` that gives its output, a result of `JoinSet::join_next`.
//!
//! Each asks for its unit *before* it takes anything (a permit, the lock, a `notify_one`, a value
//! from the channel), so a refused operation has taken nothing and loses nothing; one that was
//! already handed something while it waited in a queue keeps it for its next poll. When the budget
//! is spent, the next operation does not run: it returns `Pending`, as if the resource had said
//! "not now", and leaves the task's waker on a *deferred* list instead of with the resource. The
//! loop then asks the reactor for events at once (without sleeping: this task is ready), wakes
//! whoever the events and the timers concern, and only then wakes the deferred tasks, so the one
//! that yielded goes to the very back of the run queue, behind the tasks it kept waiting (tokio
//! defers the same way).
//!
//! ```text
//!  run_task: budget = 128 ─► poll ─► read ─► 127 ─► write ─► 126 ─► ... ─► 0
//!                                                                          │
//!        next operation: Pending, nothing read; waker → deferred list ◄────┘
//!  the loop: other ready tasks ─► reactor (timeout 0) + timers: wake their tasks
//!            ─► wake the deferred ─► next turn: the others first, then this task again
//! ```
//!
//! An operation that returns `Pending` for its own reasons gives its unit back
//! ([`RestoreOnPending`]): only completed operations count. Two places look without a budget
//! ([`with_unconstrained`]): a `timeout` whose inner future spent the last unit still checks its
//! deadline (as in tokio; otherwise a busy future could never time out), and
//! `JoinSet::try_join_next`, which cannot return `Pending`, still sees finished tasks.
//!
//! The budget lives in a thread-local, not in the task, for the same reason tokio keeps it there:
//! the operations that spend it (most in `net`, `sync`, `time` and `task`, layers above this one)
//! see only a `Context`, and one loop polls one future at a time on its thread. Outside a poll,
//! and in a runtime built with `Builder::coop_budget(None)`, the budget is unlimited: a future
//! polled by some other executor is never refused.
//!
//! The reactor never sees the budget: it is spent by the callers of `Registration`
//! (`net/poll_evented.rs`), so the reactor stays a pure wrapper of `mio::Poll`.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll, Waker};

/// Operations per poll unless the runtime is built with another budget (tokio's value).
pub(crate) const DEFAULT_BUDGET: u32 = 128;

/// How many more operations the future being polled may complete.
///
/// A plain `u32`, with `u32::MAX` for "no limit", rather than an `Option<u32>`: it is read and
/// written on every socket operation, channel receive, lock and timer that completes, and this way
/// that is one compare and one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget(u32);

impl Budget {
    /// No limit: outside any poll, or when the runtime has the budget turned off.
    pub(crate) const UNCONSTRAINED: Budget = Budget(u32::MAX);

    /// A budget of `units` operations per poll (at least one: a budget of zero would refuse every
    /// operation and the task could never make progress); `None` for no limit.
    pub(crate) fn new(units: Option<u32>) -> Budget {
        match units {
            Some(n) => Budget(n.clamp(1, u32::MAX - 1)),
            None => Budget::UNCONSTRAINED,
        }
    }
}

thread_local! {
    /// What the future being polled on this thread may still spend (a thread runs one poll at a
    /// time). Const-initialised and without a destructor, so using it is a plain thread-local
    /// load and store: it sits on the path of every socket operation.
    static BUDGET: Cell<Budget> = const { Cell::new(Budget::UNCONSTRAINED) };

    /// True while `DEFERRED` may hold wakers. The loop asks on every turn, and the answer is
    /// nearly always no: a plain load of this flag answers it without touching `DEFERRED`.
    static YIELDED: Cell<bool> = const { Cell::new(false) };

    /// Wakers of tasks that yielded for lack of budget, to be woken after the loop's next look at
    /// the reactor ([`wake_deferred`]). It has a destructor (the `Vec`), so every access checks
    /// that the thread is not exiting: kept off the paths that run on every operation and turn.
    static DEFERRED: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
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
            BUDGET.set(self.0);
        }
    }
    let _reset = ResetGuard(BUDGET.replace(budget));
    poll()
}

/// Runs `poll` with no limit, then restores the budget that was there (used where refusing would be
/// wrong: `Timeout` checks its deadline after the inner future spent the budget, and
/// `JoinSet::try_join_next`, which cannot return `Pending`, looks at finished tasks).
#[inline]
pub(crate) fn with_unconstrained<R>(poll: impl FnOnce() -> R) -> R {
    with_budget(Budget::UNCONSTRAINED, poll)
}

/// True while the current poll may still complete an operation (always true outside a poll).
#[inline]
pub(crate) fn has_budget_remaining() -> bool {
    BUDGET.get().0 > 0
}

/// Asks to spend one unit of the current poll's budget on an operation.
///
/// `Ready(guard)`: go ahead; call [`RestoreOnPending::made_progress`] once the operation has
/// completed, or drop the guard on `Pending` and the unit is given back. `Pending`: the budget is
/// spent; the task's waker is already on the deferred list, so returning `Pending` now sends the
/// task to the back of the run queue instead of parking it.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let before = BUDGET.get();
    if before.0 == 0 {
        spent(cx);
        return Poll::Pending;
    }
    if before != Budget::UNCONSTRAINED {
        BUDGET.set(Budget(before.0 - 1));
    }
    Poll::Ready(RestoreOnPending(before))
}

/// The budget ran out: the task is ready, only out of turn; have it woken after the reactor.
#[cold]
fn spent(cx: &mut Context<'_>) {
    log::trace!("budget spent: the task yields");
    let waker = cx.waker().clone(); // cloned outside the borrow: a waker may be anyone's
    // Fails only while the thread is exiting, when nobody will poll again: the waker is dropped.
    if DEFERRED
        .try_with(|deferred| deferred.borrow_mut().push(waker))
        .is_ok()
    {
        YIELDED.set(true);
    }
}

/// True if a task yielded for lack of budget and waits to be woken: the loop must not sleep, and
/// should look at the reactor now rather than after up to 61 more polls (`Core::poll_reactor`).
#[inline]
pub(crate) fn has_deferred() -> bool {
    YIELDED.get()
}

/// Wakes the tasks that yielded for lack of budget (the loop calls it after the reactor and the
/// timers have woken theirs, on every turn: nearly always one load of `YIELDED`, nothing to do).
#[inline]
pub(crate) fn wake_deferred() {
    if YIELDED.replace(false) {
        wake_deferred_now();
    }
}

/// The rare part of [`wake_deferred`]. Woken with no borrow held: a waker may be anyone's.
#[cold]
fn wake_deferred_now() {
    let Ok(mut wakers) = DEFERRED.try_with(|deferred| std::mem::take(&mut *deferred.borrow_mut()))
    else {
        return;
    };
    for waker in wakers.drain(..) {
        waker.wake();
    }
    // Give the emptied buffer back so the next yield does not allocate (unless one came meanwhile).
    let _ = DEFERRED.try_with(|deferred| {
        let mut deferred = deferred.borrow_mut();
        if deferred.is_empty() {
            *deferred = wakers;
        }
    });
}

/// Gives the unit taken by [`poll_proceed`] back unless the operation made progress.
#[must_use = "drop it on Pending, call made_progress() on Ready"]
pub(crate) struct RestoreOnPending(Budget);

impl RestoreOnPending {
    /// The operation completed: the unit stays spent. (Forgetting the guard skips its `Drop`,
    /// which would give the unit back; it owns nothing else, so nothing leaks.)
    #[inline]
    pub(crate) fn made_progress(self) {
        std::mem::forget(self);
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        BUDGET.set(self.0);
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
    fn a_spent_budget_refuses_the_next_operation_and_defers_the_wake() {
        let wakes = Arc::new(CountingWake(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let allowed = with_budget(Budget::new(Some(3)), || {
            (0..5).filter(|_| operation(&mut cx)).count()
        });
        assert_eq!(allowed, 3);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0, "not woken yet");
        assert!(has_deferred(), "the loop is told");
        wake_deferred();
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            2,
            "each refusal's waker, woken once"
        );
        assert!(!has_deferred());
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
        wake_deferred();
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
