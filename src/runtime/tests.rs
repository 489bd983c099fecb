//! Unit tests of the loop: wakers, stale ids, dedupe, join handles, panics, nesting.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::{Arc, mpsc};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::task::yield_now;
use crate::{Runtime, spawn};

fn rt() -> Runtime {
    Runtime::new().expect("epoll and eventfd are available")
}

/// Runs `test` on a thread of its own and fails it after 10 s of real time instead of letting a
/// broken loop hang the suite (a runtime is not `Send`, so `test` builds its own).
fn within_10s(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => thread.join().expect("finished"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within 10 s"),
    }
}

/// A future that parks until woken `times` times, handing out its waker through `slot`.
fn parked(slot: Rc<RefCell<Option<Waker>>>, polls: Rc<Cell<u32>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if polls.get() >= 3 {
            return Poll::Ready(());
        }
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

#[test]
fn spawned_task_runs_and_returns_its_output() {
    let rt = rt();
    let out = rt.block_on(async { spawn(async { 6 * 7 }).await });
    assert_eq!(out.expect("task completes"), 42);
    assert_eq!(rt.stats().tasks_alive, 0);
}

#[test]
fn waker_clone_wake_by_ref_and_drop() {
    let rt = rt();
    let slot = Rc::new(RefCell::new(None::<Waker>));
    let polls = Rc::new(Cell::new(0));
    rt.block_on(async {
        let handle = spawn(parked(slot.clone(), polls.clone()));
        yield_now().await;
        assert_eq!(polls.get(), 1);
        let waker = slot.borrow_mut().take().expect("task parked");
        let clone = waker.clone();
        drop(waker); // dropping one clone does not wake or free the task
        yield_now().await;
        assert_eq!(polls.get(), 1, "a task is polled only when woken");
        clone.wake_by_ref();
        yield_now().await;
        assert_eq!(polls.get(), 2);
        slot.borrow_mut().take().expect("parked again").wake();
        handle.await.expect("completes");
        assert_eq!(polls.get(), 3);
        drop(clone); // the last clone outlives the task: harmless
    });
}

#[test]
fn waking_a_queued_task_queues_it_once() {
    let rt = rt();
    let slot = Rc::new(RefCell::new(None::<Waker>));
    let polls = Rc::new(Cell::new(0));
    rt.block_on(async {
        let _handle = spawn(parked(slot.clone(), polls.clone()));
        yield_now().await;
        let waker = slot.borrow_mut().take().expect("parked");
        for _ in 0..10 {
            waker.wake_by_ref();
        }
        yield_now().await;
        yield_now().await;
        assert_eq!(polls.get(), 2, "ten wakes of a queued task give one poll");
    });
    assert_eq!(rt.stats().local_wakes, 1, "only the first wake enqueued");
}

#[test]
fn stale_wake_after_completion_and_slot_reuse_is_harmless() {
    let rt = rt();
    rt.block_on(async {
        let stale: Rc<RefCell<Option<Waker>>> = Rc::default();
        let keep = stale.clone();
        spawn(poll_fn(move |cx| {
            *keep.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        }))
        .await
        .expect("first task completes");
        // The slot is free; the next task reuses it.
        let polls = Rc::new(Cell::new(0));
        let p = polls.clone();
        let second = spawn(poll_fn(move |_| {
            p.set(p.get() + 1);
            Poll::<()>::Pending
        }));
        yield_now().await;
        assert_eq!(polls.get(), 1);
        // Waking the finished task must not poll the task now sitting in its slot.
        stale.borrow_mut().take().expect("waker kept").wake();
        yield_now().await;
        yield_now().await;
        assert_eq!(polls.get(), 1, "a stale id never polls the slot's new task");
        second.abort();
    });
}

#[test]
fn wake_from_another_thread_reaches_the_loop() {
    within_10s(wake_from_another_thread);
}

fn wake_from_another_thread() {
    let rt = rt();
    let (tx, rx) = mpsc::channel::<Waker>();
    let waker_thread = std::thread::spawn(move || {
        let waker = rx.recv().expect("the task sends its waker");
        std::thread::sleep(Duration::from_millis(20)); // the loop is asleep in epoll_wait by now
        waker.wake();
    });
    let mut sent = false;
    rt.block_on(poll_fn(move |cx| {
        if sent {
            return Poll::Ready(());
        }
        sent = true;
        tx.send(cx.waker().clone()).expect("thread alive");
        Poll::Pending
    }));
    waker_thread.join().expect("waker thread");
    let remote_task = rt.block_on(async {
        let (tx, rx) = mpsc::channel::<Waker>();
        let t = std::thread::spawn(move || rx.recv().expect("waker").wake());
        let mut sent = false;
        spawn(poll_fn(move |cx| {
            if sent {
                return Poll::Ready(7);
            }
            sent = true;
            tx.send(cx.waker().clone()).expect("thread alive");
            Poll::Pending
        }))
        .await
        .map(|v| (v, t))
    });
    let (value, t) = remote_task.expect("task woken remotely completes");
    t.join().expect("thread");
    assert_eq!(value, 7);
    assert_eq!(rt.stats().remote_wakes, 1);
}

#[test]
fn abort_cancels_and_runs_the_destructor() {
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let rt = rt();
    let dropped = Rc::new(Cell::new(false));
    let flag = Flag(dropped.clone());
    let err = rt.block_on(async move {
        let handle = spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        handle.abort();
        handle.await.expect_err("aborted")
    });
    assert!(err.is_cancelled());
    assert!(dropped.get());
    assert_eq!(rt.stats().cancelled, 1);
}

#[test]
fn panicking_task_is_isolated() {
    let rt = rt();
    let (err, other) = rt.block_on(async {
        let bad = spawn(async { panic!("boom in task") });
        let good = spawn(async {
            yield_now().await;
            5
        });
        (bad.await.expect_err("panicked"), good.await)
    });
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom in task"));
    assert_eq!(other.expect("neighbour unaffected"), 5);
    assert_eq!(rt.stats().panicked, 1);
}

#[test]
fn detached_task_keeps_running() {
    let rt = rt();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    rt.block_on(async move {
        drop(spawn(async move {
            yield_now().await;
            d.set(true);
        }));
        for _ in 0..3 {
            yield_now().await;
        }
    });
    assert!(done.get());
}

#[test]
fn live_tasks_are_dropped_with_the_runtime() {
    struct Flag(Rc<Cell<u32>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    let rt = rt();
    for _ in 0..3 {
        let flag = Flag(drops.clone());
        rt.block_on(async move {
            drop(spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            }))
        });
    }
    assert_eq!(drops.get(), 0);
    drop(rt);
    assert_eq!(drops.get(), 3);
}

