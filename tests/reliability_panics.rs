//! Panics (issue #9): a panic in a task's poll, in a future's destructor, in an output's or a panic
//! payload's destructor, or in the `block_on` future never takes the loop down. The side that
//! waits gets a [`JoinError`](evloop::JoinError); every other task keeps running; the runtime can
//! still be used and dropped.
//!
//! A destructor that panics is the hard case: it runs when the loop *ends* a task (abort,
//! completion, shutdown), in the loop's own code, where no poll is there to catch it. These tests
//! pin down that the loop catches it there too (`TaskCell::finish`, `src/task/cell.rs`).
//!
//! No sockets, no clocks: everything here also runs under Miri (which checks that an unwinding
//! destructor leaves no dangling pointer or leak behind).

mod echo_harness;
mod reliability_support;
mod util;

use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use echo_harness::within;
use evloop::task::yield_now;
use evloop::{JoinError, spawn, spawn_blocking, spawn_named};
use reliability_support::runtime_with_pool;

/// Marks a drop in a shared count, then panics if asked to. `Send` (an `Arc`), so that it can
/// also be a panic payload.
struct Bomb {
    /// Destructors run so far.
    dropped: Arc<AtomicU32>,
    /// Panic in `drop` (after counting).
    explode: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        if self.explode {
            panic!("deliberate panic in a destructor");
        }
    }
}

/// A bomb that panics when dropped, counting into `dropped`.
fn bomb(dropped: &Arc<AtomicU32>) -> Bomb {
    Bomb {
        dropped: dropped.clone(),
        explode: true,
    }
}

/// Holds `value` and never finishes: a parked task whose future still owns it.
async fn parked_with<T: 'static>(value: T) {
    let _value = value;
    pending::<()>().await;
}

/// A future that owns a bomb and ends on its second poll, returning or panicking. The bomb is a
/// field, so it goes off only when the loop drops the ended future (an `async` block would drop
/// it inside that last poll instead, and while unwinding a panic that would abort the process).
struct EndsHolding {
    /// Goes off when the ended future is dropped.
    _bomb: Bomb,
    /// Returned `Pending` once already.
    polled: bool,
    /// Panic (instead of returning) on the second poll.
    panic: bool,
}

impl Future for EndsHolding {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.panic {
            panic!("first panic, in poll");
        }
        Poll::Ready(())
    }
}

/// A future owning `bomb` that returns (or panics) on its second poll.
fn ends_holding(bomb: Bomb, panic: bool) -> EndsHolding {
    EndsHolding {
        _bomb: bomb,
        polled: false,
        panic,
    }
}

/// A task that counts to `n`, one loop turn per step: "the loop keeps serving".
fn counter(n: u32) -> evloop::JoinHandle<u32> {
    spawn(async move {
        let mut i = 0;
        while i < n {
            i += 1;
            yield_now().await;
        }
        i
    })
}

