//! The worker: where blocking calls go so that the event loop does not have to wait for them.
//!
//! An async service sometimes has to call a slow *synchronous* function — an LLM client, a
//! database driver, a file hash. Called from a task, it runs inside that task's `poll`, on the loop
//! thread, and nothing else on the loop moves until it returns. The cure every runtime offers is
//! to run it on another thread and await the result: tokio's `spawn_blocking`, Python's
//! `asyncio.to_thread`, here [`spawn_blocking`]. That cure needs one thing the loop does not: the
//! right to create threads. Some production containers take that right away (a low `pids.max`, a
//! seccomp profile); the offload then fails — Python says "can't start new thread", the OS says
//! EAGAIN — and a service that falls back to calling the function directly runs it on the loop
//! thread, blocking every other request while it does.
//!
//! ## Three workers
//!
//! A runtime holds one `Box<dyn` [`Worker`]`>`, chosen with `Builder::worker` (default
//! [`Fallback`], from [`default_worker`]):
//!
//! ```text
//!  spawn_blocking(f) ─► Worker::submit(job)
//!     ThreadPool : pool thread, created on demand ─► Offloaded; no thread at all ─► error
//!     Inline     : f() right here, on the loop ─────────────────────────────────► Inline(Chosen)
//!     Fallback   : ThreadPool; no thread at all ─► f() here ───────────────────► Inline(ThreadsRefused)
//!
//!  pool thread: f() ─► result into the job's slot ─► waker.wake() ─► (remote wake, `waker.rs`)
//!                                                      the loop polls the awaiting task again
//! ```
//!
//! Each handle tells where its job ran ([`BlockingHandle::execution`]), the worker counts it
//! ([`WorkerStats`]), and a change of [`Mode`] is logged once — warn when jobs start running inline
//! or only on the threads left, info when thread creation works again (`worker/mode.rs`).
//! [`Worker::probe`] runs once when the runtime is built and says in one line which way blocking
//! work will go: "blocking work: offloaded to threads" or "blocking work: runs inline — (reason)".
//!
//! ## Making thread creation fail
//!
//! [`Deny`] refuses threads inside the process (a portable simulation: every platform, Miri, every
//! test run); [`deny_thread_creation`](crate::sandbox::deny_thread_creation) makes the real OS
//! refuse, with seccomp.
//! `worker/spawner.rs` explains the difference.
//!
//! Running blocking work with fewer threads than jobs has a trap — a job that waits for another
//! job can deadlock — described in `worker/inline.rs`.
//!
//! ## Shutdown
//!
//! Dropping the runtime drops its worker. The pool never waits for its threads: jobs still queued
//! are cancelled (their handles, if any are left, resolve to a cancelled `JoinError`), idle threads
//! exit, and a thread in the middle of a job is detached — the job runs to completion, its result
//! is dropped, the thread exits. A blocking call cannot be interrupted from outside; waiting for
//! it could hang the drop for as long as the call takes.

mod by_name;
pub(crate) mod current;
pub mod diagnosis;
mod error;
mod execution;
mod fallback;
mod handle;
mod inline;
mod job;
mod mode;
mod pool;
mod spawner;
mod stats;
#[cfg(test)]
mod tests;

use std::fmt;
use std::task::Waker;

pub use by_name::{Denial, by_name, by_name_denied, default_worker};
pub use error::{BlockingError, QueueFull};
pub use execution::{Execution, InlineReason};
pub use fallback::Fallback;
pub use handle::{BlockingHandle, spawn_blocking, try_spawn_blocking};
pub use inline::Inline;
pub use job::Job;
pub use mode::{Mode, Probe};
pub use pool::{PoolBuilder, ThreadPool};
pub use spawner::{Deny, OsThreads, ThreadSpawner};
pub use stats::{InlineCounts, WorkerStats};

/// Where blocking jobs run. The runtime holds one as `Box<dyn Worker>` and calls it on the loop
/// thread; implement it to put blocking work somewhere else (a shared pool, a fixed thread).
pub trait Worker {
    /// Runs `job` here or hands it to a thread, and says which. An inline worker has run the job
    /// (and delivered its result) by the time this returns.
    ///
    /// When no thread can take the job now and the policy is to wait, return
    /// `Err(Refused::WaitForRoom(job))` and wake `room` (if given) once there is room; the caller
    /// keeps the job and submits it again after that wake. Dropping a job cancels it.
    fn submit(&self, job: Job, room: Option<&Waker>) -> Result<Execution, Refused>;

    /// Finds out, once, whether blocking work can be offloaded: tries to create a thread that
    /// exits at once (not kept), logs the answer at info, keeps it in the stats, returns it.
    fn probe(&self) -> Probe;

    /// A snapshot of the worker's counters.
    fn stats(&self) -> WorkerStats;
}

/// Why [`Worker::submit`] did not place a job.
#[derive(Debug)]
pub enum Refused {
    /// No room now: the job comes back; submit it again after the `room` waker is woken.
    WaitForRoom(Job),
    /// Refused for good; the job was dropped (so its handle resolves to a cancelled `JoinError`).
    Error(BlockingError),
}

/// A boxed worker is a worker, so `Builder::worker(worker::by_name("inline")?)` reads naturally.
impl Worker for Box<dyn Worker> {
    fn submit(&self, job: Job, room: Option<&Waker>) -> Result<Execution, Refused> {
        (**self).submit(job, room)
    }

    fn probe(&self) -> Probe {
        (**self).probe()
    }

    fn stats(&self) -> WorkerStats {
        (**self).stats()
    }
}

/// The current runtime's worker statistics.
///
/// # Panics
/// Outside a runtime; use `Runtime::worker_stats()` there.
#[track_caller]
pub fn stats() -> WorkerStats {
    current::with_worker(|worker| worker.stats())
}

impl fmt::Debug for dyn Worker + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("mode", &self.stats().mode)
            .finish_non_exhaustive()
    }
}
