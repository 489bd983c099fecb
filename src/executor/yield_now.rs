//! `yield_now()`: step aside and let every other ready task run first.
//!
//! The future returns `Pending` once, after waking itself. The wake puts the task at the *back* of
//! the run queue, and because a turn only runs the tasks that were ready when it began
//! (`Scheduler::run_ready_tasks`), the task runs again only after the timers have had
//! their turn, and the reactor at least every 61 polls (`runtime::core::EVENT_INTERVAL`). That is
//! why a `loop { yield_now().await }` cannot starve I/O.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once to the scheduler; see the module docs.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[must_use = "futures do nothing unless you `.await` them"]
#[derive(Debug)]
pub struct YieldNow {
    /// True after the first poll: the second poll completes.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
