//! The stats as JSON, for a dashboard (`examples/llm_server`'s `/stats.json`).
//!
//! Durations are written in milliseconds as floats (`_ms`, three decimals: microseconds), counts
//! as integers, a missing value as `null`. The schema, field by field, is in
//! `docs/08-offload-and-the-fallback.md` ("The live page"); the tests parse what is written here.

use std::time::Duration;

use super::delta::StatsDelta;
use super::latency::LatencyHistogram;
use super::{LagHistogram, RuntimeStats};
use crate::json::Object;

/// Milliseconds with three decimals.
fn ms(o: &mut Object<'_>, key: &str, d: Duration) {
    o.f64(key, d.as_secs_f64() * 1e3, 3);
}

/// `{"samples", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"}` of a latency histogram.
pub(super) fn latency(o: &mut Object<'_>, h: &LatencyHistogram) {
    o.u64("samples", h.count());
    ms(o, "mean_ms", h.mean());
    ms(o, "p50_ms", h.percentile(0.50));
    ms(o, "p90_ms", h.percentile(0.90));
    ms(o, "p99_ms", h.percentile(0.99));
    ms(o, "max_ms", h.max());
}

/// `{"samples", "mean_ms", "max_ms", "buckets": {"<1ms": n, ...}}` of the wake-to-poll lag.
fn wake_lag(o: &mut Object<'_>, h: &LagHistogram) {
    o.u64("samples", h.count());
    ms(o, "mean_ms", h.mean());
    ms(o, "max_ms", h.max());
    let mut buckets = o.object("buckets");
    for (label, count) in h.buckets() {
        buckets.u64(label, count);
    }
}

impl RuntimeStats {
    /// Writes the snapshot's fields into the JSON object `o`.
    pub fn write_json(&self, o: &mut Object<'_>) {
        ms(o, "uptime_ms", self.uptime);
        ms(o, "parked_ms", self.parked);
        o.f64("utilization", self.utilization(), 4);
        for (key, value) in [
            ("turns", self.turns),
            ("polls", self.polls),
            ("spawned", self.spawned),
            ("completed", self.completed),
            ("panicked", self.panicked),
            ("cancelled", self.cancelled),
            ("tasks_alive", self.tasks_alive as u64),
            ("io_events", self.io_events),
            ("local_wakes", self.local_wakes),
            ("remote_wakes", self.remote_wakes),
            ("timers_fired", self.timers_fired),
            ("timers_pending", self.timers_pending as u64),
            ("io_sources", self.io_sources as u64),
            ("slow_polls", self.slow_polls),
        ] {
            o.u64(key, value);
        }
        ms(o, "longest_poll_ms", self.longest_poll);
        match self.longest_poll_task {
            Some(seq) => o.u64("longest_poll_task", seq),
            None => o.null("longest_poll_task"),
        }
        ms(o, "worst_timer_lateness_ms", self.worst_timer_lateness);
        latency(&mut o.object("loop_lag"), &self.loop_lag);
        wake_lag(&mut o.object("wake_lag"), &self.wake_lag);
    }

    /// The snapshot as one JSON object.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut Object::new(&mut out));
        out
    }
}

impl StatsDelta {
    /// Writes the interval's figures into the JSON object `o`.
    pub fn write_json(&self, o: &mut Object<'_>) {
        ms(o, "elapsed_ms", self.elapsed);
        ms(o, "parked_ms", self.parked);
        ms(o, "busy_ms", self.busy());
        o.f64("utilization", self.utilization(), 4);
        for (key, value) in [
            ("turns", self.turns),
            ("polls", self.polls),
            ("spawned", self.spawned),
            ("completed", self.completed),
            ("io_events", self.io_events),
            ("local_wakes", self.local_wakes),
            ("remote_wakes", self.remote_wakes),
            ("timers_fired", self.timers_fired),
            ("slow_polls", self.slow_polls),
        ] {
            o.u64(key, value);
        }
        latency(&mut o.object("loop_lag"), &self.loop_lag);
    }

    /// The interval as one JSON object.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut Object::new(&mut out));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_names_every_figure_once() {
        let mut stats = RuntimeStats {
            polls: 7,
            uptime: Duration::from_millis(2),
            longest_poll_task: Some(3),
            ..RuntimeStats::default()
        };
        stats.loop_lag.record(Duration::from_micros(1500));
        let json = stats.to_json();
        for expected in [
            r#"{"uptime_ms":2.000,"parked_ms":0.000,"utilization":1.0000,"turns":0,"polls":7,"#,
            r#""longest_poll_task":3,"#,
            r#""loop_lag":{"samples":1,"mean_ms":1.500,"p50_ms":1.500,"#,
            r#""wake_lag":{"samples":0,"mean_ms":0.000,"max_ms":0.000,"buckets":{"<1ms":0,"#,
        ] {
            assert!(json.contains(expected), "{expected} not in {json}");
        }
        assert!(json.ends_with("}}}"));
    }
}
