//! `watch`: one value that changes, many tasks that want to see the latest one.
//!
//! A configuration, a "shutting down" flag, the current leader: readers do not need every past
//! value, only the newest, and they want to be woken when it changes. A `watch` channel keeps
//! exactly one value and a **version** number that every send increments. Each [`Receiver`]
//! remembers the version it last saw; "changed" means "the version moved since I looked".
//!
//! ```text
//!   Sender::send(v) ─► value = v, version += 1 ─► wake every waiting `changed()`
//!
//!   Receiver (seen = 3)        version 3 ─► changed() waits ─┐
//!                              version 4 ◄─ send ────────────┘─► Ok(()), seen = 4
//!   borrow_and_update() ─► a reference to the value, seen = version   (no wait)
//! ```
//!
//! Three sends between two looks are one change: the receiver sees the last value, not three.
//! That is the point of `watch` (a slow reader never holds back the writer and never falls
//! behind); use `broadcast` or `mpsc` when every value matters.
//!
//! A `changed()` that completes spends one unit of the task's cooperative budget
//! (`executor/coop.rs`), as in tokio: a task that sends and awaits its own changes in a loop still
//! gives the loop back. A `changed()` refused for budget has marked nothing seen.
//!
//! ## Two locks, always in the same order
//!
//! The value sits in a `std::sync::RwLock`, so any number of receivers can read it at once, and
//! [`borrow`](Receiver::borrow) hands out a [`Ref`] holding that read lock. The bookkeeping
//! (version, handle counts, waiting tasks) sits in a `std::sync::Mutex`. A send takes the value's
//! write lock, then the bookkeeping lock to move the version, so a reader holding the read lock
//! always sees a version that matches the value it reads. Every path that takes both takes them in
//! that order (value, then bookkeeping), which rules out deadlock between them.
//!
//! A [`Ref`] holds a real read lock: do not keep it across an `.await`, and do not send on the
//! same thread while holding one (the send would wait for the read lock forever — evloop is one
//! thread). Tokio documents the same rule for its `watch::Ref`. The closures of
//! [`send_modify`](Sender::send_modify) and friends run under the write lock for the same reason
//! they must not touch the channel.
//!
//! ## Ends
//!
//! When every [`Sender`] is gone, a `changed()` with nothing new to report returns
//! [`RecvError`]; the last value stays readable. When every [`Receiver`] is
//! gone, [`send`](Sender::send) fails (the value comes back) and [`Sender::closed`] completes;
//! [`send_replace`](Sender::send_replace) still stores the value for receivers made later by
//! [`Sender::subscribe`].

use std::fmt;
use std::future::Future;
use std::mem;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{
    Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError, RwLock as StdRwLock,
    RwLockReadGuard as StdReadGuard,
};
use std::task::{Context, Poll, Waker, ready};

use super::waiting::{Ticket, WaitQueue, wake_all};
use crate::executor::coop;
use error::{RecvError, SendError};

/// Why a `watch` operation did not happen.
pub mod error {
    use std::fmt;

    /// Every receiver is gone: the value comes back unsent.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch channel closed: every receiver was dropped")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Every sender is gone, and the receiver has seen the last value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch channel closed: every sender was dropped")
        }
    }

    impl std::error::Error for RecvError {}
}

/// Creates a watch channel holding `init`; the receiver starts having seen it.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let (tx, mut rx) = evloop::sync::watch::channel("starting");
/// evloop::spawn(async move {
///     tx.send("ready").expect("a receiver is alive");
/// });
/// rx.changed().await.expect("the sender was alive when it sent");
/// assert_eq!(*rx.borrow_and_update(), "ready");
/// # });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: StdRwLock::new(init),
        state: StdMutex::new(WatchState {
            version: 0,
            senders: 1,
            receivers: 1,
            receivers_waiting: WaitQueue::new(),
            senders_waiting: WaitQueue::new(),
        }),
    });
    let receiver = Receiver {
        shared: shared.clone(),
        seen: 0,
    };
    (Sender { shared }, receiver)
}

/// What every handle of one channel points at.
struct Shared<T> {
    /// The one value; read-locked by `Ref`s, write-locked by sends. Taken before `state`.
    value: StdRwLock<T>,
    /// Version, handle counts and waiting tasks.
    state: StdMutex<WatchState>,
}

