//! `Core`: everything one event loop owns, and the steps of one turn.
//!
//! Picture a waiter serving many tables. The waiter (the loop thread) never stands at one table
//! waiting for the guests to decide; they take an order from whoever is ready, and when nobody is,
//! they stand by the kitchen door (`epoll_wait`) until someone calls. A task is a table; a waker is
//! the guest raising a hand; the run queue is the list of hands raised. One guest who keeps the
//! waiter talking for a whole minute (a blocking call inside a poll) leaves every other table
//! waiting: that is "blocking the loop".
//!
//! `Core` holds the loop's state. It lives in an `Rc` shared by the `Runtime`, the thread-local
//! context and the sockets and timers created on it, and it never leaves the loop thread; the only
//! part other threads can reach is `shared` (`waker.rs`).
//!
//! One turn, driven by `Runtime::block_on` (`runtime/mod.rs`):
//!
//! ```text
//!  run_ready_tasks   poll the tasks that were ready when the turn began (not the ones they wake)
//!  park              reactor: epoll_wait(timeout = 0 if work is ready, else time to next timer);
//!                    while work is ready, only once per EVENT_INTERVAL polls
//!  after_park        move remote wakes into the run queue; fire due timers
//! ```

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

use super::builder::Config;
use crate::reactor::Reactor;
use crate::run_queue::{Notified, RunQueue};
use crate::stats::{Counters, RuntimeStats};
use crate::task::cell::{RawTask, RunResult, TaskCell, TaskMeta};
use crate::task::{JoinHandle, TaskId};
use crate::timer::Timers;
use crate::waker::Shared;
use crate::worker::Worker;

/// The state of one event loop.
pub(crate) struct Core {
    /// Live tasks; a task's `TaskId::slot` is its index here. A slot is `None` while its task is
    /// being polled: `run_task` moves the `Arc` out for the poll and back in after it (see there).
    tasks: RefCell<Slab<Option<Arc<dyn RawTask>>>>,
    /// Ids of woken tasks, in wake order.
    run_queue: RunQueue,
    /// Pending timers (`Sleep`s that returned `Pending`).
    timers: RefCell<Timers>,
    /// Sockets and the OS selector.
    reactor: Reactor,
    /// What other threads may touch: the remote queue and the interrupt.
    shared: Arc<Shared>,
    /// Spawn sequence number of the next task.
    next_seq: Cell<u64>,
    /// The loop's clock: the last precise reading, taken after a poll that crossed a kernel tick
    /// and after every reactor poll (`clock.rs`); used to stamp wakes and to time polls.
    clock: Cell<Instant>,
    /// The kernel tick (`clock::kernel_tick`) when `clock` was last read.
    clock_tick: Cell<u64>,
    /// Read the precise clock after every poll (a slow-poll threshold below two kernel ticks).
    precise_polls: bool,
    /// The poll count when the reactor was last asked for events (see [`EVENT_INTERVAL`]).
    polls_at_reactor_check: Cell<u64>,
    /// Settings from the builder.
    config: Config,
    /// Live counters behind `Runtime::stats()`.
    pub(crate) counters: Counters,
    /// Reused buffer for remote wakes drained each turn.
    remote_buf: RefCell<Vec<TaskId>>,
    /// Reused buffer for timer wakers due this turn.
    due_buf: RefCell<Vec<Waker>>,
    /// Where `spawn_blocking` sends blocking jobs (`src/worker/`).
    worker: Box<dyn Worker>,
}

/// While tasks are ready, the reactor is checked for I/O at most once per this many polls.
///
/// Checking costs an `epoll_wait` syscall even with a zero timeout: several times the cost of
/// polling a small task. A loop that checked on every turn would, when two tasks bounce a value
/// back and forth (one poll per turn), spend more time asking the kernel for nothing than running
/// tasks. So a busy loop checks every 61 polls, like tokio's current-thread scheduler (its
/// `event_interval`, same value): I/O readiness waits at most 61 polls, so a task that wakes
/// itself forever still cannot starve sockets. Timers and wakes from other threads need no
/// syscall (the clock is read after every poll; the remote queue is a mutex) and are still
/// handled every turn. An idle loop always goes to the reactor, to sleep there.
pub(crate) const EVENT_INTERVAL: u64 = 61;

