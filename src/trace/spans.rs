//! The recent past as busy stretches per thread: what a live view draws as a strip.
//!
//! A dashboard (`examples/llm_server`'s page) wants to show, a few times a second, what the loop
//! thread and the worker threads did in the last seconds — but not ten thousand poll slices.
//! [`Trace::recent_spans`](super::Trace::recent_spans) reads the ring and joins slices of the same
//! kind on the same thread that are closer than a gap (say 1 ms) into one [`Span`]. A loop that
//! serves many short polls then reads as a few thin stripes; an inline blocking call as one solid
//! bar.

use std::time::Duration;

use super::event::{Event, What};

/// What a thread was doing during a [`Span`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// Polling tasks (on the loop thread).
    Poll,
    /// Running a blocking job; `inline`: on the loop thread, which could do nothing else.
    Blocking {
        /// The job ran on the loop thread (the blocking fallback, or the `Inline` worker).
        inline: bool,
    },
}

/// A stretch of time one thread spent on one kind of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The thread (the kernel's thread id on Linux; see `Trace::threads` for names).
    pub tid: u32,
    /// What it was doing.
    pub kind: SpanKind,
    /// When the stretch began, since the trace began (compare with `Trace::elapsed`).
    pub start: Duration,
    /// How long it lasted.
    pub duration: Duration,
}

impl Span {
    /// When the stretch ended, since the trace began.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

/// The spans of `events` that end after `since_ns`, with same-kind slices on one thread less than
/// `join_ns` apart joined; sorted by thread, then start.
pub(crate) fn collect<'a>(
    events: impl Iterator<Item = &'a Event>,
    since_ns: u64,
    join_ns: u64,
) -> Vec<Span> {
    let mut slices: Vec<(u32, SpanKind, u64, u64)> = events
        .filter_map(|e| Some((e.tid, kind(&e.what)?, e.start_ns, e.start_ns + e.dur_ns)))
        .filter(|&(_, _, _, end)| end > since_ns)
        .collect();
    slices.sort_by_key(|&(tid, _, start, _)| (tid, start));
    let mut spans: Vec<(u32, SpanKind, u64, u64)> = Vec::new();
    for (tid, kind, start, end) in slices {
        match spans.last_mut() {
            Some(last) if last.0 == tid && last.1 == kind && start <= last.3 + join_ns => {
                last.3 = last.3.max(end);
            }
            _ => spans.push((tid, kind, start, end)),
        }
    }
    spans
        .into_iter()
        .map(|(tid, kind, start, end)| Span {
            tid,
            kind,
            start: Duration::from_nanos(start),
            duration: Duration::from_nanos(end - start),
        })
        .collect()
}

/// The span kind of a slice event; `None` for parks (idle), instants and counters.
fn kind(what: &What) -> Option<SpanKind> {
    match what {
        What::Poll { .. } => Some(SpanKind::Poll),
        What::Blocking { inline, .. } => Some(SpanKind::Blocking {
            inline: inline.is_some(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::Label;
    use super::*;

    fn slice(tid: u32, what: What, start_ns: u64, dur_ns: u64) -> Event {
        Event {
            what,
            name: Label::Static("x"),
            tid,
            start_ns,
            dur_ns,
        }
    }

    #[test]
    fn close_slices_join_and_parks_are_left_out() {
        let poll = || What::Poll { task: Some(1) };
        let events = [
            slice(1, poll(), 0, 10),
            slice(1, poll(), 15, 10), // 5 ns after the first: joined
            slice(
                1,
                What::Park {
                    timeout: None,
                    events: 0,
                },
                25,
                500,
            ),
            slice(1, poll(), 600, 10), // far: a new span
            slice(
                2,
                What::Blocking {
                    job: 1,
                    inline: None,
                },
                20,
                1000,
            ),
        ];
        let spans = collect(events.iter(), 0, 8);
        let short: Vec<(u32, u64, u64)> = spans
            .iter()
            .map(|s| (s.tid, s.start.as_nanos() as u64, s.end().as_nanos() as u64))
            .collect();
        assert_eq!(short, [(1, 0, 25), (1, 600, 610), (2, 20, 1020)]);
        assert_eq!(spans[2].kind, SpanKind::Blocking { inline: false });
        assert_eq!(
            collect(events.iter(), 700, 8).len(),
            1,
            "only what ends later"
        );
    }
}
