//! Timers: deadlines waiting to fire, and the reactor's poll timeout derived from them.
//!
//! The loop sleeps in `epoll_wait` until a socket is ready *or* the next deadline arrives, so the
//! timer structure has to answer one question fast: *what is the earliest deadline?* An ordered
//! map (`BTreeMap`) keyed by `(deadline, seq)` does that with `first_key_value`, and also gives:
//!
//! - **FIFO for equal deadlines**: `seq` grows with each insertion, so two timers due at the same
//!   instant fire in the order they were created;
//! - **cheap cancellation**: a `Sleep` that is dropped before it fires (the common case for a
//!   `timeout` whose future finished first) removes its entry in O(log n). Nothing is left behind,
//!   so creating and dropping a million timeouts keeps the map empty.
//!
//! Production runtimes use a *hierarchical timing wheel* (tokio: `runtime/time/wheel`), with O(1)
//! insert and cancel at millisecond resolution. A `BTreeMap` is O(log n) but short and obviously
//! correct, which is the trade this crate makes; `docs/performance.md` has the measured cost.
//!
//! When the loop fires timers it removes every entry whose deadline is `<= now` and wakes its
//! waker. A deadline equal to `now` fires: the reactor's timeout is rounded *up* to whole
//! milliseconds by mio, so by the time `epoll_wait` returns the deadline has passed, and firing
//! on equality means no extra zero-length sleep.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::{Duration, Instant};

/// The identity of one registered timer: its deadline plus a tie-breaking insertion number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    /// When the timer fires.
    deadline: Instant,
    /// Insertion order, so equal deadlines fire first-in first-out.
    seq: u64,
}

/// All registered timers of one runtime.
#[derive(Default)]
pub(crate) struct Timers {
    /// Pending timers, ordered by deadline then insertion.
    entries: BTreeMap<TimerKey, Waker>,
    /// The next insertion number.
    next_seq: u64,
}

impl Timers {
    /// Registers `waker` to be woken at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.entries.insert(key, waker);
        key
    }

    /// Replaces the waker of a pending timer (the `Sleep` moved to another task). Returns false if
    /// the timer already fired.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.entries.get_mut(&key) {
            Some(old) => {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Removes a timer (its `Sleep` was dropped or reset). A timer that already fired is gone.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.entries.remove(&key);
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.first_key_value().map(|(key, _)| key.deadline)
    }

    /// How long the reactor may sleep: until the earliest deadline (zero if it has passed), or
    /// forever (`None`) when no timer is pending.
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Removes every timer due at or before `now`, in deadline order, appending their wakers to
    /// `due`. The caller wakes them after releasing its borrow of `Timers`.
    ///
    /// Returns how late the earliest of them fired (`now - deadline`), zero when none was due: the
    /// loop's *timer lateness*, which grows when something blocked the loop past a deadline.
    pub(crate) fn take_due(&mut self, now: Instant, due: &mut Vec<Waker>) -> Duration {
        let mut lateness = Duration::ZERO;
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            lateness = lateness.max(now - entry.key().deadline);
            due.push(entry.remove());
        }
        lateness
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that appends its label to a shared log when woken.
    struct Label(u32, Arc<Mutex<Vec<u32>>>);
    impl Wake for Label {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(label: u32, log: &Arc<Mutex<Vec<u32>>>) -> Waker {
        Waker::from(Arc::new(Label(label, Arc::clone(log))))
    }

    #[test]
    fn fires_in_deadline_order_and_fifo_for_equal_deadlines() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut timers = Timers::default();
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(5);
        timers.insert(later, waker(3, &log));
        timers.insert(t0, waker(1, &log));
        timers.insert(later, waker(4, &log));
        timers.insert(t0, waker(2, &log));
        let mut due = Vec::new();
        timers.take_due(later, &mut due);
        due.into_iter().for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [1, 2, 3, 4]);
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn only_due_timers_fire_and_timeout_is_time_to_next() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut timers = Timers::default();
        let t0 = Instant::now();
        assert_eq!(timers.timeout(t0), None);
        timers.insert(t0 + Duration::from_millis(10), waker(1, &log));
        timers.insert(t0 + Duration::from_millis(30), waker(2, &log));
        assert_eq!(timers.timeout(t0), Some(Duration::from_millis(10)));
        let mut due = Vec::new();
        timers.take_due(t0 + Duration::from_millis(10), &mut due);
        assert_eq!(due.len(), 1);
        assert_eq!(
            timers.timeout(t0 + Duration::from_millis(40)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn removed_timers_leave_nothing_behind() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut timers = Timers::default();
        let t0 = Instant::now();
        for i in 0..if cfg!(miri) { 100 } else { 100_000 } {
            let key = timers.insert(t0 + Duration::from_secs(1 + i % 7), waker(1, &log));
            timers.remove(key);
        }
        assert_eq!(timers.len(), 0);
    }
}
