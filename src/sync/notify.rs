//! `Notify`: wake a task without sending it anything — the smallest primitive there is.
//!
//! A task that waits for "something changed" (a config reload, a shutdown, new work in a queue the
//! task reads by other means) does not need a channel: it needs a doorbell. `notified().await`
//! waits for the bell; `notify_one()` rings it for one waiter; `notify_waiters()` rings it for
//! everyone waiting right now.
//!
//! ## The permit: a ring nobody heard is kept, once
//!
//! `notify_one()` with no task waiting is not lost: it leaves a single **permit**, and the next
//! `notified().await` consumes it and returns at once. A second `notify_one()` before that finds
//! the permit already there and adds nothing: permits do not pile up. That closes the classic
//! race of "check the queue, find it empty, go to sleep" against "push, ring" — whichever order
//! they happen in, the waiter wakes:
//!
//! ```text
//!  notify_one ─┬─ waiters queued ─► pop the oldest ─► wake it (after unlocking)
//!              └─ nobody waits ───► permit = true   (a second ring: still true, not 2)
//!
//!  notified() ─┬─ notify_waiters ran since it was created ─► Ready
//!    (poll)    ├─ permit ──────────────────────────────────► permit = false, Ready
//!              └─ else ───► push(waker) into `waiters` ─► Pending
//!
//!  notify_waiters ─► calls += 1 ─► take_all ─► wake each    (no permit left behind)
//! ```
//!
//! `notify_waiters()` reaches every `Notified` future that exists when it is called, even one not
//! polled yet: the future remembers how many `notify_waiters` calls had happened when it was
//! created, and completes as soon as it sees a larger number. That is tokio's rule, and it makes
//! "create the future, check the condition, then await" race-free.
//!
//! ## Cancellation forwards a `notify_one`
//!
//! The queue is the `WaitQueue` of `sync/waiting.rs`: a future whose ticket is gone was
//! notified. If such a future is dropped before it is polled (a `select!` took another branch),
//! the `notify_one` it received would vanish with it, and the task the ring was meant for would
//! sleep forever. So the dropped future forwards it: to the next waiter, or into the permit. For
//! that the state remembers which tickets `notify_one` handed out (`handed_one`); a future
//! drained by `notify_waiters` forwards nothing, since everyone was rung anyway.
//!
//! ## The cooperative budget
//!
//! A `notified()` that completes spends one unit of the task's budget (`executor/coop.rs`), so a
//! task that rings its own bell and answers it in a loop still gives the loop back. (tokio's
//! `Notified` spends none; evloop counts it with the other primitives.) The budget is asked for
//! before the state is touched: a refused future has not consumed the permit, and a ring already
//! handed to it stays in `handed_one`, to be picked up by its next poll or forwarded by its drop.
//! [`Notified::enable`] is not a completion and spends nothing.
//!
//! Wakers are woken after the std lock is released, as everywhere in `sync` (see `sync/mod.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use super::waiting::{Ticket, WaitQueue, wake_all};
use crate::executor::coop;

/// Wakes waiting tasks without sending them a value; see the module docs for the permit rule.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use std::rc::Rc;
/// use evloop::sync::Notify;
///
/// let bell = Rc::new(Notify::new());
/// let waiter = evloop::spawn({
///     let bell = bell.clone();
///     async move { bell.notified().await; "woken" }
/// });
/// bell.notify_one(); // the waiter may not have started yet: the permit keeps the ring
/// assert_eq!(waiter.await.unwrap(), "woken");
/// # });
/// ```
pub struct Notify {
    /// The permit, the waiting tasks and the `notify_waiters` count, under one std lock.
    state: StdMutex<NotifyState>,
}

/// The bookkeeping of a [`Notify`], always accessed under its std lock.
struct NotifyState {
    /// A `notify_one` that found nobody waiting; the next `notified()` consumes it.
    permit: bool,
    /// How many times `notify_waiters` ran; a future created before a call sees it changed.
    waiters_calls: u64,
    /// Futures waiting for a ring, oldest first.
    waiters: WaitQueue,
    /// Tickets that `notify_one` took off the queue, whose futures have not been polled or dropped
    /// since. Sorted, since the queue is popped from the front and tickets only grow.
    handed_one: Vec<Ticket>,
}

impl NotifyState {
    /// Rings for one: hands the ring to the oldest waiter (returning its waker, to wake after
    /// unlocking) or, if nobody waits, leaves the permit.
    fn ring_one(&mut self) -> Option<Waker> {
        match self.waiters.pop_front_ticket() {
            Some((ticket, waker)) => {
                self.handed_one.push(ticket);
                Some(waker)
            }
            None => {
                self.permit = true;
                None
            }
        }
    }

