//! The loop clock: what time the loop thinks it is, and how it can time *every* poll cheaply.
//!
//! The loop needs the time for three jobs: to stamp a wake (so that the wait from wake to poll,
//! the *lag*, can be measured), to time each poll (so that a poll that blocks the loop is caught
//! and named), and to know which timers are due. Reading the precise clock (`Instant::now()`,
//! `CLOCK_MONOTONIC`) for each of them costs about 26 ns on the project's VM: a quarter of a whole
//! task round trip (`docs/performance.md`). So the loop keeps one [`LoopClock`], a cached reading
//! that the loop refreshes at the moments that matter, and everybody else reads the cache.
//!
//! ## The coarse clock
//!
//! Blocked-loop detection must look at the clock after every poll. Most polls take microseconds,
//! far less than any threshold worth warning about, and paying 26 ns to learn that is waste.
//! Linux keeps a second monotonic clock, `CLOCK_MONOTONIC_COARSE`: the time of the kernel's last
//! timer tick (every 1 to 10 ms, depending on `CONFIG_HZ`), read from memory the kernel shares
//! with every process (the vDSO), with no hardware timer access: about 5 ns (`sys.rs`). After each
//! poll the loop compares it with the tick of its last precise reading:
//!
//! - **same tick**: less than one tick has passed since the last precise reading, so this poll
//!   was shorter than a tick and cannot be a slow poll. Nothing else to do.
//! - **the tick moved**: read the precise clock and measure the poll.
//!
//! A poll longer than a tick always crosses a tick, so the blocked-loop warning still fires for
//! every slow poll and reports its duration to within one tick. The price is resolution: poll
//! times and wake-to-poll lags shorter than a tick read as zero (`stats.rs` buckets lag from 1 ms
//! up for that reason), and a timer can fire up to one tick late on a busy loop, because the loop
//! decides what is due from this cached reading. A slow-poll threshold below two of the longest
//! possible ticks ([`MAX_TICK`]) switches the loop back to a precise reading after every poll.
//!
//! Elsewhere than Linux there is no coarse clock here: every poll gets a precise reading.
//!
//! ## Paused time
//!
//! "The precise clock" above is the loop's [`TimeSource`]: the real clock, unless a test paused
//! it (`clock/paused.rs`). Paused time stands still, so the kernel tick says nothing about it;
//! while paused, every poll gets a reading of the paused clock instead (a copy, no system call),
//! and the detector and the lag see the time that the test made pass.

mod paused;

use std::cell::Cell;
use std::time::{Duration, Instant};

pub(crate) use paused::{AutoAdvanceHold, TimeSource};

/// The longest a kernel tick can be: Linux ticks at `CONFIG_HZ` = 100 to 1000 per second.
/// (Asking the kernel, `clock_getres`, would be exact, but a bound is all the loop needs.)
pub(crate) const MAX_TICK: Duration = Duration::from_millis(10);

/// The loop's cached reading of the precise clock, and the tick it was taken in.
#[derive(Debug)]
pub(crate) struct LoopClock {
    /// The last precise reading: taken after a poll that crossed a kernel tick, and after every
    /// reactor wait.
    now: Cell<Instant>,
    /// The coarse clock ([`coarse_ns`]) when `now` was read.
    tick: Cell<u64>,
    /// Take a precise reading after *every* poll: a slow-poll threshold below two ticks, or
    /// paused time (the kernel tick does not follow it).
    precise_polls: Cell<bool>,
    /// What `precise_polls` goes back to when paused time resumes.
    precise_when_running: bool,
    /// The precise clock: real, or paused for a test.
    source: TimeSource,
}

impl LoopClock {
    /// A clock read now. `precise_polls`: time every poll with the precise clock.
    pub(crate) fn new(precise_polls: bool) -> LoopClock {
        let source = TimeSource::new();
        LoopClock {
            now: Cell::new(source.read()),
            tick: Cell::new(coarse_ns()),
            precise_polls: Cell::new(precise_polls),
            precise_when_running: precise_polls,
            source,
        }
    }

    /// True if a slow-poll threshold this short needs a precise reading after every poll.
    pub(crate) fn needs_precise_polls(threshold: Option<Duration>) -> bool {
        threshold.is_some_and(|t| t < 2 * MAX_TICK)
    }