impl Core {
    /// Creates the loop state: the selector, its interrupt and empty queues.
    pub(crate) fn new(config: Config, worker: Box<dyn Worker>) -> std::io::Result<Core> {
        let (reactor, interrupt) = Reactor::new(config.event_capacity)?;
        Ok(Core {
            tasks: RefCell::new(Slab::new()),
            run_queue: RunQueue::default(),
            timers: RefCell::new(Timers::default()),
            reactor,
            shared: Arc::new(Shared::new(interrupt)),
            next_seq: Cell::new(1),
            clock: Cell::new(Instant::now()),
            clock_tick: Cell::new(crate::clock::kernel_tick()),
            precise_polls: config
                .slow_poll_threshold
                .is_some_and(|t| t < 2 * crate::clock::MAX_TICK),
            polls_at_reactor_check: Cell::new(0),
            config,
            counters: Counters::default(),
            remote_buf: RefCell::new(Vec::new()),
            due_buf: RefCell::new(Vec::new()),
            worker,
        })
    }

    /// The thread-safe part, which wakers hold.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The reactor, for socket registrations.
    pub(crate) fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// The blocking worker, for `spawn_blocking`.
    pub(crate) fn worker(&self) -> &dyn Worker {
        &*self.worker
    }

    /// The timers, for `Sleep`.
    pub(crate) fn timers(&self) -> &RefCell<Timers> {
        &self.timers
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
        let task = TaskCell::new(id, Arc::clone(&self.shared), future, meta);
        entry.insert(Some(task.clone()));
        drop(tasks);
        Counters::bump(&self.counters.spawned);
        if log::log_enabled!(log::Level::Debug) {
            log::debug!("{id} spawned ({})", task.meta());
        }
        // `TaskCell::new` set `scheduled`, so this is the one enqueue the new task gets.
        self.run_queue.push(Notified {
            id,
            woken_at: self.clock.get(),
        });
        JoinHandle::new(task)
    }

    /// A wake on the loop thread: the task's `scheduled` flag was just set, queue its id.
    pub(crate) fn schedule_local(&self, id: TaskId) {
        Counters::bump(&self.counters.local_wakes);
        log::trace!("{id} woken");
        self.run_queue.push(Notified {
            id,
            woken_at: self.clock.get(),
        });
    }

