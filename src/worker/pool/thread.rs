//! The life of a pool thread, and the state it shares with the pool.
//!
//! ```text
//!  created by ThreadPool::place ──► next_job ──► queue has a job? ── yes ──► run it ──┐
//!                                      ▲              │ no                          │
//!                                      │              ▼                             │
//!                                      │   shut down, or idle for keep_alive? ── yes ──► exit
//!                                      │              │ no                          │
//!                                      │   wait on job_ready (counted idle)         │
//!                                      └──────────────┴─────────────────────────────┘
//! ```
//!
//! Everything the threads and the pool share sits behind one `Mutex` ([`PoolState`]), with a
//! `Condvar` idle threads wait on. A job never runs under the lock. tokio's blocking pool
//! (`tokio/src/runtime/blocking/pool.rs`) has the same shape; it also keeps each thread's
//! `JoinHandle` to join them at shutdown, which this pool never does (see `worker/pool.rs`).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::room::RoomWaiters;
use crate::executor::drop_payload;
use crate::worker::error::QueueFull;
use crate::worker::job::Job;
use crate::worker::spawner::ThreadSpawner;
use crate::worker::stats::WorkerCounters;

/// A pool's fixed settings.
#[derive(Clone, Copy, Debug)]
pub(super) struct PoolConfig {
    /// Most threads alive at once.
    pub(super) max_threads: usize,
    /// How long an idle thread waits for a job before it exits.
    pub(super) keep_alive: Duration,
    /// Most jobs waiting while every thread is busy.
    pub(super) queue_capacity: usize,
    /// What happens to a job when the queue is full.
    pub(super) when_full: QueueFull,
}

/// The part of the pool its threads hold.
pub(super) struct PoolShared {
    /// Queue and thread counts.
    pub(super) state: Mutex<PoolState>,
    /// Idle threads wait here for a job (or for shutdown).
    pub(super) job_ready: Condvar,
    /// Settings.
    pub(super) config: PoolConfig,
    /// Creates threads (the OS, or a `Deny` in tests).
    pub(super) spawner: Box<dyn ThreadSpawner>,
    /// WorkerCounters for `stats()`.
    pub(super) counters: WorkerCounters,
}

/// Everything behind the pool's lock.
pub(super) struct PoolState {
    /// Jobs waiting for a thread, oldest first.
    pub(super) queue: VecDeque<Job>,
    /// Threads alive, plus a thread being created right now.
    pub(super) alive: usize,
    /// Threads waiting on `job_ready`.
    pub(super) idle: usize,
    /// Threads created (or being created) that have not yet looked at the queue. Like idle
    /// threads, each takes a queued job without finishing another first.
    pub(super) starting: usize,
    /// The last thread creation failed. Cleared by the next one that succeeds.
    pub(super) spawn_refused: bool,
    /// The pool was dropped: threads exit once they find the queue empty.
    pub(super) shutdown: bool,
    /// Jobs waiting for room in a full queue (`QueueFull::Wait`), woken one per free place.
    pub(super) room: RoomWaiters,
    /// Number for the next thread's name.
    pub(super) next_thread: u64,
}

impl PoolShared {
    /// Locks the state, ignoring poison (see `ThreadPool::lock`).
    pub(super) fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The body of a pool thread: run jobs until idle for `keep_alive` or shut down.
    pub(super) fn run_thread(self: Arc<Self>) {
        let mut starting = true;
        while let Some(job) = self.next_job(std::mem::take(&mut starting)) {
            let id = job.id();
            log::trace!("blocking job {id} running");
            // `run` catches the closure's panic. What it does after — drop a result nobody awaits
            // any more, wake the awaiting task — may run user code that panics too (a destructor).
            // That must not end this thread either: the pool counts it alive and would never
            // replace it, and jobs queued for it would wait forever.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job.run())) {
                log::warn!("blocking job {id}: a panic after the job ran (a result's destructor?)");
                drop_payload(payload);
            }
            log::trace!("blocking job {id} done");
        }
    }

    /// Waits for the next job; `None` tells the thread to exit (and has counted it out).
    /// `starting`: this is the thread's first look at the queue.
    fn next_job(&self, starting: bool) -> Option<Job> {
        let mut deadline = Instant::now() + self.config.keep_alive;
        let mut state = self.lock();
        // A thread back from a job frees one place (the queue slot of the job it takes, or itself):
        // one task waiting for room is woken for it (`pool/room.rs`). A starting thread frees none.
        let mut frees_a_place = !starting;
        if starting {
            state.starting -= 1;
        }
        loop {
            if let Some(job) = state.queue.pop_front() {
                let waiter = self.next_room_waiter(&mut state, frees_a_place);
                drop(state);
                self.wake_for_room(waiter);
                return Some(job);
            }
            if state.shutdown {
                return self.exit(state);
            }
            if std::mem::take(&mut frees_a_place) && state.room.is_waiting() {
                state = self.offer_idle_thread(state); // then look at the queue again
                continue;
            }
            let now = Instant::now();
            let timeout = if state.spawn_refused {
                // A thread that exits now could not be replaced: stay, however long it idles, and
                // count the idle time from when creation works again.
                deadline = now + self.config.keep_alive;
                self.config.keep_alive.max(Duration::from_secs(1))
            } else if now >= deadline {
                return self.exit(state);
            } else {
                deadline - now
            };
            state.idle += 1;
            // A spurious or early wake just goes round the loop again.
            state = self
                .job_ready
                .wait_timeout(state, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            state.idle -= 1;
        }
    }

    /// Counts the calling thread out of the pool.
    fn exit(&self, mut state: MutexGuard<'_, PoolState>) -> Option<Job> {
        state.alive -= 1;
        log::trace!("blocking thread exits ({} left)", state.alive);
        None
    }
}

impl PoolState {
    /// Threads that will take a queued job without finishing another first.
    pub(super) fn ready(&self) -> usize {
        self.idle + self.starting
    }

    /// Queued jobs no ready thread has claimed: the ones waiting for a busy thread to finish.
    /// This is what the queue's capacity limits.
    pub(super) fn waiting(&self) -> usize {
        self.queue.len().saturating_sub(self.ready())
    }
}