/// The bookkeeping of a watch channel, always accessed under its std lock.
struct WatchState {
    /// Incremented by every send that changed the value.
    version: u64,
    /// Live `Sender` handles; at zero, `changed()` reports the end.
    senders: usize,
    /// Live `Receiver` handles; at zero, `send` fails and `closed()` completes.
    receivers: usize,
    /// Receivers waiting in `changed()`; all are woken by a send or the last sender's drop.
    receivers_waiting: WaitQueue,
    /// Senders waiting in `closed()`; all are woken when the last receiver goes.
    senders_waiting: WaitQueue,
}

impl<T> Shared<T> {
    /// The bookkeeping, under its std lock. Poisoning is ignored: only a waker's `clone` or an
    /// allocation can panic inside, and both come before the state changes.
    fn state(&self) -> StdMutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read lock on the value. Poisoning (a `send_modify` closure panicked) is ignored, as
    /// tokio does: the value is whatever the closure left.
    fn read(&self) -> StdReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// One look for `Receiver::wait_for`: marks the current value seen, and returns it
    /// (read-locked) if `accept` holds for it.
    fn accepted(&self, seen: &mut u64, accept: &mut impl FnMut(&T) -> bool) -> Option<Ref<'_, T>> {
        let value = self.read();
        let version = self.state().version;
        let has_changed = version != *seen;
        *seen = version;
        accept(&value).then_some(Ref { value, has_changed })
    }

    /// Waits (as a task) for an event: `check` returns `Some(outcome)` once it happened; until
    /// then the task waits in the queue that `queue` picks, under `ticket`. Shared by
    /// `changed()` (receivers wait for a send) and `closed()` (senders wait for the receivers
    /// to go).
    fn poll_event<R>(
        &self,
        ticket: &mut Option<Ticket>,
        waker: &Waker,
        check: impl FnOnce(&WatchState) -> Option<R>,
        queue: impl FnOnce(&mut WatchState) -> &mut WaitQueue,
    ) -> Poll<R> {
        let mut state = self.state();
        let outcome = check(&state);
        let queue = queue(&mut state);
        if let Some(outcome) = outcome {
            if let Some(queued) = ticket.take() {
                queue.remove(queued); // gone already if a `take_all` woke us
            }
            return Poll::Ready(outcome);
        }
        match *ticket {
            Some(queued) if queue.update(queued, waker) => {}
            // Not queued: first poll, or woken but the event is not there (queue again).
            _ => *ticket = Some(queue.push(waker)),
        }
        Poll::Pending
    }
}

/// The sending side of a watch channel; clone it for more senders.
pub struct Sender<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender with no receiver yet ([`subscribe`](Self::subscribe) makes some).
    pub fn new(init: T) -> Sender<T> {
        channel(init).0
    }

    /// Stores `value` and wakes the receivers. Fails, handing the value back and storing
    /// nothing, when no receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.state().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Stores `value` even with no receiver, wakes the receivers, and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut value = value;
        self.send_modify(|current| mem::swap(current, &mut value));
        value
    }

    /// Changes the value in place and wakes the receivers (always counted as a change).
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Lets `modify` change the value in place; only if it returns `true` does the version move
    /// and the receivers wake. Returns what `modify` returned.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let mut value = self
            .shared
            .value
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !modify(&mut value) {
            return false;
        }
        // Version moves under the value's write lock: a reader sees the value and its version
        // together (see "Two locks" in the module docs).
        let mut state = self.shared.state();
        state.version += 1;
        let waiting = state.receivers_waiting.take_all();
        drop(state);
        drop(value);
        wake_all(waiting);
        true
    }

    /// A reference to the current value (holds the read lock; see [`Ref`]).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            value: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver that starts having seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: state.version,
        }
    }

    /// True when no receiver is left.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes once no receiver is left.
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            sender: self,
            ticket: None,
        }
    }

    /// How many receivers are alive.
    pub fn receiver_count(&self) -> usize {
        self.shared.state().receivers
    }

    /// How many senders are alive.
    pub fn sender_count(&self) -> usize {
        self.shared.state().senders
    }

    /// True when both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.state().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.senders -= 1;
        let waiting = match state.senders {
            0 => state.receivers_waiting.take_all(),
            _ => Vec::new(),
        };
        drop(state);
        wake_all(waiting);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// Future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Closed<'a, T> {
    /// The sender waiting for the receivers to go.
    sender: &'a Sender<T>,
    /// Its place among the waiting senders.
    ticket: Option<Ticket>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.sender.shared.poll_event(
            &mut this.ticket,
            cx.waker(),
            |state| (state.receivers == 0).then_some(()),
            |state| &mut state.senders_waiting,
        )
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.sender.shared.state().senders_waiting.remove(ticket);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// The receiving side of a watch channel; clone it (or [`Sender::subscribe`]) for more.
pub struct Receiver<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
    /// The version this receiver last marked as seen.
    seen: u64,
}

