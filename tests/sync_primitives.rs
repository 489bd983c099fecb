//! Whole-runtime tests of `Notify`, `Semaphore`, `RwLock`, `watch` and `broadcast`: tasks on a
//! real `evloop::Runtime`, ordered by `yield_now` and by the primitives themselves (no sleeps).

mod util;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use evloop::sync::broadcast::{self, error::RecvError};
use evloop::sync::{Notify, RwLock, Semaphore, watch};
use evloop::task::yield_now;
use evloop::time::timeout;
use evloop::{JoinHandle, spawn};

/// Runs `future` on a fresh runtime, failing loudly instead of hanging.
fn run<F: Future>(future: F) -> F::Output {
    util::runtime().block_on(async {
        timeout(Duration::from_secs(10), future)
            .await
            .expect("no progress for 10 s: a lost wake-up?")
    })
}

/// True if `future` completes within one yield of the calling task (every task that was ready
/// gets one turn in between).
async fn completes_now<F: Future>(future: F) -> bool {
    evloop::select! {
        biased;
        _ = future => true,
        () = yield_now() => false,
    }
}

/// Waits for every handle; a panic in a task fails the test.
async fn join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        handle.await.expect("task completes");
    }
}

/// A shared log of events, in the order they happened.
type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, event: impl Into<String>) {
    log.borrow_mut().push(event.into());
}

#[test]
fn notify_one_before_anyone_waits_is_kept_as_one_permit() {
    run(async {
        let notify = Rc::new(Notify::new());
        notify.notify_one();
        notify.notify_one(); // a second ring adds nothing
        let waiter = spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        waiter.await.expect("the permit let it through");
        assert!(
            !completes_now(notify.notified()).await,
            "only one permit was kept"
        );
    });
}

#[test]
fn notify_waiters_wakes_every_waiting_task_and_leaves_no_permit() {
    run(async {
        let notify = Rc::new(Notify::new());
        let log: Log = Rc::default();
        let waiters: Vec<JoinHandle<()>> = (0..3)
            .map(|i| {
                let (notify, log) = (notify.clone(), log.clone());
                spawn(async move {
                    notify.notified().await;
                    note(&log, format!("woken {i}"));
                })
            })
            .collect();
        yield_now().await; // every waiter is now queued
        notify.notify_waiters();
        join_all(waiters).await;
        assert_eq!(*log.borrow(), ["woken 0", "woken 1", "woken 2"]);
        assert!(
            !completes_now(notify.notified()).await,
            "no permit left behind"
        );
    });
}

#[test]
fn notify_one_wakes_waiters_one_at_a_time_in_arrival_order() {
    run(async {
        let notify = Rc::new(Notify::new());
        let log: Log = Rc::default();
        let waiters: Vec<JoinHandle<()>> = (0..3)
            .map(|i| {
                let (notify, log) = (notify.clone(), log.clone());
                spawn(async move {
                    notify.notified().await;
                    note(&log, format!("woken {i}"));
                })
            })
            .collect();
        yield_now().await;
        for expected in 1..=3 {
            notify.notify_one();
            yield_now().await;
            assert_eq!(log.borrow().len(), expected, "one ring, one waiter");
        }
        join_all(waiters).await;
        assert_eq!(*log.borrow(), ["woken 0", "woken 1", "woken 2"]);
    });
}

#[test]
fn semaphore_serves_acquirers_in_order_and_a_big_request_holds_back_later_small_ones() {
    run(async {
        let semaphore = Rc::new(Semaphore::new(3));
        let log: Log = Rc::default();
        let held = semaphore.try_acquire_many(3).expect("all free");
        // Ask in this order: 1 permit, 3 permits, 1 permit.
        let acquirers: Vec<JoinHandle<()>> = [(0, 1), (1, 3), (2, 1)]
            .into_iter()
            .map(|(i, n)| {
                let (semaphore, log) = (semaphore.clone(), log.clone());
                spawn(async move {
                    for _ in 0..i {
                        yield_now().await; // fixes the order of asking
                    }
                    let permit = semaphore.acquire_many(n).await.expect("open");
                    note(&log, format!("{i} got {n}"));
                    yield_now().await; // hold the permits across a turn
                    drop(permit);
                    note(&log, format!("{i} gave {n} back"));
                })
            })
            .collect();
        for _ in 0..3 {
            yield_now().await; // everyone queued
        }
        drop(held);
        join_all(acquirers).await;
        assert_eq!(
            *log.borrow(),
            [
                "0 got 1",
                // 2 permits are free, but the request for 3 is next: task 2 waits behind it.
                "0 gave 1 back",
                "1 got 3",
                "1 gave 3 back",
                "2 got 1",
                "2 gave 1 back",
            ]
        );
        assert_eq!(semaphore.available_permits(), 3);
    });
}

#[test]
fn closing_a_semaphore_fails_waiting_acquirers_and_later_ones() {
    run(async {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().expect("free");
        let waiter = spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire_owned().await.map(|_| ()) }
        });
        yield_now().await;
        semaphore.close();
        assert!(waiter.await.expect("task completes").is_err());
        assert!(semaphore.acquire().await.is_err());
        drop(held);
        assert_eq!(
            semaphore.available_permits(),
            1,
            "held permits still come back"
        );
    });
}

