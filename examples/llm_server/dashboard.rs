//! The live page: `GET /` serves it, `GET /stats.json` feeds it, a few times a second.
//!
//! ```text
//!  browser ── GET / ──────────► page.html (HTML, CSS and script inline: nothing from elsewhere)
//!     │
//!     └─ every 250 ms: GET /stats.json ─► Dashboard::stats_json
//!                                          ├─ evloop::stats() since the last second → history
//!                                          ├─ the worker, the lock, the line, the last calls
//!                                          └─ the trace ring's last seconds → the strip
//! ```
//!
//! **Per second, without a timer.** The runtime's counters only grow; `RuntimeStats::since` turns
//! two snapshots into "what happened in between": the loop lag's max and p99, the busy fraction
//! (utilization), the polls. Each `/stats.json` that comes at least a second after the last one
//! closes a history entry. Nobody watching, nothing is sampled and the loop stays asleep; the first
//! request after a quiet spell closes one long entry, which still holds the worst lag of that
//! spell (a new maximum is exact, see `LatencyHistogram::since`). The history keeps the entries
//! that ended in the last minute.
//!
//! **The strip** is the trace ring's last seconds (`Trace::recent_spans`): busy stretches of the
//! loop thread and of each worker thread. An inline model call is one solid bar on the loop's row.
//!
//! While the loop is blocked, `/stats.json` is not answered either: the page's figures freeze, then
//! jump. That pause is the point of the demo; the page says how old its figures are.
//!
//! Every number is written with evloop's small JSON writer (`evloop::json`): no serde at run time.
//! The schema is in `docs/08-offload-and-the-fallback.md` ("The live page").

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::json::{Array, Object};
use evloop::trace::{SpanKind, Trace};
use evloop::worker::{Execution, WorkerStats};
use evloop::{RuntimeStats, StatsDelta};

use crate::generation::{Call, LineFigures};
use crate::response::Response;

/// The page, as it is served.
const PAGE: &str = include_str!("page.html");

/// How far back the history goes.
const HISTORY: Duration = Duration::from_secs(60);

/// How far back the strip goes.
const STRIP: Duration = Duration::from_secs(10);

/// Busy slices closer than this are drawn as one stretch.
const JOIN_WITHIN: Duration = Duration::from_millis(2);

/// The service's gauges that are not the line's.
#[derive(Clone, Copy, Debug)]
pub struct Connections {
    /// Open now.
    pub open: usize,
    /// Accepted since the start.
    pub accepted: u64,
}

/// One closed history entry: an interval of about a second.
#[derive(Clone, Debug)]
struct Entry {
    /// The runtime's uptime when the interval ended.
    end: Duration,
    /// What happened in it.
    delta: StatsDelta,
}

/// The page's server side: the history of per-second figures, and the trace for the strip.
pub struct Dashboard {
    /// The runtime's trace recorder, if tracing is on (`main.rs` turns it on, in memory).
    trace: Option<Arc<Trace>>,
    /// Closed entries, oldest first, ending within the last minute.
    history: RefCell<VecDeque<Entry>>,
    /// The snapshot the newest entry ended with (the runtime's start before the first).
    last: RefCell<RuntimeStats>,
}

impl Dashboard {
    /// A dashboard drawing its strip from `trace` (none: the strip stays empty).
    pub fn new(trace: Option<Arc<Trace>>) -> Dashboard {
        Dashboard {
            trace,
            history: RefCell::new(VecDeque::new()),
            last: RefCell::new(RuntimeStats::default()),
        }
    }

    /// `GET /`: the page.
    pub fn page(&self) -> Response {
        typed("text/html; charset=utf-8", PAGE.as_bytes().to_vec())
    }

    /// `GET /stats.json`, from the runtime's snapshot `now` and the rest of the service.
    pub fn stats_json(
        &self,
        now: &RuntimeStats,
        worker: &WorkerStats,
        line: &LineFigures,
        calls: &[Call],
        connections: Connections,
    ) -> Response {
        let partial = self.update_history(now);
        let mut out = String::new();
        {
            let mut o = Object::new(&mut out);
            o.f64("uptime_ms", ms(now.uptime), 3);
            self.figures(&mut o.object("figures"), &partial, line);
            self.write_history(&mut o.array("history"));
            now.write_json(&mut o.object("runtime"));
            worker.write_json(&mut o.object("worker"));
            write_line(&mut o, line, connections);
            write_calls(&mut o.array("calls"), calls);
            self.write_strip(&mut o.object("strip"));
        }
        typed("application/json", out.into_bytes())
    }

    /// Closes a history entry if a second has passed since the last; returns the open interval
    /// (since the last entry) and drops entries older than a minute.
    fn update_history(&self, now: &RuntimeStats) -> StatsDelta {
        let mut last = self.last.borrow_mut();
        let mut history = self.history.borrow_mut();
        let partial = now.since(&last);
        if partial.elapsed >= Duration::from_secs(1) {
            history.push_back(Entry {
                end: now.uptime,
                delta: partial.clone(),
            });
            *last = now.clone();
        }
        while history
            .front()
            .is_some_and(|e| now.uptime.saturating_sub(e.end) > HISTORY)
        {
            history.pop_front();
        }
        partial
    }

