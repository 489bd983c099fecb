//! Issue 13, part 1: a busy task must give the loop back even when nothing it awaits says "wait".
//!
//! Each test runs a task (or the `block_on` future) that has far more ready work than one budget
//! — a socket with a thousand bytes queued, read one byte at a time; a channel with a thousand
//! values — next to an *observer* task that only yields, and records how many operations the busy
//! task had done each time it was polled. The largest step between two records is how long the
//! observer, a stand-in for every other client of the loop, had to wait, counted in operations
//! rather than milliseconds: deterministic, whatever the machine's load.
//!
//! With the budget that step is at most one budget (128). Without it (`coop_budget(None)`, the
//! behaviour before the fix) the busy task does all its work in one poll: the step is everything.

mod util;

use std::cell::Cell;
use std::io::{ErrorKind, Write};
use std::rc::Rc;
use std::time::Duration;

use evloop::io::AsyncReadExt;
use evloop::net::TcpStream;
use evloop::sync::mpsc;
use evloop::task::yield_now;
use evloop::time::timeout;
use evloop::{Runtime, spawn};

/// tokio's budget, evloop's default.
const BUDGET: usize = 128;
/// Operations the busy task performs: several budgets' worth, all ready at once.
const OPERATIONS: usize = 1000;

/// A runtime with the default budget, or none.
fn runtime(budget: bool) -> Runtime {
    util::init_logging();
    let builder = Runtime::builder();
    let builder = if budget {
        builder
    } else {
        builder.coop_budget(None)
    };
    builder.build().expect("runtime")
}

/// A connected pair whose evloop end has at least `OPERATIONS` bytes queued to read.
fn stream_with_queued_bytes() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    client.set_nonblocking(true).expect("non-blocking");
    let mut queued = 0;
    // Fill every buffer on the way: nothing more can be sent until the reader reads.
    loop {
        match client.write(&[7; 1024]) {
            Ok(n) => queued += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    assert!(queued >= OPERATIONS, "only {queued} bytes queued");
    (TcpStream::from_std(server).expect("register"), client)
}

/// Reads `OPERATIONS` bytes one at a time (a one-byte read is never short, so the socket stays
/// readable throughout: no read ever says `WouldBlock`) while an observer yields.
fn reader_and_observer(rt: &Runtime) -> Vec<usize> {
    rt.block_on(async {
        let (mut stream, _client) = stream_with_queued_bytes();
        let reads = Rc::new(Cell::new(0));
        let observer = spawn(util::observe(reads.clone(), OPERATIONS));
        let count = reads.clone();
        let reader = spawn(async move {
            let mut byte = [0u8; 1];
            while count.get() < OPERATIONS {
                assert_eq!(stream.read(&mut byte).await.expect("read"), 1);
                count.set(count.get() + 1);
            }
        });
        timeout(Duration::from_secs(10), reader)
            .await
            .expect("in time")
            .expect("reader");
        observer.await.expect("observer")
    })
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_a_task_reading_a_socket_that_is_always_readable_lets_others_run_every_budget() {
    let seen = reader_and_observer(&runtime(true));
    assert!(
        util::largest_step(&seen) <= BUDGET,
        "the observer waited {} reads (budget {BUDGET}); polls saw {seen:?}",
        util::largest_step(&seen)
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn without_the_budget_the_reading_task_holds_the_loop_until_it_is_done() {
    let seen = reader_and_observer(&runtime(false));
    assert_eq!(
        util::largest_step(&seen),
        OPERATIONS,
        "all reads in one poll: {seen:?}"
    );
}

/// Receives `OPERATIONS` values that are all already buffered, in a task or in `block_on`.
fn receiver_and_observer(rt: &Runtime, in_block_on: bool) -> Vec<usize> {
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..OPERATIONS {
            tx.send(i).expect("receiver alive");
        }
        let received = Rc::new(Cell::new(0));
        let observer = spawn(util::observe(received.clone(), OPERATIONS));
        let receive = async move {
            for i in 0..OPERATIONS {
                assert_eq!(rx.recv().await, Some(i));
                received.set(i + 1);
            }
        };
        if in_block_on {
            yield_now().await; // let the observer record the start
            receive.await;
        } else {
            spawn(receive).await.expect("receiver");
        }
        observer.await.expect("observer")
    })
}

#[test]
fn issue_13_a_receiver_with_values_always_waiting_lets_others_run_every_budget() {
    let seen = receiver_and_observer(&runtime(true), false);
    assert!(util::largest_step(&seen) <= BUDGET, "observer saw {seen:?}");
    let seen = receiver_and_observer(&runtime(false), false);
    assert_eq!(util::largest_step(&seen), OPERATIONS, "no budget: {seen:?}");
}

#[test]
fn issue_13_the_block_on_future_has_a_budget_too() {
    let seen = receiver_and_observer(&runtime(true), true);
    assert!(util::largest_step(&seen) <= BUDGET, "observer saw {seen:?}");
    let seen = receiver_and_observer(&runtime(false), true);
    assert_eq!(util::largest_step(&seen), OPERATIONS, "no budget: {seen:?}");
}
