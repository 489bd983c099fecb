//! Whole-runtime tests of tasks: spawning many, join handles across tasks, panics, shutdown.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use evloop::time::sleep;
use evloop::{Runtime, spawn, spawn_named, task::yield_now};

#[test]
fn many_tasks_spawned_from_tasks_all_complete() {
    let rt = util::runtime();
    let n: u64 = if cfg!(miri) { 50 } else { 10_000 };
    let total = rt.block_on(async move {
        let parent = spawn(async move {
            let children: Vec<_> = (0..n).map(|i| spawn(async move { i })).collect();
            let mut sum = 0;
            for c in children {
                sum += c.await.expect("child completes");
            }
            sum
        });
        parent.await.expect("parent completes")
    });
    assert_eq!(total, n * (n - 1) / 2);
    let stats = rt.stats();
    assert_eq!(stats.spawned, n + 1);
    assert_eq!(stats.tasks_alive, 0);
}

#[test]
fn a_panic_does_not_stop_the_loop_or_other_tasks() {
    let rt = util::runtime();
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    rt.block_on(async move {
        let ticker = spawn(async move {
            for _ in 0..5 {
                t.set(t.get() + 1);
                yield_now().await;
            }
        });
        let bad = spawn_named("bad", async {
            yield_now().await;
            panic!("deliberate")
        });
        assert!(bad.await.expect_err("panics").is_panic());
        ticker.await.expect("ticker finishes");
    });
    assert_eq!(ticks.get(), 5);
}

#[test]
fn dropping_the_runtime_drops_tasks_parked_on_timers() {
    struct Flag(Rc<Cell<u32>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let dropped = Rc::new(Cell::new(0));
    let rt = util::runtime();
    for _ in 0..10 {
        let flag = Flag(dropped.clone());
        rt.block_on(async move {
            drop(spawn(async move {
                let _flag = flag;
                sleep(Duration::from_secs(3600)).await;
            }));
            yield_now().await; // let the task register its timer
        });
    }
    assert_eq!(rt.stats().timers_pending, 10);
    drop(rt);
    assert_eq!(dropped.get(), 10, "every parked task's destructor ran");
}

#[test]
fn destructors_may_spawn_during_shutdown() {
    struct SpawnOnDrop;
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            drop(spawn(async {}));
        }
    }
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        drop(spawn(async {
            let _s = SpawnOnDrop;
            std::future::pending::<()>().await;
        }));
        yield_now().await;
    });
    drop(rt); // must terminate, with the late task dropped too
}

#[test]
fn a_waker_outliving_its_runtime_is_harmless() {
    let rt = util::runtime();
    let waker = rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = spawn(std::future::poll_fn(move |cx| {
            tx.send(cx.waker().clone()).expect("receiver alive");
            std::task::Poll::<()>::Pending
        }));
        yield_now().await;
        drop(h);
        rx.recv().expect("waker sent")
    });
    drop(rt);
    // Wake and drop on another thread, after the runtime is gone.
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .expect("waking a dead runtime's task does not panic");
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn slow_polls_are_counted_and_named_in_stats() {
    let rt = Runtime::builder()
        .slow_poll_threshold(Some(Duration::from_millis(50)))
        .build()
        .expect("runtime");
    rt.block_on(async {
        spawn_named("sleeper", async {
            std::thread::sleep(Duration::from_millis(80)); // blocks the loop on purpose
        })
        .await
        .expect("completes");
    });
    let stats = rt.stats();
    assert_eq!(stats.slow_polls, 1);
    assert!(stats.longest_poll >= Duration::from_millis(80));
    assert_eq!(stats.longest_poll_task, Some(1));
}
