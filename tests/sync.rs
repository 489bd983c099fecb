//! Whole-runtime tests of `evloop::sync`: the execution lock serialising tasks, cancellation of
//! lockers by timeout and abort, channels between tasks and from a worker thread.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::sync::{Mutex, mpsc, oneshot};
use evloop::task::yield_now;
use evloop::time::{sleep, timeout};
use evloop::{JoinHandle, spawn};

/// How long each locker holds the lock in the serialisation test.
const CRITICAL_SECTION: Duration = Duration::from_millis(100);

/// Awaits `future`, failing loudly instead of hanging if a wake-up was lost.
async fn within_10s<F: std::future::Future>(future: F) -> F::Output {
    timeout(Duration::from_secs(10), future)
        .await
        .expect("no progress for 10 s: a lost wake-up?")
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn three_lockers_with_100ms_critical_sections_take_300ms_in_fifo_order() {
    let rt = util::runtime();
    let lock = Rc::new(Mutex::new(()));
    let asked = Rc::new(RefCell::new(Vec::new()));
    let served = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    rt.block_on(async {
        let lockers: Vec<JoinHandle<()>> = (0..3)
            .map(|i| {
                let (lock, asked, served) = (lock.clone(), asked.clone(), served.clone());
                spawn(async move {
                    // Locker i yields 2 - i times first, so they ask in the order 2, 1, 0: the
                    // lock must follow the order of asking, not the order of spawning.
                    for _ in 0..2 - i {
                        yield_now().await;
                    }
                    asked.borrow_mut().push(i);
                    let _guard = lock.lock().await;
                    served.borrow_mut().push((i, start.elapsed()));
                    sleep(CRITICAL_SECTION).await; // the request's work, under the lock
                })
            })
            .collect();
        for locker in lockers {
            within_10s(locker).await.expect("locker completes");
        }
    });
    let took = start.elapsed();
    let served = served.borrow();
    let order: Vec<usize> = served.iter().map(|(i, _)| *i).collect();
    assert_eq!(order, *asked.borrow(), "served in the order they asked");
    assert_eq!(order, [2, 1, 0]);
    for pair in served.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= CRITICAL_SECTION,
            "overlapping critical sections: {served:?}"
        );
    }
    assert!(took >= 3 * CRITICAL_SECTION, "not serialised: {took:?}");
    assert!(took < Duration::from_secs(3), "far too slow: {took:?}");
    let stats = lock.contention();
    println!("execution lock: {stats}");
    assert_eq!(
        (stats.acquisitions, stats.contended, stats.cancelled),
        (3, 2, 0)
    );
    assert_eq!(stats.max_queued, 2);
    assert!(stats.longest_wait >= 2 * CRITICAL_SECTION, "{stats}");
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn a_locker_that_times_out_does_not_stall_the_next() {
    let rt = util::runtime();
    let lock = Rc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let holder = {
            let lock = lock.clone();
            spawn(async move {
                // Spawned first, so polled first: takes the lock while it is free.
                let mut guard = lock.lock().await;
                sleep(Duration::from_millis(50)).await;
                guard.push("holder");
            })
        };
        let impatient = {
            let lock = lock.clone();
            spawn(async move {
                timeout(Duration::from_millis(10), lock.lock())
                    .await
                    .is_err()
            })
        };
        let patient = {
            let lock = lock.clone();
            spawn(async move {
                let mut guard = timeout(Duration::from_secs(5), lock.lock())
                    .await
                    .expect("the lock reaches the patient locker");
                guard.push("patient");
            })
        };
        assert!(
            within_10s(impatient).await.expect("completes"),
            "impatient timed out"
        );
        within_10s(holder).await.expect("completes");
        within_10s(patient).await.expect("completes");
    });
    assert_eq!(*lock.try_lock().expect("free"), ["holder", "patient"]);
    assert_eq!(lock.contention().cancelled, 1);
}

