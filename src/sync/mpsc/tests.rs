//! Unit tests of `mpsc`: order, back-pressure, grants, cancellation and dropped ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use super::*;
use crate::sync::test_waker::{block_on, counting_waker, poll_once};

/// Polls a fresh receive once (and drops it: a `Pending` one takes its waker back with it).
fn poll_recv<T>(rx: &mut Receiver<T>, waker: &std::task::Waker) -> Poll<Option<T>> {
    poll_once(&mut rx.recv(), waker)
}

#[test]
fn values_arrive_in_order_and_none_follows_the_last_sender() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel(4);
    for i in 0..3 {
        tx.try_send(i).expect("room");
    }
    drop(tx);
    for i in 0..3 {
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(i)));
    }
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(None));
}

#[test]
fn a_send_wakes_the_receiver_only_when_it_waits() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = unbounded_channel();
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv, &waker).is_pending());
    tx.send(1).expect("receiver alive");
    tx.send(2).expect("receiver alive");
    assert_eq!(
        counter.wakes(),
        1,
        "the second send found no waiting receiver"
    );
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(1)));
    drop(recv);
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(2)));
    tx.send(3).expect("receiver alive");
    assert_eq!(counter.wakes(), 1, "the receiver was not waiting");
}

#[test]
fn issue_18_on_one_thread_a_waiting_receiver_costs_no_waker_clone() {
    // All on this thread: the channel's lock is biased to it (`sync/biased.rs`), and a send wakes
    // the waiting receiver by reference, leaving its waker stored for the next wait.
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    for round in 1..=3 {
        let mut recv = rx.recv();
        assert!(poll_once(&mut recv, &waker).is_pending());
        assert_eq!(
            std::sync::Arc::strong_count(&counter),
            3,
            "round {round}: ours, the waker's, the channel's one stored clone"
        );
        tx.try_send(round).expect("room");
        assert_eq!(counter.wakes(), round, "woken once per wait");
        assert_eq!(
            std::sync::Arc::strong_count(&counter),
            3,
            "round {round}: woken by reference, the clone stays for the next wait"
        );
        assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(round)));
    }
}

#[test]
fn a_dropped_receive_leaves_no_waker_behind() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = unbounded_channel();
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv, &waker).is_pending());
    drop(recv); // e.g. a timeout around it ran out
    tx.send(1).expect("receiver alive");
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn the_last_sender_dropped_wakes_a_waiting_receiver() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel::<u8>(1);
    let tx2 = tx.clone();
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.wakes(), 0, "a sender is left");
    drop(tx2);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(None));
}

#[test]
fn a_full_channel_makes_senders_wait_until_a_value_is_received() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(2);
    tx.try_send(1).expect("room");
    let mut second = tx.send(2);
    assert_eq!(poll_once(&mut second, &waker), Poll::Ready(Ok(())));
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    let mut blocked = tx.send(3);
    assert!(poll_once(&mut blocked, &waker).is_pending());
    assert_eq!(counter.wakes(), 0);

    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(1)));
    assert_eq!(counter.wakes(), 1, "the freed slot woke the blocked sender");
    assert_eq!(
        tx.try_send(4),
        Err(TrySendError::Full(4)),
        "its slot is promised"
    );
    assert_eq!(poll_once(&mut blocked, &waker), Poll::Ready(Ok(())));
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(2)));
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(3)));
}

#[test]
fn blocked_senders_are_served_in_the_order_they_blocked() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(0).expect("room");
    let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    let mut sends: Vec<_> = (1..=3).map(|i| tx.send(i)).collect();
    for (send, (_, w)) in sends.iter_mut().zip(&wakers) {
        assert!(poll_once(send, w).is_pending());
    }
    for i in 0..3 {
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(i as i32)));
        assert_eq!(wakers[i].0.wakes(), 1, "sender {i} is next");
        // Later senders polled first stay blocked.
        for j in (i + 1..3).rev() {
            assert!(poll_once(&mut sends[j], &wakers[j].1).is_pending());
        }
        assert_eq!(poll_once(&mut sends[i], &wakers[i].1), Poll::Ready(Ok(())));
    }
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(3)));
}

#[test]
fn a_send_dropped_while_blocked_does_not_stall_the_next() {
    let (_, waker) = counting_waker();
    let (gave_up, gave_up_waker) = counting_waker();
    let (next, next_waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(0).expect("room");
    let mut cancelled = tx.send(1);
    let mut patient = tx.send(2);
    assert!(poll_once(&mut cancelled, &gave_up_waker).is_pending());
    assert!(poll_once(&mut patient, &next_waker).is_pending());
    drop(cancelled);
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(0)));
    assert_eq!((gave_up.wakes(), next.wakes()), (0, 1));
    assert_eq!(poll_once(&mut patient, &next_waker), Poll::Ready(Ok(())));
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(2)));
}

#[test]
fn a_granted_send_dropped_before_its_poll_passes_the_slot_on() {
    let (_, waker) = counting_waker();
    let (granted, granted_waker) = counting_waker();
    let (next, next_waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(0).expect("room");
    let mut abandoned = tx.send(1);
    let mut patient = tx.send(2);
    assert!(poll_once(&mut abandoned, &granted_waker).is_pending());
    assert!(poll_once(&mut patient, &next_waker).is_pending());
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(0)));
    assert_eq!(granted.wakes(), 1, "the slot went to the first sender");
    drop(abandoned);
    assert_eq!(next.wakes(), 1, "and moved on when it was dropped");
    assert_eq!(poll_once(&mut patient, &next_waker), Poll::Ready(Ok(())));
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(2)));
    assert!(
        poll_recv(&mut rx, &waker).is_pending(),
        "value 1 was never sent"
    );
}

