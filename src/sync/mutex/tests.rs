//! Unit tests of `Mutex`, driving `lock()` futures by hand with counting wakers.

use std::cell::Cell;
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use super::*;
use crate::sync::test_waker::{block_on, counting_waker, poll_once};

/// Polls a `lock()` future that must be ready.
fn ready<'a, T: ?Sized>(lock: &mut Lock<'a, T>, waker: &Waker) -> MutexGuard<'a, T> {
    match poll_once(lock, waker) {
        Poll::Ready(guard) => guard,
        Poll::Pending => panic!("expected the lock"),
    }
}

#[test]
fn an_uncontended_lock_is_ready_at_once_and_counts_no_wait() {
    let (counter, waker) = counting_waker();
    let mutex = Mutex::new(1);
    *ready(&mut mutex.lock(), &waker) += 1;
    assert_eq!(*ready(&mut mutex.lock(), &waker), 2);
    let stats = mutex.contention();
    assert_eq!((stats.acquisitions, stats.contended), (2, 0));
    assert_eq!(stats.total_wait, Duration::ZERO);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let mutex = Mutex::new(());
    let guard = mutex.try_lock().expect("free");
    assert!(mutex.try_lock().is_none());
    drop(guard);
    assert!(mutex.try_lock().is_some());
    assert_eq!(mutex.contention().acquisitions, 2);
}

#[test]
fn lockers_get_the_lock_in_the_order_they_started_waiting() {
    let mutex = Mutex::new(Vec::new());
    let holder = mutex.try_lock().expect("free");
    let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    let mut lockers: Vec<_> = (0..3).map(|_| mutex.lock()).collect();
    for (locker, (_, waker)) in lockers.iter_mut().zip(&wakers) {
        assert!(poll_once(locker, waker).is_pending());
    }
    drop(holder);
    for i in 0..3 {
        let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.wakes()).collect();
        let mut expected = vec![0; 3];
        expected[..=i].fill(1);
        assert_eq!(
            woken,
            expected,
            "after {i} handoffs only the first {} woke",
            i + 1
        );
        // Polling the later lockers first changes nothing: they stay queued.
        for j in (i + 1..3).rev() {
            assert!(poll_once(&mut lockers[j], &wakers[j].1).is_pending());
        }
        let mut guard = ready(&mut lockers[i], &wakers[i].1);
        guard.push(i);
    }
    assert_eq!(*mutex.try_lock().expect("all done"), [0, 1, 2]);
    assert_eq!(mutex.contention().contended, 3);
    assert_eq!(mutex.contention().max_queued, 3);
}

#[test]
fn a_newcomer_cannot_overtake_a_locker_that_was_handed_the_lock() {
    let (_, waker) = counting_waker();
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let mut first = mutex.lock();
    assert!(poll_once(&mut first, &waker).is_pending());
    drop(holder); // hands the lock to `first`, which has not run yet
    assert!(mutex.try_lock().is_none(), "try_lock must not steal it");
    let mut newcomer = mutex.lock();
    assert!(poll_once(&mut newcomer, &waker).is_pending());
    drop(ready(&mut first, &waker));
    drop(ready(&mut newcomer, &waker));
}

#[test]
fn a_locker_dropped_while_waiting_does_not_stall_the_next() {
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let (gave_up, gave_up_waker) = counting_waker();
    let (next, next_waker) = counting_waker();
    let mut cancelled = mutex.lock();
    let mut patient = mutex.lock();
    assert!(poll_once(&mut cancelled, &gave_up_waker).is_pending());
    assert!(poll_once(&mut patient, &next_waker).is_pending());
    drop(cancelled); // e.g. its timeout ran out
    drop(holder);
    assert_eq!((gave_up.wakes(), next.wakes()), (0, 1));
    drop(ready(&mut patient, &next_waker));
    assert_eq!(mutex.contention().cancelled, 1);
    assert!(mutex.try_lock().is_some(), "unlocked at the end");
}

