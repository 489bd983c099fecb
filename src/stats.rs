//! Runtime statistics: numbers that make the invisible loop visible.
//!
//! The loop counts what it does (turns, polls, wakes, events, timers) in plain `Cell`s — it is one
//! thread, so no atomics are needed — and [`RuntimeStats`] is a copy of those counters taken by
//! `Runtime::stats()` or `evloop::stats()`, printed as a small table by its `Display`, written as
//! JSON by `to_json` (`stats/json.rs`), and subtracted from a later copy by `since`
//! (`stats/delta.rs`) for per-second figures.
//!
//! Four measurements deserve a word:
//!
//! - **Longest poll**: how long one task held the loop in a single `poll`. While a poll runs,
//!   nothing else on the loop can: no other task, no timer, no socket. A long poll is the
//!   blocked-loop symptom; polls longer than the runtime's `slow_poll_threshold` are also logged
//!   (`executor/blocked_loop.rs`).
//! - **Loop lag** (sampled, `loop_lag`): how late a timer due every 10 ms would run — what Node's
//!   `monitorEventLoopDelay` measures, and the figure that sees a blocked loop. A poll that blocks
//!   for 250 ms makes the next sample 240 ms late. `executor/lag_sampler.rs` explains how it is
//!   measured without a real timer; the samples go into a [`LatencyHistogram`] (`stats/latency.rs`)
//!   that gives percentiles.
//! - **Wake lag** (`wake_lag`): the time from a task's wake to its poll. It measures the run
//!   queue's wait, and it does *not* see a blocked loop well: timers and sockets are only noticed,
//!   and their tasks woken, after the blocking poll has returned, so their wake-to-poll time is
//!   short. Only tasks already woken when the block began (queued behind it in the same turn)
//!   show it. Wake lag goes into a histogram with fixed decade buckets, so recording costs one
//!   comparison chain and no allocation.
//! - **Utilization**: the fraction of time the loop was not parked in the reactor, as Node's
//!   `eventLoopUtilization()` reports it (`StatsDelta::utilization` for an interval).
//!
//! Cost: after each poll the loop reads a cheap *coarse* clock (the kernel's last tick, ~5 ns) and
//! the precise clock only when the tick moved (`clock.rs`); a wake records the loop's last precise
//! reading instead of reading a clock itself. So wake lags and poll times are measured to within
//! one kernel tick (1 to 10 ms): a wake lag shorter than a tick reads as zero. That is why its
//! buckets start at 1 ms: finer ones would only count rounding. Scheduling delays that matter — a
//! task starved by a blocking neighbour for tens of milliseconds — are measured as they are.

mod delta;
mod json;
mod latency;

pub use delta::StatsDelta;
pub use latency::LatencyHistogram;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::Duration;

/// Upper bounds of the lag histogram buckets; the last bucket takes everything above.
const LAG_BOUNDS: [Duration; 4] = [
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(100),
    Duration::from_secs(1),
];

/// Labels of the buckets, for the table.
const LAG_LABELS: [&str; 5] = ["<1ms", "<10ms", "<100ms", "<1s", ">=1s"];

/// Fixed-bucket histogram of scheduling delays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LagHistogram {
    /// Count per bucket (see `buckets()` for the bounds).
    counts: [u64; 5],
    /// The largest delay recorded.
    max: Duration,
    /// Sum of all delays, for the mean.
    total: Duration,
}

impl LagHistogram {
    /// Adds one measured delay.
    pub(crate) fn record(&mut self, lag: Duration) {
        if lag.is_zero() {
            // The common case (see `Core::run_task`): first bucket; max and total stay as they are.
            self.counts[0] += 1;
            return;
        }
        let bucket = LAG_BOUNDS
            .iter()
            .position(|bound| lag < *bound)
            .unwrap_or(LAG_BOUNDS.len());
        self.counts[bucket] += 1;
        self.max = self.max.max(lag);
        self.total += lag;
    }

    /// `(label, count)` per bucket, from the fastest to the slowest.
    pub fn buckets(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        LAG_LABELS.iter().copied().zip(self.counts.iter().copied())
    }

