//! `oneshot`: one value, sent once, from anywhere to one waiting task.
//!
//! The typical use is a reply: a task hands a job to a worker thread together with a `Sender`,
//! then awaits the `Receiver`. The worker calls `send(result)` when done. Neither side blocks:
//! `send` never waits, and the receiving task sleeps (returns `Pending`) until the value is there.
//!
//! ```text
//!  worker thread                      shared state (std Mutex)            task on the loop
//!  ─────────────                      ────────────────────────            ────────────────
//!                                     value: None                ◄── poll: nothing yet,
//!                                     receiver_waker: Some(w)         leave waker w, Pending
//!  send(v) ──────────────────────►    value: Some(v)
//!          take w, unlock, w.wake() ──────────────────────────────► task queued ─► poll: Ok(v)
//! ```
//!
//! Either end may be dropped at any time, and the other end learns it: a `Receiver` whose
//! `Sender` was dropped without sending resolves to [`RecvError`]; `send` to a dropped `Receiver`
//! returns the value in `Err`, and [`Sender::is_closed`] says so in advance.
//!
//! A value left in the channel (sent, never received) is dropped by the `Receiver`'s drop, after
//! the std lock is released: dropping a value runs arbitrary code, and code that runs under a
//! lock must not be able to ask for it again. (For a oneshot the value cannot reach its own
//! channel's handles, but the rule is kept everywhere; in `mpsc` it matters.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use super::waiting::register;
use crate::executor::coop;

/// Creates a one-value channel: a [`Sender`] to send it, a [`Receiver`] to await it.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let (tx, rx) = evloop::sync::oneshot::channel();
/// std::thread::spawn(move || tx.send(6 * 7));
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: StdMutex::new(OneshotState {
            value: None,
            sender_done: false,
            receiver_alive: true,
            receiver_waker: None,
        }),
    });
    let sender = Sender {
        shared: Some(shared.clone()),
    };
    (sender, Receiver { shared })
}

/// What both ends of a oneshot channel point at.
struct Shared<T> {
    /// The value and who is still there; behind a std lock because the ends may be on two
    /// threads.
    state: StdMutex<OneshotState<T>>,
}

/// The state of a oneshot channel.
struct OneshotState<T> {
    /// The value, from `send` until the receiver takes it.
    value: Option<T>,
    /// True once the sender sent or was dropped: no value comes after this.
    sender_done: bool,
    /// False once the receiver was dropped: `send` hands the value back.
    receiver_alive: bool,
    /// The waker of the task awaiting the receiver, while it waits.
    receiver_waker: Option<Waker>,
}

impl<T> Shared<T> {
    /// The state, under its std lock. Poisoning is ignored: nothing in a critical section here
    /// panics except a waker's `clone`, which runs before the state is changed.
    fn state(&self) -> StdMutexGuard<'_, OneshotState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wakes the receiver's task, if it waits. Called only after the std lock is released: the
/// receiver may run at once on another thread, and its poll begins by taking that lock.
fn wake_receiver(receiver: Option<Waker>) {
    if let Some(receiver) = receiver {
        receiver.wake();
    }
}

/// The sending end of a [`oneshot::channel`](channel); may be moved to another thread.
pub struct Sender<T> {
    /// The channel; `None` only inside `send`, after which `Drop` has nothing left to do.
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` to the receiver, waking it. Returns the value in `Err` when the receiver
    /// was already dropped (nobody will ever read it).
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self
            .shared
            .take()
            .expect("a sender holds its channel until it sends");
        let mut state = shared.state();
        // Checked and stored under one lock: a receiver dropped in between would otherwise
        // make us report success for a value nobody can read.
        if !state.receiver_alive {
            return Err(value);
        }
        state.value = Some(value);
        state.sender_done = true;
        let receiver = state.receiver_waker.take();
        drop(state);
        wake_receiver(receiver);
        Ok(())
    }

    /// True when the receiver was dropped: a `send` would give the value back.
    pub fn is_closed(&self) -> bool {
        let shared = self
            .shared
            .as_ref()
            .expect("a sender holds its channel until it sends");
        !shared.state().receiver_alive
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Dropped without sending: tell the receiver no value will come.
        let Some(shared) = self.shared.take() else {
            return; // it did send
        };
        let mut state = shared.state();
        state.sender_done = true;
        let receiver = state.receiver_waker.take();
        drop(state);
        wake_receiver(receiver);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving end of a [`oneshot::channel`](channel): a future of the value.
///
/// Resolves to `Ok(value)`, or to `Err(RecvError)` if the sender was dropped without sending.
/// Polling it again after that yields `Err(RecvError)`: the one value was already taken.
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it is there, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.state();
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_done => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // A receive spends budget (`executor/coop.rs`), as every channel receive does.
        let coop = ready!(coop::poll_proceed(cx));
        let mut state = self.shared.state();
        if let Some(value) = state.value.take() {
            coop.made_progress();
            return Poll::Ready(Ok(value));
        }
        if state.sender_done {
            coop.made_progress();
            return Poll::Ready(Err(RecvError(())));
        }
        register(&mut state.receiver_waker, cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receiver_alive = false;
        let unread = state.value.take();
        let waker = state.receiver_waker.take();
        drop(state);
        // Dropped outside the lock: `T`'s drop may touch this channel (see the module docs).
        drop(unread);
        drop(waker);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The sender was dropped without sending a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: the sender was dropped without sending a value")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; the sender may still send one.
    Empty,
    /// No value will come: the sender was dropped without sending, or the value was taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "channel empty: no value sent yet",
            TryRecvError::Closed => "channel closed: no value will be sent",
        })
    }
}

impl std::error::Error for TryRecvError {}

#[cfg(test)]
mod tests;
