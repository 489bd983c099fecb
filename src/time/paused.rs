//! `pause`, `resume` and `advance`: paused time for tests, as in tokio's `test-util`.
//!
//! A paused runtime's clock stands still (`clock/paused.rs`). It moves in two ways only:
//!
//! - **`advance(d).await`**: the test moves it by hand. evloop steps through every timer due in
//!   the window: the clock goes to the first deadline, those timers fire, their tasks get one
//!   poll; then to the next deadline; and so on, then to the end of the window. So each timer
//!   fires *at its own instant* (a task woken at the 10 ms deadline reads 10 ms, not the end of the
//!   window) and an `interval` inside the window ticks once per period. tokio's `advance` makes one
//!   jump instead, and the timers it jumps over all fire "at the same time", late.
//! - **auto-advance**: when the loop has nothing to do — no task ready, no I/O event, no blocking
//!   job in flight — and a timer is pending, it jumps straight to that timer
//!   (`runtime/auto_advance.rs`). So `sleep(Duration::from_secs(3600)).await` returns at once,
//!   with exactly one hour passed on the clock.
//!
//! To pretend that a poll *blocks* the loop — time passes, but nothing else runs and no timer
//! fires until the poll returns — use `evloop::test::block_for`.

use std::time::Duration;

use crate::executor::yield_now;
use crate::runtime::context;

/// Stops the current runtime's clock: `Instant::now()`, `sleep`, `timeout` and `interval` then
/// follow paused time, moved only by [`advance`] and by auto-advance (see the module docs).
///
/// # Panics
/// Outside a runtime, or if time is already paused.
#[track_caller]
pub fn pause() {
    let core = context::expect_current("evloop::time::pause");
    assert!(
        core.scheduler().clock().pause(),
        "evloop::time::pause: time is already paused"
    );
}

/// Lets the current runtime's clock run with the real clock again, from where it stands.
///
/// # Panics
/// Outside a runtime, or if time is not paused.
#[track_caller]
pub fn resume() {
    let core = context::expect_current("evloop::time::resume");
    assert!(
        core.scheduler().clock().resume(),
        "evloop::time::resume: time is not paused"
    );
}

/// Moves paused time forward by `duration`, firing every timer due on the way *at its own
/// instant* and giving the woken tasks a poll before the clock moves on (see the module docs).
///
/// Tasks woken at one step get one poll before the next step; a chain of tasks that wake each
/// other in turn may see the clock move on between them, as under real time. Each step costs a
/// turn of the loop, so advancing an hour over a 1 ms `interval` takes 3.6 million turns: sleep
/// in such a test instead (auto-advance jumps from timer to timer just the same).
///
/// # Panics
/// Outside a runtime, or if time is not paused.
pub async fn advance(duration: Duration) {
    let core = context::expect_current("evloop::time::advance");
    let clock = core.scheduler().clock();
    assert!(
        clock.is_paused(),
        "evloop::time::advance: time is not paused (call evloop::time::pause() first, or build \
         the runtime with start_paused(true))"
    );
    let target = clock.read() + duration;
    loop {
        let next = core.timers().borrow().next_deadline();
        let step = next.filter(|deadline| *deadline < target).unwrap_or(target);
        if clock.advance_to(step).is_none() {
            return; // a task resumed time meanwhile: nothing left to advance
        }
        // Fire before yielding, so the woken tasks are queued ahead of this one.
        core.fire_timers();
        yield_now().await;
        if step >= target {
            return;
        }
    }
}