#[test]
fn panicking_tasks_give_join_errors_and_the_others_finish() {
    let rt = util::runtime();
    const TASKS: u32 = 60;
    rt.block_on(async {
        let ticker = counter(200);
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                spawn_named(format!("task-{i}"), async move {
                    yield_now().await;
                    match i % 3 {
                        0 => panic!("deliberate panic {i}"),
                        1 => std::panic::panic_any(i), // a payload that is not a string
                        _ => i,
                    }
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let i = i as u32;
            match (i % 3, handle.await) {
                (0, Err(e)) => {
                    assert!(e.is_panic());
                    assert_eq!(e.panic_message(), Some(&*format!("deliberate panic {i}")));
                }
                (1, Err(e)) => {
                    let payload = e.into_panic();
                    assert_eq!(payload.downcast_ref::<u32>(), Some(&i));
                }
                (2, Ok(value)) => assert_eq!(value, i),
                (_, other) => panic!("task {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(ticker.await.expect("the ticker is unharmed"), 200);
    });
    let stats = rt.stats();
    assert_eq!(stats.panicked, u64::from(TASKS / 3 * 2));
    assert_eq!(stats.tasks_alive, 0);
}

#[test]
fn aborting_a_task_whose_destructor_panics_cancels_it_and_the_loop_goes_on() {
    let rt = util::runtime();
    let dropped = Arc::new(AtomicU32::new(0));
    rt.block_on(async {
        let ticker = counter(50);
        let victim = spawn(parked_with(bomb(&dropped)));
        yield_now().await; // the victim is parked now
        victim.abort();
        let err = victim.await.expect_err("an aborted task has no output");
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "its future was dropped, once"
        );
        assert_eq!(ticker.await.expect("the ticker is unharmed"), 50);
        // And new work is still taken.
        assert_eq!(counter(10).await.expect("a new task runs"), 10);
    });
    assert_eq!(rt.stats().tasks_alive, 0);
    assert_eq!(rt.stats().cancelled, 1);
}

#[test]
fn a_detached_task_whose_destructor_panics_on_completion_is_contained() {
    let rt = util::runtime();
    let dropped = Arc::new(AtomicU32::new(0));
    rt.block_on(async {
        // Completes normally; the loop then drops the finished future, which still owns the bomb.
        drop(spawn(ends_holding(bomb(&dropped), false)));
        // A panic payload that panics when dropped, in a task nobody joins: the loop drops the
        // `JoinError` itself.
        let d = dropped.clone();
        drop(spawn(async move {
            yield_now().await;
            std::panic::panic_any(bomb(&d));
        }));
        // An output that panics when dropped, in a task nobody joins.
        let d = dropped.clone();
        drop(spawn(async move {
            yield_now().await;
            bomb(&d)
        }));
        assert_eq!(counter(20).await.expect("the loop keeps serving"), 20);
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        3,
        "every bomb went off, and was caught"
    );
    assert_eq!(rt.stats().tasks_alive, 0);
}

#[test]
fn a_task_that_panics_in_poll_and_again_in_its_destructor_is_one_join_error() {
    let rt = util::runtime();
    let dropped = Arc::new(AtomicU32::new(0));
    rt.block_on(async {
        let handle = spawn(ends_holding(bomb(&dropped), true));
        let err = handle.await.expect_err("it panicked");
        assert_eq!(err.panic_message(), Some("first panic, in poll"));
        assert_eq!(counter(5).await.expect("the loop keeps serving"), 5);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_a_runtime_that_holds_tasks_whose_destructors_panic_returns_normally() {
    let dropped = Arc::new(AtomicU32::new(0));
    let harmless = Arc::new(AtomicU32::new(0));
    let rt = util::runtime();
    // The handle leaves the runtime on purpose, to be awaited after the runtime is gone.
    #[allow(clippy::async_yields_async)]
    let joined = rt.block_on(async {
        for _ in 0..3 {
            drop(spawn(parked_with(bomb(&dropped))));
            // Between two bombs, a task with a well-behaved destructor: it must still be dropped.
            drop(spawn(parked_with(Bomb {
                dropped: harmless.clone(),
                explode: false,
            })));
        }
        // One whose handle outlives the runtime.
        let joined = spawn(parked_with(bomb(&dropped)));
        yield_now().await; // all parked
        joined
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| drop(rt)));
    assert!(
        outcome.is_ok(),
        "no destructor's panic escapes the runtime's drop"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        4,
        "every panicking destructor ran"
    );
    assert_eq!(
        harmless.load(Ordering::SeqCst),
        3,
        "and every other one too"
    );
    // The handle resolves, in another runtime, to "cancelled".
    let err: JoinError = util::runtime()
        .block_on(joined)
        .expect_err("the task was dropped with its runtime");
    assert!(err.is_cancelled());
}

#[test]
fn a_panic_out_of_block_on_leaves_the_runtime_usable() {
    let rt = util::runtime();
    #[allow(clippy::async_yields_async)] // the handle is awaited in a later block_on
    let slow = rt.block_on(async { counter(30) });
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            yield_now().await;
            panic!("deliberate panic in the block_on future");
        })
    }));
    assert!(
        panicked.is_err(),
        "a block_on future's panic reaches the caller"
    );
    // The runtime is not current any more (a nested block_on would be refused otherwise), and the
    // task spawned before the panic carries on.
    let counted = rt.block_on(slow).expect("the task survived the panic");
    assert_eq!(counted, 30);
    let counted = rt.block_on(async { counter(3).await });
    assert_eq!(counted.expect("new work runs"), 3);
}

/// Panics in `drop` with a payload that is itself a bomb: whoever drops the payload panics again.
struct BombThrower {
    /// Destructors run so far (the thrower's and its payload's).
    dropped: Arc<AtomicU32>,
}

impl Drop for BombThrower {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(bomb(&self.dropped));
    }
}

#[test]
fn a_destructor_panicking_with_a_payload_that_panics_when_dropped_is_contained() {
    let rt = util::runtime();
    let dropped = Arc::new(AtomicU32::new(0));
    rt.block_on(async {
        let thrower = BombThrower {
            dropped: dropped.clone(),
        };
        let victim = spawn(parked_with(thrower));
        yield_now().await;
        victim.abort();
        let err = victim.await.expect_err("aborted");
        assert!(err.is_cancelled());
        assert_eq!(counter(5).await.expect("the loop keeps serving"), 5);
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "the thrower and its payload"
    );
}

#[test]
fn panicking_blocking_jobs_give_join_errors_and_the_pool_keeps_its_threads() {
    const JOBS: u32 = if cfg!(miri) { 12 } else { 120 };
    let rt = runtime_with_pool(4);
    within(&rt, 60, async {
        let handles: Vec<_> = (0..JOBS)
            .map(|i| {
                spawn_blocking(move || match i % 3 {
                    0 => panic!("blocking job {i} panicked"),
                    1 => std::panic::panic_any(i),
                    _ => i * 2,
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let i = i as u32;
            match (i % 3, handle.await) {
                (0, Err(e)) => {
                    assert_eq!(
                        e.panic_message(),
                        Some(&*format!("blocking job {i} panicked"))
                    )
                }
                (1, Err(e)) => assert_eq!(e.into_panic().downcast_ref::<u32>(), Some(&i)),
                (2, Ok(value)) => assert_eq!(value, i * 2),
                (_, other) => panic!("job {i}: unexpected {other:?}"),
            }
        }
        // The pool still serves, on the threads it had: no thread died with a panic.
        for i in 0..JOBS {
            assert_eq!(spawn_blocking(move || i + 1).await.expect("runs"), i + 1);
        }
    });
    let stats = rt.worker_stats();
    assert_eq!(
        stats.offloaded,
        u64::from(JOBS) * 2,
        "every job ran on a pool thread"
    );
    assert!(
        stats.threads_spawned <= 4,
        "{} threads",
        stats.threads_spawned
    );
    assert!(stats.threads_alive >= 1 && stats.threads_alive <= 4);
}

#[test]
fn a_detached_blocking_job_whose_result_panics_when_dropped_does_not_kill_its_thread() {
    // One pool thread. The job's handle is dropped while the job runs, so the thread itself drops
    // the result when it arrives — and the result's destructor panics. The thread must live on
    // (or be replaced): the next job must run.
    let dropped = Arc::new(AtomicU32::new(0));
    let rt = runtime_with_pool(1);
    within(&rt, 60, async {
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let d = dropped.clone();
        let handle = spawn_blocking(move || {
            gate.recv().expect("the test releases the job");
            bomb(&d)
        });
        drop(handle); // detached while running
        release.send(()).expect("the job waits");
        // A job whose panic payload panics when dropped, also detached.
        let d = dropped.clone();
        drop(spawn_blocking(move || std::panic::panic_any(bomb(&d))));
        assert_eq!(
            spawn_blocking(|| 7).await.expect("the pool still serves"),
            7
        );
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 2, "both bombs went off");
    let stats = rt.worker_stats();
    assert_eq!(
        (stats.threads_spawned, stats.threads_alive),
        (1, 1),
        "the one thread survived both"
    );
}

#[test]
fn dropping_a_runtime_with_a_queued_job_whose_closure_panics_when_dropped_returns_normally() {
    // One pool thread, busy until the runtime is gone; a second job waits in the queue, holding a
    // bomb. The runtime's drop cancels the queued job, dropping its closure (and the bomb) unrun.
    let dropped = Arc::new(AtomicU32::new(0));
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let rt = runtime_with_pool(1);
    rt.block_on(async {
        let (started, running) = evloop::sync::oneshot::channel();
        drop(spawn_blocking(move || {
            started.send(()).expect("the test waits for the start");
            gate.recv().expect("the test releases the job");
        }));
        running.await.expect("the first job runs"); // so it is not in the queue any more
        let b = bomb(&dropped);
        drop(spawn_blocking(move || drop(b)));
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| drop(rt)));
    release.send(()).expect("the first job still waits");
    assert!(
        outcome.is_ok(),
        "no destructor's panic escapes the runtime's drop"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the queued job was dropped unrun"
    );
}
