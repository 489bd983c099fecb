//! `interval`: a tick every `period`, for heartbeats and periodic work.
//!
//! **Missed ticks are skipped.** If the loop was blocked (or the task busy) for several periods,
//! the next `tick()` completes at once, and the one after is scheduled on the original grid at the
//! first grid point still in the future — it does *not* fire a burst of catch-up ticks (tokio's
//! default, `MissedTickBehavior::Burst`) and does not shift the grid (`Delay`). This is tokio's
//! `MissedTickBehavior::Skip`: a heartbeat that fell behind reports one late tick, then resumes its
//! rhythm. Compare the returned tick instant with `Instant::now()` to see how late a tick was.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep, deadline_after, far_future, sleep_until};

/// Ticks now, then every `period`.
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
    }
}

/// A stream of ticks on a fixed grid; see the module docs for missed ticks.
#[derive(Debug)]
pub struct Interval {
    /// Sleeps until the next tick; its deadline is the next tick's scheduled instant.
    sleep: Sleep,
    /// Time between ticks.
    period: Duration,
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

    /// The first grid point after `scheduled` that is still in the future at `now`.
    ///
    /// Saturating, as `sleep` is: a grid point past what an `Instant` can hold (a period of
    /// `Duration::MAX`, say) is "practically never", ~30 years from now, not an overflow panic.
    fn next_after(&self, scheduled: Instant, now: Instant) -> Instant {
        let next = deadline_after(scheduled, self.period);
        if next > now {
            return next;
        }
        // Skip the missed grid points: jump by whole periods past `now`.
        let behind = now.duration_since(scheduled).as_nanos();
        let periods = behind / self.period.as_nanos() + 1;
        let jump = periods
            .checked_mul(self.period.as_nanos())
            .and_then(|nanos| u64::try_from(nanos).ok())
            .map(Duration::from_nanos);
        jump.and_then(|jump| scheduled.checked_add(jump))
            .unwrap_or_else(far_future)
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

use std::future::Future as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_ticks_are_skipped_on_the_grid() {
        let t0 = Instant::now();
        let iv = interval_at(t0, Duration::from_millis(10));
        // On time: next grid point.
        assert_eq!(
            iv.next_after(t0, t0 + Duration::from_millis(1)),
            t0 + Duration::from_millis(10)
        );
        // 35 ms late: 10, 20, 30 are skipped; the next tick is at 40.
        assert_eq!(
            iv.next_after(t0, t0 + Duration::from_millis(35)),
            t0 + Duration::from_millis(40)
        );
    }

    #[test]
    fn a_grid_point_past_what_an_instant_holds_saturates() {
        let t0 = Instant::now();
        let forever = interval_at(t0, Duration::MAX);
        assert!(forever.next_after(t0, t0) > t0 + Duration::from_secs(86_400 * 365 * 29));
        // A tiny period far behind: more periods than a u32 counts, still a point after `now`.
        let fine = interval_at(t0, Duration::from_nanos(1));
        let now = t0 + Duration::from_secs(10);
        assert_eq!(fine.next_after(t0, now), now + Duration::from_nanos(1));
    }
}