    /// The headline figures the page shows as text.
    fn figures(&self, o: &mut Object<'_>, partial: &StatsDelta, line: &LineFigures) {
        let history = self.history.borrow();
        let worst = history
            .iter()
            .map(|e| e.delta.loop_lag.max())
            .chain([partial.loop_lag.max()])
            .max()
            .unwrap_or_default();
        // The latest closed second (or the open interval, before the first one closes).
        let latest = history.back().map_or(partial, |e| &e.delta);
        o.f64("lag_max_ms", ms(worst), 3);
        o.f64("lag_p99_ms", ms(latest.loop_lag.percentile(0.99)), 3);
        o.f64("utilization", latest.utilization(), 4);
        o.u64("in_flight", line.in_flight as u64);
        o.u64(
            "waiting_for_lock",
            line.in_flight.saturating_sub(line.in_model) as u64,
        );
        o.u64("in_model", line.in_model as u64);
    }

    /// The closed entries, oldest first.
    fn write_history(&self, a: &mut Array<'_>) {
        for entry in self.history.borrow().iter() {
            let mut e = a.object();
            e.f64("end_ms", ms(entry.end), 3);
            e.f64("elapsed_ms", ms(entry.delta.elapsed), 3);
            e.f64("lag_max_ms", ms(entry.delta.loop_lag.max()), 3);
            e.f64("lag_p99_ms", ms(entry.delta.loop_lag.percentile(0.99)), 3);
            e.f64("utilization", entry.delta.utilization(), 4);
            e.u64("polls", entry.delta.polls);
        }
    }

    /// The last seconds of each thread, from the trace ring.
    fn write_strip(&self, o: &mut Object<'_>) {
        o.f64("window_ms", ms(STRIP), 0);
        let Some(trace) = &self.trace else {
            o.bool("tracing", false);
            return;
        };
        o.bool("tracing", true);
        let spans = trace.recent_spans(STRIP, JOIN_WITHIN);
        let now = trace.elapsed();
        {
            let mut threads = o.array("threads");
            for (tid, name) in trace.threads() {
                let is_loop = tid == trace.loop_thread();
                if !is_loop && !spans.iter().any(|s| s.tid == tid) {
                    continue; // a worker thread with nothing in the window
                }
                let mut t = threads.object();
                t.u64("tid", tid.into());
                t.str("name", &name);
                t.bool("loop", is_loop);
            }
        }
        let mut list = o.array("spans");
        for span in spans {
            // [tid, start (ms before now), duration (ms), kind]
            let mut s = list.array();
            s.u64(span.tid.into());
            s.f64(ms(now.saturating_sub(span.start)), 3);
            s.f64(ms(span.duration), 3);
            s.str(match span.kind {
                SpanKind::Poll => "poll",
                SpanKind::Blocking { inline: true } => "inline",
                SpanKind::Blocking { inline: false } => "offloaded",
            });
        }
    }
}

/// The lock, the line and the connections.
fn write_line(o: &mut Object<'_>, line: &LineFigures, connections: Connections) {
    {
        let c = &line.contention;
        let mut lock = o.object("lock");
        lock.bool("enabled", line.lock);
        lock.u64("acquisitions", c.acquisitions);
        lock.u64("contended", c.contended);
        lock.u64("cancelled", c.cancelled);
        lock.u64("max_queued", c.max_queued as u64);
        lock.f64("total_wait_ms", ms(c.total_wait), 3);
        lock.f64("longest_wait_ms", ms(c.longest_wait), 3);
    }
    let mut service = o.object("service");
    service.u64("in_flight", line.in_flight as u64);
    service.u64("in_model", line.in_model as u64);
    service.u64("max_waiting", line.max_waiting as u64);
    service.u64("started", line.started);
    service.u64("refused", line.refused);
    service.u64("left_waiting", line.left_waiting);
    service.u64("left_running", line.left_running);
    service.u64("connections_open", connections.open as u64);
    service.u64("connections_accepted", connections.accepted);
}

/// The last model calls, newest first: how long ago, where, why, how long.
fn write_calls(a: &mut Array<'_>, calls: &[Call]) {
    let now = Instant::now();
    for call in calls.iter().rev() {
        let mut c = a.object();
        c.f64("ago_ms", ms(now.saturating_duration_since(call.ended)), 1);
        c.f64("took_ms", ms(call.took), 1);
        match call.execution {
            Some(Execution::Offloaded) => {
                c.str("ran", "offloaded");
                c.null("why");
            }
            Some(Execution::Inline(reason)) => {
                c.str("ran", "inline");
                c.str("why", reason.as_str());
            }
            None => {
                c.str("ran", "unknown");
                c.null("why");
            }
        }
    }
}

/// A 200 response of `content_type`, never cached (the figures change).
fn typed(content_type: &str, body: Vec<u8>) -> Response {
    Response {
        status: 200,
        reason: "OK",
        headers: vec![
            ("Content-Type", content_type.to_string()),
            ("Cache-Control", "no-store".to_string()),
        ],
        body,
    }
}

/// A duration in milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
