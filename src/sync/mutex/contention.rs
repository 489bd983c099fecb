//! `ContentionStats`: how much a [`Mutex`](super::Mutex) made its lockers wait.
//!
//! The execution lock exists to serialise requests; these numbers show that it did, and what it
//! cost. The counters live inside the mutex's std lock and are updated while it is held anyway,
//! so counting adds no synchronisation. The clock is read only by lockers that must wait (which
//! are about to sleep, so a clock read is noise); an uncontended `lock()` never reads it.

use std::fmt;
use std::time::Duration;

/// A snapshot of a mutex's contention counters, from [`Mutex::contention`](super::Mutex::contention).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContentionStats {
    /// Guards handed out, by `lock()` or `try_lock()`.
    pub acquisitions: u64,
    /// Acquisitions whose locker found the lock taken and had to queue.
    pub contended: u64,
    /// Queued lockers whose `lock()` future was dropped before it returned a guard (a timeout or
    /// a cancelled task); the lock, if they had been handed it, passed on to the next locker.
    pub cancelled: u64,
    /// Most lockers queued at the same moment.
    pub max_queued: usize,
    /// Sum of the waits of all contended acquisitions, from queueing to getting the guard.
    pub total_wait: Duration,
    /// The longest single wait.
    pub longest_wait: Duration,
}

impl ContentionStats {
    /// The zero snapshot; `const` so that `Mutex::new` can be.
    pub(super) const ZERO: ContentionStats = ContentionStats {
        acquisitions: 0,
        contended: 0,
        cancelled: 0,
        max_queued: 0,
        total_wait: Duration::ZERO,
        longest_wait: Duration::ZERO,
    };

    /// The mean wait of a contended acquisition (zero when nobody waited).
    pub fn mean_wait(&self) -> Duration {
        match u32::try_from(self.contended) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.total_wait / n,
            // More than 4 billion waits: divide in floating point instead.
            Err(_) => self.total_wait.div_f64(self.contended as f64),
        }
    }

    /// Counts a locker that got the lock after waiting `waited`.
    pub(super) fn record_wait(&mut self, waited: Duration) {
        self.acquisitions += 1;
        self.contended += 1;
        self.total_wait += waited;
        self.longest_wait = self.longest_wait.max(waited);
    }

    /// Notes the queue length after a locker joined it.
    pub(super) fn record_queued(&mut self, queued: usize) {
        self.max_queued = self.max_queued.max(queued);
    }
}

/// One line for logs and demos, e.g.
/// `3 acquisitions, 2 waited (longest 200.3ms, mean 150.2ms, at most 2 queued), 0 gave up`.
impl fmt::Display for ContentionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} acquisitions, ", self.acquisitions)?;
        if self.contended == 0 {
            f.write_str("none waited")?;
        } else {
            write!(
                f,
                "{} waited (longest {:.1?}, mean {:.1?}, at most {} queued)",
                self.contended,
                self.longest_wait,
                self.mean_wait(),
                self.max_queued
            )?;
        }
        write!(f, ", {} gave up", self.cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_add_up_and_the_longest_is_kept() {
        let mut stats = ContentionStats::ZERO;
        stats.acquisitions += 1; // an uncontended one
        stats.record_wait(Duration::from_millis(100));
        stats.record_wait(Duration::from_millis(300));
        stats.record_queued(2);
        stats.record_queued(1);
        assert_eq!(stats.acquisitions, 3);
        assert_eq!(stats.contended, 2);
        assert_eq!(stats.total_wait, Duration::from_millis(400));
        assert_eq!(stats.longest_wait, Duration::from_millis(300));
        assert_eq!(stats.mean_wait(), Duration::from_millis(200));
        assert_eq!(stats.max_queued, 2);
    }

    #[test]
    fn display_reads_as_one_line() {
        let mut stats = ContentionStats::ZERO;
        stats.acquisitions = 5;
        assert_eq!(stats.to_string(), "5 acquisitions, none waited, 0 gave up");
        stats.record_wait(Duration::from_millis(100));
        stats.record_wait(Duration::from_millis(200));
        stats.record_queued(2);
        stats.cancelled = 1;
        assert_eq!(
            stats.to_string(),
            "7 acquisitions, 2 waited (longest 200.0ms, mean 150.0ms, at most 2 queued), 1 gave up"
        );
    }

    #[test]
    fn mean_wait_of_nobody_is_zero() {
        assert_eq!(ContentionStats::ZERO.mean_wait(), Duration::ZERO);
    }
}