    /// True if a task or the `block_on` future is ready to be polled.
    pub(crate) fn has_ready_work(&self) -> bool {
        !self.run_queue.is_empty()
            || self
                .shared
                .main_woken
                .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Polls every task that was ready when the turn began; returns how many polls ran.
    ///
    /// Tasks woken *during* this pass wait for the next turn, after the reactor and the timers
    /// have had theirs: that is what keeps a task that wakes itself forever from starving I/O.
    pub(crate) fn run_ready_tasks(&self) -> usize {
        let budget = self.run_queue.len();
        let mut polled = 0;
        for _ in 0..budget {
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
        // Stale-id check: the slot must hold the task with the same spawn number (task/id.rs).
        let task = match self.tasks.borrow_mut().get_mut(id.slot) {
            Some(slot) if slot.as_ref().is_some_and(|t| t.header().id.seq == id.seq) => {
                slot.take().expect("just checked")
            }
            _ => return false,
        };
        // Clear before polling, so that a wake during the poll queues the task again.
        task.header()
            .scheduled
            .store(false, std::sync::atomic::Ordering::Release);
        let start = self.clock.get();
        // The loop clock only moves when the kernel tick does (`clock.rs`), so most wakes are
        // stamped with the very reading this poll starts at: a lag of exactly zero, known without
        // the subtraction (a call into std), and counted with one increment.
        if start == notified.woken_at {
            self.counters.record_zero_lag();
        } else {
            self.counters
                .record_lag(start.saturating_duration_since(notified.woken_at));
        }
        let result = task.run();
        self.record_poll(start, Some(&*task));
        if result == RunResult::Pending {
            self.tasks.borrow_mut()[id.slot] = Some(task);
        } else {
            self.finish_task(task, result);
        }
        true
    }

    /// Bookkeeping after a task ended: free its slot, count it, log it.
    fn finish_task(&self, task: Arc<dyn RawTask>, result: RunResult) {
        let id = task.header().id;
        self.tasks.borrow_mut().remove(id.slot); // the slot is empty: its task was lent to the poll
        let counter = match result {
            RunResult::Completed => &self.counters.completed,
            RunResult::Panicked => &self.counters.panicked,
            RunResult::Cancelled => &self.counters.cancelled,
            RunResult::Pending => unreachable!("a pending task is not finished"),
        };
        Counters::bump(counter);
        match result {
            RunResult::Panicked => log::warn!("{id} ({}) panicked", task.meta()),
            _ => log::debug!("{id} {result:?}"),
        }
        drop(task); // the JoinHandle (if any) still holds the output
    }

    /// Measures the poll that started at `start`: advances the loop clock, tracks the longest
    /// poll, and names a poll that held the loop longer than the slow-poll threshold.
    ///
    /// This runs after every poll, so it is kept small enough to inline; the rare paths (a new
    /// longest poll, a slow poll) are functions of their own, marked `#[cold]`.
    ///
    /// The precise clock is read only when the kernel tick moved since the last reading
    /// (`clock.rs` says why that loses no slow poll): a poll shorter than a tick costs one
    /// ~5 ns coarse read instead of a ~26 ns precise one.
    #[inline]
    pub(crate) fn record_poll(&self, start: Instant, task: Option<&dyn RawTask>) {
        Counters::bump(&self.counters.polls);
        let tick = crate::clock::kernel_tick();
        if tick == self.clock_tick.get() && !self.precise_polls {
            return; // less than one tick since the last reading: not a slow poll
        }
        self.clock_tick.set(tick);
        let end = Instant::now();
        self.clock.set(end);
        let took = end.saturating_duration_since(start);
        if took > self.counters.longest_poll.get() {
            self.record_longest_poll(took, task);
        }
        if let Some(threshold) = self.config.slow_poll_threshold
            && took >= threshold
        {
            self.report_slow_poll(took, task);
        }
    }

    /// A poll longer than any before: remember how long and who.
    #[cold]
    fn record_longest_poll(&self, took: Duration, task: Option<&dyn RawTask>) {
        self.counters.longest_poll.set(took);
        self.counters
            .longest_poll_by
            .set(task.map(|t| t.header().id.seq));
    }

    /// The blocked-loop warning: count the slow poll and name who made it.
    ///
    /// `#[cold]` tells the compiler this is rarely called: it keeps the string formatting out of
    /// `record_poll`'s body (which would otherwise need a large stack frame on every poll) and
    /// lays the code out of the hot path.
    #[cold]
    #[inline(never)]
    fn report_slow_poll(&self, took: Duration, task: Option<&dyn RawTask>) {
        Counters::bump(&self.counters.slow_polls);
        let who: Cow<'_, str> = match task {
            Some(t) => format!("{} ({})", t.header().id, t.meta()).into(),
            None => "the block_on future".into(),
        };
        log::warn!(
            "{who} blocked the event loop for {:.3} s",
            took.as_secs_f64()
        );
    }

    /// The loop clock's last reading.
    pub(crate) fn clock(&self) -> Instant {
        self.clock.get()
    }

    /// Sleeps in the reactor until an event, an interrupt, or the next timer; never when work is
    /// already waiting. While work is waiting the reactor is only *peeked at* (timeout 0), and
    /// only once every [`EVENT_INTERVAL`] polls.
    pub(crate) fn park(&self) -> std::io::Result<Duration> {
        let busy = self.has_ready_work();
        let polls = self.counters.polls.get();
        if busy && polls - self.polls_at_reactor_check.get() < EVENT_INTERVAL {
            // Tasks are waiting and I/O was checked recently: skip the syscall. The loop clock was
            // read at the end of the last poll, so timers still fire on time in `after_park`.
            Counters::bump(&self.counters.turns);
            log::trace!("turn: reactor skipped, {} ready", self.run_queue.len());
            return Ok(Duration::ZERO);
        }
        self.polls_at_reactor_check.set(polls);
        let now = Instant::now();
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.timers.borrow().timeout(now)
        };
        let report = self.reactor.park(timeout)?;
        let after = Instant::now();
        self.clock.set(after);
        Counters::bump(&self.counters.turns);
        Counters::add(&self.counters.io_events, report.io_events as u64);
        if log::log_enabled!(log::Level::Trace) {
            log::trace!(
                "turn {}: timeout {timeout:?}, slept {:?}, {} io events{}, {} ready",
                self.counters.turns.get(),
                after - now,
                report.io_events,
                if report.interrupted {
                    ", interrupted"
                } else {
                    ""
                },
                self.run_queue.len(),
            );
        }
        Ok(after - now)
    }

