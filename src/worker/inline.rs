//! `Inline`: the blocking fallback chosen on purpose — every job runs right away on the calling
//! thread, which in a runtime is the event loop.
//!
//! Nothing else runs on the loop while the job does: no other task, no timer, no socket. That is
//! the behaviour of a service whose thread offload failed, and the point of having it as a worker
//! is to show it (the demos run the same requests offloaded and inline), or to run in an
//! environment known to have no threads at all. The job still reports through its handle like an
//! offloaded one, panics included, so code written for the pool runs unchanged.

use std::task::Waker;

use super::job::{Execution, InlineReason, Job};
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
        job.run();
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
