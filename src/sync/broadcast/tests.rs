//! Unit tests of `broadcast`: fan-out, lag, freeing, ends, driven by hand with counting wakers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use super::*;
use crate::sync::test_waker::{counting_waker, poll_once};

#[test]
fn every_receiver_gets_every_value_in_order() {
    let (tx, mut a) = channel(4);
    let mut b = tx.subscribe();
    for i in 0..3 {
        assert_eq!(tx.send(i), Ok(2), "two receivers");
    }
    for rx in [&mut a, &mut b] {
        let got: Vec<i32> = (0..3).map(|_| rx.try_recv().expect("sent")).collect();
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    assert!(tx.is_empty(), "read by everyone, so freed");
}

#[test]
fn a_subscriber_gets_only_what_is_sent_after_it_subscribed() {
    let (tx, _rx) = channel(4);
    tx.send("before").expect("receiver alive");
    let mut late = tx.subscribe();
    assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    tx.send("after").expect("receivers alive");
    assert_eq!(late.try_recv(), Ok("after"));
}

#[test]
fn a_slow_receiver_is_told_how_many_it_missed_and_resumes_at_the_oldest_kept() {
    let (tx, mut slow) = channel(2);
    for i in 0..5 {
        tx.send(i).expect("receiver alive");
    }
    assert_eq!(slow.len(), 2);
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(slow.try_recv(), Ok(3));
    assert_eq!(slow.try_recv(), Ok(4));
    assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_send_wakes_every_waiting_receiver() {
    let (tx, mut a) = channel(1);
    let mut b = tx.subscribe();
    let (a_count, a_waker) = counting_waker();
    let (b_count, b_waker) = counting_waker();
    let mut a_recv = a.recv();
    let mut b_recv = b.recv();
    assert!(poll_once(&mut a_recv, &a_waker).is_pending());
    assert!(poll_once(&mut b_recv, &b_waker).is_pending());
    tx.send('x').expect("receivers alive");
    assert_eq!((a_count.wakes(), b_count.wakes()), (1, 1));
    assert_eq!(poll_once(&mut a_recv, &a_waker), Poll::Ready(Ok('x')));
    assert_eq!(poll_once(&mut b_recv, &b_waker), Poll::Ready(Ok('x')));
}

#[test]
fn the_end_comes_after_the_remaining_values() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel(4);
    tx.send(1).expect("receiver alive");
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(poll_once(&mut rx.recv(), &waker), Poll::Ready(Ok(1)));
    assert_eq!(
        poll_once(&mut rx.recv(), &waker),
        Poll::Ready(Err(RecvError::Closed))
    );
}

#[test]
fn the_last_sender_dropped_wakes_a_waiting_receiver() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel::<u8>(1);
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        poll_once(&mut recv, &waker),
        Poll::Ready(Err(RecvError::Closed))
    );
}

#[test]
fn send_without_receivers_gives_the_value_back() {
    let (tx, rx) = channel(1);
    drop(rx);
    assert_eq!(tx.send(7).map_err(|e| e.0), Err(7));
    let _rx = tx.subscribe();
    assert_eq!(tx.send(8), Ok(1), "a new subscriber reopens it");
}

/// Counts its clones, to see who clones and who takes the value.
#[derive(Debug)]
struct Counted(&'static AtomicUsize);

impl Clone for Counted {
    fn clone(&self) -> Counted {
        self.0.fetch_add(1, Ordering::SeqCst);
        Counted(self.0)
    }
}

#[test]
fn the_last_reader_takes_the_value_without_cloning() {
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    let (tx, mut a) = channel(2);
    let mut b = tx.subscribe();
    tx.send(Counted(&CLONES)).expect("receivers alive");
    a.try_recv().expect("sent");
    assert_eq!(CLONES.load(Ordering::SeqCst), 1, "the first reader clones");
    b.try_recv().expect("sent");
    assert_eq!(
        CLONES.load(Ordering::SeqCst),
        1,
        "the last reader moves it out"
    );
}

#[test]
fn a_dropped_receiver_releases_what_it_did_not_read() {
    let (tx, a) = channel(4);
    let mut b = tx.subscribe();
    tx.send(1).expect("receivers alive");
    tx.send(2).expect("receivers alive");
    b.try_recv().expect("sent");
    assert_eq!(tx.len(), 2, "a has read nothing yet");
    drop(a);
    assert_eq!(tx.len(), 1, "only b's unread value is kept");
    assert_eq!(b.len(), 1);
}

#[test]
fn a_dropped_recv_leaves_no_waker_behind() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    assert!(poll_once(&mut rx.recv(), &waker).is_pending());
    tx.send(1).expect("receiver alive");
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn lag_is_reported_by_recv_too() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.send(1).expect("receiver alive");
    tx.send(2).expect("receiver alive");
    assert_eq!(
        poll_once(&mut rx.recv(), &waker),
        Poll::Ready(Err(RecvError::Lagged(1)))
    );
    assert_eq!(poll_once(&mut rx.recv(), &waker), Poll::Ready(Ok(2)));
    assert_eq!(
        RecvError::Lagged(1).to_string(),
        "receiver lagged: 1 value(s) overwritten unread"
    );
}