#[test]
#[should_panic(expected = "Runtime::block_on called from inside a runtime")]
fn nested_block_on_is_rejected() {
    let outer = rt();
    let inner = rt();
    outer.block_on(async { inner.block_on(async {}) });
}

#[test]
#[should_panic(expected = "evloop::spawn called outside of a runtime")]
fn spawn_outside_a_runtime_is_rejected() {
    drop(spawn(async {}));
}

#[test]
fn a_task_that_yields_forever_does_not_starve_others() {
    // Real time on purpose: paused time stands still while a task is always ready.
    within_10s(|| {
        let rt = rt();
        rt.block_on(async {
            let spinner = spawn(async {
                loop {
                    yield_now().await;
                }
            });
            // Each turn runs the tasks ready at its start, then the reactor: the timer still fires.
            crate::time::sleep(Duration::from_millis(5)).await;
            spinner.abort();
        });
    });
}

#[test]
#[allow(clippy::async_yields_async)] // the handle leaves block_on on purpose, unawaited
fn block_on_twice_continues_tasks() {
    let rt = rt();
    let counter = Rc::new(Cell::new(0));
    let c = counter.clone();
    let handle = rt.block_on(async move {
        spawn(async move {
            for _ in 0..4 {
                c.set(c.get() + 1);
                yield_now().await;
            }
            "done"
        })
    });
    assert_eq!(rt.block_on(handle).expect("finishes"), "done");
    assert_eq!(counter.get(), 4);
}

