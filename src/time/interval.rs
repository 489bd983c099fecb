//! `interval`: a tick every `period`, for heartbeats and periodic work.
//!
//! Ticks are scheduled on a grid: `start`, `start + period`, `start + 2 × period`, ... As long as
//! the task keeps up, `tick()` completes at each grid point. When it falls behind — the loop was
//! blocked, or the task was busy for several periods — some grid points have passed unseen, and
//! [`MissedTickBehavior`] says what happens next (tokio's three answers, same names):
//!
//! ```text
//!  period 10 ms, ticks due at 0 10 20 30 40 50; the loop is blocked from 12 to 35 ms
//!
//!  Burst (default)  20 30 fire at once at 35 (catch up), then 40 50 ...   on the grid, same count
//!  Delay            20 fires at 35, then 45 55 ...                        the grid moves
//!  Skip             20 fires at 35, then 40 50 ...                        on the grid, ticks lost
//! ```
//!
//! `Burst` is the default, as in tokio: code that counts ticks (a rate limiter refilling one token
//! per tick) gets every one of them. A heartbeat or a statistics printer usually wants `Skip`, a
//! "do this, then wait a period" loop `Delay`. A tick is missed only when it is more than 5 ms
//! late (tokio's tolerance): a tick a little late because of the timer's millisecond resolution
//! still schedules the next one on the grid.
//!
//! A tick spends one unit of the task's cooperative budget, through its `Sleep`
//! (`time/sleep.rs`): a `Burst` of missed ticks, all due at once, is handed out at most one budget
//! per poll, with the other tasks run in between, as in tokio.
//!
//! Compare the instant a tick returns (when it was *scheduled*) with `Instant::now()` to see how
//! late it was.

use std::future::Future as _;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep, deadline_after, sleep_until};

/// How late a tick may be before it counts as missed (tokio's value).
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// Ticks now, then every `period` (missed ticks: [`MissedTickBehavior::Burst`]).
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks at `start`, then every `period`.
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        sleep: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does after ticks were missed (see the module docs for a picture).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks as fast as possible until caught up with the grid (the default).
    #[default]
    Burst,
    /// Fire one late tick, then start a new grid `period` after it.
    Delay,
    /// Fire one late tick, then continue on the old grid at its next point in the future.
    Skip,
}

impl MissedTickBehavior {
    /// When the tick after a missed one is due: `scheduled` was its deadline, `now` is later than
    /// that by more than [`MISSED_AFTER`]. Saturating, as every deadline here (see `next_after`).
    fn next_deadline(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => deadline_after(scheduled, period),
            MissedTickBehavior::Delay => deadline_after(now, period),
            MissedTickBehavior::Skip => {
                // The first grid point after `now`: `now` plus what is left of the period it is
                // in.
                let past_grid = now.duration_since(scheduled).as_nanos() % period.as_nanos();
                let past_grid = u64::try_from(past_grid).expect("less than one period");
                deadline_after(now, period - Duration::from_nanos(past_grid))
            }
        }
    }
}

/// A stream of ticks on a grid; see the module docs for missed ticks.
#[derive(Debug)]
pub struct Interval {
    /// Sleeps until the next tick; its deadline is the next tick's scheduled instant.
    sleep: Sleep,
    /// Time between ticks.
    period: Duration,
    /// What to do after missed ticks.
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was *scheduled* for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll form of [`tick`](Interval::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep.reset(self.next_after(scheduled, Instant::now()));
        Poll::Ready(scheduled)
    }

    /// The deadline of the tick after the one scheduled at `scheduled`, which completes at `now`.
    ///
    /// Saturating, as `sleep` is: a grid point past what an `Instant` can hold (a period of
    /// `Duration::MAX`, say) is "practically never", ~30 years from now, not an overflow panic.
    fn next_after(&self, scheduled: Instant, now: Instant) -> Instant {
        if now > deadline_after(scheduled, MISSED_AFTER) {
            self.missed_tick_behavior
                .next_deadline(scheduled, now, self.period)
        } else {
            deadline_after(scheduled, self.period)
        }
    }

    /// What happens after missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Chooses what happens after missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// Starts the grid again one period from now: the next tick is at `now + period`.
    pub fn reset(&mut self) {
        self.sleep
            .reset(deadline_after(Instant::now(), self.period));
    }

    /// Starts the grid again now: the next tick completes at once.
    pub fn reset_immediately(&mut self) {
        self.sleep.reset(Instant::now());
    }

    /// Starts the grid again `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.sleep.reset(deadline_after(Instant::now(), after));
    }

    /// Starts the grid again at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `t0 + ms`.
    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// An interval of 10 ms from `t0` with `behavior`.
    fn every_10_ms(t0: Instant, behavior: MissedTickBehavior) -> Interval {
        let mut iv = interval_at(t0, Duration::from_millis(10));
        iv.set_missed_tick_behavior(behavior);
        iv
    }

    #[test]
    fn on_time_every_behavior_stays_on_the_grid() {
        let t0 = Instant::now();
        for behavior in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let iv = every_10_ms(t0, behavior);
            assert_eq!(iv.next_after(t0, at(t0, 1)), at(t0, 10), "{behavior:?}");
            // Up to 5 ms late still counts as on time.
            assert_eq!(iv.next_after(t0, at(t0, 5)), at(t0, 10), "{behavior:?}");
        }
    }

    #[test]
    fn burst_is_the_default_and_catches_up_tick_by_tick() {
        let t0 = Instant::now();
        let iv = interval_at(t0, Duration::from_millis(10));
        assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
        // 35 ms late: the ticks of 10, 20 and 30 are still owed, and come one after the other.
        assert_eq!(iv.next_after(t0, at(t0, 35)), at(t0, 10));
        assert_eq!(iv.next_after(at(t0, 10), at(t0, 35)), at(t0, 20));
    }

    #[test]
    fn delay_starts_a_new_grid_after_the_late_tick() {
        let t0 = Instant::now();
        let iv = every_10_ms(t0, MissedTickBehavior::Delay);
        assert_eq!(iv.next_after(t0, at(t0, 35)), at(t0, 45));
    }

    #[test]
    fn skip_jumps_to_the_next_grid_point_in_the_future() {
        let t0 = Instant::now();
        let iv = every_10_ms(t0, MissedTickBehavior::Skip);
        // 35 ms late: 10, 20, 30 are skipped; the next tick is at 40.
        assert_eq!(iv.next_after(t0, at(t0, 35)), at(t0, 40));
        // Exactly on a grid point: that one has passed, the next is a period on.
        assert_eq!(iv.next_after(t0, at(t0, 30)), at(t0, 40));
    }

    #[test]
    fn a_grid_point_past_what_an_instant_holds_saturates() {
        let t0 = Instant::now();
        let practically_never = t0 + Duration::from_secs(86_400 * 365 * 29);
        for behavior in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let mut forever = interval_at(t0, Duration::MAX);
            forever.set_missed_tick_behavior(behavior);
            assert!(forever.next_after(t0, t0) > practically_never, "on time");
            assert!(
                forever.next_after(t0, at(t0, 35)) > practically_never,
                "{behavior:?}"
            );
        }
    }
}