    /// Forgets that `ticket` was handed a `notify_one`; returns whether it had been.
    fn take_handed(&mut self, ticket: Ticket) -> bool {
        match self.handed_one.binary_search(&ticket) {
            Ok(index) => {
                self.handed_one.remove(index);
                true
            }
            Err(_) => false,
        }
    }
}

impl Notify {
    /// A `Notify` with no permit and nobody waiting. Allocates nothing.
    pub const fn new() -> Notify {
        Notify {
            state: StdMutex::new(NotifyState {
                permit: false,
                waiters_calls: 0,
                waiters: WaitQueue::new(),
                handed_one: Vec::new(),
            }),
        }
    }

    /// Same as [`new`](Self::new), for statics (tokio has both names).
    pub const fn const_new() -> Notify {
        Notify::new()
    }

    /// A future that completes at the next ring meant for it: a `notify_one` (or the permit one
    /// left), or a `notify_waiters` called any time after this call.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            stage: NotifiedStage::Created {
                waiters_calls: self.state().waiters_calls,
            },
        }
    }

    /// Wakes the task that has waited longest, or, if none waits, stores the permit (at most
    /// one) for the next `notified()`.
    pub fn notify_one(&self) {
        let woken = self.state().ring_one();
        // The std lock is released: the woken task's first act is to take it.
        if let Some(waker) = woken {
            log::trace!("notify_one woke the oldest waiter");
            waker.wake();
        }
    }

    /// Wakes every task waiting right now, and every `Notified` created before this call even if
    /// not polled yet. Leaves no permit: a later `notified()` waits.
    pub fn notify_waiters(&self) {
        let mut state = self.state();
        state.waiters_calls += 1;
        let woken = state.waiters.take_all();
        drop(state);
        log::trace!("notify_waiters woke {} waiters", woken.len());
        wake_all(woken);
    }

    /// The bookkeeping, under its std lock. Poisoning is ignored: the only code that can panic
    /// inside is a waker's `clone` or an allocation, and both come before the state changes.
    fn state(&self) -> StdMutexGuard<'_, NotifyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiting", &state.waiters.len())
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Notified<'a> {
    /// The `Notify` it waits on.
    notify: &'a Notify,
    /// Where this waiter is: just created, queued, or done.
    stage: NotifiedStage,
}

/// The life of one [`Notified`] future.
#[derive(Debug, Clone, Copy)]
enum NotifiedStage {
    /// Not queued yet; `waiters_calls` is the `notify_waiters` count at creation.
    Created {
        /// Compared with the current count: a difference means it was rung.
        waiters_calls: u64,
    },
    /// In the queue under `ticket`.
    Queued {
        /// Its place among the waiters; gone from the queue once it was rung.
        ticket: Ticket,
    },
    /// Rung, and told so; nothing to undo on drop.
    Done,
}

