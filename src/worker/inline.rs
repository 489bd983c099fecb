//! `Inline`: the blocking fallback chosen on purpose — every job runs right away on the calling
//! thread, which in a runtime is the event loop.
//!
//! Nothing else runs on the loop while the job does: no other task, no timer, no socket. That is
//! the behaviour of a service whose thread offload failed, and the point of having it as a worker
//! is to show it (the demos run the same requests offloaded and inline), or to run in an
//! environment known to have no threads at all. The job still reports through its handle like an
//! offloaded one, panics included, so code written for the pool runs unchanged.
//!
//! ## The deadlock trap
//!
//! Any fallback that runs blocking work with fewer threads than jobs has the same trap: **a
//! blocking job that waits for another blocking job deadlocks when no thread is left to run the
//! other one.** How evloop behaves:
//!
//! - *Inline* (the `Inline` worker, or `Fallback` with no thread): each job runs to the end at its
//!   `spawn_blocking` call, in submission order. Job B that sends on a buffered channel, submitted
//!   *before* job A that receives from it, works: B runs first, its value waits in the channel,
//!   then A finds it. Submitted the other way round, A blocks the loop forever in `recv()` — and B
//!   is never even submitted, because the task that would submit it cannot run. The whole runtime
//!   hangs.
//! - *Pool with few threads* (thread creation refused after some threads exist, or `max_threads`
//!   reached): A waits on the only live thread for B, which sits in the queue behind it. The loop
//!   is free — timers tick, other requests that need no blocking job are served — but A's request
//!   never ends. A `QueueFull::Wait` submitter waiting for room that only A could free is the same
//!   trap. tokio's bounded blocking pool has it too.
//!
//! To stay out: blocking jobs must not wait for each other. Let tasks coordinate (with
//! `evloop::sync` channels, which wait without blocking a thread) and give each job all it needs
//! up front; if a job must wait, give it a timeout (`recv_timeout`) so that it fails instead of
//! hanging; and submit producers before consumers.

use std::task::Waker;

use super::execution::{Execution, InlineReason};
use super::job::Job;
use super::mode::{Mode, ModeReport, Probe};
use super::stats::{WorkerCounters, WorkerStats};
use super::{Refused, Worker};

/// Runs every blocking job on the calling thread.
#[derive(Debug, Default)]
pub struct Inline {
    /// Jobs run, for `stats()`.
    counters: WorkerCounters,
    /// Announces, once, that jobs block the loop.
    report: ModeReport,
}

impl Inline {
    /// The inline worker.
    pub fn new() -> Inline {
        Inline::default()
    }
}

impl Worker for Inline {
    fn submit(&self, job: Job, _room: Option<&Waker>) -> Result<Execution, Refused> {
        self.report.observe(Mode::Inline, None, 0);
        let reason = InlineReason::Chosen;
        self.counters.count_inline(reason);
        log::debug!("blocking job {} runs inline", job.id());
        job.run_inline(reason);
        Ok(Execution::Inline(reason))
    }

    fn probe(&self) -> Probe {
        self.report.observe(Mode::Inline, None, 0);
        let probe = Probe {
            mode: Mode::Inline,
            reason: Some("the Inline worker was chosen".to_string()),
        };
        self.report.probed(probe, &self.counters)
    }

    fn stats(&self) -> WorkerStats {
        self.counters.snapshot(Mode::Inline)
    }
}