#[test]
fn counters_match_a_scripted_scenario() {
    let rt = rt();
    rt.block_on(async {
        let handles: Vec<_> = (0..10).map(|i| spawn(async move { i })).collect();
        for h in handles {
            h.await.expect("completes");
        }
    });
    let stats = rt.stats();
    assert_eq!(stats.spawned, 10);
    assert_eq!(stats.completed, 10);
    assert_eq!(stats.tasks_alive, 0);
    assert_eq!(
        stats.wake_lag.count(),
        10,
        "one wake-to-poll delay per task poll"
    );
    assert!(stats.polls >= 11, "ten tasks plus the block_on future");
    // Keep the Arc import honest: stats are a plain snapshot.
    let _ = Arc::new(stats);
}

#[test]
#[cfg_attr(miri, ignore)] // a real socket pair and epoll
fn a_busy_loop_still_checks_sockets_every_event_interval_polls() {
    use std::io::Write;

    use crate::reactor::{Direction, Registration};
    use crate::runtime::core::EVENT_INTERVAL;

    let rt = rt();
    let spins = Rc::new(Cell::new(0u64));
    rt.block_on(async {
        let (mut reader, mut writer) = mio::net::UnixStream::pair().expect("socketpair");
        let core = crate::runtime::context::expect_current("the test");
        let registration = Registration::new(core.reactor(), &mut reader, mio::Interest::READABLE)
            .expect("register");
        writer
            .write_all(b"x")
            .expect("one byte fits the socket buffer");
        // A task that is always ready: the loop never runs out of work, so it only peeks at the
        // reactor every EVENT_INTERVAL polls instead of sleeping there.
        let counter = spins.clone();
        let spinner = spawn(async move {
            loop {
                counter.set(counter.get() + 1);
                yield_now().await;
            }
        });
        poll_fn(|cx| registration.poll_ready(cx, Direction::Read)).await;
        let spins_before_readable = spins.get();
        spinner.abort();
        registration.deregister(&mut reader).expect("deregister");
        assert!(
            spins_before_readable <= 2 * EVENT_INTERVAL,
            "the readable socket waited {spins_before_readable} polls of a busy neighbour"
        );
    });
    assert!(spins.get() > 0, "the spinner ran while the socket waited");
}

#[test]
#[cfg_attr(miri, ignore)] // a real socket pair and epoll
fn a_paused_loop_serves_ready_io_before_it_jumps_to_a_timer() {
    within_10s(ready_io_then_the_jump);
}

/// A paused loop with an hour-long timer pending and a socket that becomes readable.
fn ready_io_then_the_jump() {
    use std::io::Write;

    use crate::reactor::{Direction, Registration};

    let rt = Runtime::builder()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (mut reader, mut writer) = mio::net::UnixStream::pair().expect("socketpair");
        let core = crate::runtime::context::expect_current("the test");
        let registration = Registration::new(core.reactor(), &mut reader, mio::Interest::READABLE)
            .expect("register");
        let start = core.now();
        let timer = spawn(crate::time::sleep(Duration::from_secs(3600)));
        yield_now().await; // the timer task registers its hour-long timer
        writer.write_all(b"x").expect("one byte fits");
        // The loop is idle but for the socket: its event must win over the jump to the timer.
        poll_fn(|cx| registration.poll_ready(cx, Direction::Read)).await;
        assert_eq!(
            core.now(),
            start,
            "served the socket without moving the clock"
        );
        timer.await.expect("timer");
        assert_eq!(core.now() - start, Duration::from_secs(3600), "then jumped");
        registration.deregister(&mut reader).expect("deregister");
    });
}
