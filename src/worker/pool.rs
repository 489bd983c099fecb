//! `ThreadPool`: the offload path — blocking jobs run on threads, the event loop stays free.
//!
//! ```text
//!  loop thread: place(job)                                  pool threads (evloop-blocking-N)
//!   1. an idle (or starting) thread free? → queue + notify ──► it pops the job, runs it
//!   2. fewer than max_threads?            → queue + spawn  ──► the new thread pops the oldest
//!        spawn refused, threads alive     → stays queued       (idle keep_alive → it exits)
//!        spawn refused, no thread         → job comes back → error, or Fallback runs it inline
//!   3. room in the queue?                 → queue          ──► a busy thread pops it when done
//!   4. queue full                         → QueueFull policy: Wait / Reject / RunInline
//!        Wait: the job joins a line; each place a thread frees wakes one task in it
//! ```
//!
//! Threads are created lazily — none before the first job — and each exits after `keep_alive` of
//! idleness, so an idle service holds no threads. The exception: while the OS refuses new threads,
//! idle threads do *not* time out, because a thread that exits then cannot be replaced.
//!
//! The thread side — waiting, keep-alive, exit — and the state shared with the threads are in
//! `worker/pool/thread.rs`. Production detail lives beside it, in files named for it: what
//! happens when the queue is full (`pool/full_queue.rs`), the line of jobs waiting for room
//! (`pool/room.rs`), how the pool reports where blocking work goes (`pool/report.rs`), and the
//! knobs (`pool/builder.rs`).
//!
//! **Shutdown** never waits for a thread: dropping the pool cancels the jobs still queued (their
//! handles resolve to a cancelled `JoinError`), wakes idle threads so they exit, and detaches the
//! threads still running a job: each finishes its job — a blocking call cannot be interrupted —
//! drops the result if nobody awaits it any more, and exits.

mod builder;
mod full_queue;
mod report;
mod room;
mod thread;

pub(crate) use room::RoomLine;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, MutexGuard};
use std::task::Waker;
use std::{fmt, io};

pub use builder::PoolBuilder;
use thread::{PoolShared, PoolState};

use super::error::BlockingError;
use super::execution::Execution;
use super::job::Job;
use super::mode::{Mode, ModeReport, Probe};
use super::stats::{WorkerCounters, WorkerStats};
use super::{Refused, Worker};

/// A pool of threads for blocking jobs. See the module docs for the path a job takes.
pub struct ThreadPool {
    /// What the pool threads share with the pool.
    shared: Arc<PoolShared>,
    /// Announces changes of mode (warn when degraded, info on recovery).
    report: ModeReport,
    /// True after a `RunInline` overflow was announced; cleared when a job is offloaded again.
    overflow_announced: AtomicBool,
}

/// Where `place` put a job.
pub(crate) enum Placement {
    /// A pool thread has it (handed over, or queued). `spawn` says whether a thread was created
    /// for it; `Refused` means the OS said no and the job waits for a live thread.
    Placed {
        /// Whether a thread was created for it.
        spawn: SpawnAttempt,
    },
    /// The OS refused a thread and none is alive: the job is back, unrun.
    NoThread {
        /// The job.
        job: Job,
        /// The OS's answer.
        error: io::Error,
    },
    /// Every thread busy and the queue full: the job is back, unrun.
    Full {
        /// The job.
        job: Job,
    },
}

/// What happened when `place` needed a thread.
pub(crate) enum SpawnAttempt {
    /// No new thread was needed.
    NotNeeded,
    /// A new thread was created.
    Created,
    /// The OS refused; the job waits for a live thread.
    Refused(io::Error),
}