    /// After the reactor returns: queue remote wakes, then fire due timers.
    pub(crate) fn after_park(&self) {
        self.take_remote_wakes();
        self.fire_timers();
    }

    /// Moves ids woken by other threads onto the run queue.
    fn take_remote_wakes(&self) {
        if !self.shared.has_remote_wakes() {
            return; // one atomic load instead of a mutex lock on every turn
        }
        let mut ids = std::mem::take(&mut *self.remote_buf.borrow_mut());
        self.shared.take_remote(&mut ids);
        let woken_at = self.clock.get();
        Counters::add(&self.counters.remote_wakes, ids.len() as u64);
        for id in ids.drain(..) {
            log::trace!("{id} woken from another thread");
            self.run_queue.push(Notified { id, woken_at });
        }
        *self.remote_buf.borrow_mut() = ids;
    }

    /// Wakes every timer due by the loop clock.
    fn fire_timers(&self) {
        let now = self.clock.get();
        if self
            .timers
            .borrow()
            .next_deadline()
            .is_none_or(|next| next > now)
        {
            return; // the common case on a busy loop: nothing due, so no buffer to juggle
        }
        let mut due = std::mem::take(&mut *self.due_buf.borrow_mut());
        let lateness = self.timers.borrow_mut().take_due(now, &mut due);
        if lateness > self.counters.worst_timer_lateness.get() {
            self.counters.worst_timer_lateness.set(lateness);
        }
        if !due.is_empty() {
            Counters::add(&self.counters.timers_fired, due.len() as u64);
            log::debug!("{} timer(s) fired", due.len());
        }
        for waker in due.drain(..) {
            waker.wake();
        }
        *self.due_buf.borrow_mut() = due;
    }

    /// A snapshot of the counters and sizes.
    pub(crate) fn stats(&self) -> RuntimeStats {
        let c = &self.counters;
        RuntimeStats {
            turns: c.turns.get(),
            polls: c.polls.get(),
            spawned: c.spawned.get(),
            completed: c.completed.get(),
            panicked: c.panicked.get(),
            cancelled: c.cancelled.get(),
            tasks_alive: self.tasks.borrow().len(),
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
            lag: c.snapshot_lag(),
        }
    }

    /// Drops every task's future, on this thread, until no task is left (a destructor may
    /// spawn); then drops queued ids, timers and stored wakers.
    pub(crate) fn shutdown(&self) {
        loop {
            // No slot is lent out here: shutdown never runs inside a poll.
            let tasks: Vec<Arc<dyn RawTask>> = self.tasks.borrow_mut().drain().flatten().collect();
            if tasks.is_empty() {
                break;
            }
            log::debug!("shutdown: dropping {} live task(s)", tasks.len());
            for task in tasks {
                task.shutdown();
            }
        }
        self.run_queue.clear();
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
        self.reactor.clear_wakers();
    }
}

/// The current runtime's stats, or `None` outside a runtime (`evloop::stats()`).
pub(crate) fn current_stats() -> Option<RuntimeStats> {
    super::context::with_core(|core: &Rc<Core>| core.stats())
}
