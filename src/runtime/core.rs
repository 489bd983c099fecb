//! `Core`: everything one event loop owns, and the steps of one turn.
//!
//! Picture a waiter serving many tables. The waiter (the loop thread) never stands at one table
//! waiting for the guests to decide; they take an order from whoever is ready, and when nobody is,
//! they stand by the kitchen door (`epoll_wait`) until someone calls. A task is a table; a waker is
//! the guest raising a hand; the run queue is the list of hands raised. One guest who keeps the
//! waiter talking for a whole minute (a blocking call inside a poll) leaves every other table
//! waiting: that is "blocking the loop".
//!
//! `Core` puts together the layers below it: the executor's `Scheduler` (tasks and the run
//! queue), the `Reactor` (sockets), the `Timers` and the blocking `Worker`. It lives in an `Rc`
//! shared by the `Runtime`, the thread-local context and the sockets and timers created on it,
//! and it never leaves the loop thread; the only part other threads can reach is the scheduler's
//! inbox (`executor/waker.rs`).
//!
//! One turn, driven by `Runtime::block_on` (`runtime/mod.rs`):
//!
//! ```text
//!  run_ready_tasks   poll the tasks that were ready when the turn began (not the ones they wake)
//!  poll_reactor      epoll_wait(timeout = 0 if work is ready, else time to the next timer):
//!                    sleeps only when nothing is ready; while work is ready, the reactor is only
//!                    peeked at, and only once per EVENT_INTERVAL polls. Paused time (tests):
//!                    never sleeps for a timer, jumps to it when idle (auto_advance.rs)
//!  after_reactor     move remote wakes into the run queue; fire due timers; wake the tasks that
//!                    yielded for lack of budget (executor/coop.rs), behind all of those
//! ```

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::builder::Config;
use crate::executor::coop::{self, Budget};
use crate::executor::scheduler::Scheduler;
use crate::executor::waker::Inbox;
use crate::reactor::Reactor;
use crate::stats::LoopCounters;
use crate::timer::Timers;
use crate::trace::{Trace, What};
use crate::worker::Worker;

/// The state of one event loop.
pub(crate) struct Core {
    /// Tasks, the run queue, the inbox and the loop clock.
    pub(super) scheduler: Rc<Scheduler>,
    /// Sockets and the OS selector.
    pub(super) reactor: Rc<Reactor>,
    /// Pending timers (`Sleep`s that returned `Pending`).
    pub(super) timers: RefCell<Timers>,
    /// Where `spawn_blocking` sends blocking jobs (`src/worker/`).
    pub(super) worker: Rc<dyn Worker>,
    /// The poll count when the reactor was last asked for events (see [`EVENT_INTERVAL`]).
    pub(super) polls_at_reactor_check: Cell<u64>,
    /// Reused buffer for timer wakers due this turn.
    pub(super) due_buf: RefCell<Vec<Waker>>,
    /// When the loop was built: the start of `RuntimeStats::uptime`.
    pub(super) started: Instant,
    /// When the last `block_on` returned (or the loop was built): the loop is not running.
    pub(super) stopped_at: Cell<Option<Instant>>,
}

/// While tasks are ready, the reactor is checked for I/O at most once per this many polls.
///
/// Checking costs an `epoll_wait` syscall even with a zero timeout: several times the cost of
/// polling a small task. A loop that checked on every turn would, when two tasks bounce a value
/// back and forth (one poll per turn), spend more time asking the kernel for nothing than running
/// tasks. So a busy loop checks every 61 polls, like tokio's current-thread scheduler (its
/// `event_interval`, same value): I/O readiness waits at most 61 polls, so a task that wakes
/// itself forever still cannot starve sockets. Timers and wakes from other threads need no
/// syscall (the clock is read after polls; the inbox is a mutex) and are still handled every
/// turn. An idle loop always goes to the reactor, to sleep there.
pub(crate) const EVENT_INTERVAL: u64 = 61;

impl Core {
    /// Creates the loop state: the selector, its interrupt and empty queues.
    pub(crate) fn new(config: Config, worker: Rc<dyn Worker>) -> std::io::Result<Core> {
        let (reactor, bell) = Reactor::new(config.event_capacity)?;
        let inbox = Arc::new(Inbox::new(bell));
        let trace = config
            .trace
            .map(|t| Arc::new(Trace::new(t.capacity, t.path)));
        let budget = Budget::new(config.coop_budget);
        let scheduler = Scheduler::new(inbox, config.slow_poll_threshold, trace, budget);
        if config.start_paused {
            scheduler.clock().pause();
        }
        // The loop's own clock, so that paused time (tests) gives paused uptimes too.
        let started = scheduler.clock().read();
        Ok(Core {
            scheduler: Rc::new(scheduler),
            reactor: Rc::new(reactor),
            timers: RefCell::new(Timers::default()),
            worker,
            polls_at_reactor_check: Cell::new(0),
            due_buf: RefCell::new(Vec::new()),
            started,
            stopped_at: Cell::new(Some(started)),
        })
    }

    /// The executor half of the loop.
    pub(crate) fn scheduler(&self) -> &Rc<Scheduler> {
        &self.scheduler
    }