#[test]
fn a_locker_aborted_after_being_handed_the_lock_passes_it_on() {
    let rt = util::runtime();
    let lock = Rc::new(Mutex::new(0));
    let doomed: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    rt.block_on(async {
        let guard = lock.try_lock().expect("free");
        let granted_then_aborted = {
            let lock = lock.clone();
            spawn(async move {
                *lock.lock().await += 1;
                unreachable!("aborted before it could run with the lock");
            })
        };
        let next = {
            let lock = lock.clone();
            spawn(async move { *lock.lock().await += 10 })
        };
        yield_now().await; // both lockers queue
        drop(guard); // hands the lock to the first locker and wakes it...
        granted_then_aborted.abort(); // ...which is cancelled before it runs
        doomed.borrow_mut().replace(granted_then_aborted);
        within_10s(next)
            .await
            .expect("the lock moved on to the next locker");
    });
    let handle = doomed.borrow_mut().take().expect("stored");
    let outcome = rt.block_on(handle);
    assert!(outcome.expect_err("aborted").is_cancelled());
    assert_eq!(*lock.try_lock().expect("free"), 10);
    assert_eq!(lock.contention().cancelled, 1);
}

// Under Miri this also checks that awaiting the handle of a task parked in `recv()` (a future that
// borrows the task's own receiver) leaves that task's future untouched.
#[test]
fn mpsc_ping_pong_between_two_tasks() {
    let rt = util::runtime();
    let rounds: u32 = if cfg!(miri) { 100 } else { 10_000 };
    let (ping_tx, mut ping_rx) = mpsc::channel::<u32>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u32>(1);
    let total = rt.block_on(async move {
        let ponger = spawn(async move {
            while let Some(n) = ping_rx.recv().await {
                pong_tx.send(n + 1).await.expect("pinger alive");
            }
        });
        let pinger = spawn(async move {
            let mut n = 0;
            for _ in 0..rounds {
                ping_tx.send(n).await.expect("ponger alive");
                n = pong_rx.recv().await.expect("ponger replies");
            }
            n // dropping ping_tx here ends the ponger's loop
        });
        let total = within_10s(pinger).await.expect("pinger completes");
        within_10s(ponger)
            .await
            .expect("ponger ends when the pinger hangs up");
        total
    });
    assert_eq!(total, rounds);
}

#[test]
fn a_bounded_channel_holds_a_fast_producer_to_the_consumers_pace() {
    let rt = util::runtime();
    let capacity = 2;
    let (tx, mut rx) = mpsc::channel(capacity);
    let sent = Rc::new(Cell::new(0));
    let received = Rc::new(Cell::new(0));
    rt.block_on(async {
        let producer = {
            let (sent, received) = (sent.clone(), received.clone());
            spawn(async move {
                for i in 0..20 {
                    tx.send(i).await.expect("consumer alive");
                    sent.set(sent.get() + 1);
                    let ahead = sent.get() - received.get();
                    assert!(ahead <= capacity, "producer {ahead} values ahead");
                }
            })
        };
        while let Some(i) = within_10s(rx.recv()).await {
            assert_eq!(i, received.get(), "in order");
            received.set(received.get() + 1);
            yield_now().await; // a slow consumer: the producer gets to run in between
        }
        within_10s(producer).await.expect("producer completes");
    });
    assert_eq!((sent.get(), received.get()), (20, 20));
}

#[test]
fn a_worker_thread_replies_through_a_oneshot() {
    let rt = util::runtime();
    let (tx, rx) = oneshot::channel();
    let (job_tx, job_rx) = std::sync::mpsc::channel::<u64>();
    let worker = thread::spawn(move || {
        let n = job_rx.recv().expect("a job arrives");
        tx.send((1..=n).product::<u64>())
            .expect("the task still waits");
    });
    let reply = rt.block_on(async {
        let waiting = spawn(rx);
        yield_now().await; // the task now waits on the receiver
        job_tx.send(10).expect("worker alive");
        within_10s(waiting).await.expect("task completes")
    });
    assert_eq!(reply, Ok(3_628_800));
    worker.join().expect("worker does not panic");
}

#[test]
fn an_unbounded_sender_on_a_thread_feeds_a_task() {
    let rt = util::runtime();
    let n = if cfg!(miri) { 50 } else { 5_000 };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).expect("task alive");
        }
    });
    let sum = rt.block_on(async {
        let mut sum = 0u64;
        while let Some(i) = within_10s(rx.recv()).await {
            sum += i;
        }
        sum
    });
    worker.join().expect("worker does not panic");
    assert_eq!(sum, n * (n - 1) / 2);
}
