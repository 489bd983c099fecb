//! Paused time: the loop's time can stand still, so that a test of a 30 s timeout takes no 30 s.
//!
//! The loop asks one [`TimeSource`] what time it is. Normally that is the real clock
//! (`std::time::Instant::now()`). A test can *pause* it (`evloop::time::pause()`, or
//! `Builder::start_paused(true)`): from then on the loop's time stands still and moves only when
//! something moves it: `evloop::time::advance`, or the loop itself when it has nothing else to do
//! (*auto-advance*, `runtime/auto_advance.rs`). Resuming lets it run with the real clock again,
//! from where it stood:
//!
//! ```text
//!  loop time   ─────real─────┐pause  advance(5 s)          resume┌──real again──
//!                            └──────────┐ jump ┌─────────────────┘ (5 s ahead of the real clock,
//!                                       └──────┘                   less the real time spent paused)
//! ```
//!
//! Everything the loop measures reads this source: timers (what is due), lag and poll durations
//! (the slow-poll detector), and user code calling `evloop::time::Instant::now()`. So under paused
//! time those measurements are all *virtual* and exact: a poll that pretends to block for 200 ms
//! (`evloop::test::block_for`) is 200 ms long to the detector, to the microsecond. A poll that
//! really blocks takes no time at all — time stands still.
//!
//! One more thing lives here because the loop must not jump ahead of work that is still running:
//! the count of blocking jobs in flight. A job on a pool thread will wake the loop when it is done,
//! so the loop is not idle in the sense that matters, and jumping to the next timer would fire a
//! timeout around the job before the job could possibly finish. `spawn_blocking` holds an
//! [`AutoAdvanceHold`] for the life of each job; auto-advance waits while any is held (tokio does
//! the same: `inhibit_auto_advance`, tokio-rs/tokio#5115).
//!
//! The same design as tokio's `test-util` clock (`tokio/src/time/clock.rs`): a frozen instant that
//! stands for "now", moved forward by hand. It is compiled always (tokio needs a feature flag); the
//! cost to a running clock is one branch per reading.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// How the loop's time relates to the real clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Loop time is real time: never paused (the common case; a reading is one `Instant::now()`).
    Real,
    /// Loop time stands still at this instant; only an advance moves it.
    Paused(Instant),
    /// Loop time runs with the real clock again, from where it stood when resumed.
    Resumed {
        /// Loop time at the moment of the resume.
        base: Instant,
        /// The real clock at the moment of the resume.
        since: Instant,
    },
}

/// Where the loop's time comes from: the real clock, or a paused one.
#[derive(Debug)]
pub(crate) struct TimeSource {
    /// Real, paused or resumed.
    flow: Cell<Flow>,
    /// Blocking jobs in flight (each holds an [`AutoAdvanceHold`]); shared with pool threads.
    blocking_jobs: Arc<AtomicUsize>,
}

impl TimeSource {
    /// A source that follows the real clock.
    pub(crate) fn new() -> TimeSource {
        TimeSource {
            flow: Cell::new(Flow::Real),
            blocking_jobs: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// What time it is for the loop.
    #[inline]
    pub(crate) fn read(&self) -> Instant {
        match self.flow.get() {
            Flow::Real => Instant::now(),
            Flow::Paused(at) => at,
            Flow::Resumed { base, since } => base + since.elapsed(),
        }
    }

    /// True while time stands still.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self.flow.get(), Flow::Paused(_))
    }

    /// Stops time at its current reading. Returns false (and does nothing) if already paused.
    pub(crate) fn pause(&self) -> bool {
        if self.is_paused() {
            return false;
        }
        self.flow.set(Flow::Paused(self.read()));
        true
    }

    /// Lets time run with the real clock again, from where it stands. Returns false (and does
    /// nothing) if it was not paused.
    pub(crate) fn resume(&self) -> bool {
        let Flow::Paused(at) = self.flow.get() else {
            return false;
        };
        self.flow.set(Flow::Resumed {
            base: at,
            since: Instant::now(),
        });
        true
    }

    /// Moves paused time forward to `to` (never backward: an earlier `to` leaves it where it is).
    /// Returns the new reading, or `None` if time is not paused.
    pub(crate) fn advance_to(&self, to: Instant) -> Option<Instant> {
        let Flow::Paused(at) = self.flow.get() else {
            return None;
        };
        let now = at.max(to);
        self.flow.set(Flow::Paused(now));
        Some(now)
    }

    /// Counts one blocking job in flight until the hold is dropped.
    pub(crate) fn hold_auto_advance(&self) -> AutoAdvanceHold {
        self.blocking_jobs.fetch_add(1, Ordering::Relaxed);
        AutoAdvanceHold {
            blocking_jobs: Arc::clone(&self.blocking_jobs),
        }
    }

    /// True while a blocking job is in flight: the loop may not jump to its next timer.
    ///
    /// `Acquire` pairs with the `Release` of the hold's drop, which happens after the job has
    /// delivered its result and woken its task: so when this says false, that wake is already in
    /// the loop's inbox, and the loop sees it before it decides it is idle.
    pub(crate) fn auto_advance_held(&self) -> bool {
        self.blocking_jobs.load(Ordering::Acquire) > 0
    }
}

/// Keeps the loop from auto-advancing paused time while a blocking job is in flight.
///
/// The job carries it and drops it *after* delivering its result (`worker/job.rs`), on whatever
/// thread ran the job.
#[derive(Debug)]
pub(crate) struct AutoAdvanceHold {
    /// The count of the loop this job belongs to.
    blocking_jobs: Arc<AtomicUsize>,
}

impl Drop for AutoAdvanceHold {
    fn drop(&mut self) {
        self.blocking_jobs.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn paused_time_stands_still_until_advanced() {
        let source = TimeSource::new();
        assert!(source.pause());
        assert!(!source.pause(), "already paused");
        let t0 = source.read();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(source.read(), t0, "time stands still");
        let t1 = source
            .advance_to(t0 + Duration::from_secs(3600))
            .expect("paused");
        assert_eq!(t1 - t0, Duration::from_secs(3600));
        assert_eq!(source.advance_to(t0), Some(t1), "never backward");
        assert_eq!(source.read(), t1);
    }

    #[test]
    fn resumed_time_runs_on_from_where_it_stood() {
        let source = TimeSource::new();
        assert!(!source.resume(), "not paused");
        assert_eq!(source.advance_to(Instant::now()), None, "not paused");
        source.pause();
        let ahead = source.read() + Duration::from_secs(60);
        source.advance_to(ahead);
        assert!(source.resume());
        let later = source.read();
        assert!(later >= ahead, "resumed from the advanced instant");
        assert!(
            later > Instant::now(),
            "loop time is now ahead of the real clock"
        );
    }

    #[test]
    fn holds_count_blocking_jobs_on_any_thread() {
        let source = TimeSource::new();
        assert!(!source.auto_advance_held());
        let hold = source.hold_auto_advance();
        let second = source.hold_auto_advance();
        assert!(source.auto_advance_held());
        drop(hold);
        assert!(source.auto_advance_held(), "one job still in flight");
        std::thread::spawn(move || drop(second))
            .join()
            .expect("the hold is Send");
        assert!(!source.auto_advance_held());
    }
}
