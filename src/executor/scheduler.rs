//! `Scheduler`: the task slab and the run queue of one loop — spawn a task, run the ready ones.
//!
//! This is the executor half of the loop, the half that knows nothing of sockets or timers (those
//! are the reactor's and the timers', which the runtime drives). It owns:
//!
//! ```text
//!  tasks      Slab<Arc<dyn Task>>   every live task; a TaskId's slot is its index
//!  run_queue  TaskIds in wake order  filled by local wakes (waker.rs) and by the inbox
//!  inbox      Arc<Inbox>             the only part other threads touch (waker.rs)
//!  clock      LoopClock              stamps wakes, times polls (clock.rs)
//!  trace      Option<Arc<Trace>>     when tracing is on: a slice per poll (traced.rs)
//! ```
//!
//! One scheduler runs on one thread. While its runtime's `block_on` runs, it is *current* on that
//! thread (a thread-local): that is how `spawn` finds where to put a task and how a wake finds out
//! whether it is local (`waker.rs`), without either of them knowing about the runtime above
//! (`current.rs`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use super::blocked_loop::BlockedLoopDetector;
use super::cell::{RunResult, Task, TaskCell, TaskMeta};
use super::coop::{self, Budget};
use super::lag_sampler::LagSampler;
use super::run_queue::{Notified, RunQueue};
use super::traced;
use super::waker::Inbox;
use super::{JoinHandle, TaskId};
use crate::clock::LoopClock;
use crate::stats::LoopCounters;
use crate::trace::Trace;

/// The tasks of one loop and the queue of those ready to run.
pub(crate) struct Scheduler {
    /// Live tasks; a task's `TaskId::slot` is its index here. A slot is `None` while its task is
    /// being polled: `run_task` moves the `Arc` out for the poll and back in after it (see there).
    tasks: RefCell<Slab<Option<Arc<dyn Task>>>>,
    /// Ids of woken tasks, in wake order.
    run_queue: RunQueue,
    /// What other threads may touch: the remote wakes and the bell.
    pub(super) inbox: Arc<Inbox>,
    /// Spawn sequence number of the next task.
    next_seq: Cell<u64>,
    /// The loop clock: stamps wakes, times polls.
    clock: LoopClock,
    /// Times every poll and names the ones that block the loop.
    detector: BlockedLoopDetector,
    /// Loop lag, sampled whenever the clock is read precisely (`lag_sampler.rs`).
    lag_sampler: LagSampler,
    /// Live counters behind `Runtime::stats()`.
    counters: LoopCounters,
    /// Reused buffer for remote wakes drained each turn.
    remote_buf: RefCell<Vec<TaskId>>,
    /// The trace recorder, when tracing is on (`traced.rs`): checked once per poll.
    trace: Option<Arc<Trace>>,
    /// The operations each poll may complete before it must yield (`coop.rs`).
    budget: Budget,
}

impl Scheduler {
    /// An empty scheduler around `inbox`; polls at least `slow_poll_threshold` long are logged;
    /// polls and wakes are recorded in `trace`, if given; each poll may complete `budget`
    /// operations (`coop.rs`).
    pub(crate) fn new(
        inbox: Arc<Inbox>,
        slow_poll_threshold: Option<Duration>,
        trace: Option<Arc<Trace>>,
        budget: Budget,
    ) -> Scheduler {
        Scheduler {
            tasks: RefCell::new(Slab::new()),
            run_queue: RunQueue::default(),
            inbox,
            next_seq: Cell::new(1),
            clock: LoopClock::new(LoopClock::needs_precise_polls(slow_poll_threshold)),
            detector: BlockedLoopDetector::new(slow_poll_threshold),
            lag_sampler: LagSampler::new(Instant::now()),
            counters: LoopCounters::default(),
            remote_buf: RefCell::new(Vec::new()),
            trace,
            budget,
        }
    }

    /// The budget every poll starts with (`coop.rs`); the `block_on` future gets it too.
    pub(crate) fn budget(&self) -> Budget {
        self.budget
    }

    /// The inbox, which wakers hold.
    pub(crate) fn inbox(&self) -> &Arc<Inbox> {
        &self.inbox
    }

