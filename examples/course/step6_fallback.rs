//! Step 6 of the course: the fallback. The OS refuses to create threads (for real: a seccomp
//! filter), so the blocking calls run on the loop thread, one at a time under a FIFO lock, and
//! the heartbeat shows the loop blocked for every call.
//!
//! Run with: `cargo run --example step6_fallback` (chapter: `docs/06-step6-fallback.md`)
//!
//! The new code is here: `call` (offload, or run inline when refused) and `Lock`, a FIFO async
//! lock (the seed's `sync_execution_lock`). Thread denial cannot be undone, so this program first
//! runs the locked requests with threads, then re-executes itself: the child denies threads and
//! runs them again.
//!
//! ```text
//!  lock() ─► take ticket t ─► poll: serving == t? ── yes ──► Guard
//!                                   │ no
//!                                   └─► waiters[t] = waker ─► Pending
//!  Guard dropped ─► serving += 1 ─► wake waiters[serving]
//! ```

#[path = "common"]
mod common {
    pub mod executor;
    pub mod heartbeat;
    pub mod offload;
    pub mod oneshot;
    #[allow(dead_code)] // no sockets in this step
    pub mod reactor;
    pub mod scenario;
    #[allow(dead_code)] // the scenario uses `park` and `sleep_until` only
    pub mod timers;
}

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::io;
use std::process::Command;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use common::offload;
use common::scenario::{self, Report, Span, blocking_call};

/// How long one blocking call takes.
const WORK: Duration = Duration::from_millis(250);
/// Set in the environment of the re-executed child, to the parent's figures.
const CHILD: &str = "COURSE_STEP6_CHILD";

fn main() -> io::Result<()> {
    if let Some(threads) = std::env::var_os(CHILD) {
        return fallback_here(threads.to_str().expect("our own figures"));
    }
    println!("== 1. three requests under the execution lock; threads allowed ==");
    let threads = run_locked()?;
    let (total, lag) = (threads.total_ms, threads.worst_lag_ms);
    println!("\n== 2. the same, after thread creation was refused (a child process) ==");
    // The child inherits our stdout and prints the rest, the comparison and the last line.
    let status = Command::new(std::env::current_exe()?)
        .env(CHILD, format!("{total:.0} {lag:.1}"))
        .status()?;
    match status.success() {
        true => Ok(()),
        false => Err(io::Error::other(format!("the child failed: {status}"))),
    }
}

/// In the child: refuse threads, run the locked requests again, compare with `threads` (the
/// parent's figures) and print the step's last line.
fn fallback_here(threads: &str) -> io::Result<()> {
    evloop::sandbox::deny_thread_creation()
        .map_err(|e| io::Error::other(format!("thread denial needs Linux seccomp: {e}")))?;
    let refused = std::thread::Builder::new()
        .spawn(|| {})
        .expect_err("threads are refused");
    println!("seccomp filter installed; std::thread::spawn now fails: {refused}");
    let report = run_locked()?;
    let (total, lag) = (report.total_ms, report.worst_lag_ms);
    let (t_total, t_lag) = threads.split_once(' ').expect("two figures");
    println!(
        "\nunder the lock   total      worst heartbeat lateness\n\
         threads       {t_total:>6} ms   {t_lag:>8} ms\n\
         fallback      {total:>6.0} ms   {lag:>8.1} ms\n\n\
         The same total: the lock already made the calls one at a time, so running them on the\n\
         loop thread costs no throughput (step 5, without the lock, overlapped them). What\n\
         differs is the loop: with threads it stayed free; here it was blocked for every call,\n\
         and the heartbeat (a health check, a timeout, another client) with it."
    );
    println!(
        "step=6 ok work_ms={} total_ms={total:.0} worst_lag_ms={lag:.1} \
         threads_total_ms={t_total} threads_worst_lag_ms={t_lag}",
        WORK.as_millis()
    );
    Ok(())
}

/// Runs the three requests, sharing one lock.
fn run_locked() -> io::Result<Report> {
    let lock = Rc::new(Lock::default());
    scenario::run((1..=3).map(|n| request(n, Rc::clone(&lock))).collect())
}

/// One request: wait for the execution lock, then make the call.
async fn request(n: usize, lock: Rc<Lock>) -> Span {
    let asked = Instant::now();
    let _guard = lock.lock().await; // held until the call returns
    let waited = asked.elapsed().as_millis();
    println!("request {n}: got the lock after {waited} ms");
    call(n, move || blocking_call(WORK)).await
}

/// Offloads `job` when a thread can be had; when the OS refuses, runs it here, on the loop
/// thread: the fallback. Correct, and the loop is blocked until it returns.
async fn call(n: usize, job: impl FnOnce() -> Span + Send + 'static) -> Span {
    match offload::spawn_blocking(job) {
        Ok(reply) => reply.await.expect("the call returns"),
        Err((error, job)) => {
            println!("request {n}: no thread ({error}): the call runs on the loop thread");
            job()
        }
    }
}

/// A ticket lock for tasks on one loop: one request at a time makes the slow call, in the order
/// they asked. A waiting task returns `Pending`; a `std::sync::Mutex` would park the loop thread,
/// and the holder (another task on that thread) could never unlock.
#[derive(Default)]
pub struct Lock {
    /// The ticket the next `lock()` takes.
    next_ticket: Cell<u64>,
    /// The ticket that holds the lock now (or gets it next).
    serving: Cell<u64>,
    /// Waiting tasks by ticket.
    waiters: RefCell<BTreeMap<u64, Waker>>,
}

impl Lock {
    /// Waits for the lock, behind everyone who asked before. Not cancel-safe: a `lock()` future
    /// dropped while it waits keeps its ticket, and the tickets after it are never served.
    pub fn lock(self: &Rc<Self>) -> impl Future<Output = Guard> {
        let ticket = self.next_ticket.replace(self.next_ticket.get() + 1);
        let lock = Rc::clone(self);
        poll_fn(move |cx| {
            if lock.serving.get() == ticket {
                return Poll::Ready(Guard(Rc::clone(&lock)));
            }
            lock.waiters.borrow_mut().insert(ticket, cx.waker().clone());
            Poll::Pending
        })
    }
}

/// Holds the lock (the field); dropping it hands the lock to the next ticket.
pub struct Guard(Rc<Lock>);

impl Drop for Guard {
    fn drop(&mut self) {
        let next = self.0.serving.get() + 1;
        self.0.serving.set(next);
        let waiter = self.0.waiters.borrow_mut().remove(&next);
        if let Some(waker) = waiter {
            waker.wake();
        }
    }
}
