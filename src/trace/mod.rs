//! The trace recorder: every poll, every wait in the reactor, every blocking job, as a picture.
//!
//! Logs say what happened one line at a time and the stats add it all up; neither shows *when*,
//! next to what else. A trace does: turned on with `Builder::trace(path)` (or `EVLOOP_TRACE=path`
//! in the environment of any program), the runtime records
//!
//! ```text
//!  loop thread    |poll|poll|   park (epoll_wait)   |poll|==== blocking job (inline) ====|poll|
//!  worker thread          |======= blocking job ========|
//!  counters       run queue depth, tasks alive, loop lag
//! ```
//!
//! and writes them as a Chrome trace-event JSON file (`trace/chrome.rs`) when the runtime is
//! dropped, or on demand ([`Trace::write`]). Open it in Perfetto (ui.perfetto.dev, "Open trace
//! file"; it runs in the browser, the file is not uploaded) or in `chrome://tracing`. A loop
//! blocked by an inline call is one long bar on the loop thread's track with nothing around it;
//! an offloaded call is a bar on a worker's track while the loop's track goes on with short polls.
//!
//! ## Who records what
//!
//! The recorder sits low (layer 1) so that every layer above can use it, and the runtime passes
//! one [`Trace`] down to the parts that record: the scheduler times each poll
//! (`executor/traced.rs`), the runtime each reactor wait, timer firing and counter
//! (`runtime/core.rs`), and each blocking job times itself on the thread that runs it
//! (`worker/job.rs`). Worker threads record too, so the recorder is shared (`Arc`) and its ring
//! sits behind a `Mutex`: taken once per event, uncontended on the loop (a few tens of ns).
//!
//! ## What it costs
//!
//! - **Off** (the default): the scheduler holds `Option<Arc<Trace>>` and checks it once per poll.
//!   That branch always goes the same way, so the CPU predicts it: `docs/performance.md` shows
//!   the micro benchmarks do not move.
//! - **On**: two precise clock reads and one locked push per poll (and per wake, park, job); the
//!   figure per poll is in `docs/performance.md`.
//! - **Memory** is bounded: a ring of the last `capacity` events (`Builder::trace_capacity`,
//!   default [`DEFAULT_CAPACITY`], about 80 bytes each); older ones are dropped (`trace/ring.rs`).

mod chrome;
mod event;
mod ring;
mod spans;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) use event::{Counter, Label, What};
pub use spans::{Span, SpanKind};

use event::Event;
use ring::Ring;

/// Events a trace keeps by default: about 8 MB, a few seconds of a very busy loop, minutes of a
/// quiet one.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The environment variable that turns tracing on for any program: `EVLOOP_TRACE=out.json`.
pub const ENV_VAR: &str = "EVLOOP_TRACE";

/// A runtime's trace recorder: a bounded ring of events, shared by the loop and worker threads.
///
/// Get it with `Runtime::trace()` (when tracing is on) to write it on demand, or to draw the
/// last seconds live ([`Trace::recent_spans`]).
#[derive(Debug)]
pub struct Trace {
    /// Time zero of the trace.
    origin: Instant,
    /// The process id, the trace's `pid`.
    pid: u32,
    /// The loop thread's id.
    loop_tid: u32,
    /// Where [`Trace::write`] (and the runtime's drop) writes, if anywhere.
    path: Option<PathBuf>,
    /// The events and thread names.
    ring: Mutex<Ring>,
}

impl Trace {
    /// A recorder for the runtime being built on this thread (the loop thread), keeping the last
    /// `capacity` events, written to `path` on [`Trace::write`].
    pub(crate) fn new(capacity: usize, path: Option<PathBuf>) -> Trace {
        let loop_tid = current_tid();
        let mut ring = Ring::new(capacity);
        ring.name_thread(loop_tid, || {
            let thread = std::thread::current();
            format!(
                "evloop loop ({})",
                thread.name().unwrap_or("unnamed thread")
            )
        });
        Trace {
            origin: Instant::now(),
            pid: std::process::id(),
            loop_tid,
            path,
            ring: Mutex::new(ring),
        }
    }

    /// Locks the ring. Nothing panics while it is held, so a poisoned lock is still consistent.
    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Nanoseconds from the trace's start to `at` (zero before it).
    fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// Records a slice on the loop thread, from `start` to `end`.
    pub(crate) fn loop_slice(&self, what: What, name: Label, start: Instant, end: Instant) {
        let event = Event {
            what,
            name,
            tid: self.loop_tid,
            start_ns: self.ns(start),
            dur_ns: end.saturating_duration_since(start).as_nanos() as u64,
        };
        self.ring().push(event);
    }

    /// Records an instant on the loop thread.
    pub(crate) fn loop_instant(&self, what: What, name: &'static str, at: Instant) {
        self.loop_slice(what, Label::Static(name), at, at);
    }