#[test]
fn a_granted_locker_dropped_before_its_poll_passes_the_lock_on() {
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let (granted, granted_waker) = counting_waker();
    let (next, next_waker) = counting_waker();
    let mut abandoned = mutex.lock();
    let mut patient = mutex.lock();
    assert!(poll_once(&mut abandoned, &granted_waker).is_pending());
    assert!(poll_once(&mut patient, &next_waker).is_pending());
    drop(holder);
    assert_eq!(
        granted.wakes(),
        1,
        "the lock was handed to the first locker"
    );
    drop(abandoned); // ...whose task was cancelled before it ran
    assert_eq!(next.wakes(), 1, "so the lock moved on");
    drop(ready(&mut patient, &next_waker));
    assert!(mutex.try_lock().is_some(), "unlocked at the end");
    let stats = mutex.contention();
    assert_eq!(
        (stats.acquisitions, stats.contended, stats.cancelled),
        (3, 1, 1)
    );
}

#[test]
fn the_last_granted_locker_dropped_unlocks() {
    let (_, waker) = counting_waker();
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let mut abandoned = mutex.lock();
    assert!(poll_once(&mut abandoned, &waker).is_pending());
    drop(holder);
    drop(abandoned);
    assert!(mutex.try_lock().is_some());
}

#[test]
fn a_repoll_with_another_waker_moves_the_wake_up_there() {
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let (old, old_waker) = counting_waker();
    let (new, new_waker) = counting_waker();
    let mut locker = mutex.lock();
    assert!(poll_once(&mut locker, &old_waker).is_pending());
    assert!(poll_once(&mut locker, &new_waker).is_pending());
    drop(holder);
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
    drop(ready(&mut locker, &new_waker));
}

#[test]
fn contended_waits_are_timed() {
    let (_, waker) = counting_waker();
    let mutex = Mutex::new(());
    let holder = mutex.try_lock().expect("free");
    let mut locker = mutex.lock();
    // The locker reads the clock inside its first poll and again inside the poll that gets the
    // lock; bracket both reads to bound the wait it records from both sides.
    let before_queueing = Instant::now();
    assert!(poll_once(&mut locker, &waker).is_pending());
    let after_queueing = Instant::now();
    drop(holder);
    let before_granting = Instant::now();
    let guard = ready(&mut locker, &waker);
    let after_granting = Instant::now();
    let stats = mutex.contention();
    assert_eq!(stats.contended, 1);
    assert!(
        stats.longest_wait <= after_granting - before_queueing,
        "{stats:?}"
    );
    assert!(
        stats.longest_wait >= before_granting - after_queueing,
        "{stats:?}"
    );
    assert_eq!(stats.total_wait, stats.longest_wait);
    drop(guard);
}

#[test]
#[should_panic(expected = "polled after it returned its guard")]
fn polling_a_finished_lock_panics() {
    let (_, waker) = counting_waker();
    let mutex = Mutex::new(());
    let mut lock = mutex.lock();
    let _guard = ready(&mut lock, &waker);
    let _ = poll_once(&mut lock, &waker);
}

#[test]
fn get_mut_and_into_inner_need_no_lock() {
    let mut mutex = Mutex::new(String::from("a"));
    mutex.get_mut().push('b');
    assert_eq!(mutex.into_inner(), "ab");
}

#[test]
fn a_mutex_of_a_send_value_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mutex<Cell<u32>>>(); // `Cell` is `Send` but not `Sync`
    assert_send_sync::<MutexGuard<'static, u32>>();
    assert_send_sync::<Lock<'static, Cell<u32>>>();
}

#[test]
fn threads_take_turns_and_see_each_others_writes() {
    let threads = 4;
    let rounds = if cfg!(miri) { 10 } else { 1_000 };
    let mutex = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mutex = mutex.clone();
            thread::spawn(move || {
                for _ in 0..rounds {
                    block_on(async {
                        let mut guard = mutex.lock().await;
                        // A read-modify-write that would lose updates without exclusion.
                        let seen = *guard;
                        thread::yield_now();
                        *guard = seen + 1;
                    });
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("locker thread does not panic");
    }
    assert_eq!(*mutex.try_lock().expect("free"), threads * rounds);
    assert_eq!(mutex.contention().acquisitions, threads * rounds + 1);
}

#[test]
fn debug_shows_the_state_not_the_value() {
    let mutex = Mutex::new(7);
    let guard = mutex.try_lock().expect("free");
    assert!(format!("{mutex:?}").starts_with("Mutex { locked: true, queued: 0"));
    assert_eq!(format!("{guard:?}"), "7");
}
