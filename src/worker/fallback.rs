//! `Fallback`, the default worker: offload while the OS allows it, and when it does not, keep
//! going — on the pool's live threads if it has any, on the loop thread only when it has none.
//!
//! ```text
//!  submit(job) ─► ThreadPool::place ─ placed ───────────────────► Offloaded (loop free)
//!                      │  (a new thread refused, threads alive → queued on them: loop free)
//!                      ├─ no thread at all ─► job.run() here ───► Inline(ThreadsRefused)
//!                      └─ queue full ───────► QueueFull policy
//! ```
//!
//! This is what a Python service does by hand when `asyncio.to_thread` raises "can't start new
//! thread": call the function directly. It keeps requests working in a container that forbids
//! threads — at the price of blocking the loop for each call — and, unlike the hand-written
//! version, it says so: one warning when it starts running jobs inline (with the OS error and what
//! it means), one info line when a later thread creation succeeds again. Each job in a degraded
//! mode tries to create a thread once more; that costs one failed `clone(2)`, microseconds, and is
//! how recovery is noticed.

use std::fmt;
use std::task::Waker;

use super::execution::{Execution, InlineReason};
use super::job::Job;
use super::mode::{Mode, Probe};
use super::pool::{Placement, ThreadPool};
use super::stats::WorkerStats;
use super::{Refused, Worker};

/// The default worker: a [`ThreadPool`] that runs a job inline when no thread can be had.
#[derive(Default)]
pub struct Fallback {
    /// The pool tried first.
    pool: ThreadPool,
}

impl Fallback {
    /// A fallback around `pool` (its size, queue, policy and spawner).
    pub fn new(pool: ThreadPool) -> Fallback {
        Fallback { pool }
    }
}

impl Worker for Fallback {
    fn submit(&self, job: Job, room: Option<&Waker>) -> Result<Execution, Refused> {
        match self.pool.place(job, room) {
            Placement::Placed { spawn } => {
                self.pool.note_placed(spawn);
                Ok(Execution::Offloaded)
            }
            Placement::NoThread { job, error } => {
                self.pool.note_no_thread(Mode::Inline, &error);
                let reason = InlineReason::ThreadsRefused;
                self.pool.counters().count_inline(reason);
                log::debug!("blocking job {} runs inline: {error}", job.id());
                job.run_inline(reason);
                Ok(Execution::Inline(reason))
            }
            Placement::Full { job } => self.pool.when_full(job),
        }
    }

    fn probe(&self) -> Probe {
        self.pool.probe_with(Mode::Inline)
    }

    fn stats(&self) -> WorkerStats {
        self.pool.stats_with(Mode::Inline)
    }
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fallback").field(&self.pool).finish()
    }
}