    /// The last reading: what time the loop thinks it is. Costs nothing.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.now.get()
    }

    /// Reads the precise clock without remembering the reading (`evloop::time::Instant::now()`).
    #[inline]
    pub(crate) fn read(&self) -> Instant {
        self.source.read()
    }

    /// Reads the precise clock and remembers the reading (after the reactor returns).
    pub(crate) fn refresh(&self) -> Instant {
        let now = self.source.read();
        self.now.set(now);
        self.tick.set(coarse_ns());
        now
    }

    /// True while time is paused (see the module docs).
    pub(crate) fn is_paused(&self) -> bool {
        self.source.is_paused()
    }

    /// Stops time; false if it was already paused.
    pub(crate) fn pause(&self) -> bool {
        let paused = self.source.pause();
        if paused {
            self.precise_polls.set(true);
            self.refresh();
        }
        paused
    }

    /// Lets time run again from where it stands; false if it was not paused.
    pub(crate) fn resume(&self) -> bool {
        let resumed = self.source.resume();
        if resumed {
            self.precise_polls.set(self.precise_when_running);
            self.refresh();
        }
        resumed
    }

    /// Moves paused time forward to `to` (never backward) and remembers the reading; `None` if
    /// time is not paused.
    pub(crate) fn advance_to(&self, to: Instant) -> Option<Instant> {
        let now = self.source.advance_to(to)?;
        self.now.set(now);
        Some(now)
    }

    /// Holds auto-advance back while one blocking job is in flight (`clock/paused.rs`).
    pub(crate) fn hold_auto_advance(&self) -> AutoAdvanceHold {
        self.source.hold_auto_advance()
    }

    /// True while a blocking job is in flight.
    pub(crate) fn auto_advance_held(&self) -> bool {
        self.source.auto_advance_held()
    }

    /// After a poll that started at `start`: `None` if the kernel tick has not moved since the
    /// last reading (the poll was shorter than a tick, see the module docs); otherwise reads the
    /// precise clock and returns how long the poll took.
    #[inline]
    pub(crate) fn poll_took(&self, start: Instant) -> Option<Duration> {
        let tick = coarse_ns();
        if tick == self.tick.get() && !self.precise_polls.get() {
            return None;
        }
        self.tick.set(tick);
        let end = self.source.read();
        self.now.set(end);
        Some(end.saturating_duration_since(start))
    }
}

/// The coarse kernel clock in nanoseconds (Linux): its value changes once per kernel tick.
#[cfg(target_os = "linux")]
fn coarse_ns() -> u64 {
    crate::sys::monotonic_coarse_ns()
}

/// Without a coarse clock every reading is "a new tick", so every poll is measured precisely.
#[cfg(not(target_os = "linux"))]
fn coarse_ns() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // waits for real time to pass (every runtime test still calls the clock)
    fn the_coarse_clock_moves_forward_in_ticks() {
        let first = coarse_ns();
        // Wait (bounded) for the tick to move; the clock must never go backwards.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut later = coarse_ns();
        while later == first && Instant::now() < deadline {
            std::hint::spin_loop();
            later = coarse_ns();
        }
        assert!(later > first, "the coarse clock did not move in 5 s");
    }

    #[test]
    fn a_precise_clock_times_every_poll() {
        let clock = LoopClock::new(true);
        let start = clock.now();
        let took = clock.poll_took(start).expect("precise: always measured");
        assert_eq!(clock.now(), start + took, "the reading is cached");
        assert!(LoopClock::needs_precise_polls(Some(Duration::from_millis(
            1
        ))));
        assert!(!LoopClock::needs_precise_polls(Some(
            Duration::from_millis(100)
        )));
        assert!(!LoopClock::needs_precise_polls(None));
    }

    #[test]
    fn a_paused_clock_times_polls_in_paused_time() {
        let clock = LoopClock::new(false);
        assert!(clock.pause());
        let start = clock.now();
        // A poll during which 200 ms of paused time passed (`evloop::test::block_for`).
        let end = clock
            .advance_to(start + Duration::from_millis(200))
            .expect("paused");
        assert_eq!(clock.now(), end, "an advance is remembered");
        assert_eq!(
            clock.poll_took(start),
            Some(Duration::from_millis(200)),
            "paused: every poll is measured, in paused time"
        );
        assert!(clock.resume());
        assert!(!clock.resume());
        assert!(clock.read() >= end, "time runs on from where it stood");
    }
}
