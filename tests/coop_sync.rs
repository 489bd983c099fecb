//! The cooperative budget beyond sockets and channels: locks, permits, `Notify`, `watch`, timers
//! already due and tasks already finished must give the loop back too, and lose nothing when they
//! are refused.
//!
//! Every operation tested here can be ready each time it is asked: a mutex nobody else wants, a
//! semaphore with permits to spare, a bell the task rings itself, a deadline in the past, the
//! handle of a task that has finished. A task looping on one never hears "wait", so before these
//! operations spent budget it did all its work in one poll while every other task waited.
//!
//! The method is `tests/coop_budget.rs`'s: a busy task does [`OPERATIONS`] operations next to an
//! *observer* task that only yields and records, at each of its polls, how many were done. The
//! largest step between two records is how long the observer waited, counted in operations:
//! deterministic, whatever the machine's load. With the budget it is at most [`BUDGET`]; with
//! `coop_budget(None)` it is everything.
//!
//! The second half checks what a refusal must not do. Each operation asks for its unit before it
//! takes anything, so a refused acquire, lock, `notified()`, `changed()` or join has taken no
//! permit, lock, ring, change or output, and one that had already been handed a permit, the lock
//! or a ring while it waited in a queue keeps it (and its place) for its next poll.
//!
//! Everything runs with paused time (no clock can make a test flaky) inside `within_real`, so a
//! task that never yields fails loudly instead of hanging.

mod util;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::sync::{Mutex, Notify, RwLock, Semaphore, mpsc, watch};
use evloop::task::{JoinSet, yield_now};
use evloop::time::{Instant, interval_at, sleep, sleep_until, timeout};
use evloop::{Runtime, spawn};

/// tokio's budget, evloop's default.
const BUDGET: usize = 128;
/// Operations the busy task performs: several budgets' worth, all ready at once.
const OPERATIONS: usize = 1000;

/// Runs `make()`'s future to completion on a paused runtime with the default budget
/// (`util::paused`), or with none; fails if that takes more than 10 s of real time.
fn run<T, F>(budget: bool, make: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    if budget {
        return util::paused(make);
    }
    util::init_logging();
    util::within_real(Duration::from_secs(10), move || {
        let runtime = Runtime::builder().start_paused(true).coop_budget(None);
        runtime.build().expect("runtime").block_on(make())
    })
}

/// One operation that is ready every time it is asked.
#[derive(Clone, Copy, Debug)]
enum Op {
    MutexLock,
    RwLockRead,
    RwLockWrite,
    SemaphoreAcquire,
    SemaphoreAcquireOwned,
    NotifyNotified,
    WatchChanged,
    Sleep,
    SleepUntil,
    IntervalTick,
    Timeout,
    JoinHandle,
    JoinSetJoinNext,
}

/// Every operation, for the tests that go through them all.
const ALL: [Op; 13] = [
    Op::MutexLock,
    Op::RwLockRead,
    Op::RwLockWrite,
    Op::SemaphoreAcquire,
    Op::SemaphoreAcquireOwned,
    Op::NotifyNotified,
    Op::WatchChanged,
    Op::Sleep,
    Op::SleepUntil,
    Op::IntervalTick,
    Op::Timeout,
    Op::JoinHandle,
    Op::JoinSetJoinNext,
];

