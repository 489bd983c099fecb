//! The scheduler's side of the trace: a slice for every poll, an instant for every wake.
//!
//! The scheduler holds `Option<Arc<Trace>>` and checks it before and after each poll
//! (`Scheduler::trace_poll_start`, `Scheduler::trace_poll_end`); with tracing off, that is all
//! this file costs. With tracing on, a poll is timed with the precise clock at both ends — the
//! loop clock's cached reading (`clock.rs`) is only good to a kernel tick, too coarse to draw a
//! 3 µs poll — and recorded under the task's name.

use std::time::Instant;

use super::TaskId;
use super::cell::Task;
use crate::trace::{Label, Trace, What};

/// Records one poll of `task` (or of the `block_on` future when `None`), from `start` to now.
#[cold]
pub(crate) fn poll(trace: &Trace, task: Option<&dyn Task>, start: Instant) {
    let end = Instant::now();
    let (what, name) = match task {
        Some(task) => (
            What::Poll {
                task: Some(task.header().id.seq),
            },
            task.meta().label(),
        ),
        None => (What::Poll { task: None }, Label::Static("block_on")),
    };
    trace.loop_slice(what, name, start, end);
}

/// Records that task `id` was woken (`remote`: by another thread, now queued by the loop).
pub(crate) fn wake(trace: &Trace, id: TaskId, remote: bool, at: Instant) {
    let what = What::Wake {
        task: id.seq,
        remote,
    };
    trace.loop_instant(what, if remote { "remote wake" } else { "wake" }, at);
}