#[test]
fn the_last_granted_send_dropped_frees_its_slot() {
    let (_, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(0).expect("room");
    let mut abandoned = tx.send(1);
    assert!(poll_once(&mut abandoned, &waker).is_pending());
    assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Some(0)));
    drop(abandoned);
    assert_eq!(tx.try_send(2), Ok(()), "the promised slot is free again");
}

#[test]
fn dropping_the_receiver_hands_values_back_to_every_sender() {
    let (counter, waker) = counting_waker();
    let (tx, rx) = channel(1);
    tx.try_send(0).expect("room");
    let mut blocked = tx.send(1);
    assert!(poll_once(&mut blocked, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.wakes(), 1, "the blocked sender hears of it");
    assert_eq!(
        poll_once(&mut blocked, &waker),
        Poll::Ready(Err(SendError(1)))
    );
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    assert_eq!(
        poll_once(&mut tx.send(3), &waker),
        Poll::Ready(Err(SendError(3)))
    );

    let (tx, rx) = unbounded_channel();
    drop(rx);
    assert_eq!(tx.send("late"), Err(SendError("late")));
}

#[test]
fn close_fails_later_sends_but_delivers_what_was_buffered() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(1).expect("room");
    let mut blocked = tx.send(2);
    assert!(poll_once(&mut blocked, &waker).is_pending());
    rx.close();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        poll_once(&mut blocked, &waker),
        Poll::Ready(Err(SendError(2)))
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        poll_recv(&mut rx, &waker),
        Poll::Ready(None),
        "senders live, yet closed"
    );
}

#[test]
fn try_recv_tells_empty_from_disconnected() {
    let (tx, mut rx) = unbounded_channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).expect("receiver alive");
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_recv_also_grants_the_freed_slot() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx) = channel(1);
    tx.try_send(1).expect("room");
    let mut blocked = tx.send(2);
    assert!(poll_once(&mut blocked, &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut blocked, &waker), Poll::Ready(Ok(())));
}

/// A value that holds a sender of the channel it travels in and counts its drops.
struct CarriesSender(
    #[allow(dead_code)] UnboundedSender<CarriesSender>,
    Arc<AtomicUsize>,
);

impl Drop for CarriesSender {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
        // Then its field drops: a sender of this very channel, which takes the channel's lock.
    }
}

#[test]
fn unread_values_are_dropped_outside_the_channel_lock() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded_channel();
    tx.send(CarriesSender(tx.clone(), drops.clone()))
        .expect("receiver alive");
    tx.send(CarriesSender(tx.clone(), drops.clone()))
        .expect("receiver alive");
    drop(tx);
    drop(rx); // would deadlock if the buffer were dropped under the lock
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_channel_of_capacity_zero_is_refused() {
    let _ = channel::<()>(0);
}

#[test]
fn senders_on_other_threads_feed_a_waiting_receiver() {
    let per_thread = if cfg!(miri) { 20 } else { 2_000 };
    let (tx, mut rx) = channel(4);
    let workers: Vec<_> = (0..3)
        .map(|id| {
            let tx = tx.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..per_thread {
                        tx.send((id, i)).await.expect("receiver alive");
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let mut next = [0; 3];
    block_on(async {
        while let Some((id, i)) = rx.recv().await {
            assert_eq!(i, next[id], "each sender's values stay in order");
            next[id] += 1;
        }
    });
    assert_eq!(next, [per_thread; 3]);
    for worker in workers {
        worker.join().expect("sender thread does not panic");
    }
}

#[test]
fn a_sender_moved_to_another_thread_after_local_use_keeps_its_order() {
    // Both ends used on this thread first: the channel's lock is biased to it (`sync/biased.rs`).
    // Then the sender moves to a thread of its own, whose first send revokes the bias while this
    // thread keeps receiving.
    let count = if cfg!(miri) { 20 } else { 5_000 };
    let (tx, mut rx) = channel(2);
    block_on(async {
        tx.send(0).await.expect("receiver alive");
        assert_eq!(rx.recv().await, Some(0));
    });
    let sender = thread::spawn(move || {
        block_on(async {
            for i in 1..count {
                tx.send(i).await.expect("receiver alive");
            }
        })
    });
    let received = block_on(async {
        let mut received = Vec::new();
        while let Some(i) = rx.recv().await {
            received.push(i);
        }
        received
    });
    assert_eq!(received, (1..count).collect::<Vec<_>>());
    sender.join().expect("sender thread does not panic");
}

#[test]
fn handles_are_send_and_sync_for_send_values() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sender<std::cell::Cell<u8>>>();
    assert_send_sync::<UnboundedSender<std::cell::Cell<u8>>>();
    assert_send_sync::<Receiver<std::cell::Cell<u8>>>();
}

#[test]
fn poll_recv_serves_hand_written_futures_and_keeps_the_waker() {
    let (counter, waker) = counting_waker();
    let (tx, mut rx): (UnboundedSender<u8>, UnboundedReceiver<u8>) = unbounded_channel();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    tx.send(4).expect("receiver alive");
    assert_eq!(counter.wakes(), 1, "the waker left by poll_recv was woken");
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(4)));
    drop(tx);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}
