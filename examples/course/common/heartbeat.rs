//! Step 4: a heartbeat, the loop's pulse. A task sleeps one period, again and again, and
//! measures how late each wake-up came: the time the loop could not get to it.
//!
//! ```text
//!  due += period ─► sleep_until(due) ─► lag = now - due ─► record ─► again
//! ```
//!
//! On an idle loop the lag is about a millisecond (`epoll_wait` counts whole milliseconds, rounded
//! up). When a poll blocks the loop, it is up to that poll's length.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::timers::{Timers, sleep_until};

/// A heartbeat's record.
#[derive(Default)]
pub struct Heartbeat {
    /// When each tick ran.
    pub ticks: RefCell<Vec<Instant>>,
    /// The latest a tick ran after its deadline.
    pub worst_lag: Cell<Duration>,
}

impl Heartbeat {
    /// The task: tick every `period` forever, on a fixed grid (the loop drops it when
    /// `block_on`'s main task ends). After a late tick, missed ticks are skipped, not burst.
    pub async fn run(self: Rc<Self>, timers: Rc<Timers>, period: Duration) {
        let mut due = Instant::now();
        loop {
            due += period;
            sleep_until(&timers, due).await;
            let now = Instant::now();
            self.worst_lag.set(self.worst_lag.get().max(now - due));
            self.ticks.borrow_mut().push(now);
            while due + period <= now {
                due += period; // missed while the loop was busy
            }
        }
    }
}
