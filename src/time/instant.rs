//! `Instant`: a moment on the loop's clock, which a test may pause.
//!
//! `std::time::Instant::now()` always reads the real clock. evloop's [`Instant`] has the same API
//! but reads the clock of the runtime running on this thread: the real clock, unless the test
//! paused it (`evloop::time::pause`, `Builder::start_paused`); then it reads the paused one. That
//! is what makes `sleep`, `timeout` and `interval` follow paused time, and what a test compares
//! against: after `sleep(1 hour)` in a paused test, `start.elapsed()` is exactly one hour.
//!
//! Outside a runtime (another thread, or before `block_on`), `Instant::now()` is the real clock.
//! Readings taken inside and outside one paused runtime are not comparable in a useful way —
//! exactly as in tokio, whose `tokio::time::Instant` this mirrors.
//!
//! [`into_std`](Instant::into_std) and [`from_std`](Instant::from_std) convert both ways; the
//! value inside is a `std::time::Instant` either way (paused time is a real instant, moved).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::runtime::context;

/// A measurement of the loop's clock: like `std::time::Instant`, but paused time stands still.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// The moment, as a std instant.
    std: std::time::Instant,
}

impl Instant {
    /// The current time of the runtime running on this thread (paused or not); the real clock
    /// outside a runtime.
    pub fn now() -> Instant {
        let std = context::with_core(|core| core.scheduler().clock().read())
            .unwrap_or_else(std::time::Instant::now);
        Instant { std }
    }

    /// Wraps a std instant.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The std instant inside.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later (as std does since Rust 1.60).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time passed since `self`, on the loop's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.std
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result is not representable (as `std::time::Instant`'s).
    fn add(self, duration: Duration) -> Instant {
        Instant::from_std(self.std + duration)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, duration: Duration) -> Instant {
        Instant::from_std(self.std - duration)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_std() {
        let std_now = std::time::Instant::now();
        let t = Instant::from_std(std_now);
        let later = t + Duration::from_millis(1500);
        assert_eq!(later - t, Duration::from_millis(1500));
        assert_eq!(t - later, Duration::ZERO, "saturates, like std");
        assert_eq!(t.checked_duration_since(later), None);
        assert_eq!(later - Duration::from_millis(1500), t);
        let mut moved = t;
        moved += Duration::from_secs(2);
        moved -= Duration::from_secs(1);
        assert_eq!(moved, t + Duration::from_secs(1));
        assert!(later > t);
        assert_eq!(later.into_std(), std_now + Duration::from_millis(1500));
        assert_eq!(std::time::Instant::from(t), std_now);
    }

    #[test]
    fn outside_a_runtime_now_is_the_real_clock() {
        let before = std::time::Instant::now();
        let now = Instant::now().into_std();
        assert!(now >= before && now <= std::time::Instant::now());
    }
}
