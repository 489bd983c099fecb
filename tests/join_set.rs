//! Whole-runtime tests of `evloop::task`'s tokio surface: `JoinSet`, `AbortHandle`, `spawn_local`.
//!
//! Tasks finish when the test tells them to (a oneshot each), never after a sleep, so the order
//! `join_next` sees is the order the test chose. Issue 16: "tokio programs run by renaming".

mod util;

use std::cell::Cell;
use std::rc::Rc;

use evloop::sync::oneshot;
use evloop::task::{JoinSet, spawn_local, yield_now};

/// A task body that waits for its go signal, then returns `value`.
async fn when_told(go: oneshot::Receiver<()>, value: u32) -> u32 {
    go.await.expect("the test keeps the sender until it sends");
    value
}

#[test]
fn join_next_returns_tasks_in_the_order_they_finish() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut go = Vec::new();
        for value in 0..5 {
            let (tx, rx) = oneshot::channel();
            go.push(Some(tx));
            set.spawn(when_told(rx, value));
        }
        assert_eq!(set.len(), 5);
        let mut order = Vec::new();
        for value in [3, 0, 4, 1, 2] {
            go[value]
                .take()
                .expect("once")
                .send(())
                .expect("task waits");
            let joined = set.join_next().await.expect("a task left");
            order.push(joined.expect("completed"));
        }
        assert_eq!(order, [3, 0, 4, 1, 2]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none(), "an empty set joins None");
    });
    assert_eq!(rt.stats().tasks_alive, 0);
}

#[test]
fn try_join_next_never_waits() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel();
        set.spawn(when_told(rx, 7));
        assert!(set.try_join_next().is_none(), "not finished yet");
        tx.send(()).expect("task waits");
        let mut found = None;
        while found.is_none() {
            yield_now().await; // let the task run; bounded: it finishes in one poll
            found = set.try_join_next();
        }
        assert_eq!(found.expect("some").expect("completed"), 7);
    });
}

#[test]
fn abort_all_turns_running_tasks_into_cancelled_errors() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for value in 0..3 {
            let (tx, rx) = oneshot::channel();
            senders.push(tx);
            set.spawn(when_told(rx, value));
        }
        set.spawn(async { 99 }); // finishes before the abort
        yield_now().await;
        set.abort_all();
        assert_eq!(set.len(), 4, "aborted tasks stay until joined");
        let (mut cancelled, mut completed) = (0, Vec::new());
        while let Some(result) = set.join_next().await {
            match result {
                Ok(value) => completed.push(value),
                Err(e) => {
                    assert!(e.is_cancelled(), "{e}");
                    cancelled += 1;
                }
            }
        }
        assert_eq!((cancelled, completed), (3, vec![99]));
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
        let (_go, go_rx) = oneshot::channel::<()>();
        set.spawn(async move {
            let _tell_when_dropped = dropped_tx; // dropped with the future
            let _ = go_rx.await; // never sent
        });
        yield_now().await; // the task is running and parked
        drop(set);
        // The sender drops only if the task's future is dropped: the receiver then sees closed.
        assert!(dropped_rx.await.is_err(), "the task was cancelled");
    });
    assert_eq!(rt.stats().cancelled, 1);
}

#[test]
fn shutdown_waits_until_every_task_has_ended() {
    let rt = util::runtime();
    let ended = Rc::new(Cell::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            // Moved into the future, so dropped with it even if it was never polled.
            let count_when_dropped = DropCounter(Rc::clone(&ended));
            set.spawn(async move {
                let _moved_in = count_when_dropped;
                std::future::pending::<()>().await;
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(
            ended.get(),
            10,
            "every future was dropped before shutdown returned"
        );
    });
}

/// Adds one to its counter when dropped.
struct DropCounter(Rc<Cell<u32>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn an_abort_handle_cancels_one_task_of_the_set() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel();
        let keep = set.spawn(when_told(rx, 1));
        let (_never, never_rx) = oneshot::channel();
        let victim = set.spawn(when_told(never_rx, 2));
        assert_ne!(keep.id(), victim.id());
        victim.abort();
        let first = set.join_next().await.expect("one task");
        assert!(first.expect_err("the aborted one").is_cancelled());
        assert!(victim.is_finished());
        assert!(!keep.is_finished());
        tx.send(()).expect("task waits");
        assert_eq!(set.join_next().await.expect("one task").expect("ok"), 1);
    });
}

#[test]
fn join_handle_abort_handle_cancels_without_taking_the_output() {
    let rt = util::runtime();
    rt.block_on(async {
        let (_never, rx) = oneshot::channel();
        let handle = spawn_local(when_told(rx, 5));
        let abort = handle.abort_handle();
        let also = abort.clone();
        assert_eq!(also.id(), handle.id());
        abort.abort();
        let err = handle.await.expect_err("aborted");
        assert!(err.is_cancelled());
        assert!(also.is_finished());
    });
}

#[test]
fn a_panicking_task_is_a_join_error_and_join_all_resumes_the_panic() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("task failed on purpose") });
        let err = set
            .join_next()
            .await
            .expect("a task")
            .expect_err("it panicked");
        assert_eq!(err.panic_message(), Some("task failed on purpose"));

        let mut set = JoinSet::new();
        set.spawn(async { 1 });
        set.spawn(async { panic!("join_all sees this") });
        let joiner = spawn_local(set.join_all());
        let err = joiner.await.expect_err("join_all panicked");
        assert_eq!(err.panic_message(), Some("join_all sees this"));
    });
}

#[test]
fn join_all_returns_every_output() {
    let rt = util::runtime();
    let mut outputs = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..100u32 {
            set.spawn_local(async move {
                yield_now().await;
                i * i
            });
        }
        set.join_all().await
    });
    outputs.sort_unstable();
    assert_eq!(outputs, (0..100u32).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn detach_all_lets_the_tasks_run_on() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        set.spawn(async move {
            rx.await.expect("sent");
            done_tx.send(()).expect("the test waits");
        });
        set.detach_all();
        assert!(set.is_empty());
        drop(set); // nothing left to abort
        tx.send(()).expect("the task waits");
        done_rx.await.expect("the detached task ran to the end");
    });
}
