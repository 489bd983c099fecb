//! Loop lag as Node measures it: how late a timer due every 10 ms would run — without the timer.
//!
//! Node's `monitorEventLoopDelay` arms a timer every 10 ms and records how late each one fires. A
//! poll that blocks the loop for 250 ms makes one of those timers 240 ms late: the figure sees the
//! blocked loop directly. (The wake-to-poll delay does not: the timers and sockets that a blocked
//! poll delays are only noticed, and their tasks woken, *after* it returns; `stats.rs` says more.)
//!
//! A real timer every 10 ms would cost 100 wake-ups a second on an idle loop, forever, and would
//! show in the stats (`timers_pending`, turns). So the sampler is a **virtual** timer: it works out
//! what a real one would have measured, at the two moments the loop reads the precise clock
//! anyway — after each reactor wait (`Core::poll_reactor`), and after a poll that crossed a kernel
//! tick (`Scheduler::after_poll`, see `clock.rs`):
//!
//! ```text
//!  `due` fell inside a reactor wait            the timer would have ended the wait at `due`:
//!                                              on time (0)
//!  the loop was running polls at `due`; the    a real timer fires at the end of that poll (at
//!  first poll to end after it (or the next     the end of the turn, to be exact) or at once in
//!  reactor visit) ends at `then`               the wait: late by then - due
//! ```
//!
//! Then it is re-armed 10 ms after it fired, as Node's is; every further 10 ms that passed during
//! the same wait is one more on-time sample (zero), counted with one addition. So an idle loop
//! costs nothing, a busy one one comparison per kernel tick, and the histogram holds what Node's
//! would: mostly zeros, and one large sample for each time the loop was held.
//!
//! Two differences from a real timer, both small. On a busy loop the clock moves only once per
//! kernel tick (`clock.rs`), so lateness under a tick (1 to 10 ms) is rounding, as it is for
//! evloop's real timers. And the kernel waking the thread late out of `epoll_wait`, on a machine
//! so busy that the loop thread waits for a CPU, is not counted: the virtual tick counts a wait as
//! on time. So this figure is the time the loop *itself* was held — by a blocking poll, or a long
//! run of polls — which is what it is for.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::stats::LoopCounters;
use crate::trace::{Counter, Trace};

/// The sampler's period: Node's default resolution.
pub(crate) const SAMPLE_PERIOD: Duration = Duration::from_millis(10);

/// A virtual timer due every [`SAMPLE_PERIOD`], measured whenever the loop reads the precise clock.
#[derive(Debug)]
pub(crate) struct LagSampler {
    /// When the virtual timer is next due.
    next_due: Cell<Instant>,
}

impl LagSampler {
    /// A sampler whose first tick is due one period after `now`.
    pub(crate) fn new(now: Instant) -> LagSampler {
        LagSampler {
            next_due: Cell::new(now + SAMPLE_PERIOD),
        }
    }

    /// The loop starts running at `now` (`block_on` begins): the first tick is due one period
    /// later. Time when no `block_on` ran is not lag: nothing was there to be late.
    pub(crate) fn restart(&self, now: Instant) {
        self.next_due.set(now + SAMPLE_PERIOD);
    }

    /// The loop could have run a timer at any moment from `before` to `after`: a reactor wait (zero
    /// long for a peek), or the instant a poll ended (`before == after`). Records a sample if the
    /// virtual timer came due by `after`.
    #[inline]
    pub(crate) fn free_between(
        &self,
        before: Instant,
        after: Instant,
        counters: &LoopCounters,
        trace: Option<&Trace>,
    ) {
        let due = self.next_due.get();
        if after < due {
            return; // the common case: not due yet
        }
        self.sample(due, before, after, counters, trace);
    }

    /// The virtual timer is due: work out how late a real one would have fired, record it, re-arm.
    #[cold]
    fn sample(
        &self,
        due: Instant,
        before: Instant,
        after: Instant,
        counters: &LoopCounters,
        trace: Option<&Trace>,
    ) {
        // Reached the reactor after `due`: a real timer fires then. Else it ended the wait at `due`.
        let fired_at = before.max(due);
        let lateness = fired_at - due;
        let mut histogram = counters.loop_lag.borrow_mut();
        histogram.record(lateness);
        // Re-armed after it fired; every further period that ended inside the wait was on time.
        let mut next = fired_at + SAMPLE_PERIOD;
        if next <= after {
            let on_time = (after - next).as_nanos() / SAMPLE_PERIOD.as_nanos() + 1;
            histogram.record_zeros(on_time as u64);
            next += SAMPLE_PERIOD * on_time as u32;
        }
        drop(histogram);
        self.next_due.set(next);
        if let Some(trace) = trace {
            // Drawn at the tick's due time: "the tick due here ran this late". While a poll holds
            // the loop, the counter then reads high across the whole block, not only after it.
            trace.counter(Counter::LoopLagMs, lateness.as_secs_f64() * 1e3, due);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn samples(counters: &LoopCounters) -> (u64, Duration) {
        let h = counters.loop_lag.borrow();
        (h.count(), h.max())
    }

    #[test]
    fn a_poll_that_held_the_loop_past_the_tick_is_late_by_the_excess() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        sampler.free_between(t0 + ms(1), t0 + ms(2), &counters, None);
        assert_eq!(samples(&counters).0, 0, "not due yet");
        // A poll blocked until t0 + 260 ms, and ended there.
        sampler.free_between(t0 + ms(260), t0 + ms(260), &counters, None);
        assert_eq!(samples(&counters), (1, ms(250)));
        assert_eq!(
            sampler.next_due.get(),
            t0 + ms(270),
            "re-armed after firing"
        );
    }

    #[test]
    fn a_wait_that_began_late_counts_until_it_began_and_then_on_time_ticks() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        // Tasks ran until t0 + 110 ms, then the loop waited until t0 + 150 ms.
        sampler.free_between(t0 + ms(110), t0 + ms(150), &counters, None);
        let h = counters.loop_lag.borrow();
        assert_eq!(h.max(), ms(100), "due at 10, reached the reactor at 110");
        // Re-armed at 120; 120, 130, 140, 150 fell inside the wait: on time.
        assert_eq!(h.count(), 5);
        assert_eq!(sampler.next_due.get(), t0 + ms(160));
    }

    #[test]
    fn an_idle_loop_records_only_on_time_samples() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        sampler.free_between(t0 + ms(1), t0 + ms(1001), &counters, None);
        assert_eq!(samples(&counters), (100, Duration::ZERO));
        sampler.restart(t0 + ms(5000)); // block_on returned, and a new one began
        sampler.free_between(t0 + ms(5001), t0 + ms(5002), &counters, None);
        assert_eq!(
            samples(&counters).0,
            100,
            "the time outside block_on is not lag"
        );
    }
}
