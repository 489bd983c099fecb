//! A full queue: what the pool does with a job when every thread is busy and no job may wait.
//!
//! The policy is the pool's `QueueFull` setting (`worker/error.rs`): `Wait` (the caller keeps the
//! job and is woken when a thread frees a slot), `Reject` (a `QueueFull` error: a service answers
//! 503), or `RunInline` (the job runs on the loop thread, which blocks the loop — announced once).

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::task::Waker;

use super::RoomLine;
use super::thread::PoolState;
use super::{Placement, ThreadPool};
use crate::worker::Refused;
use crate::worker::error::{BlockingError, QueueFull};
use crate::worker::execution::{Execution, InlineReason};
use crate::worker::job::Job;
use crate::worker::stats::WorkerCounters;

impl ThreadPool {
    /// No room for `job`: it joins the line of jobs waiting for room (`pool/room.rs`), and `room`
    /// is woken when a place frees up for it. Without a waker (the first submission, from
    /// `spawn_blocking` itself) it joins on its next poll.
    pub(super) fn full(
        &self,
        mut state: MutexGuard<'_, PoolState>,
        mut job: Job,
        room: Option<&Waker>,
    ) -> Placement {
        if let Some(waker) = room {
            state.room.wait(job.id(), waker);
            let line: Arc<dyn RoomLine> = self.shared.clone();
            job.room_line = Some(Arc::downgrade(&line));
        }
        Placement::Full { job }
    }

    /// Applies the `QueueFull` policy to a job that found the queue full.
    pub(crate) fn when_full(&self, job: Job) -> Result<Execution, Refused> {
        let counters = &self.shared.counters;
        let capacity = self.shared.config.queue_capacity;
        match self.shared.config.when_full {
            QueueFull::Wait => {
                WorkerCounters::bump(&counters.waited_for_room);
                log::debug!(
                    "blocking job {}: queue full ({capacity}), waiting",
                    job.id()
                );
                Err(Refused::WaitForRoom(job))
            }
            QueueFull::Reject => {
                WorkerCounters::bump(&counters.rejected);
                log::debug!(
                    "blocking job {}: queue full ({capacity}), rejected",
                    job.id()
                );
                drop(job); // cancels it
                Err(Refused::Error(BlockingError::QueueFull { capacity }))
            }
            QueueFull::RunInline => {
                if !self.overflow_announced.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "blocking queue full ({capacity} jobs, every thread busy): running \
                         blocking work on the event loop thread — the loop is blocked while it runs"
                    );
                }
                counters.count_inline(InlineReason::QueueFull);
                job.run_inline(InlineReason::QueueFull);
                Ok(Execution::Inline(InlineReason::QueueFull))
            }
        }
    }
}
