//! How the pool reports where blocking work goes: the mode after each placement, the start-up
//! probe, and the mode in a stats snapshot.
//!
//! What a mode is and how a change is announced (once, with the OS error explained) is in
//! `worker/mode.rs`; this file says *when* the pool observes one.

use std::io;
use std::sync::atomic::Ordering;

use super::{SpawnAttempt, ThreadPool};
use crate::worker::diagnosis::refusal_reason;
use crate::worker::mode::{Mode, Probe};
use crate::worker::stats::{WorkerCounters, WorkerStats};

impl ThreadPool {
    /// Announces the mode after a placement and counts the job as offloaded.
    pub(crate) fn note_placed(&self, spawn: SpawnAttempt) {
        WorkerCounters::bump(&self.shared.counters.offloaded);
        self.overflow_announced.store(false, Ordering::Relaxed);
        match spawn {
            SpawnAttempt::NotNeeded => {}
            SpawnAttempt::Created => self.report.observe(Mode::Offloading, None, 0),
            SpawnAttempt::Refused(e) => {
                let live = self.lock().alive;
                self.report.observe(Mode::LiveThreadsOnly, Some(&e), live);
            }
        }
    }

    /// Announces that no thread could take a job; `mode` is where such jobs go now.
    pub(crate) fn note_no_thread(&self, mode: Mode, error: &io::Error) {
        self.report.observe(mode, Some(error), 0);
    }

    /// Tries to create a thread that exits at once; `no_thread` is where jobs go if that fails
    /// and no pool thread is alive.
    pub(crate) fn probe_with(&self, no_thread: Mode) -> Probe {
        let probe = match self
            .shared
            .spawner
            .spawn("evloop-probe".to_string(), Box::new(|| {}))
        {
            Ok(()) => {
                self.lock().spawn_refused = false;
                self.report.observe(Mode::Offloading, None, 0);
                Probe {
                    mode: Mode::Offloading,
                    reason: None,
                }
            }
            Err(e) => {
                WorkerCounters::bump(&self.shared.counters.spawn_failures);
                let live = {
                    let mut state = self.lock();
                    state.spawn_refused = true;
                    state.alive
                };
                let mode = if live > 0 {
                    Mode::LiveThreadsOnly
                } else {
                    no_thread
                };
                self.report.observe(mode, Some(&e), live);
                Probe {
                    mode,
                    reason: Some(refusal_reason(&e)),
                }
            }
        };
        self.report.probed(probe, &self.shared.counters)
    }

    /// A snapshot of the counters; `no_thread` names the mode when no thread can be had.
    pub(crate) fn stats_with(&self, no_thread: Mode) -> WorkerStats {
        let state = self.lock();
        let mode = match (state.spawn_refused, state.alive) {
            (false, _) => Mode::Offloading,
            (true, 0) => no_thread,
            (true, _) => Mode::LiveThreadsOnly,
        };
        let mut stats = self.shared.counters.snapshot(mode);
        stats.threads_alive = state.alive;
        stats.threads_idle = state.idle;
        stats.queue_len = state.waiting();
        stats.queue_capacity = self.shared.config.queue_capacity;
        stats.max_threads = self.shared.config.max_threads;
        stats
    }
}
