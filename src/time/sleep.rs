//! `sleep` and `sleep_until`: a future that completes at a deadline.
//!
//! A sleep that completes spends one unit of the task's cooperative budget (`executor/coop.rs`),
//! as tokio's does. A deadline already in the past never says "wait", so without that a task
//! looping on `sleep(Duration::ZERO)`, or an `interval` catching up on missed ticks, would keep the
//! loop to itself. Out of budget, a sleep returns `Pending` even when due, and completes when the
//! task comes back with a fresh budget (after the other ready tasks have run).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use super::Instant;
use crate::executor::coop;
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::timer::TimerKey;

/// Waits until `duration` has passed.
///
/// # Panics
/// When polled outside a runtime (before its deadline).
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(Instant::now(), duration))
}

/// `from + duration`, saturated: a deadline too far for `Instant` to hold means "practically
/// never", and becomes ~30 years from now instead of a panic. (`sleep` and `interval` use it.)
pub(crate) fn deadline_after(from: Instant, duration: Duration) -> Instant {
    from.checked_add(duration).unwrap_or_else(far_future)
}

/// About 30 years from now: later than any program waits, and still an `Instant`.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registration: None,
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// Unlike tokio's, it is `Unpin` (it holds no self-references), so it can be polled without
/// `pin!` and stored in a struct directly.
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Sleep {
    /// When the sleep ends.
    deadline: Instant,
    /// Where the timer is registered, once it has been polled before its deadline.
    registration: Option<(Rc<Core>, TimerKey)>,
}

impl Sleep {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (used by `Interval`); the old registration is removed.
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.deadline = deadline;
    }

    /// Removes the timer from the runtime, if registered.
    fn deregister(&mut self) {
        if let Some((core, key)) = self.registration.take() {
            core.timers().borrow_mut().remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A sleep that ends spends budget (see the module docs); a pending one gives it back.
        let coop = ready!(coop::poll_proceed(cx));
        if Instant::now() >= self.deadline {
            self.deregister();
            coop.made_progress();
            return Poll::Ready(());
        }
        let registered = match &self.registration {
            Some((core, key)) => {
                assert_current(core);
                core.timers().borrow_mut().update_waker(*key, cx.waker())
            }
            None => false,
        };
        if !registered {
            // First poll, or the loop fired the timer before the deadline by our clock (it cannot
            // by its own, but stay correct): register (again).
            let core = context::expect_current("evloop::time::sleep");
            let key = core
                .timers()
                .borrow_mut()
                .insert(self.deadline.into_std(), cx.waker().clone());
            self.registration = Some((core, key));
        }
        Poll::Pending
    }
}

/// Panics, naming the mistake, unless `core` is the runtime running this poll: a timer registered
/// with one runtime fires only when that runtime's loop turns, so awaiting it on another loop (or
/// on none) would wait forever. One pointer comparison, made only while the sleep is pending.
fn assert_current(core: &Rc<Core>) {
    match context::with_core(|current| Rc::ptr_eq(current, core)) {
        Some(true) => {}
        Some(false) => panic!(
            "an evloop timer (sleep, timeout or interval) first awaited on one evloop runtime was \
             awaited again on another: only the first runtime fires it, so this wait would never \
             end. Create and await timers inside one runtime"
        ),
        None => panic!(
            "an evloop timer (sleep, timeout or interval) was awaited outside the evloop runtime \
             it was first awaited on: only that runtime fires it, so this wait would never end. \
             Await it inside that runtime's `block_on`"
        ),
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
