//! `LatencyHistogram`: many durations in fixed memory, with percentiles to within 12.5 %.
//!
//! The sampled loop lag (`executor/lag_sampler.rs`) gets a sample every 10 ms, 360 000 an hour. A
//! dashboard wants its p99 and its max, per second, for the last minute. Keeping every sample is
//! out of the question; the decade buckets of `LagHistogram` (<1 ms, <10 ms, ...) are too coarse
//! for a p99. This is the idea behind HdrHistogram (and Node's `monitorEventLoopDelay`, which uses
//! it), cut down to one screen:
//!
//! ```text
//!  microseconds  0 1 2 .. 7 | 8 9 .. 15 | 16 18 .. 30 | 32 36 .. 60 | ...  (2^31 µs ≈ 36 min)
//!  bucket width  1 1 1 .. 1 | 1 1 ..  1 |  2  2 ..  2 |  4  4 ..  4 |
//! ```
//!
//! Below 8 µs each microsecond has its bucket; above, each power of two is cut into 8 buckets, so
//! a bucket is never wider than 1/8 of the values it holds. 232 buckets of `u64`: 1.9 KB, a
//! recording is a few shifts and one increment, and two snapshots subtract bucket by bucket
//! ([`LatencyHistogram::since`]) — that is how a dashboard gets "the last second" out of counters
//! that only ever grow.

use std::time::Duration;

/// Sub-buckets per power of two, as a power of two: 2^3 = 8.
const SUB_BITS: u32 = 3;
/// Sub-buckets per power of two.
const SUB: usize = 1 << SUB_BITS;
/// Powers of two covered above the exact range: up to 2^31 µs (36 minutes).
const TOP_BIT: u32 = 31;
/// Number of buckets: the exact ones, then `SUB` per power of two from 2^3 up to 2^31.
const BUCKETS: usize = SUB + (TOP_BIT - SUB_BITS) as usize * SUB;

/// A histogram of durations with relative precision 1/8 (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Samples per bucket.
    counts: [u64; BUCKETS],
    /// Number of samples.
    count: u64,
    /// Sum of all samples, in microseconds, for the mean.
    sum_us: u64,
    /// The largest sample, exactly.
    max: Duration,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: [0; BUCKETS],
            count: 0,
            sum_us: 0,
            max: Duration::ZERO,
        }
    }
}

/// The bucket of a value in microseconds.
fn bucket_of(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let top = 63 - us.leading_zeros(); // the highest set bit: the power of two below `us`
    if top >= TOP_BIT {
        return BUCKETS - 1;
    }
    let shift = top - SUB_BITS;
    let sub = (us >> shift) as usize - SUB; // the next three bits
    SUB + (shift as usize) * SUB + sub
}

/// The smallest value (µs) a bucket holds, and its width.
fn bucket_range(index: usize) -> (u64, u64) {
    if index < SUB {
        return (index as u64, 1);
    }
    let shift = ((index - SUB) / SUB) as u32;
    let sub = ((index - SUB) % SUB) as u64;
    ((SUB as u64 + sub) << shift, 1 << shift)
}

impl LatencyHistogram {
    /// Adds one sample.
    pub(crate) fn record(&mut self, value: Duration) {
        let us = value.as_micros().min(u64::MAX as u128) as u64;
        self.counts[bucket_of(us)] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max = self.max.max(value);
    }

    /// Adds `n` samples of zero at once (an idle loop's on-time samples, `lag_sampler.rs`).
    pub(crate) fn record_zeros(&mut self, n: u64) {
        self.counts[0] += n;
        self.count += n;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest sample (see [`since`](Self::since) for what it means in a difference).
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The mean (zero when empty).
    pub fn mean(&self) -> Duration {
        match self.count {
            0 => Duration::ZERO,
            n => Duration::from_micros(self.sum_us / n),
        }
    }

    /// The value below which a fraction `q` (0.0 to 1.0) of the samples lie: `percentile(0.99)`
    /// is the p99. Reported as the top of its bucket (at most 1/8 above the true value, never
    /// below it) and never above `max`. Zero when empty.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = bucket_range(index);
                return Duration::from_micros(low + width - 1).min(self.max);
            }
        }
        self.max
    }

    /// The samples recorded after `earlier` (a snapshot of the same histogram taken before).
    ///
    /// Counts subtract exactly. The max cannot: if the largest sample ever came after `earlier`,
    /// it is this interval's max, exactly; otherwise the interval's max is estimated as the top of
    /// its highest non-empty bucket (at most 1/8 too high).
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut delta = LatencyHistogram::default();
        for (i, (now, before)) in self.counts.iter().zip(earlier.counts.iter()).enumerate() {
            delta.counts[i] = now.saturating_sub(*before);
        }
        delta.count = self.count.saturating_sub(earlier.count);
        delta.sum_us = self.sum_us.saturating_sub(earlier.sum_us);
        delta.max = if self.max > earlier.max {
            self.max
        } else {
            match delta.counts.iter().rposition(|&n| n > 0) {
                Some(index) => {
                    let (low, width) = bucket_range(index);
                    Duration::from_micros(low + width - 1).min(self.max)
                }
                None => Duration::ZERO,
            }
        };
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn buckets_cover_every_value_in_order_and_never_wider_than_an_eighth() {
        let mut last = 0;
        for us in (0..5_000u64).chain([1 << 20, (1 << 31) - 1, 1 << 31, u64::MAX]) {
            let index = bucket_of(us);
            assert!(index >= last, "buckets grow with values");
            last = index;
            let (low, width) = bucket_range(index);
            if us < 1 << TOP_BIT {
                assert!(low <= us && us < low + width, "{us} in [{low}, +{width})");
                assert!(
                    width == 1 || width * 8 <= low,
                    "{us}: width {width} of {low}"
                );
            }
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_are_within_an_eighth_above_the_truth() {
        let mut h = LatencyHistogram::default();
        for v in 1..=100 {
            h.record(ms(v));
        }
        for (q, truth) in [(0.5, 50), (0.99, 99), (1.0, 100)] {
            let got = h.percentile(q);
            assert!(
                got >= ms(truth) && got <= ms(truth) * 9 / 8,
                "p{q}: {got:?}"
            );
        }
        assert_eq!(h.max(), ms(100));
        assert_eq!(h.count(), 100);
        assert_eq!(h.mean(), Duration::from_micros(50_500));
    }

    #[test]
    fn zeros_count_and_pull_the_percentiles_down() {
        let mut h = LatencyHistogram::default();
        h.record_zeros(99);
        h.record(ms(250));
        assert_eq!(h.percentile(0.5), Duration::ZERO);
        assert_eq!(h.percentile(0.99), Duration::ZERO);
        assert_eq!(h.percentile(1.0), ms(250));
        assert_eq!(h.count(), 100);
    }

    #[test]
    fn a_difference_holds_the_later_samples_and_their_max() {
        let mut h = LatencyHistogram::default();
        h.record(ms(300));
        let before = h.clone();
        h.record(ms(5));
        h.record(ms(7));
        let delta = h.since(&before);
        assert_eq!(delta.count(), 2);
        // The all-time max (300 ms) is older: the estimate is the top of 7 ms's bucket.
        assert!(delta.max() >= ms(7) && delta.max() <= ms(8), "{delta:?}");
        h.record(ms(400));
        let delta = h.since(&before);
        assert_eq!(delta.max(), ms(400), "a new max is exact");
        assert_eq!(h.since(&h).max(), Duration::ZERO);
    }
}