    /// Records a counter's value at `at`, unless it is the value recorded last.
    pub(crate) fn counter(&self, counter: Counter, value: f64, at: Instant) {
        let mut ring = self.ring();
        if ring.counter_changed(counter, value) {
            ring.push(Event {
                what: What::Counter { counter, value },
                name: Label::Static(""),
                tid: self.loop_tid,
                start_ns: self.ns(at),
                dur_ns: 0,
            });
        }
    }

    /// Records blocking job `job`, which ran on *this* thread from `start` to `end`: a worker
    /// thread, or the loop thread when `inline` says why.
    pub(crate) fn blocking(
        &self,
        job: u64,
        inline: Option<&'static str>,
        start: Instant,
        end: Instant,
    ) {
        let tid = current_tid();
        let event = Event {
            what: What::Blocking { job, inline },
            name: Label::Static(if inline.is_some() {
                "blocking job (inline)"
            } else {
                "blocking job"
            }),
            tid,
            start_ns: self.ns(start),
            dur_ns: end.saturating_duration_since(start).as_nanos() as u64,
        };
        let mut ring = self.ring();
        ring.name_thread(tid, || {
            let thread = std::thread::current();
            thread.name().unwrap_or("unnamed thread").to_string()
        });
        ring.push(event);
    }

    /// The trace as the text of a Chrome trace-event file.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        chrome::write(&self.ring(), self.pid, &mut out);
        out
    }

    /// Writes the trace to the path it was configured with (`Builder::trace`, `EVLOOP_TRACE`);
    /// returns that path, or `None` (and writes nothing) when the trace has none.
    pub fn write(&self) -> io::Result<Option<&Path>> {
        match &self.path {
            Some(path) => self.write_to(path).map(|()| Some(path.as_path())),
            None => Ok(None),
        }
    }

    /// Writes the trace to `path`, replacing the file.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.to_json())
    }

    /// Where [`Trace::write`] writes, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Time since the trace began: "now" on the time axis of [`Span`]s.
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The loop thread's id.
    pub fn loop_thread(&self) -> u32 {
        self.loop_tid
    }

    /// `(thread id, name)` of every thread in the trace, the loop thread first.
    pub fn threads(&self) -> Vec<(u32, String)> {
        self.ring().threads.clone()
    }

    /// `(events kept, most events kept, events dropped so far)`.
    pub fn fill(&self) -> (usize, usize, u64) {
        let ring = self.ring();
        (ring.events.len(), ring.capacity(), ring.dropped)
    }

    /// What each thread did in the last `window`, as busy stretches: slices of one kind on one
    /// thread less than `join_within` apart become one [`Span`] (`trace/spans.rs`).
    pub fn recent_spans(&self, window: Duration, join_within: Duration) -> Vec<Span> {
        let since = self.elapsed().saturating_sub(window).as_nanos() as u64;
        let ring = self.ring();
        spans::collect(ring.events.iter(), since, join_within.as_nanos() as u64)
    }
}

/// The calling thread's id for the trace, cached in a thread-local: the kernel's thread id on
/// Linux (what `top -H` shows), a number counted from 1 elsewhere.
pub(crate) fn current_tid() -> u32 {
    use std::cell::Cell;
    thread_local! {
        static TID: Cell<u32> = const { Cell::new(0) };
    }
    TID.with(|tid| {
        if tid.get() == 0 {
            tid.set(os_tid());
        }
        tid.get()
    })
}

/// The kernel's id of this thread.
#[cfg(all(target_os = "linux", not(miri)))]
fn os_tid() -> u32 {
    crate::sys::thread_id()
}

/// Without `gettid` (or under Miri, which need not know it): a process-unique number.
#[cfg(not(all(target_os = "linux", not(miri))))]
fn os_tid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_job_on_another_thread_gets_its_own_named_track() {
        let trace = Arc::new(Trace::new(100, None));
        let t0 = Instant::now();
        trace.loop_slice(What::Poll { task: Some(1) }, Label::Static("a"), t0, t0);
        let shared = Arc::clone(&trace);
        let worker_tid = std::thread::Builder::new()
            .name("evloop-blocking-1".into())
            .spawn(move || {
                let start = Instant::now();
                shared.blocking(1, None, start, Instant::now());
                current_tid()
            })
            .expect("a thread")
            .join()
            .expect("no panic");
        assert_ne!(worker_tid, trace.loop_thread());
        let threads = trace.threads();
        assert_eq!(threads[0].0, trace.loop_thread());
        assert!(threads[0].1.starts_with("evloop loop ("), "{threads:?}");
        assert_eq!(threads[1], (worker_tid, "evloop-blocking-1".to_string()));
        let spans = trace.recent_spans(Duration::from_secs(60), Duration::ZERO);
        assert_eq!(spans.len(), 2);
        assert_eq!(trace.fill(), (2, 100, 0));
    }

    #[test]
    fn an_unchanged_counter_is_not_recorded_again() {
        let trace = Trace::new(100, None);
        let now = Instant::now();
        trace.counter(Counter::RunQueue, 2.0, now);
        trace.counter(Counter::RunQueue, 2.0, now);
        trace.counter(Counter::RunQueue, 3.0, now);
        assert_eq!(trace.fill().0, 2);
    }
}