    /// How many delays were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The largest delay recorded.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The mean delay (zero when empty).
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => self.total / n as u32,
        }
    }

    /// How many delays were at least `bound` (rounded down to a bucket bound).
    pub fn at_least(&self, bound: Duration) -> u64 {
        let first = LAG_BOUNDS
            .iter()
            .position(|b| *b > bound)
            .unwrap_or(LAG_BOUNDS.len());
        self.counts[first..].iter().sum()
    }
}

/// The loop's live counters (one thread: plain `Cell`s).
#[derive(Default)]
pub(crate) struct LoopCounters {
    /// Loop turns (each ends in the reactor, unless tasks are ready and it was asked recently).
    pub(crate) turns: Cell<u64>,
    /// Task polls, plus polls of the `block_on` future.
    pub(crate) polls: Cell<u64>,
    /// Tasks spawned.
    pub(crate) spawned: Cell<u64>,
    /// Tasks that completed with a value.
    pub(crate) completed: Cell<u64>,
    /// Tasks that panicked.
    pub(crate) panicked: Cell<u64>,
    /// Tasks cancelled by `abort` (not counting shutdown).
    pub(crate) cancelled: Cell<u64>,
    /// Readiness events delivered by the reactor (excluding interrupts).
    pub(crate) io_events: Cell<u64>,
    /// Wakes on the loop thread (pushed straight onto the run queue).
    pub(crate) local_wakes: Cell<u64>,
    /// Wakes from other threads (through the remote queue).
    pub(crate) remote_wakes: Cell<u64>,
    /// Timers that fired.
    pub(crate) timers_fired: Cell<u64>,
    /// Polls longer than the slow-poll threshold.
    pub(crate) slow_polls: Cell<u64>,
    /// The longest single poll.
    pub(crate) longest_poll: Cell<Duration>,
    /// Who made the longest poll ("task 7 (handle_request)").
    pub(crate) longest_poll_by: Cell<Option<u64>>,
    /// Wake-to-poll delays. A `RefCell`, not a `Cell`: recording then updates the ~100-byte
    /// histogram in place instead of copying it out and back on every poll.
    pub(crate) lag: RefCell<LagHistogram>,
    /// Zero wake-to-poll delays, counted apart from `lag` because they are most polls.
    pub(crate) zero_lags: Cell<u64>,
    /// The latest any timer fired after its deadline.
    pub(crate) worst_timer_lateness: Cell<Duration>,
    /// Sampled loop lag (`executor/lag_sampler.rs`).
    pub(crate) loop_lag: RefCell<LatencyHistogram>,
    /// Time spent parked in the reactor, waiting for events.
    pub(crate) parked: Cell<Duration>,
}

impl LoopCounters {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &Cell<u64>) {
        counter.set(counter.get() + 1);
    }

    /// Adds `n` to a counter.
    pub(crate) fn add(counter: &Cell<u64>, n: u64) {
        counter.set(counter.get() + n);
    }

    /// Records one wake-to-poll delay.
    pub(crate) fn record_lag(&self, lag: Duration) {
        self.lag.borrow_mut().record(lag);
    }

    /// Records a wake-to-poll delay of zero (the common case: less than a kernel tick, see
    /// `clock.rs`) with one counter increment; `snapshot_lag` adds them to the first bucket.
    pub(crate) fn record_zero_lag(&self) {
        LoopCounters::bump(&self.zero_lags);
    }

    /// The lag histogram, zero lags included.
    pub(crate) fn snapshot_lag(&self) -> LagHistogram {
        let mut histogram = *self.lag.borrow();
        histogram.counts[0] += self.zero_lags.get();
        histogram
    }
}