#[test]
fn an_acquire_cancelled_by_select_passes_its_turn_on() {
    run(async {
        let semaphore = Rc::new(Semaphore::new(1));
        let held = semaphore.try_acquire().expect("free");
        let gave_up = evloop::select! {
            biased;
            _ = semaphore.acquire() => false,
            () = yield_now() => true,
        };
        assert!(gave_up, "the acquire lost and was dropped while queued");
        let next = spawn({
            let semaphore = semaphore.clone();
            async move { drop(semaphore.acquire().await.expect("open")) }
        });
        yield_now().await;
        drop(held);
        next.await.expect("the next acquirer got the permit");
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn rwlock_writer_waits_for_readers_and_later_readers_wait_for_the_writer() {
    run(async {
        let lock = Rc::new(RwLock::new(0));
        let log: Log = Rc::default();
        let first_reader = lock.read().await;
        note(&log, "reader 1 in");
        let writer = spawn({
            let (lock, log) = (lock.clone(), log.clone());
            async move {
                let mut value = lock.write().await;
                note(&log, "writer in");
                *value += 1;
                yield_now().await; // hold the write lock across a turn
                note(&log, "writer out");
            }
        });
        yield_now().await; // the writer is queued behind reader 1
        let late_reader = spawn({
            let (lock, log) = (lock.clone(), log.clone());
            async move {
                let value = lock.read().await;
                note(&log, format!("reader 2 in, sees {}", *value));
            }
        });
        yield_now().await;
        assert!(
            lock.try_read().is_err(),
            "no reader may overtake the waiting writer"
        );
        note(&log, "reader 1 out");
        drop(first_reader);
        join_all(vec![writer, late_reader]).await;
        assert_eq!(
            *log.borrow(),
            [
                "reader 1 in",
                "reader 1 out",
                "writer in",
                "writer out",
                "reader 2 in, sees 1"
            ]
        );
    });
}

#[test]
fn watch_receivers_see_every_change_they_wait_for_and_coalesce_bursts() {
    run(async {
        let (tx, mut rx) = watch::channel(0);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let watcher = spawn({
            let seen = seen.clone();
            async move {
                while rx.changed().await.is_ok() {
                    seen.borrow_mut().push(*rx.borrow_and_update());
                }
            }
        });
        yield_now().await; // the watcher waits
        for i in 1..=3 {
            tx.send(i).expect("the watcher is alive");
            yield_now().await; // the watcher runs before the next send
        }
        // A burst: three sends with no turn in between are one change.
        for i in 4..=6 {
            tx.send(i).expect("the watcher is alive");
        }
        yield_now().await;
        drop(tx); // ends the watcher's loop
        watcher.await.expect("watcher completes");
        assert_eq!(*seen.borrow(), [1, 2, 3, 6]);
    });
}

#[test]
fn watch_wait_for_and_sender_closed() {
    run(async {
        let (tx, rx) = watch::channel("starting");
        let waiter = spawn({
            let mut rx = rx.clone();
            async move {
                let state = rx.wait_for(|s| *s == "ready").await.expect("sender alive");
                assert_eq!(*state, "ready");
            }
        });
        yield_now().await;
        tx.send("loading").expect("receivers alive");
        yield_now().await;
        tx.send("ready").expect("receivers alive");
        waiter.await.expect("waiter completes");
        drop(rx);
        tx.closed().await; // every receiver is gone now
        assert!(tx.send("nobody listens").is_err());
    });
}

#[test]
fn broadcast_reaches_every_receiver_and_tells_a_slow_one_how_much_it_missed() {
    run(async {
        let (tx, mut fast) = broadcast::channel(2);
        let mut slow = tx.subscribe();
        let fast_task = spawn(async move {
            let mut got = Vec::new();
            while let Ok(i) = fast.recv().await {
                got.push(i);
            }
            got
        });
        yield_now().await; // the fast receiver waits
        for i in 0..5 {
            tx.send(i).expect("receivers alive");
            yield_now().await; // the fast receiver keeps up
        }
        drop(tx);
        assert_eq!(fast_task.await.expect("task completes"), [0, 1, 2, 3, 4]);
        // The slow one never read: capacity 2 kept only 3 and 4.
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(3)));
        assert_eq!(slow.recv().await, Ok(3));
        assert_eq!(slow.recv().await, Ok(4));
        assert_eq!(slow.recv().await, Err(RecvError::Closed));
    });
}

#[test]
fn primitives_are_send_and_sync_like_tokios() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Notify>();
    send_sync::<Semaphore>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<watch::Sender<String>>();
    send_sync::<watch::Receiver<String>>();
    send_sync::<broadcast::Sender<String>>();
    send_sync::<broadcast::Receiver<String>>();
    send_sync::<evloop::sync::OwnedSemaphorePermit>();

    // The futures too, so code written for tokio's multi-threaded spawn still compiles.
    fn send<T: Send>(_: &T) {}
    let (notify, semaphore, lock) = (Notify::new(), Semaphore::new(1), RwLock::new(1));
    let (tx, mut rx) = watch::channel(1);
    let (btx, mut brx) = broadcast::channel::<u8>(1);
    send(&notify.notified());
    send(&semaphore.acquire());
    send(&lock.write());
    send(&tx.closed());
    send(&rx.changed());
    send(&rx.wait_for(|v| *v > 1));
    send(&brx.recv());
    drop(btx);
}