/// Performs `OPERATIONS` operations of kind `op`, each ready at once, counting them in `done`.
async fn busy(op: Op, done: Rc<Cell<usize>>) {
    let count = || done.set(done.get() + 1);
    match op {
        Op::MutexLock => {
            let mutex = Mutex::new(0);
            for _ in 0..OPERATIONS {
                *mutex.lock().await += 1;
                count();
            }
        }
        Op::RwLockRead => {
            let lock = RwLock::new(7);
            for _ in 0..OPERATIONS {
                assert_eq!(*lock.read().await, 7);
                count();
            }
        }
        Op::RwLockWrite => {
            let lock = RwLock::new(0);
            for _ in 0..OPERATIONS {
                *lock.write().await += 1;
                count();
            }
        }
        Op::SemaphoreAcquire => {
            let semaphore = Semaphore::new(1);
            for _ in 0..OPERATIONS {
                drop(semaphore.acquire().await.expect("open"));
                count();
            }
        }
        Op::SemaphoreAcquireOwned => {
            let semaphore = Arc::new(Semaphore::new(1));
            for _ in 0..OPERATIONS {
                drop(semaphore.clone().acquire_owned().await.expect("open"));
                count();
            }
        }
        Op::NotifyNotified => {
            let bell = Notify::new();
            for _ in 0..OPERATIONS {
                bell.notify_one(); // leaves the permit: the next `notified()` is ready
                bell.notified().await;
                count();
            }
        }
        Op::WatchChanged => {
            let (tx, mut rx) = watch::channel(0);
            for i in 0..OPERATIONS {
                tx.send(i).expect("receiver alive");
                rx.changed().await.expect("sender alive");
                count();
            }
        }
        Op::Sleep => {
            for _ in 0..OPERATIONS {
                sleep(Duration::ZERO).await;
                count();
            }
        }
        Op::SleepUntil => {
            let past = Instant::now();
            for _ in 0..OPERATIONS {
                sleep_until(past).await;
                count();
            }
        }
        Op::IntervalTick => {
            // A grid that started OPERATIONS periods ago: every missed tick is due (`Burst`).
            let period = Duration::from_millis(1);
            let start = Instant::now() - period * OPERATIONS as u32;
            let mut ticks = interval_at(start, period);
            for _ in 0..OPERATIONS {
                ticks.tick().await;
                count();
            }
        }
        Op::Timeout => {
            for _ in 0..OPERATIONS {
                let late = timeout(Duration::ZERO, pending::<()>()).await;
                assert!(late.is_err(), "a zero timeout on a pending future elapses");
                count();
            }
        }
        Op::JoinHandle => {
            let handles: Vec<_> = (0..OPERATIONS).map(|i| spawn(async move { i })).collect();
            while !handles.iter().all(|h| h.is_finished()) {
                yield_now().await; // let them all finish before the first join
            }
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.await.expect("no panic"), i);
                count();
            }
        }
        Op::JoinSetJoinNext => {
            let finished = Rc::new(Cell::new(0));
            let mut set = JoinSet::new();
            for _ in 0..OPERATIONS {
                let finished = finished.clone();
                set.spawn(async move { finished.set(finished.get() + 1) });
            }
            while finished.get() < OPERATIONS {
                yield_now().await; // let them all finish before the first join
            }
            while let Some(result) = set.join_next().await {
                result.expect("no panic");
                count();
            }
        }
    }
    assert_eq!(done.get(), OPERATIONS, "{op:?}");
}

/// Runs the busy task for `op` next to an observer; returns what the observer saw.
fn busy_and_observer(op: Op, budget: bool) -> Vec<usize> {
    run(budget, move || async move {
        let done = Rc::new(Cell::new(0));
        let observer = spawn(util::observe(done.clone(), OPERATIONS));
        spawn(busy(op, done)).await.expect("busy task");
        observer.await.expect("observer")
    })
}

/// With the default budget the observer never waits more than one budget of `op`.
fn assert_yields_every_budget(op: Op) {
    let seen = busy_and_observer(op, true);
    let step = util::largest_step(&seen);
    assert!(
        step <= BUDGET,
        "{op:?}: the observer waited {step} operations (budget {BUDGET}); it saw {seen:?}"
    );
}

#[test]
fn a_task_locking_a_free_mutex_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::MutexLock);
}

#[test]
fn a_task_taking_a_free_rwlock_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::RwLockRead);
    assert_yields_every_budget(Op::RwLockWrite);
}

#[test]
fn a_task_acquiring_a_free_permit_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::SemaphoreAcquire);
    assert_yields_every_budget(Op::SemaphoreAcquireOwned);
}

#[test]
fn a_task_ringing_its_own_notify_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::NotifyNotified);
}

#[test]
fn a_task_awaiting_its_own_watch_changes_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::WatchChanged);
}

#[test]
fn a_task_sleeping_until_a_past_deadline_in_a_loop_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::Sleep);
    assert_yields_every_budget(Op::SleepUntil);
}

#[test]
fn an_interval_catching_up_missed_ticks_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::IntervalTick);
}

#[test]
fn a_task_looping_on_elapsed_timeouts_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::Timeout);
}

#[test]
fn a_task_joining_finished_tasks_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::JoinHandle);
}

#[test]
fn a_join_set_full_of_finished_tasks_lets_others_run_every_budget() {
    assert_yields_every_budget(Op::JoinSetJoinNext);
}

#[test]
fn without_the_budget_each_loop_holds_the_loop_until_it_is_done() {
    for op in ALL {
        let seen = busy_and_observer(op, false);
        assert_eq!(
            util::largest_step(&seen),
            OPERATIONS,
            "{op:?}: all in one poll: {seen:?}"
        );
    }
}

// ---- A refusal loses nothing ----

