//! Loop lag as Node measures it: how late a timer due every 10 ms would run — without the timer.
//!
//! Node's `monitorEventLoopDelay` arms a timer every 10 ms and records how late each one fires. A
//! poll that blocks the loop for 250 ms makes one of those timers 240 ms late: the figure sees the
//! blocked loop directly. (The wake-to-poll delay does not: the timers and sockets that a blocked
//! poll delays are only noticed, and their tasks woken, *after* it returns; `stats.rs` says more.)
//!
//! A real timer every 10 ms would cost 100 wake-ups a second on an idle loop, forever, and would
//! show in the stats (`timers_pending`, turns). So the sampler is a **virtual** timer: it works out
//! what a real one would have measured, from what the loop already knows at the end of each turn.
//! A 10 ms timer due at `due` is fired by the first turn that checks timers after `due`:
//!
//! ```text
//!  due passed while the loop ran tasks,   the loop reaches the reactor at `before`: a real timer
//!  before this turn's park                would make that park return at once → late by before - due
//!  due passed during the park             the timer would have ended the park at `due` → on time (0)
//!  the reactor was skipped (busy loop)    timers are checked now, in this turn   → late by now - due
//! ```
//!
//! Then it is re-armed 10 ms after it fired, as Node's is; every further 10 ms that passed during
//! the same park is one more on-time sample (zero), counted with one addition. So an idle loop
//! costs nothing, a busy one one comparison per turn, and the histogram holds what Node's would:
//! mostly zeros, and one large sample for each time the loop was held.
//!
//! The times are the loop clock's readings: precise after a park, and within one kernel tick on a
//! busy loop (`clock.rs`). Lateness under ~1 ms is therefore noise, and reads as zero or a tick.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::stats::LoopCounters;
use crate::trace::{Counter, Trace};

/// The sampler's period: Node's default resolution.
pub(crate) const SAMPLE_PERIOD: Duration = Duration::from_millis(10);

/// A virtual timer due every [`SAMPLE_PERIOD`], measured at the end of each turn.
#[derive(Debug)]
pub(crate) struct LagSampler {
    /// When the virtual timer is next due.
    next_due: Cell<Instant>,
    /// The park of the current turn (`before`, `after`), if the reactor was waited on.
    park: Cell<Option<(Instant, Instant)>>,
}

impl LagSampler {
    /// A sampler whose first tick is due one period after `now`.
    pub(crate) fn new(now: Instant) -> LagSampler {
        LagSampler {
            next_due: Cell::new(now + SAMPLE_PERIOD),
            park: Cell::new(None),
        }
    }

    /// The loop starts running at `now` (`block_on` begins): the first tick is due one period
    /// later. Time when no `block_on` ran is not lag: nothing was there to be late.
    pub(crate) fn restart(&self, now: Instant) {
        self.next_due.set(now + SAMPLE_PERIOD);
        self.park.set(None);
    }

    /// The loop waited in the reactor from `before` to `after` in this turn.
    pub(crate) fn parked(&self, before: Instant, after: Instant) {
        self.park.set(Some((before, after)));
    }

    /// End of a turn at `now`: record a sample if the virtual timer is due.
    #[inline]
    pub(crate) fn end_of_turn(&self, now: Instant, counters: &LoopCounters, trace: Option<&Trace>) {
        let park = self.park.take();
        let due = self.next_due.get();
        if now < due {
            return; // the common case: not due yet
        }
        self.sample(due, now, park, counters, trace);
    }

    /// The virtual timer is due: work out how late a real one would have fired, record it, re-arm.
    #[cold]
    fn sample(
        &self,
        due: Instant,
        now: Instant,
        park: Option<(Instant, Instant)>,
        counters: &LoopCounters,
        trace: Option<&Trace>,
    ) {
        let fired_at = match park {
            // The loop reached the reactor after `due`: a real timer fires then.
            Some((before, _)) if before >= due => before,
            // `due` fell inside the park: a real timer would have ended it right then.
            Some(_) => due,
            // No park this turn: timers are checked now.
            None => now,
        };
        let lateness = fired_at.saturating_duration_since(due);
        let mut histogram = counters.loop_lag.borrow_mut();
        histogram.record(lateness);
        // Re-armed after it fired; every further period that ended inside the park was on time.
        let mut next = fired_at + SAMPLE_PERIOD;
        if let Some((_, after)) = park
            && next <= after
        {
            let missed = (after - next).as_nanos() / SAMPLE_PERIOD.as_nanos() + 1;
            histogram.record_zeros(missed as u64);
            next += SAMPLE_PERIOD * missed as u32;
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
    fn a_turn_that_held_the_loop_past_the_tick_is_late_by_the_excess() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        sampler.end_of_turn(t0 + ms(5), &counters, None);
        assert_eq!(samples(&counters).0, 0, "not due yet");
        // A poll blocked until t0 + 260 ms; the reactor was skipped (busy loop).
        sampler.end_of_turn(t0 + ms(260), &counters, None);
        assert_eq!(samples(&counters), (1, ms(250)));
        assert_eq!(
            sampler.next_due.get(),
            t0 + ms(270),
            "re-armed after firing"
        );
    }

    #[test]
    fn a_park_that_began_late_counts_until_the_park_began() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        // Tasks ran until t0 + 110 ms, then the loop parked until t0 + 150 ms.
        sampler.parked(t0 + ms(110), t0 + ms(150));
        sampler.end_of_turn(t0 + ms(150), &counters, None);
        let h = counters.loop_lag.borrow();
        assert_eq!(h.max(), ms(100), "due at 10, reached the reactor at 110");
        // Re-armed at 120; 120, 130, 140, 150 fell inside the park: on time.
        assert_eq!(h.count(), 5);
        assert_eq!(sampler.next_due.get(), t0 + ms(160));
    }

    #[test]
    fn an_idle_loop_records_only_on_time_samples() {
        let t0 = Instant::now();
        let sampler = LagSampler::new(t0);
        let counters = LoopCounters::default();
        sampler.parked(t0 + ms(1), t0 + ms(1001));
        sampler.end_of_turn(t0 + ms(1001), &counters, None);
        let (count, max) = samples(&counters);
        assert_eq!((count, max), (100, Duration::ZERO));
    }
}
