//! The worker's counters: how much blocking work went where, and why.
//!
//! The interesting number is rarely "how many jobs": it is how many ran *inline* — each of those
//! held the event loop for its whole duration — and why (chosen, thread creation refused, queue
//! full). Pool threads and the loop thread both update these, so they are atomics; a
//! [`WorkerStats`] is a snapshot taken by `Worker::stats()` (or `Runtime::worker_stats()`), printed
//! as a small table by its `Display` and written as JSON by `to_json` (`stats/json.rs`).

mod json;

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::execution::InlineReason;
use super::mode::{Mode, Probe};

/// Jobs that ran on the calling (loop) thread, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InlineCounts {
    /// The `Inline` worker was chosen.
    pub chosen: u64,
    /// The OS refused a thread and the pool had none alive.
    pub threads_refused: u64,
    /// Every thread busy, queue full, policy `QueueFull::RunInline`.
    pub queue_full: u64,
}

impl InlineCounts {
    /// All inline jobs, whatever the reason.
    pub fn total(&self) -> u64 {
        self.chosen + self.threads_refused + self.queue_full
    }
}

/// A snapshot of a worker's counters and sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerStats {
    /// Where the next job will go.
    pub mode: Mode,
    /// What the start-up probe found (`None`: not probed).
    pub probe: Option<Probe>,
    /// Jobs handed to a pool thread (directly or through the queue).
    pub offloaded: u64,
    /// Jobs run on the calling thread, by reason.
    pub inline: InlineCounts,
    /// Jobs refused with a `BlockingError`.
    pub rejected: u64,
    /// Times a job found the queue full and waited for room (`QueueFull::Wait`).
    pub waited_for_room: u64,
    /// Threads created by the pool (not counting the probe's).
    pub threads_spawned: u64,
    /// Thread creations the OS refused (the probe's included).
    pub spawn_failures: u64,
    /// Pool threads alive now.
    pub threads_alive: usize,
    /// Pool threads alive and waiting for a job now.
    pub threads_idle: usize,
    /// Jobs waiting in the queue now.
    pub queue_len: usize,
    /// The queue's capacity (0 for the `Inline` worker).
    pub queue_capacity: usize,
    /// The pool's thread limit (0 for the `Inline` worker).
    pub max_threads: usize,
}

/// The live counters behind a `WorkerStats`.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    /// See `WorkerStats::offloaded`.
    pub(crate) offloaded: AtomicU64,
    /// See `InlineCounts::chosen`.
    pub(crate) inline_chosen: AtomicU64,
    /// See `InlineCounts::threads_refused`.
    pub(crate) inline_refused: AtomicU64,
    /// See `InlineCounts::queue_full`.
    pub(crate) inline_queue_full: AtomicU64,
    /// See `WorkerStats::rejected`.
    pub(crate) rejected: AtomicU64,
    /// See `WorkerStats::waited_for_room`.
    pub(crate) waited_for_room: AtomicU64,
    /// See `WorkerStats::threads_spawned`.
    pub(crate) threads_spawned: AtomicU64,
    /// See `WorkerStats::spawn_failures`.
    pub(crate) spawn_failures: AtomicU64,
    /// The probe's finding, once probed.
    pub(crate) probe: Mutex<Option<Probe>>,
}

impl WorkerCounters {
    /// Adds one. Relaxed: each counter is read on its own, no other memory hangs on it.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one inline job under its reason.
    pub(crate) fn count_inline(&self, reason: InlineReason) {
        WorkerCounters::bump(match reason {
            InlineReason::Chosen => &self.inline_chosen,
            InlineReason::ThreadsRefused => &self.inline_refused,
            InlineReason::QueueFull => &self.inline_queue_full,
        });
    }

    /// Remembers the probe's result.
    pub(crate) fn set_probe(&self, probe: &Probe) {
        *self.probe.lock().unwrap_or_else(|p| p.into_inner()) = Some(probe.clone());
    }

    /// A snapshot of the counters; the caller fills in mode and sizes.
    pub(crate) fn snapshot(&self, mode: Mode) -> WorkerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WorkerStats {
            mode,
            probe: self.probe.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            offloaded: get(&self.offloaded),
            inline: InlineCounts {
                chosen: get(&self.inline_chosen),
                threads_refused: get(&self.inline_refused),
                queue_full: get(&self.inline_queue_full),
            },
            rejected: get(&self.rejected),
            waited_for_room: get(&self.waited_for_room),
            threads_spawned: get(&self.threads_spawned),
            spawn_failures: get(&self.spawn_failures),
            threads_alive: 0,
            threads_idle: 0,
            queue_len: 0,
            queue_capacity: 0,
            max_threads: 0,
        }
    }
}

impl fmt::Display for WorkerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "evloop worker stats: {}", self.mode)?;
        if let Some(probe) = &self.probe {
            writeln!(f, "  probe: {probe}")?;
        }
        writeln!(
            f,
            "  jobs: offloaded {:>7}   inline {:>5} (chosen {}, threads refused {}, queue full {})   \
             rejected {}   waited for room {}",
            self.offloaded,
            self.inline.total(),
            self.inline.chosen,
            self.inline.threads_refused,
            self.inline.queue_full,
            self.rejected,
            self.waited_for_room
        )?;
        write!(
            f,
            "  threads: alive {}/{}   idle {}   spawned {}   spawn failures {}   queue {}/{}",
            self.threads_alive,
            self.max_threads,
            self.threads_idle,
            self.threads_spawned,
            self.spawn_failures,
            self.queue_len,
            self.queue_capacity
        )
    }
}
