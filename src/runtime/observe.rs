//! What the loop reports about itself: the stats snapshot, the time it spends parked (for the
//! utilization), and the trace of each wait in the reactor.
//!
//! None of this is needed to run the loop; it is how the loop is watched (`docs/07`,
//! `docs/08`). It is kept here, apart from the turn itself (`core.rs`), so that the turn reads
//! as its steps.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Runtime;
use super::core::Core;
use crate::stats::RuntimeStats;
use crate::trace::{Counter, Label, Trace, What};
use crate::worker::WorkerStats;

impl Core {
    /// `block_on` starts turning the loop: the time it did not run counts as idle (as time parked
    /// does, for the utilization), and the lag sampler starts afresh.
    pub(crate) fn resume(&self) {
        let now = self.scheduler.clock().read();
        if let Some(stopped) = self.stopped_at.take() {
            let parked = &self.scheduler.counters().parked;
            parked.set(parked.get() + now.saturating_duration_since(stopped));
        }
        self.scheduler.lag_sampler().restart(now);
    }

    /// `block_on` returns: the loop stops running until the next one.
    pub(crate) fn pause(&self) {
        self.stopped_at.set(Some(self.scheduler.clock().read()));
    }

    /// The loop waited in the reactor from `before` to `after` (`slept` long: the caller has
    /// subtracted already): idle time for the utilization, a park for the lag sampler and, when
    /// tracing, a `park` slice.
    pub(super) fn note_park(
        &self,
        (before, after, slept): (Instant, Instant, Duration),
        timeout: Option<Duration>,
        events: usize,
    ) {
        let counters = self.scheduler.counters();
        counters.parked.set(counters.parked.get() + slept);
        let trace = self.trace().map(|t| &**t);
        let sampler = self.scheduler.lag_sampler();
        sampler.free_between(before, after, counters, trace);
        if let Some(trace) = trace {
            let events = events as u32;
            let what = What::Park { timeout, events };
            trace.loop_slice(what, Label::Static("park"), before, after);
        }
    }

    /// The counter tracks of a trace, as the loop goes to the reactor.
    pub(super) fn trace_counters(&self, trace: &Trace, at: Instant) {
        trace.counter(Counter::RunQueue, self.scheduler.ready_len() as f64, at);
        trace.counter(Counter::TasksAlive, self.scheduler.tasks_alive() as f64, at);
    }

    /// A snapshot of the counters and sizes.
    pub(crate) fn stats(&self) -> RuntimeStats {
        let c = self.scheduler.counters();
        RuntimeStats {
            turns: c.turns.get(),
            polls: c.polls.get(),
            spawned: c.spawned.get(),
            completed: c.completed.get(),
            panicked: c.panicked.get(),
            cancelled: c.cancelled.get(),
            tasks_alive: self.scheduler.tasks_alive(),
            io_events: c.io_events.get(),
            local_wakes: c.local_wakes.get(),
            remote_wakes: c.remote_wakes.get(),
            timers_fired: c.timers_fired.get(),
            timers_pending: self.timers.borrow().len(),
            io_sources: self.reactor.live_sources(),
            slow_polls: c.slow_polls.get(),
            longest_poll: c.longest_poll.get(),
            longest_poll_task: c.longest_poll_by.get(),
            worst_timer_lateness: c.worst_timer_lateness.get(),
            loop_lag: c.loop_lag.borrow().clone(),
            wake_lag: c.snapshot_lag(),
            uptime: (self.scheduler.clock().read()).saturating_duration_since(self.started),
            parked: c.parked.get(),
        }
    }
}

/// The current runtime's stats, or `None` outside a runtime (`evloop::stats()`).
pub(crate) fn current_stats() -> Option<RuntimeStats> {
    super::context::with_core(|core: &Rc<Core>| core.stats())
}

impl Runtime {
    /// A snapshot of the loop's counters (turns, polls, wakes, lag, ...).
    pub fn stats(&self) -> RuntimeStats {
        self.core.stats()
    }

    /// A snapshot of the blocking worker's counters: jobs offloaded and inline, threads, queue,
    /// mode, and what the start-up probe found.
    pub fn worker_stats(&self) -> WorkerStats {
        self.core.worker().stats()
    }

    /// Number of sockets registered with the reactor now.
    pub fn io_sources(&self) -> usize {
        self.core.reactor().live_sources()
    }

    /// When the loop last read its clock (end of the last poll or turn).
    pub fn clock(&self) -> Instant {
        self.core.now()
    }

    /// The trace recorder, when tracing is on (`Builder::trace`, `Builder::trace_capacity`, or
    /// `EVLOOP_TRACE`): to write it now (`Trace::write`), or to draw the last seconds live.
    pub fn trace(&self) -> Option<Arc<Trace>> {
        self.core.trace().cloned()
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("stats", &self.core.stats())
            .finish()
    }
}
