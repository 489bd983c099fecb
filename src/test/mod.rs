//! A small kit for testing code that runs on evloop: paused time in one line, a pretend blocking
//! call, and a scripted stream in place of a socket.
//!
//! ```text
//!  run_paused(async { … })     a fresh runtime whose clock starts paused: timers cost no time
//!  block_for(d)                this poll "blocks the loop" for d of paused time, instantly
//!  mock::Builder → Mock        a stream that plays a script of reads and expected writes
//! ```
//!
//! Paused time itself is in `evloop::time` (`pause`, `resume`, `advance`) and in
//! `Builder::start_paused`; how it works is in `runtime/auto_advance.rs` and `docs/testing.md`,
//! which also compares this kit with tokio's `test-util` feature and the `tokio-test` crate.
//! The kit is compiled always (it is small, and tokio's feature flag is one more thing to learn).
//!
//! ```
//! use std::time::Duration;
//! use evloop::time::{Instant, sleep, timeout};
//!
//! evloop::test::run_paused(async {
//!     let start = Instant::now();
//!     let slow = timeout(Duration::from_secs(30), sleep(Duration::from_secs(3600))).await;
//!     assert!(slow.is_err());
//!     assert_eq!(start.elapsed(), Duration::from_secs(30)); // exactly, and at once
//! });
//! ```

pub mod mock;

use std::future::Future;
use std::time::Duration;

use crate::runtime::{Runtime, context};

/// Runs `future` to completion on a fresh runtime whose clock starts paused
/// (`Runtime::builder().start_paused(true)`), and returns its output: one line for a test of
/// timer logic that takes no real time. tokio writes it `#[tokio::test(start_paused = true)]`.
///
/// # Panics
/// If the runtime cannot be built (no epoll), or when `future` panics.
#[track_caller]
pub fn run_paused<F: Future>(future: F) -> F::Output {
    let runtime = Runtime::builder()
        .start_paused(true)
        .build()
        .expect("evloop::test::run_paused: could not build a runtime");
    runtime.block_on(future)
}

/// Pretends that the current poll blocks the loop for `duration`: moves paused time forward at
/// once, and nothing else runs, no timer fires and no socket is looked at until this poll returns
/// — what a blocking call does to a loop, without the wait. The slow-poll detector, the lag of
/// the tasks kept waiting and the lateness of the timers kept waiting all see `duration`.
///
/// Compare [`time::advance`](crate::time::advance), which is time passing while the loop is
/// *free*: timers fire on the way and their tasks run.
///
/// # Panics
/// Outside a runtime, or if time is not paused (to block for real, call a blocking function).
#[track_caller]
pub fn block_for(duration: Duration) {
    let core = context::expect_current("evloop::test::block_for");
    let clock = core.scheduler().clock();
    let until = clock.read() + duration;
    assert!(
        clock.advance_to(until).is_some(),
        "evloop::test::block_for needs paused time (evloop::time::pause(), or \
         evloop::test::run_paused); to block the loop for real, call std::thread::sleep"
    );
}