impl Notified<'_> {
    /// Joins the queue without waiting, so that a `notify_one` from now on can reach this
    /// future; returns `true` if it has already been rung (a later poll then completes at once).
    ///
    /// Useful to register *before* checking a condition, then await only if needed.
    pub fn enable(mut self: Pin<&mut Self>) -> bool {
        self.advance(None)
    }

    /// One step of the waiter: true once it was rung. `waker` is the task's waker when polled,
    /// `None` from `enable` (which queues a no-op waker that the first poll replaces).
    fn advance(&mut self, waker: Option<&Waker>) -> bool {
        let mut state = self.notify.state();
        let rung = match self.stage {
            NotifiedStage::Created { waiters_calls } => {
                if state.waiters_calls != waiters_calls {
                    true // rung by `notify_waiters`; a permit, if any, stays for someone else
                } else if state.permit {
                    state.permit = false;
                    true
                } else {
                    let ticket = state.waiters.push(waker.unwrap_or(Waker::noop()));
                    self.stage = NotifiedStage::Queued { ticket };
                    false
                }
            }
            NotifiedStage::Queued { ticket } => {
                let still_queued = match waker {
                    Some(waker) => state.waiters.update(ticket, waker),
                    None => state.waiters.contains(ticket),
                };
                if !still_queued {
                    state.take_handed(ticket);
                }
                !still_queued
            }
            NotifiedStage::Done => true,
        };
        if rung {
            self.stage = NotifiedStage::Done;
        }
        rung
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Asked for before `advance`, which may consume the permit: see the module docs.
        let coop = ready!(coop::poll_proceed(cx));
        if self.advance(Some(cx.waker())) {
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let NotifiedStage::Queued { ticket } = self.stage else {
            return; // never queued, or already told it was rung
        };
        let mut state = self.notify.state();
        if state.waiters.remove(ticket) || !state.take_handed(ticket) {
            return; // still waiting (gone without trace), or rung by notify_waiters
        }
        // Handed a `notify_one` but dropped before it could act on it: pass the ring on.
        let next = state.ring_one();
        drop(state);
        log::debug!("a notified future dropped after notify_one; ring passed on");
        wake_all(next);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::sync::test_waker::{counting_waker, poll_once};

    #[test]
    fn notify_one_without_a_waiter_leaves_one_permit_not_two() {
        let (_, waker) = counting_waker();
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        assert!(poll_once(&mut notify.notified(), &waker).is_ready());
        assert!(
            poll_once(&mut notify.notified(), &waker).is_pending(),
            "permits do not pile up"
        );
    }

    #[test]
    fn notify_one_wakes_the_oldest_waiter_only() {
        let notify = Notify::new();
        let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        let mut waiters: Vec<_> = (0..3).map(|_| notify.notified()).collect();
        for (waiter, (_, waker)) in waiters.iter_mut().zip(&wakers) {
            assert!(poll_once(waiter, waker).is_pending());
        }
        notify.notify_one();
        let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.wakes()).collect();
        assert_eq!(woken, [1, 0, 0]);
        assert!(poll_once(&mut waiters[1], &wakers[1].1).is_pending());
        assert!(poll_once(&mut waiters[0], &wakers[0].1).is_ready());
        assert!(!notify.state().permit, "the ring went to a waiter");
    }

    #[test]
    fn notify_waiters_wakes_everyone_and_leaves_no_permit() {
        let notify = Notify::new();
        let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        let mut waiters: Vec<_> = (0..3).map(|_| notify.notified()).collect();
        for (waiter, (_, waker)) in waiters.iter_mut().zip(&wakers) {
            assert!(poll_once(waiter, waker).is_pending());
        }
        notify.notify_waiters();
        assert!(wakers.iter().all(|(c, _)| c.wakes() == 1));
        for (waiter, (_, waker)) in waiters.iter_mut().zip(&wakers) {
            assert!(poll_once(waiter, waker).is_ready());
        }
        assert!(poll_once(&mut notify.notified(), &wakers[0].1).is_pending());
    }

    #[test]
    fn notify_waiters_reaches_a_future_created_but_not_yet_polled() {
        let (_, waker) = counting_waker();
        let notify = Notify::new();
        let mut early = notify.notified();
        notify.notify_waiters();
        let mut late = notify.notified();
        assert!(poll_once(&mut early, &waker).is_ready());
        assert!(poll_once(&mut late, &waker).is_pending());
    }

    #[test]
    fn a_waiter_dropped_after_notify_one_passes_the_ring_to_the_next() {
        let notify = Notify::new();
        let (_, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut first = notify.notified();
        let mut next = notify.notified();
        assert!(poll_once(&mut first, &first_waker).is_pending());
        assert!(poll_once(&mut next, &second_waker).is_pending());
        notify.notify_one();
        drop(first); // e.g. select! took another branch
        assert_eq!(second.wakes(), 1, "the ring was forwarded");
        assert!(poll_once(&mut next, &second_waker).is_ready());
    }

    #[test]
    fn a_waiter_dropped_after_notify_one_with_nobody_behind_leaves_the_permit() {
        let (_, waker) = counting_waker();
        let notify = Notify::new();
        let mut only = notify.notified();
        assert!(poll_once(&mut only, &waker).is_pending());
        notify.notify_one();
        drop(only);
        assert!(poll_once(&mut notify.notified(), &waker).is_ready());
    }

    #[test]
    fn a_waiter_dropped_after_notify_waiters_forwards_nothing() {
        let (_, waker) = counting_waker();
        let notify = Notify::new();
        let mut rung = notify.notified();
        assert!(poll_once(&mut rung, &waker).is_pending());
        notify.notify_waiters();
        drop(rung);
        assert!(!notify.state().permit);
        assert!(poll_once(&mut notify.notified(), &waker).is_pending());
    }

    #[test]
    fn a_waiter_dropped_while_queued_takes_no_ring() {
        let notify = Notify::new();
        let (gone, gone_waker) = counting_waker();
        let (stays, stays_waker) = counting_waker();
        let mut cancelled = notify.notified();
        let mut patient = notify.notified();
        assert!(poll_once(&mut cancelled, &gone_waker).is_pending());
        assert!(poll_once(&mut patient, &stays_waker).is_pending());
        drop(cancelled);
        notify.notify_one();
        assert_eq!((gone.wakes(), stays.wakes()), (0, 1));
    }

    #[test]
    fn enable_queues_the_future_so_notify_one_reaches_it() {
        let (counter, waker) = counting_waker();
        let notify = Notify::new();
        let mut waiter = pin!(notify.notified());
        assert!(!waiter.as_mut().enable(), "nothing rang yet");
        notify.notify_one();
        assert!(
            !notify.state().permit,
            "the ring went to the enabled future"
        );
        assert!(waiter.as_mut().enable());
        assert!(
            waiter
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
        assert_eq!(counter.wakes(), 0, "it was never polled while waiting");
    }
}
