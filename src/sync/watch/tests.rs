//! Unit tests of `watch`: versions, wake-ups, ends, driven by hand with counting wakers.

use std::pin::pin;
use std::task::Poll;

use super::*;
use crate::sync::test_waker::{block_on, counting_waker, poll_once};

#[test]
fn a_new_receiver_has_seen_the_initial_value() {
    let (_, waker) = counting_waker();
    let (_tx, mut rx) = channel(1);
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(!rx.borrow().has_changed());
    assert!(poll_once(&mut rx.changed(), &waker).is_pending());
}

#[test]
fn a_send_wakes_every_waiting_receiver_once() {
    let (tx, mut a) = channel(0);
    let mut b = tx.subscribe();
    let (a_count, a_waker) = counting_waker();
    let (b_count, b_waker) = counting_waker();
    let mut a_changed = a.changed();
    let mut b_changed = b.changed();
    assert!(poll_once(&mut a_changed, &a_waker).is_pending());
    assert!(poll_once(&mut b_changed, &b_waker).is_pending());
    tx.send(1).expect("receivers alive");
    tx.send(2).expect("receivers alive");
    assert_eq!(
        (a_count.wakes(), b_count.wakes()),
        (1, 1),
        "one wake per wait"
    );
    assert_eq!(poll_once(&mut a_changed, &a_waker), Poll::Ready(Ok(())));
    assert_eq!(poll_once(&mut b_changed, &b_waker), Poll::Ready(Ok(())));
    drop((a_changed, b_changed));
    assert_eq!(*a.borrow(), 2, "two sends, one change: the latest value");
    assert_eq!(a.has_changed(), Ok(false), "changed() marked it seen");
}

#[test]
fn borrow_does_not_mark_seen_but_borrow_and_update_does() {
    let (tx, mut rx) = channel("a");
    tx.send("b").expect("receiver alive");
    assert!(rx.borrow().has_changed());
    assert_eq!(rx.has_changed(), Ok(true));
    let seen = rx.borrow_and_update();
    assert!(seen.has_changed());
    assert_eq!(*seen, "b");
    drop(seen);
    assert_eq!(rx.has_changed(), Ok(false));
    rx.mark_changed();
    assert_eq!(rx.has_changed(), Ok(true));
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
}

#[test]
fn send_if_modified_wakes_only_when_the_closure_says_so() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(5);
    let mut changed = rx.changed();
    assert!(poll_once(&mut changed, &waker).is_pending());
    assert!(!tx.send_if_modified(|v| {
        *v += 0;
        false
    }));
    assert_eq!(counter.wakes(), 0);
    tx.send_modify(|v| *v += 1);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut changed, &waker), Poll::Ready(Ok(())));
    drop(changed);
    assert_eq!(tx.send_replace(9), 6);
    assert_eq!(*rx.borrow_and_update(), 9);
}

#[test]
fn the_last_sender_gone_ends_changed_after_the_news_is_read() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(0);
    let mut waiting = rx.changed();
    assert!(poll_once(&mut waiting, &waker).is_pending());
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(counter.wakes(), 0, "one sender is still alive");
    tx2.send(1).expect("receiver alive");
    drop(tx2);
    assert_eq!(
        poll_once(&mut waiting, &waker),
        Poll::Ready(Ok(())),
        "news first"
    );
    drop(waiting);
    assert_eq!(
        poll_once(&mut rx.changed(), &waker),
        Poll::Ready(Err(RecvError(())))
    );
    assert_eq!(rx.has_changed(), Err(RecvError(())));
    assert_eq!(*rx.borrow(), 1, "the last value stays readable");
}

#[test]
fn send_fails_without_receivers_but_send_replace_stores() {
    let (tx, rx) = channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).map_err(|e| e.0), Err(2));
    assert_eq!(*tx.borrow(), 1, "a failed send stores nothing");
    tx.send_replace(3);
    let rx = tx.subscribe();
    assert_eq!(*rx.borrow(), 3);
    assert!(
        !rx.borrow().has_changed(),
        "a subscriber starts having seen it"
    );
}

#[test]
fn closed_completes_when_the_last_receiver_goes() {
    let (counter, waker) = counting_waker();
    let (tx, rx) = channel(());
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    let mut closed = tx.closed();
    assert!(poll_once(&mut closed, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.wakes(), 0);
    drop(rx2);
    assert_eq!(counter.wakes(), 1);
    assert!(poll_once(&mut closed, &waker).is_ready());
}

#[test]
fn a_dropped_changed_leaves_no_waker_behind() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(0);
    assert!(poll_once(&mut rx.changed(), &waker).is_pending());
    tx.send(1).expect("receiver alive");
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn wait_for_returns_the_first_value_that_passes_from_another_thread() {
    let (tx, mut rx) = channel(0);
    let sender = std::thread::spawn(move || {
        for i in 1..=5 {
            tx.send(i).expect("receiver alive");
        }
    });
    let value = block_on(async { *rx.wait_for(|v| *v >= 3).await.expect("sender alive") });
    assert!(value >= 3, "got {value}");
    sender.join().expect("sender thread");
    let mut wait = pin!(rx.wait_for(|v| *v == 99));
    let (_, waker) = counting_waker();
    assert_eq!(
        wait.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .map(|r| r.map(|v| *v)),
        Poll::Ready(Err(RecvError(()))),
        "the sender is gone and 5 will never be 99"
    );
}
