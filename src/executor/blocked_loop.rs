//! The blocked-loop detector: time every poll, and name the one that held the loop.
//!
//! While a poll runs, nothing else on the loop can: no other task, no timer, no socket. A poll
//! that takes long — a blocking call inside a future, a loop that never returns `Pending` — is
//! *blocking the loop*, and it is invisible unless someone times polls. The scheduler hands every
//! poll's duration to the detector (when the loop clock measured one, see `clock.rs`), which
//!
//! - keeps the longest poll and who made it (`RuntimeStats::longest_poll`), and
//! - logs a warning naming the task for a poll at least `slow_poll_threshold` long, like asyncio's
//!   `slow_callback_duration`: `task 7 (handle_request) blocked the event loop for 1.204 s`.
//!
//! This is production detail on top of the scheduler: the loop would run without it.

use std::borrow::Cow;
use std::time::Duration;

use super::cell::Task;
use crate::stats::LoopCounters;

/// Times polls against a threshold.
#[derive(Debug)]
pub(crate) struct BlockedLoopDetector {
    /// A poll at least this long is logged as blocking the loop (`None`: never).
    threshold: Option<Duration>,
}

impl BlockedLoopDetector {
    /// A detector warning from `threshold` on (`None`: only the longest poll is kept).
    pub(crate) fn new(threshold: Option<Duration>) -> BlockedLoopDetector {
        BlockedLoopDetector { threshold }
    }

    /// A poll (of `task`, or of the `block_on` future when `None`) took `took`.
    ///
    /// Runs after every measured poll, so it is kept small enough to inline; the rare paths (a
    /// new longest poll, a slow poll) are functions of their own, marked `#[cold]`.
    #[inline]
    pub(crate) fn measured(
        &self,
        took: Duration,
        task: Option<&dyn Task>,
        counters: &LoopCounters,
    ) {
        if took > counters.longest_poll.get() {
            record_longest_poll(took, task, counters);
        }
        if let Some(threshold) = self.threshold
            && took >= threshold
        {
            report_slow_poll(took, task, counters);
        }
    }
}

/// A poll longer than any before: remember how long and who.
#[cold]
fn record_longest_poll(took: Duration, task: Option<&dyn Task>, counters: &LoopCounters) {
    counters.longest_poll.set(took);
    counters
        .longest_poll_by
        .set(task.map(|t| t.header().id().seq));
}

/// The blocked-loop warning: count the slow poll and name who made it.
///
/// `#[cold]` tells the compiler this is rarely called: it keeps the string formatting out of the
/// inlined caller (which would otherwise need a large stack frame on every poll) and lays the
/// code out of the hot path.
#[cold]
#[inline(never)]
fn report_slow_poll(took: Duration, task: Option<&dyn Task>, counters: &LoopCounters) {
    LoopCounters::bump(&counters.slow_polls);
    let who: Cow<'_, str> = match task {
        Some(t) => format!("{} ({})", t.header().id(), t.meta()).into(),
        None => "the block_on future".into(),
    };
    log::warn!(
        "{who} blocked the event loop for {:.3} s",
        took.as_secs_f64()
    );
}
