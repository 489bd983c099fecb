//! Auto-advance: while time is paused, an idle loop jumps straight to its next timer.
//!
//! Paused time (`clock/paused.rs`) stands still. A test that sleeps for an hour would then sleep
//! forever, unless something moves the clock. tokio's answer, kept here: when the loop has nothing
//! else to do, *nothing else can happen before the next timer*, so the loop may as well jump to it.
//! "Nothing else to do" means, checked in this order:
//!
//! ```text
//!  no task ready, block_on future not woken        (Core::poll_reactor only comes here then)
//!  no blocking job in flight                       (its end would wake a task: wait for it)
//!  epoll_wait(timeout 0) finds no socket event     (I/O that has already arrived wins)
//!  and no wake from another thread
//!      ──► move the clock to the next deadline; after_reactor fires that timer
//! ```
//!
//! So a paused loop never sleeps for a timer, but it still sleeps for sockets: with no timer
//! pending it waits in `epoll_wait` as usual (a test server on loopback works while paused).
//!
//! What auto-advance cannot know: I/O that has not arrived *yet*. A reply from another thread, or
//! from another process, that is on its way when the loop looks is not "something to do", so a
//! `timeout` around it fires at once. Paused time suits code whose peers run on the same loop (a
//! mock stream, a client task on loopback) or on `spawn_blocking`; for a peer on another thread,
//! keep real time or keep the timers out of paused sections.
//!
//! Blocking jobs: a job on a pool thread will deliver its result and wake its task, so a loop
//! with jobs in flight is *not* idle. Jumping ahead would fire a `timeout` around a 50 ms job
//! before the job could finish (tokio-rs/tokio#4614, fixed the same way in tokio#5115). While a
//! job is in flight the loop instead waits in `epoll_wait` for real, at most [`BLOCKING_RECHECK`]
//! at a time: an awaited job rings the loop's bell when it is done, but a detached job (its handle
//! dropped) wakes nobody, and the loop must notice that the count went to zero.

use std::io;
use std::time::Duration;

use super::core::Core;
use crate::reactor::ParkReport;

/// The longest real wait of a paused loop while blocking jobs are in flight, between looks at
/// whether they are all done (see the module docs).
const BLOCKING_RECHECK: Duration = Duration::from_millis(10);

/// `Reactor::park` for a paused loop: `timeout` is what the loop would sleep for the next timer
/// (`None`: no timer; zero: work is ready). Moves the clock to the next deadline when the loop is
/// idle; never sleeps for a timer.
pub(super) fn park_paused(core: &Core, timeout: Option<Duration>) -> io::Result<ParkReport> {
    let wait = match timeout {
        Some(wait) if !wait.is_zero() => wait,
        // No timer: wait for sockets and other threads as usual. Work ready: only peek.
        other => return core.reactor().park(other),
    };
    let clock = core.scheduler().clock();
    if clock.auto_advance_held() {
        log::trace!("paused: a blocking job is in flight, time waits for it");
        return core.reactor().park(Some(wait.min(BLOCKING_RECHECK)));
    }
    let report = core.reactor().park(Some(Duration::ZERO))?;
    let idle = report.io_events == 0
        && !report.interrupted
        && !core.scheduler().has_ready_work()
        && !core.scheduler().inbox().has_remote_wakes();
    if idle {
        let next = core.timers().borrow().next_deadline();
        if let Some(deadline) = next {
            clock.advance_to(deadline);
            log::trace!("paused: idle, time jumps {wait:?} to the next timer");
        }
    }
    Ok(report)
}