/// Spends what is left of the current poll's budget on channel receives that are always ready
/// (they spent budget before any of the operations under test did); returns how many it took.
fn spend_rest_of_budget(cx: &mut Context<'_>) -> usize {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut spent = 0;
    loop {
        tx.send(()).expect("receiver alive");
        if pin!(rx.recv()).poll(cx).is_pending() {
            return spent;
        }
        spent += 1;
        assert!(
            spent <= BUDGET,
            "receives were never refused: is there a budget?"
        );
    }
}

/// Polls `future` once, as the current task.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Spends the rest of the budget, then polls `future` once: its answer with no budget left.
/// The rest of the current poll has no budget either; the task is woken to go on.
async fn poll_out_of_budget<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| {
        spend_rest_of_budget(cx);
        Poll::Ready(Pin::new(&mut *future).poll(cx))
    })
    .await
}

#[test]
fn a_granted_acquire_refused_for_budget_keeps_its_permit_and_its_place() {
    util::paused(|| async {
        let semaphore = Semaphore::new(1);
        let held = semaphore.acquire().await.expect("open");
        let mut first = Box::pin(semaphore.acquire());
        let mut behind = Box::pin(semaphore.acquire());
        assert!(poll_once(&mut first).await.is_pending(), "queued");
        assert!(
            poll_once(&mut behind).await.is_pending(),
            "queued behind it"
        );
        drop(held); // grants the permit to `first`, which is not polled yet

        assert!(
            poll_out_of_budget(&mut first).await.is_pending(),
            "refused for budget"
        );
        assert_eq!(semaphore.available_permits(), 0, "still reserved for it");
        assert!(semaphore.try_acquire().is_err(), "nobody can take it");

        yield_now().await; // a fresh budget
        let permit = poll_once(&mut first).await;
        let Poll::Ready(permit) = permit else {
            panic!("the granted permit was lost")
        };
        assert!(poll_once(&mut behind).await.is_pending(), "still behind");
        drop(permit.expect("open"));
        let last = poll_once(&mut behind).await;
        assert!(matches!(last, Poll::Ready(Ok(_))), "the permit went on");
        drop(last);
        assert_eq!(semaphore.available_permits(), 1, "every permit is back");
    });
}