impl<T> Receiver<T> {
    /// A reference to the current value, without marking it seen ([`Ref::has_changed`] says
    /// whether it is new to this receiver).
    pub fn borrow(&self) -> Ref<'_, T> {
        let value = self.shared.read();
        let version = self.shared.state().version;
        Ref {
            value,
            has_changed: version != self.seen,
        }
    }

    /// A reference to the current value, marking it seen: `changed()` then waits for the next.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let value = self.shared.read();
        let version = self.shared.state().version;
        let has_changed = version != self.seen;
        self.seen = version;
        Ref { value, has_changed }
    }

    /// Whether a value this receiver has not seen is there; an error once every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state.senders == 0 {
            return Err(RecvError(()));
        }
        Ok(state.version != self.seen)
    }

    /// Makes the next `changed()` return at once, as if a new value had come.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.state().version.wrapping_sub(1);
    }

    /// Marks the current value seen without borrowing it.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.state().version;
    }

    /// Waits for a value this receiver has not seen and marks it seen; `Err` when every sender
    /// is gone and nothing new is left. Cancel-safe: dropping it loses nothing.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            seen: &mut self.seen,
            ticket: None,
        }
    }

    /// Waits until `accept` holds for the value (checking the current one first), marks it seen
    /// and returns it, still read-locked, so it is the value `accept` saw; `Err` if every sender
    /// went before that.
    pub async fn wait_for(
        &mut self,
        mut accept: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Borrow the two fields apart: the returned `Ref` borrows `shared` while the loop keeps
        // updating `seen`.
        let (shared, seen) = (&*self.shared, &mut self.seen);
        loop {
            if let Some(accepted) = shared.accepted(seen, &mut accept) {
                return Ok(accepted);
            }
            Changed {
                shared,
                seen: &mut *seen,
                ticket: None,
            }
            .await?;
        }
    }

    /// True when both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.state().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receivers -= 1;
        let waiting = match state.receivers {
            0 => state.senders_waiting.take_all(),
            _ => Vec::new(),
        };
        drop(state);
        wake_all(waiting);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::changed`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Changed<'a, T> {
    /// The channel.
    shared: &'a Shared<T>,
    /// The receiver's last seen version; moved to the new one when this completes.
    seen: &'a mut u64,
    /// Its place among the waiting receivers.
    ticket: Option<Ticket>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A completed `changed()` spends budget (`executor/coop.rs`), as tokio's does; asked for
        // first, so a refused one has marked nothing seen and the change waits for its next poll.
        let coop = ready!(coop::poll_proceed(cx));
        let this = &mut *self;
        let seen = *this.seen;
        let outcome = ready!(this.shared.poll_event(
            &mut this.ticket,
            cx.waker(),
            // News first: a value sent just before the last sender left is still reported.
            |state| match state.version {
                version if version != seen => Some(Ok(version)),
                _ if state.senders == 0 => Some(Err(RecvError(()))),
                _ => None,
            },
            |state| &mut state.receivers_waiting,
        ));
        coop.made_progress();
        Poll::Ready(outcome.map(|version| *this.seen = version))
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.shared.state().receivers_waiting.remove(ticket);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// A reference to a watch channel's value, holding its read lock: keep it short, never across
/// an `.await` (a send on this thread would wait for it forever).
pub struct Ref<'a, T> {
    /// The read lock on the value.
    value: StdReadGuard<'a, T>,
    /// Whether the value was new to the receiver that borrowed it.
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was one the receiver had not seen when it borrowed it (always false
    /// for [`Sender::borrow`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests;