    /// The reactor, for socket registrations.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// The blocking worker, for `spawn_blocking`.
    pub(crate) fn worker(&self) -> &Rc<dyn Worker> {
        &self.worker
    }

    /// The trace recorder, when tracing is on.
    pub(crate) fn trace(&self) -> Option<&Arc<Trace>> {
        self.scheduler.trace()
    }

    /// The timers, for `Sleep`.
    pub(crate) fn timers(&self) -> &RefCell<Timers> {
        &self.timers
    }

    /// The loop clock's last reading.
    pub(crate) fn now(&self) -> Instant {
        self.scheduler.clock().now()
    }

    /// Step 1 of a turn: polls every task that was ready when the turn began.
    pub(crate) fn run_ready_tasks(&self) -> usize {
        self.scheduler.run_ready_tasks()
    }

    /// Step 2 of a turn: asks the reactor for events. Sleeps in it until an event, an interrupt,
    /// or the next timer, but never when work is already waiting: then the reactor is only
    /// *peeked at* (timeout 0), and only once every [`EVENT_INTERVAL`] polls. Returns how long
    /// it waited.
    pub(crate) fn poll_reactor(&self) -> std::io::Result<Duration> {
        let counters = self.scheduler.counters();
        // A task that ran out of budget (`executor/coop.rs`) yielded so that others could run:
        // it is ready (no sleeping), and their events are looked for now, not up to 61 polls on.
        let yielded = coop::has_deferred();
        let busy = yielded || self.scheduler.has_ready_work();
        let polls = counters.polls.get();
        if busy && !yielded && polls - self.polls_at_reactor_check.get() < EVENT_INTERVAL {
            // Tasks are waiting and I/O was checked recently: skip the syscall. Timers are still
            // checked in `after_reactor`, against the loop clock's last reading (a timer can be
            // up to one kernel tick late on a busy loop, see `clock.rs`).
            LoopCounters::bump(&counters.turns);
            log::trace!(
                "turn: reactor skipped, {} ready",
                self.scheduler.ready_len()
            );
            return Ok(Duration::ZERO);
        }
        self.polls_at_reactor_check.set(polls);
        let clock = self.scheduler.clock();
        let before = clock.read();
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.timers.borrow().timeout(before)
        };
        if let Some(trace) = self.trace() {
            self.trace_counters(trace, before);
        }
        let report = if clock.is_paused() {
            super::auto_advance::park_paused(self, timeout)? // paused time: never sleep for a timer
        } else {
            self.reactor.park(timeout)?
        };
        let after = clock.refresh();
        let slept = after - before;
        // Woken after the clock read: their wake-to-poll lag starts when the wait ended.
        self.reactor.wake_ready();
        self.note_park((before, after, slept), timeout, report.io_events);
        LoopCounters::bump(&counters.turns);
        LoopCounters::add(&counters.io_events, report.io_events as u64);
        if log::log_enabled!(log::Level::Trace) {
            log::trace!(
                "turn {}: timeout {timeout:?}, slept {:?}, {} io events{}, {} ready",
                counters.turns.get(),
                slept,
                report.io_events,
                if report.interrupted {
                    ", interrupted"
                } else {
                    ""
                },
                self.scheduler.ready_len(),
            );
        }
        Ok(slept)
    }

    /// Step 3 of a turn: queue remote wakes, fire due timers, then wake the tasks that yielded
    /// for lack of budget — last, so they run after everyone they kept waiting.
    pub(crate) fn after_reactor(&self) {
        self.scheduler.take_remote_wakes();
        self.fire_timers();
        coop::wake_deferred();
    }

    /// Wakes every timer due by the loop clock (also called by `time::advance` between steps).
    ///
    /// Inlined into the turn, so that the common case on a busy loop — nothing due — costs the
    /// check alone, not a call that saves registers for the juggling below.
    #[inline]
    pub(crate) fn fire_timers(&self) {
        let now = self.now();
        if self
            .timers
            .borrow()
            .next_deadline()
            .is_none_or(|next| next > now)
        {
            return; // the common case on a busy loop: nothing due, so no buffer to juggle
        }
        self.fire_due_timers(now);
    }

    /// The rest of [`Core::fire_timers`], once a timer is due at `now`.
    #[inline(never)]
    fn fire_due_timers(&self, now: Instant) {
        let counters = self.scheduler.counters();
        let mut due = std::mem::take(&mut *self.due_buf.borrow_mut());
        let lateness = self.timers.borrow_mut().take_due(now, &mut due);
        if lateness > counters.worst_timer_lateness.get() {
            counters.worst_timer_lateness.set(lateness);
        }
        if !due.is_empty() {
            LoopCounters::add(&counters.timers_fired, due.len() as u64);
            log::debug!("{} timer(s) fired", due.len());
            if let Some(trace) = self.trace() {
                let (count, what) = (due.len() as u32, "timers fired");
                trace.loop_instant(What::TimersFired { count, lateness }, what, now);
            }
        }
        for waker in due.drain(..) {
            waker.wake();
        }
        *self.due_buf.borrow_mut() = due;
    }

    /// Drops every task's future, on this thread, until no task is left (a destructor may
    /// spawn); then drops queued ids, timers and stored wakers.
    pub(crate) fn shutdown(&self) {
        self.scheduler.shutdown();
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
        self.reactor.clear_wakers();
    }
}