#[test]
fn a_granted_acquire_refused_for_budget_then_dropped_passes_its_permit_on() {
    util::paused(|| async {
        let semaphore = Semaphore::new(1);
        let held = semaphore.acquire().await.expect("open");
        let mut first = Box::pin(semaphore.acquire());
        let mut behind = Box::pin(semaphore.acquire());
        assert!(poll_once(&mut first).await.is_pending());
        assert!(poll_once(&mut behind).await.is_pending());
        drop(held);
        assert!(poll_out_of_budget(&mut first).await.is_pending());
        drop(first);
        yield_now().await;
        let next = poll_once(&mut behind).await;
        assert!(
            matches!(next, Poll::Ready(Ok(_))),
            "passed to the next acquirer"
        );
        drop(next);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn a_fresh_acquire_refused_for_budget_takes_no_permit() {
    util::paused(|| async {
        let semaphore = Semaphore::new(1);
        let mut acquire = Box::pin(semaphore.acquire());
        assert!(poll_out_of_budget(&mut acquire).await.is_pending());
        assert_eq!(semaphore.available_permits(), 1, "nothing taken");
        yield_now().await;
        assert!(matches!(poll_once(&mut acquire).await, Poll::Ready(Ok(_))));
    });
}

#[test]
fn a_lock_handed_over_while_out_of_budget_stays_with_its_locker() {
    util::paused(|| async {
        let mutex = Mutex::new(Vec::new());
        let held = mutex.lock().await;
        let mut first = Box::pin(mutex.lock());
        let mut behind = Box::pin(mutex.lock());
        assert!(poll_once(&mut first).await.is_pending());
        assert!(poll_once(&mut behind).await.is_pending());
        drop(held); // hands the lock to `first`

        assert!(poll_out_of_budget(&mut first).await.is_pending(), "refused");
        assert!(mutex.try_lock().is_none(), "the lock stays handed to it");

        yield_now().await;
        let Poll::Ready(mut guard) = poll_once(&mut first).await else {
            panic!("the handed-over lock was lost")
        };
        guard.push("first");
        assert!(poll_once(&mut behind).await.is_pending(), "still behind");
        drop(guard);
        let Poll::Ready(mut guard) = poll_once(&mut behind).await else {
            panic!("the lock did not go on")
        };
        guard.push("behind");
        drop(guard);
        assert_eq!(*mutex.lock().await, ["first", "behind"]);
    });
}

#[test]
fn a_ring_handed_to_a_waiter_out_of_budget_is_kept_not_lost_or_doubled() {
    util::paused(|| async {
        let bell = Notify::new();
        let mut waiter = Box::pin(bell.notified());
        assert!(poll_once(&mut waiter).await.is_pending(), "queued");
        bell.notify_one(); // handed to `waiter`
        assert!(
            poll_out_of_budget(&mut waiter).await.is_pending(),
            "refused"
        );
        yield_now().await;
        assert!(poll_once(&mut waiter).await.is_ready(), "the ring was kept");
        let mut next = Box::pin(bell.notified());
        assert!(poll_once(&mut next).await.is_pending(), "and not doubled");
    });
}

#[test]
fn a_notified_refused_for_budget_leaves_the_permit() {
    util::paused(|| async {
        let bell = Notify::new();
        bell.notify_one(); // nobody waits: the permit
        let mut refused = Box::pin(bell.notified());
        assert!(poll_out_of_budget(&mut refused).await.is_pending());
        drop(refused);
        yield_now().await;
        let mut next = Box::pin(bell.notified());
        assert!(
            poll_once(&mut next).await.is_ready(),
            "the permit is still there"
        );
    });
}

#[test]
fn a_ring_handed_to_a_waiter_dropped_out_of_budget_goes_on_to_the_next() {
    util::paused(|| async {
        let bell = Notify::new();
        let mut first = Box::pin(bell.notified());
        let mut second = Box::pin(bell.notified());
        assert!(poll_once(&mut first).await.is_pending());
        assert!(poll_once(&mut second).await.is_pending());
        bell.notify_one(); // handed to `first`
        assert!(poll_out_of_budget(&mut first).await.is_pending());
        drop(first);
        yield_now().await;
        assert!(poll_once(&mut second).await.is_ready(), "the ring went on");
    });
}

#[test]
fn a_changed_refused_for_budget_marks_nothing_seen() {
    util::paused(|| async {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).expect("receiver alive");
        let mut changed = Box::pin(rx.changed());
        assert!(poll_out_of_budget(&mut changed).await.is_pending());
        drop(changed);
        assert_eq!(rx.has_changed(), Ok(true), "the change is still news");
        yield_now().await;
        rx.changed().await.expect("sender alive");
        assert_eq!(*rx.borrow(), 1);
    });
}

#[test]
fn a_join_refused_for_budget_leaves_the_output_for_the_next_poll() {
    util::paused(|| async {
        let mut handle = spawn(async { 7 });
        while !handle.is_finished() {
            yield_now().await;
        }
        assert!(poll_out_of_budget(&mut handle).await.is_pending());
        yield_now().await;
        assert_eq!(handle.await.expect("no panic"), 7);
    });
}

#[test]
fn a_join_next_refused_for_budget_loses_no_result_and_try_join_next_is_never_refused() {
    util::paused(|| async {
        let mut set = JoinSet::new();
        for i in 0..3 {
            set.spawn(async move { i });
        }
        let mut results = Vec::new();
        while results.is_empty() {
            yield_now().await;
            // Wait for the three to finish without joining them: `try_join_next` takes one.
            if let Some(result) = set.try_join_next() {
                results.push(result.expect("no panic"));
            }
        }
        let refused = poll_out_of_budget(&mut Box::pin(set.join_next())).await;
        assert!(refused.is_pending(), "join_next refused for budget");
        assert_eq!(set.len(), 2, "nothing taken out");
        let taken = set.try_join_next();
        results.push(
            taken
                .expect("try_join_next ignores the budget")
                .expect("no panic"),
        );
        yield_now().await;
        results.push(set.join_next().await.expect("one left").expect("no panic"));
        results.sort();
        assert_eq!(results, [0, 1, 2]);
        assert!(set.join_next().await.is_none());
    });
}

/// The inner future spends the whole budget in every poll. If `Timeout` then asked its `Sleep`
/// with no budget left, the deadline would never be checked and this would hang (and fail at the
/// real-time deadline): tokio polls the delay unconstrained in that case, and so does evloop.
#[test]
fn a_timeout_fires_even_when_its_future_spends_the_whole_budget() {
    let received = util::paused(|| async {
        spawn(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let received = Rc::new(Cell::new(0));
            let count = received.clone();
            let busy = async move {
                loop {
                    tx.send(()).expect("receiver alive");
                    rx.recv().await.expect("sender alive");
                    count.set(count.get() + 1);
                }
            };
            let late = timeout(Duration::ZERO, busy).await;
            assert!(late.is_err(), "the deadline had passed");
            received.get()
        })
        .await
        .expect("no panic")
    });
    assert_eq!(
        received, BUDGET,
        "it timed out in the poll that spent the budget"
    );
}