impl ThreadPool {
    /// Locks the shared state. Jobs never run under the lock, so poison cannot leave it torn.
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.shared.lock()
    }

    /// Puts `job` with a thread if one is or can be made available (steps 1-3 of the module docs).
    /// On `Full`, `room` (if given) is woken when a thread takes a job off the queue.
    pub(crate) fn place(&self, mut job: Job, room: Option<&Waker>) -> Placement {
        let mut state = self.lock();
        // A job back from waiting for room leaves the line (`full` puts it back if need be).
        if job.room_line.take().is_some() {
            state.room.forget(job.id());
        }
        // 1. A ready (idle or starting) thread not yet claimed by an earlier queued job takes it.
        if state.ready() > state.queue.len() {
            state.queue.push_back(job);
            drop(state);
            self.shared.job_ready.notify_one();
            return Placement::Placed {
                spawn: SpawnAttempt::NotNeeded,
            };
        }
        // 2. Room for another thread: queue the job and create a thread, which takes the oldest.
        if state.alive < self.shared.config.max_threads {
            return self.place_on_new_thread(state, job, room);
        }
        // 3. All threads exist and are busy: queue if there is room.
        if state.waiting() < self.shared.config.queue_capacity {
            state.queue.push_back(job);
            return Placement::Placed {
                spawn: SpawnAttempt::NotNeeded,
            };
        }
        // 4. Full.
        self.full(state, job, room)
    }

    /// Step 2: queue `job`, reserve a thread slot, and create the thread outside the lock.
    fn place_on_new_thread(
        &self,
        mut state: MutexGuard<'_, PoolState>,
        job: Job,
        room: Option<&Waker>,
    ) -> Placement {
        let id = job.id();
        state.queue.push_back(job);
        // Reserved now, so a concurrent `place` can neither overshoot max_threads nor count this
        // job as waiting for a busy thread.
        state.alive += 1;
        state.starting += 1;
        let number = state.next_thread;
        state.next_thread += 1;
        drop(state); // creating a thread takes tens of microseconds; the threads need the lock
        let shared = Arc::clone(&self.shared);
        let spawned = self.shared.spawner.spawn(
            format!("evloop-blocking-{number}"),
            Box::new(move || shared.run_thread()),
        );
        let mut state = self.lock();
        match spawned {
            Ok(()) => {
                state.spawn_refused = false;
                WorkerCounters::bump(&self.shared.counters.threads_spawned);
                log::debug!("blocking job {id}: started thread evloop-blocking-{number}");
                Placement::Placed {
                    spawn: SpawnAttempt::Created,
                }
            }
            Err(error) => {
                state.alive -= 1;
                state.starting -= 1;
                if state.next_thread == number + 1 {
                    state.next_thread = number; // thread names stay dense: -1, -2, -3
                }
                state.spawn_refused = true;
                WorkerCounters::bump(&self.shared.counters.spawn_failures);
                log::debug!("blocking job {id}: thread creation refused: {error}");
                self.after_refusal(state, id, error, room)
            }
        }
    }

    /// The OS refused a thread for job `id`, which sits in the queue: leave it for a live thread,
    /// or take it back when no thread is alive or the queue is over capacity.
    fn after_refusal(
        &self,
        mut state: MutexGuard<'_, PoolState>,
        id: u64,
        error: io::Error,
        room: Option<&Waker>,
    ) -> Placement {
        let over = state.alive == 0 || state.waiting() > self.shared.config.queue_capacity;
        let position = state.queue.iter().position(|job| job.id() == id);
        match (over, position) {
            (true, Some(i)) => {
                let job = state.queue.remove(i).expect("position is in bounds");
                if state.alive == 0 {
                    Placement::NoThread { job, error }
                } else {
                    self.full(state, job, room)
                }
            }
            // Either it may wait for a live thread, or a live thread already took it.
            _ => Placement::Placed {
                spawn: SpawnAttempt::Refused(error),
            },
        }
    }

    /// The counters, for `Fallback`.
    pub(crate) fn counters(&self) -> &WorkerCounters {
        &self.shared.counters
    }
}

impl Default for ThreadPool {
    fn default() -> Self {
        ThreadPool::new()
    }
}

impl Worker for ThreadPool {
    fn submit(&self, job: Job, room: Option<&Waker>) -> Result<Execution, Refused> {
        match self.place(job, room) {
            Placement::Placed { spawn } => {
                self.note_placed(spawn);
                Ok(Execution::Offloaded)
            }
            Placement::NoThread { job, error } => {
                self.note_no_thread(Mode::Refusing, &error);
                WorkerCounters::bump(&self.shared.counters.rejected);
                drop(job); // cancels it
                Err(Refused::Error(BlockingError::NoThread(error)))
            }
            Placement::Full { job } => self.when_full(job),
        }
    }

    fn probe(&self) -> Probe {
        self.probe_with(Mode::Refusing)
    }

    fn stats(&self) -> WorkerStats {
        self.stats_with(Mode::Refusing)
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let (queued, waiters, running) = {
            let mut state = self.lock();
            state.shutdown = true;
            let queued = std::mem::take(&mut state.queue);
            let waiters = state.room.take_all();
            (queued, waiters, state.alive - state.idle)
        };
        self.shared.job_ready.notify_all();
        log::debug!(
            "blocking pool shut down: {} queued job(s) cancelled, {running} thread(s) detached \
             while running a job",
            queued.len()
        );
        // Outside the lock: cancelling delivers a result and wakes a task.
        drop(queued);
        drop(waiters);
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}