    /// The loop clock.
    pub(crate) fn clock(&self) -> &LoopClock {
        &self.clock
    }

    /// The live counters.
    pub(crate) fn counters(&self) -> &LoopCounters {
        &self.counters
    }

    /// The trace recorder, when tracing is on.
    pub(crate) fn trace(&self) -> Option<&Arc<Trace>> {
        self.trace.as_ref()
    }

    /// The loop-lag sampler, which the runtime tells about reactor waits.
    pub(crate) fn lag_sampler(&self) -> &LagSampler {
        &self.lag_sampler
    }

    /// Puts a new task in the slab and on the run queue. One allocation: the `Arc<TaskCell>`.
    pub(crate) fn spawn<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let id = TaskId {
            slot: entry.key(),
            seq,
        };
        let task = TaskCell::new(id, Arc::clone(&self.inbox), future, meta);
        entry.insert(Some(task.clone()));
        drop(tasks);
        LoopCounters::bump(&self.counters.spawned);
        if log::log_enabled!(log::Level::Debug) {
            log::debug!("{id} spawned ({})", task.meta());
        }
        // `TaskCell::new` set `scheduled`, so this is the one enqueue the new task gets.
        self.run_queue.push(Notified {
            id,
            woken_at: self.clock.now(),
        });
        JoinHandle::new(task)
    }

    /// A wake on the loop thread: the task's `scheduled` flag was just set, queue its id.
    pub(super) fn schedule_local(&self, id: TaskId) {
        LoopCounters::bump(&self.counters.local_wakes);
        log::trace!("{id} woken");
        self.run_queue.push(Notified {
            id,
            woken_at: self.clock.now(),
        });
        if let Some(trace) = &self.trace {
            traced::wake(trace, id, false, Instant::now());
        }
    }

    /// True if a task or the `block_on` future is ready to be polled.
    pub(crate) fn has_ready_work(&self) -> bool {
        !self.run_queue.is_empty() || self.inbox.main_is_woken()
    }

    /// How many tasks wait in the run queue.
    pub(crate) fn ready_len(&self) -> usize {
        self.run_queue.len()
    }

    /// Number of live tasks.
    pub(crate) fn tasks_alive(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Polls every task that was ready when the turn began; returns how many polls ran.
    ///
    /// Tasks woken *during* this pass wait for the next turn, after the reactor and the timers
    /// have had theirs: that is what keeps a task that wakes itself forever from starving I/O.
    pub(crate) fn run_ready_tasks(&self) -> usize {
        let ready = self.run_queue.len();
        let mut polled = 0;
        for _ in 0..ready {
            let Some(notified) = self.run_queue.pop() else {
                break;
            };
            if self.run_task(notified) {
                polled += 1;
            }
        }
        polled
    }

    /// Polls one task, unless its id is stale. Returns true if a poll ran.
    ///
    /// The poll may spawn, which needs the slab, so the task cannot stay borrowed from it. Rather
    /// than clone its `Arc` (two atomic instructions per poll, as costly as a small poll), the
    /// `Arc` is *moved* out of its slot and back in after the poll. The slot stays occupied
    /// (`None`), so it cannot be reused meanwhile.
    fn run_task(&self, notified: Notified) -> bool {
        let id = notified.id;
        // Stale-id check: the slot must hold the task with the same spawn number (id.rs).
        let task = match self.tasks.borrow_mut().get_mut(id.slot) {
            Some(slot) if slot.as_ref().is_some_and(|t| t.header().id().seq == id.seq) => {
                slot.take().expect("just checked")
            }
            _ => return false,
        };
        // Clear before polling, so that a wake during the poll queues the task again.
        task.header()
            .scheduled
            .store(false, std::sync::atomic::Ordering::Release);
        let start = self.clock.now();
        self.record_lag(start, notified.woken_at);
        let traced = self.trace_poll_start();
        let result = coop::with_budget(self.budget, || task.run());
        self.trace_poll_end(traced, Some(&*task));
        self.after_poll(start, Some(&*task));
        if result == RunResult::Pending {
            self.tasks.borrow_mut()[id.slot] = Some(task);
        } else {
            self.finish_task(task, result);
        }
        true
    }

    /// Records the wait from a task's wake to its poll.
    ///
    /// The loop clock only moves when the kernel tick does (`clock.rs`), so most wakes are
    /// stamped with the very reading this poll starts at: a lag of exactly zero, known without
    /// the subtraction (a call into std), and counted with one increment.
    #[inline]
    fn record_lag(&self, start: Instant, woken_at: Instant) {
        if start == woken_at {
            self.counters.record_zero_lag();
        } else {
            self.counters
                .record_lag(start.saturating_duration_since(woken_at));
        }
    }

    /// Before a poll: when tracing is on, the precise time it starts. With tracing off, `None`
    /// after one branch that always goes the same way (and one more in `trace_poll_end`).
    #[inline]
    pub(crate) fn trace_poll_start(&self) -> Option<Instant> {
        self.trace.as_ref().map(|_| Instant::now())
    }

    /// After a poll of `task` (of the `block_on` future when `None`) that started at `start` (from
    /// `trace_poll_start`): records it when tracing is on.
    #[inline]
    pub(crate) fn trace_poll_end(&self, start: Option<Instant>, task: Option<&dyn Task>) {
        if let (Some(start), Some(trace)) = (start, &self.trace) {
            traced::poll(trace, task, start);
        }
    }

    /// After any poll (a task's, or the `block_on` future's with `task: None`): count it and let
    /// the detector time it.
    #[inline]
    pub(crate) fn after_poll(&self, start: Instant, task: Option<&dyn Task>) {
        LoopCounters::bump(&self.counters.polls);
        if let Some(took) = self.clock.poll_took(start) {
            self.detector.measured(took, task, &self.counters);
            let now = self.clock.now(); // just read: the poll crossed a kernel tick
            let trace = self.trace.as_deref();
            self.lag_sampler
                .free_between(now, now, &self.counters, trace);
        }
    }

    /// Bookkeeping after a task ended: free its slot, count it, log it.
    fn finish_task(&self, task: Arc<dyn Task>, result: RunResult) {
        let id = task.header().id();
        self.tasks.borrow_mut().remove(id.slot); // the slot is empty: its task was lent to the poll
        let counter = match result {
            RunResult::Completed => &self.counters.completed,
            RunResult::Panicked => &self.counters.panicked,
            RunResult::Cancelled => &self.counters.cancelled,
            RunResult::Pending => unreachable!("a pending task is not finished"),
        };
        LoopCounters::bump(counter);
        match result {
            RunResult::Panicked => log::warn!("{id} ({}) panicked", task.meta()),
            _ => log::debug!("{id} {result:?}"),
        }
        drop(task); // the JoinHandle (if any) still holds the output
    }

    /// Moves ids woken by other threads from the inbox onto the run queue.
    pub(crate) fn take_remote_wakes(&self) {
        if !self.inbox.has_remote_wakes() {
            return; // one atomic load instead of a mutex lock on every turn
        }
        let mut ids = std::mem::take(&mut *self.remote_buf.borrow_mut());
        self.inbox.take_remote(&mut ids);
        let woken_at = self.clock.now();
        LoopCounters::add(&self.counters.remote_wakes, ids.len() as u64);
        for id in ids.drain(..) {
            log::trace!("{id} woken from another thread");
            self.run_queue.push(Notified { id, woken_at });
            if let Some(trace) = &self.trace {
                traced::wake(trace, id, true, Instant::now());
            }
        }
        *self.remote_buf.borrow_mut() = ids;
    }

    /// Drops every task's future, on this thread, until no task is left (a destructor may
    /// spawn); then drops the queued ids.
    pub(crate) fn shutdown(&self) {
        loop {
            // No slot is lent out here: shutdown never runs inside a poll.
            let tasks: Vec<Arc<dyn Task>> = self.tasks.borrow_mut().drain().flatten().collect();
            if tasks.is_empty() {
                break;
            }
            log::debug!("shutdown: dropping {} live task(s)", tasks.len());
            for task in tasks {
                task.shutdown();
            }
        }
        self.run_queue.clear();
    }
}
