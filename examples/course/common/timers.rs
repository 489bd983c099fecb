//! Step 4: timers. Deadlines in an ordered map; the loop's poll timeout is the time to the first.
//!
//! ```text
//!  Sleep::poll: deadline passed? ── yes ──► Ready
//!                     │ no
//!                     └─► entries[(deadline, seq)] = waker ──► Pending
//!  park: epoll_wait(timeout = first deadline - now) ──► fire_due(now): wake each entry <= now
//! ```
//!
//! The timeout is the whole trick: with no socket event to come, `epoll_wait` returns when the
//! first timer is due, and not before. A timer can fire late (the loop was busy), never early.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::reactor::Reactor;

/// The timers of one loop.
#[derive(Default)]
pub struct Timers {
    /// Waiting sleeps by (deadline, sequence number): sorted by deadline, first come first served
    /// for equal deadlines, and no two keys alike.
    entries: RefCell<BTreeMap<(Instant, u64), Waker>>,
    /// The next sequence number.
    next_seq: Cell<u64>,
}

impl Timers {
    /// How long the loop may sleep: until the first deadline (zero if it has passed), or without
    /// limit (`None`) when no timer waits.
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        let entries = self.entries.borrow();
        entries
            .first_key_value()
            .map(|((deadline, _), _)| deadline.saturating_duration_since(now))
    }

    /// Wakes every timer whose deadline is `now` or earlier.
    pub fn fire_due(&self, now: Instant) {
        let due = {
            let mut entries = self.entries.borrow_mut();
            let later = entries.split_off(&(now, u64::MAX)); // keys after (now, any seq)
            std::mem::replace(&mut *entries, later)
        };
        due.into_values().for_each(Waker::wake); // outside the borrow, as in the reactor
    }

    /// Timers waiting now.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }
}

/// One wait of the loop, for steps 4 to 6: `epoll_wait` no longer than `max` (what the executor
/// allows) nor than the first deadline, then fire the timers that are due.
pub fn park(reactor: &Reactor, timers: &Timers, max: Option<Duration>) -> io::Result<()> {
    let timeout = match (max, timers.timeout(Instant::now())) {
        (Some(max), Some(first)) => Some(max.min(first)),
        (max, first) => max.or(first), // `None` only if both are: no limit
    };
    reactor.park(timeout)?;
    timers.fire_due(Instant::now());
    Ok(())
}

/// A future that completes at `deadline`.
pub fn sleep_until(timers: &Rc<Timers>, deadline: Instant) -> Sleep {
    let seq = timers.next_seq.replace(timers.next_seq.get() + 1);
    Sleep {
        timers: Rc::clone(timers),
        key: (deadline, seq),
    }
}

/// A future that completes `duration` from now.
pub fn sleep(timers: &Rc<Timers>, duration: Duration) -> Sleep {
    sleep_until(timers, Instant::now() + duration)
}

/// The future of `sleep`.
pub struct Sleep {
    /// Where it waits.
    timers: Rc<Timers>,
    /// Its key in `timers`: (deadline, sequence number).
    key: (Instant, u64),
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.key.0 {
            return Poll::Ready(());
        }
        // Insert, or replace the waker of an earlier poll: the latest poll's waker is the one.
        self.timers
            .entries
            .borrow_mut()
            .insert(self.key, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    /// A sleep dropped before its deadline (a timeout that lost its race) leaves nothing behind.
    fn drop(&mut self) {
        self.timers.entries.borrow_mut().remove(&self.key);
    }
}