/// A snapshot of the runtime's counters; `Display` prints a compact table.
#[derive(Clone, Debug, Default)]
pub struct RuntimeStats {
    /// Loop turns. Each ends in the reactor, except while tasks are ready: then only every 61 polls.
    pub turns: u64,
    /// Future polls (tasks and the `block_on` future).
    pub polls: u64,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks completed with a value.
    pub completed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled with `abort`.
    pub cancelled: u64,
    /// Tasks alive now (in the slab).
    pub tasks_alive: usize,
    /// Readiness events from the reactor.
    pub io_events: u64,
    /// Wakes on the loop thread.
    pub local_wakes: u64,
    /// Wakes from other threads.
    pub remote_wakes: u64,
    /// Timers fired.
    pub timers_fired: u64,
    /// Timers waiting now.
    pub timers_pending: usize,
    /// I/O sources registered now.
    pub io_sources: usize,
    /// Polls longer than the slow-poll threshold.
    pub slow_polls: u64,
    /// The longest single poll.
    pub longest_poll: Duration,
    /// Which task made the longest poll (`None`: the `block_on` future).
    pub longest_poll_task: Option<u64>,
    /// The latest a timer fired after its deadline: how long the loop was late to a heartbeat.
    pub worst_timer_lateness: Duration,
    /// Loop lag: how late a timer due every 10 ms ran (see the module docs). The figure that shows
    /// a blocked loop.
    pub loop_lag: LatencyHistogram,
    /// Wake-to-poll delay histogram (the run queue's wait; see the module docs for what it misses).
    pub wake_lag: LagHistogram,
    /// Time since the runtime was built, when the snapshot was taken.
    pub uptime: Duration,
    /// Of `uptime`, time the loop was idle: parked in the reactor, or not running at all (before
    /// and between `block_on` calls).
    pub parked: Duration,
}

impl fmt::Display for RuntimeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.longest_poll_task {
            Some(seq) => format!("task {seq}"),
            None => "block_on future".to_string(),
        };
        writeln!(f, "evloop runtime stats")?;
        writeln!(
            f,
            "  turns {:>10}   polls {:>10}   io events {:>8}",
            self.turns, self.polls, self.io_events
        )?;
        writeln!(
            f,
            "  spawned {:>8}   completed {:>6}   panicked {:>9}   cancelled {}   alive {}",
            self.spawned, self.completed, self.panicked, self.cancelled, self.tasks_alive
        )?;
        writeln!(
            f,
            "  wakes: local {:>6}   remote {:>9}   timers fired {:>5}   pending {}   io sources {}",
            self.local_wakes,
            self.remote_wakes,
            self.timers_fired,
            self.timers_pending,
            self.io_sources
        )?;
        writeln!(
            f,
            "  longest poll {:.3} ms ({by})   slow polls {}   worst timer lateness {:.3} ms",
            self.longest_poll.as_secs_f64() * 1e3,
            self.slow_polls,
            self.worst_timer_lateness.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "  loop lag (sampled every 10 ms): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms   \
             utilization {:.1} %",
            ms(self.loop_lag.percentile(0.5)),
            ms(self.loop_lag.percentile(0.99)),
            ms(self.loop_lag.max()),
            self.utilization() * 100.0
        )?;
        write!(
            f,
            "  wake -> poll (to a kernel tick): mean {:.3} ms, max {:.3} ms |",
            ms(self.wake_lag.mean()),
            ms(self.wake_lag.max())
        )?;
        for (label, count) in self.wake_lag.buckets() {
            write!(f, " {label} {count}")?;
        }
        Ok(())
    }
}

/// A duration in milliseconds, for the table.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_delays_in_decade_buckets() {
        let mut h = LagHistogram::default();
        for us in [1, 9, 50, 500, 5_000, 50_000, 500_000, 2_000_000] {
            h.record(Duration::from_micros(us));
        }
        let counts: Vec<u64> = h.buckets().map(|(_, c)| c).collect();
        assert_eq!(counts, [4, 1, 1, 1, 1]);
        assert_eq!(h.count(), 8);
        assert_eq!(h.max(), Duration::from_secs(2));
        assert_eq!(h.at_least(Duration::from_millis(100)), 2);
        assert_eq!(h.at_least(Duration::from_millis(10)), 3);
    }

    #[test]
    fn a_zero_lag_counts_in_the_first_bucket_and_in_the_mean() {
        let mut h = LagHistogram::default();
        h.record(Duration::from_millis(4));
        h.record(Duration::ZERO); // the fast path
        let counts: Vec<u64> = h.buckets().map(|(_, c)| c).collect();
        assert_eq!(counts, [1, 1, 0, 0, 0]);
        assert_eq!(h.count(), 2);
        assert_eq!(h.max(), Duration::from_millis(4));
        assert_eq!(h.mean(), Duration::from_millis(2));
    }
}
