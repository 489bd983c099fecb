//! `StatsDelta`: what the loop did between two snapshots — "the last second" for a dashboard.
//!
//! The loop's counters only grow, and a snapshot is cheap. A dashboard that wants per-second
//! figures takes a snapshot every second and subtracts the previous one: polls per second, wakes
//! per second, the loop lag's p99 and max *in that second*, and the loop's utilization — the
//! fraction of the second it was not parked in the reactor, as Node's `eventLoopUtilization()`
//! reports it (`idle` there is the time spent in the poll phase waiting for events; `active` is
//! everything else).

use std::time::Duration;

use super::RuntimeStats;
use super::latency::LatencyHistogram;

/// The difference between two [`RuntimeStats`] snapshots of one runtime (`later.since(&earlier)`).
#[derive(Clone, Debug, Default)]
pub struct StatsDelta {
    /// Wall time between the two snapshots.
    pub elapsed: Duration,
    /// Of that, time the loop spent parked in the reactor (idle).
    pub parked: Duration,
    /// Loop turns.
    pub turns: u64,
    /// Polls.
    pub polls: u64,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks completed.
    pub completed: u64,
    /// Readiness events.
    pub io_events: u64,
    /// Wakes on the loop thread.
    pub local_wakes: u64,
    /// Wakes from other threads.
    pub remote_wakes: u64,
    /// Timers fired.
    pub timers_fired: u64,
    /// Polls longer than the slow-poll threshold.
    pub slow_polls: u64,
    /// The sampled loop lag of the interval (its max: see [`LatencyHistogram::since`]).
    pub loop_lag: LatencyHistogram,
}

impl StatsDelta {
    /// Time the loop was busy (not parked) in the interval.
    pub fn busy(&self) -> Duration {
        self.elapsed.saturating_sub(self.parked)
    }

    /// The busy fraction of the interval, 0.0 to 1.0 (0.0 for an empty interval).
    pub fn utilization(&self) -> f64 {
        utilization(self.elapsed, self.parked)
    }
}

/// Busy time over elapsed time.
pub(super) fn utilization(elapsed: Duration, parked: Duration) -> f64 {
    if elapsed.is_zero() {
        return 0.0;
    }
    (elapsed.saturating_sub(parked).as_secs_f64() / elapsed.as_secs_f64()).clamp(0.0, 1.0)
}

impl RuntimeStats {
    /// What happened since `earlier`, a snapshot of the same runtime taken before this one.
    pub fn since(&self, earlier: &RuntimeStats) -> StatsDelta {
        StatsDelta {
            elapsed: self.uptime.saturating_sub(earlier.uptime),
            parked: self.parked.saturating_sub(earlier.parked),
            turns: self.turns.saturating_sub(earlier.turns),
            polls: self.polls.saturating_sub(earlier.polls),
            spawned: self.spawned.saturating_sub(earlier.spawned),
            completed: self.completed.saturating_sub(earlier.completed),
            io_events: self.io_events.saturating_sub(earlier.io_events),
            local_wakes: self.local_wakes.saturating_sub(earlier.local_wakes),
            remote_wakes: self.remote_wakes.saturating_sub(earlier.remote_wakes),
            timers_fired: self.timers_fired.saturating_sub(earlier.timers_fired),
            slow_polls: self.slow_polls.saturating_sub(earlier.slow_polls),
            loop_lag: self.loop_lag.since(&earlier.loop_lag),
        }
    }

    /// Time the loop was not parked in the reactor, since the runtime was built.
    pub fn busy(&self) -> Duration {
        self.uptime.saturating_sub(self.parked)
    }

    /// The busy fraction of the runtime's whole life, 0.0 to 1.0; use [`since`](Self::since) for
    /// an interval.
    pub fn utilization(&self) -> f64 {
        utilization(self.uptime, self.parked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_subtracts_counters_and_gives_the_busy_fraction() {
        let mut earlier = RuntimeStats {
            uptime: Duration::from_secs(10),
            parked: Duration::from_secs(9),
            polls: 100,
            ..RuntimeStats::default()
        };
        earlier.loop_lag.record(Duration::from_millis(1));
        let mut later = earlier.clone();
        later.uptime = Duration::from_secs(11);
        later.parked = Duration::from_millis(9_250); // 250 ms of the last second parked
        later.polls = 130;
        later.loop_lag.record(Duration::from_millis(700));
        let delta = later.since(&earlier);
        assert_eq!(delta.elapsed, Duration::from_secs(1));
        assert_eq!(delta.busy(), Duration::from_millis(750));
        assert!((delta.utilization() - 0.75).abs() < 1e-9);
        assert_eq!(delta.polls, 30);
        assert_eq!(delta.loop_lag.count(), 1);
        assert_eq!(delta.loop_lag.max(), Duration::from_millis(700));
        assert!((later.utilization() - (1.75 / 11.0)).abs() < 1e-9);
        assert_eq!(StatsDelta::default().utilization(), 0.0);
    }
}
