//! Unit tests of `oneshot`: both orders of send and receive, dropped ends, another thread.

use std::rc::Rc;
use std::thread;

use super::*;
use crate::sync::test_waker::{block_on, counting_waker, poll_once};

#[test]
fn a_value_sent_first_is_ready_at_the_first_poll() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel();
    assert_eq!(tx.send("reply"), Ok(()));
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok("reply")));
}

#[test]
fn a_waiting_receiver_is_woken_once_by_send() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel();
    assert!(poll_once(&mut rx, &waker).is_pending());
    assert!(poll_once(&mut rx, &waker).is_pending(), "a spurious poll");
    assert_eq!(counter.wakes(), 0);
    tx.send(5).expect("receiver alive");
    assert_eq!(
        counter.wakes(),
        1,
        "send wakes; dropping the sent sender does not again"
    );
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(5)));
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn a_sender_dropped_without_sending_ends_the_wait_with_an_error() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel::<u8>();
    assert!(poll_once(&mut rx, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn send_to_a_dropped_receiver_gives_the_value_back() {
    let (tx, rx) = channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(String::from("unread")), Err(String::from("unread")));
}

#[test]
fn try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).expect("receiver alive");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = channel::<()>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn an_unread_value_is_dropped_with_the_receiver() {
    let value = Rc::new(());
    let (tx, rx) = channel();
    tx.send(value.clone()).expect("receiver alive");
    assert_eq!(Rc::strong_count(&value), 2);
    drop(rx);
    assert_eq!(Rc::strong_count(&value), 1);
}

#[test]
fn a_worker_thread_sends_and_a_task_awaits() {
    let (tx, rx) = channel();
    let worker = thread::spawn(move || tx.send(6 * 7).expect("receiver alive"));
    assert_eq!(block_on(rx), Ok(42));
    worker.join().expect("worker does not panic");
}

#[test]
fn a_worker_thread_drops_its_sender_and_the_task_hears_of_it() {
    let (tx, rx) = channel::<u32>();
    let worker = thread::spawn(move || drop(tx));
    assert_eq!(block_on(rx), Err(RecvError(())));
    worker.join().expect("worker does not panic");
}

#[test]
fn errors_say_what_happened() {
    assert_eq!(
        RecvError(()).to_string(),
        "channel closed: the sender was dropped without sending a value"
    );
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "channel empty: no value sent yet"
    );
}
