//! Unit tests of `Semaphore`, driving acquire futures by hand with counting wakers.

use std::sync::Arc;
use std::task::Poll;

use super::*;
use crate::sync::test_waker::{counting_waker, poll_once};

/// Polls an acquire future that must be ready with permits.
fn ready<'a>(acquire: &mut Acquire<'a>, waker: &Waker) -> SemaphorePermit<'a> {
    match poll_once(acquire, waker) {
        Poll::Ready(Ok(permit)) => permit,
        Poll::Ready(Err(error)) => panic!("expected permits, got {error}"),
        Poll::Pending => panic!("expected permits, got Pending"),
    }
}

#[test]
fn permits_are_counted_out_and_back() {
    let (_, waker) = counting_waker();
    let semaphore = Semaphore::new(3);
    let two = ready(&mut semaphore.acquire_many(2), &waker);
    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!(two.num_permits(), 2);
    let one = semaphore.try_acquire().expect("one left");
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits
    );
    drop(two);
    drop(one);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn acquirers_are_served_in_order_and_a_big_one_holds_back_later_small_ones() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.try_acquire_many(2).expect("free");
    let (big_count, big_waker) = counting_waker();
    let (small_count, small_waker) = counting_waker();
    let mut big = semaphore.acquire_many(2);
    let mut small = semaphore.acquire();
    assert!(poll_once(&mut big, &big_waker).is_pending());
    assert!(poll_once(&mut small, &small_waker).is_pending());

    let mut held = held;
    let one = held.split(1).expect("holds two");
    drop(one); // one permit free, but the head needs two
    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!((big_count.wakes(), small_count.wakes()), (0, 0));
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits,
        "try_acquire must not overtake queued acquirers"
    );
    assert!(poll_once(&mut small, &small_waker).is_pending());
    let (_, newcomer_waker) = counting_waker();
    assert!(
        poll_once(&mut semaphore.acquire(), &newcomer_waker).is_pending(),
        "nor may a new acquire"
    );

    drop(held); // now two: the head is served, and nothing is left for the small one
    assert_eq!((big_count.wakes(), small_count.wakes()), (1, 0));
    let big_permit = ready(&mut big, &big_waker);
    drop(big_permit);
    assert_eq!(small_count.wakes(), 1);
    drop(ready(&mut small, &small_waker));
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn add_permits_wakes_as_many_queued_acquirers_as_fit() {
    let semaphore = Semaphore::new(0);
    let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    let mut acquirers: Vec<_> = (0..3).map(|_| semaphore.acquire()).collect();
    for (acquire, (_, waker)) in acquirers.iter_mut().zip(&wakers) {
        assert!(poll_once(acquire, waker).is_pending());
    }
    semaphore.add_permits(2);
    let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.wakes()).collect();
    assert_eq!(woken, [1, 1, 0]);
    assert_eq!(semaphore.available_permits(), 0, "both are reserved");
}

#[test]
fn a_queued_head_that_gives_up_lets_the_next_one_through() {
    let semaphore = Semaphore::new(1);
    let (_, waker) = counting_waker();
    let (next_count, next_waker) = counting_waker();
    let mut big = semaphore.acquire_many(2);
    let mut small = semaphore.acquire();
    assert!(
        poll_once(&mut big, &waker).is_pending(),
        "needs two, one is free"
    );
    assert!(
        poll_once(&mut small, &next_waker).is_pending(),
        "queued behind"
    );
    drop(big);
    assert_eq!(next_count.wakes(), 1, "the head left; the small one fits");
    drop(ready(&mut small, &next_waker));
}

#[test]
fn a_granted_acquirer_dropped_before_its_poll_passes_the_permits_on() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().expect("free");
    let (_, waker) = counting_waker();
    let (next_count, next_waker) = counting_waker();
    let mut abandoned = semaphore.acquire();
    let mut patient = semaphore.acquire();
    assert!(poll_once(&mut abandoned, &waker).is_pending());
    assert!(poll_once(&mut patient, &next_waker).is_pending());
    drop(held); // reserved for `abandoned`
    assert_eq!(next_count.wakes(), 0);
    drop(abandoned);
    assert_eq!(next_count.wakes(), 1);
    drop(ready(&mut patient, &next_waker));
    assert_eq!(
        semaphore.available_permits(),
        1,
        "no permit lost or doubled"
    );
}

#[test]
fn close_fails_waiting_and_later_acquires_but_keeps_held_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().expect("free");
    let (counter, waker) = counting_waker();
    let mut waiting = semaphore.acquire();
    assert!(poll_once(&mut waiting, &waker).is_pending());
    semaphore.close();
    assert!(semaphore.is_closed());
    assert_eq!(counter.wakes(), 1);
    assert!(matches!(
        poll_once(&mut waiting, &waker),
        Poll::Ready(Err(AcquireError(())))
    ));
    assert!(matches!(
        poll_once(&mut semaphore.acquire(), &waker),
        Poll::Ready(Err(_))
    ));
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::Closed
    );
    drop(held);
    assert_eq!(
        semaphore.available_permits(),
        1,
        "the held permit came back"
    );
}

#[test]
fn close_after_a_grant_fails_the_granted_acquirer_and_frees_its_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().expect("free");
    let (_, waker) = counting_waker();
    let mut granted = semaphore.acquire();
    assert!(poll_once(&mut granted, &waker).is_pending());
    drop(held);
    assert_eq!(semaphore.available_permits(), 0, "reserved");
    semaphore.close();
    assert_eq!(semaphore.available_permits(), 1);
    assert!(matches!(
        poll_once(&mut granted, &waker),
        Poll::Ready(Err(_))
    ));
    drop(granted);
    assert_eq!(semaphore.available_permits(), 1, "not freed twice");
}

#[test]
fn forget_merge_and_split_move_permits_around() {
    let semaphore = Semaphore::new(4);
    let mut permit = semaphore.try_acquire_many(2).expect("free");
    let other = semaphore.try_acquire().expect("free");
    permit.merge(other);
    assert_eq!(permit.num_permits(), 3);
    assert!(permit.split(4).is_none());
    let one = permit.split(1).expect("holds three");
    one.forget();
    drop(permit);
    assert_eq!(
        semaphore.available_permits(),
        3,
        "one permit forgotten for good"
    );
    assert_eq!(semaphore.forget_permits(5), 3);
    assert_eq!(semaphore.available_permits(), 0);
}

#[test]
fn owned_permits_keep_the_semaphore_alive() {
    let (_, waker) = counting_waker();
    let semaphore = Arc::new(Semaphore::new(1));
    let permit = match poll_once(&mut semaphore.clone().acquire_owned(), &waker) {
        Poll::Ready(Ok(permit)) => permit,
        _ => panic!("one permit is free"),
    };
    assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    assert_eq!(
        semaphore.clone().try_acquire_owned().unwrap_err(),
        TryAcquireError::NoPermits
    );
    drop(permit);
    assert!(semaphore.try_acquire_owned().is_ok());
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_two_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut permit = a.try_acquire().expect("free");
    permit.merge(b.try_acquire().expect("free"));
}
