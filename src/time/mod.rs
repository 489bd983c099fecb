//! Time: `sleep`, `timeout` and `interval`, built on the runtime's timers (`timer.rs`).
//!
//! A [`Sleep`] is a future that is `Ready` once its deadline has passed. The first time it is
//! polled too early it registers its deadline and waker with the runtime's timers; the loop's
//! reactor then sleeps no longer than the earliest deadline, and after each turn the loop wakes
//! the timers that are due. Dropping a `Sleep` removes its registration.
//!
//! Resolution is one millisecond: `epoll_wait` takes a timeout in whole milliseconds (mio rounds
//! up, so a timer never fires early).
//!
//! Time here is the loop's clock, read through evloop's own [`Instant`]: the real clock, unless
//! a test paused it ([`pause`], [`advance`], `Builder::start_paused`; `docs/testing.md`). Then
//! `sleep(Duration::from_secs(3600))` returns at once with an hour passed on that clock.

mod instant;
mod interval;
mod paused;
mod sleep;
mod timeout;

pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use paused::{advance, pause, resume};
use sleep::deadline_after;
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout};
