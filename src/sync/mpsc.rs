//! `mpsc`: a queue of values from many senders to one receiving task.
//!
//! Two flavours share one implementation (`mpsc/chan.rs`):
//!
//! - [`channel(capacity)`](channel): **bounded**. When `capacity` values wait unreceived,
//!   `send(v).await` waits for a slot. That is *back-pressure*: a producer faster than its
//!   consumer is slowed to the consumer's pace instead of filling memory. `try_send` reports
//!   [`TrySendError::Full`] instead of waiting.
//! - [`unbounded_channel()`](unbounded_channel): `send(v)` never waits. Use it where the producer
//!   cannot wait (a callback, a worker thread with no runtime) and the volume is bounded
//!   elsewhere.
//!
//! ```text
//!  Sender ──┐                                            ┌─ recv().await ─► Some(v)
//!  Sender ──┼─► buffer (VecDeque, ≤ capacity) ──────────►┤   (None when every sender is gone
//!  Sender ──┘    full? senders queue, FIFO, and each     │    and the buffer is empty)
//!                freed slot is granted to the oldest ◄───┘
//! ```
//!
//! Senders are `Clone` and may be used from other threads; the receiver is one task's. Dropping
//! the receiver (or calling [`Receiver::close`]) makes every later send fail with the value
//! handed back; values already buffered are still delivered after `close`.
//!
//! A `send(v)` future dropped while it waits gives up its place in the queue, and if it had
//! already been granted a slot, passes the slot on, so no other sender misses its wake-up.

mod chan;
mod error;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

pub use error::{SendError, TryRecvError, TrySendError};

use crate::executor::coop;
use crate::sync::waiting::Ticket;
use chan::Chan;

/// Creates a bounded channel: at most `capacity` values wait unreceived; more senders wait.
///
/// # Panics
/// When `capacity` is 0 (a rendezvous channel, where each send waits for a receive, is not
/// offered).
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let (tx, mut rx) = evloop::sync::mpsc::channel(8);
/// evloop::spawn(async move {
///     for i in 0..3 {
///         tx.send(i).await.expect("receiver alive");
///     }
/// });
/// let mut got = Vec::new();
/// while let Some(i) = rx.recv().await {
///     got.push(i);
/// }
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc::channel capacity must be at least 1");
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: sends never wait (the buffer grows as needed).
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(usize::MAX));
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The sending side of a bounded [`channel`]; clone it for more senders.
pub struct Sender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot while the buffer is full. Fails, handing the value
    /// back, when the receiver is gone.
    ///
    /// Senders that wait are served in the order they started waiting. Dropping the future while
    /// it waits cancels the send (the value is dropped with it).
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            ticket: None,
        }
    }

    /// Sends `value` if a slot is free right now and no earlier sender waits for one.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// True once the receiver was dropped or closed the channel: every send would fail.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Future returned by [`Sender::send`]. (Not called `Send`: that name is the marker trait.)
#[must_use = "futures do nothing unless you `.await` them"]
pub struct SendFuture<'a, T> {
    /// The sender it sends through; borrowed, so the sender outlives every wait.
    sender: &'a Sender<T>,
    /// The value, until it is buffered or handed back.
    value: Option<T>,
    /// Its place among the blocked senders, while it waits for a slot.
    ticket: Option<Ticket>,
}

// The value is moved into the buffer, never pinned in place, so the future may move freely.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.sender
            .chan
            .poll_send(&mut this.value, &mut this.ticket, cx.waker())
    }
}

impl<T> Drop for SendFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.sender.chan.cancel_send(ticket);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

/// The sending side of an [`unbounded_channel`]; clone it for more senders.
pub struct UnboundedSender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once, waking the receiver if it waits. Fails, handing the value back,
    /// when the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.try_send(value).map_err(|error| match error {
            TrySendError::Closed(value) => SendError(value),
            TrySendError::Full(_) => unreachable!("an unbounded channel is never full"),
        })
    }

    /// True once the receiver was dropped or closed the channel: every send would fail.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// The receiving side of an [`unbounded_channel`]: the same type as [`Receiver`], under tokio's
/// name.
///
/// Tokio has two receiver types because its bounded and unbounded channels count slots
/// differently; here one `Chan` serves both (an unbounded channel is a bounded one of capacity
/// `usize::MAX`), so one receiver type does too. The alias lets code written for tokio name the
/// type. (Code that implements a trait for both names would see one type twice.)
pub type UnboundedReceiver<T> = Receiver<T>;

/// The receiving side of a [`channel`] or [`unbounded_channel`].
pub struct Receiver<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the next value; `None` once every sender is gone (or the channel was closed)
    /// and the buffer is empty.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            waiting: false,
        }
    }

    /// `recv()` for code that writes its own `Future::poll` (or a `Stream`): a value, `None` at
    /// the end, or `Pending` with `cx`'s waker kept to be woken by the next send.
    ///
    /// The waker stays registered after `Pending` until a send or the end wakes it (there is no
    /// future whose drop could take it back); that costs at most one spurious wake.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx.waker())
    }

    /// Takes the next value if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Closes the channel: every later send fails and blocked senders get their values back.
    /// Values already buffered can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close_and_drain();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Recv<'a, T> {
    /// The receiver it receives for (borrowed mutably: one receive at a time).
    receiver: &'a mut Receiver<T>,
    /// True while its waker is stored in the channel; its drop then removes it.
    waiting: bool,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // A receive spends budget (`executor/coop.rs`): a channel that always has a value, fed by
        // a busy producer, would otherwise keep its receiver's poll going forever.
        let coop = ready!(coop::poll_proceed(cx));
        let poll = self.receiver.chan.poll_recv(cx.waker());
        self.waiting = poll.is_pending();
        if poll.is_ready() {
            coop.made_progress();
        }
        poll
    }
}

impl<T> Drop for Recv<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Only a receive that gave up while waiting (a timeout, a cancelled task) left a waker.
        if self.waiting {
            self.receiver.chan.forget_receiver_waker();
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
