//! `broadcast`: every value to every receiver, from a bounded ring — and what a slow receiver
//! loses.
//!
//! A chat room, a stream of events several tasks each want all of: every [`Receiver`] sees every
//! value sent after it subscribed, in order. The channel keeps the last `capacity` values; each
//! receiver keeps its own position in that sequence.
//!
//! ```text
//!   sequence numbers:  ... 7   8   9   10  11      (head = 8, next = 12; capacity 4)
//!   buffer:               [v8, v9, v10, v11]
//!   receiver A: at 10 ─► recv() = v10, then v11, then waits
//!   receiver B: at 6  ─► fell behind: v6, v7 were overwritten
//!                        recv() = Err(Lagged(2)), B moves to 8; the next recv() = v8
//! ```
//!
//! ## Lag instead of back-pressure
//!
//! `mpsc` slows a fast sender down when its one receiver is slow. A broadcast sender cannot wait
//! for the slowest of many receivers without letting it hold back all the others, so it never
//! waits: a send to a full buffer drops the oldest value, and a receiver that had not read it
//! learns, at its next `recv()`, how many values it missed: [`RecvError::Lagged`]. It then carries
//! on from the oldest value still kept. Choose `capacity` for the largest burst a receiver may
//! fall behind by.
//!
//! ## Who frees a value
//!
//! Each slot counts the receivers that have not read it yet (`unread`, set to the number of
//! receivers at send time). The last one to read it takes the value out instead of cloning it, and
//! read slots at the front of the buffer are removed, so memory is not held for values every
//! receiver already has. A dropped receiver reads out (counts down) what it left unread.
//!
//! Values are stored in an `Arc` so that a receive only clones the `Arc` under the std lock and
//! clones the value itself after unlocking: `T::clone` is foreign code, and foreign code never runs
//! under our locks (see `sync/mod.rs`). That costs an allocation per send; tokio avoids it with a
//! preallocated ring of slots, each with its own lock.
//!
//! Also unlike tokio, the capacity is used as given (tokio rounds it up to a power of two).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Context, Poll};

use super::waiting::{Ticket, WaitQueue, wake_all};
use crate::executor::coop;
use error::{RecvError, SendError, TryRecvError};

/// Why a `broadcast` operation did not happen.
pub mod error {
    use std::fmt;

    /// No receiver is alive: the value comes back unsent.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broadcast channel has no receivers")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why `recv()` returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has read everything left.
        Closed,
        /// This receiver fell behind and this many values were overwritten before it read
        /// them; the next `recv()` returns the oldest value still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("broadcast channel closed"),
                RecvError::Lagged(n) => {
                    write!(f, "receiver lagged: {n} value(s) overwritten unread")
                }
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv()` returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing new yet; a sender may still send.
        Empty,
        /// Every sender is gone and this receiver has read everything left.
        Closed,
        /// This many values were overwritten before this receiver read them.
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("broadcast channel empty"),
                TryRecvError::Closed => f.write_str("broadcast channel closed"),
                TryRecvError::Lagged(n) => {
                    write!(f, "receiver lagged: {n} value(s) overwritten unread")
                }
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

/// Creates a broadcast channel keeping the last `capacity` values for slow receivers.
///
/// # Panics
/// When `capacity` is 0.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let (tx, mut a) = evloop::sync::broadcast::channel(16);
/// let mut b = tx.subscribe();
/// tx.send("hello").expect("receivers alive");
/// assert_eq!(a.recv().await, Ok("hello"));
/// assert_eq!(b.recv().await, Ok("hello"));
/// # });
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "broadcast::channel capacity must be at least 1"
    );
    let shared = Arc::new(Shared {
        state: StdMutex::new(BroadcastState {
            buffer: VecDeque::new(),
            head: 0,
            capacity,
            senders: 1,
            receivers: 1,
            receivers_waiting: WaitQueue::new(),
        }),
    });
    let receiver = Receiver {
        shared: shared.clone(),
        next: 0,
    };
    (Sender { shared }, receiver)
}

/// What every handle of one channel points at.
struct Shared<T> {
    /// The buffer and the handle counts, behind a std lock (handles may be on other threads).
    state: StdMutex<BroadcastState<T>>,
}

/// One sent value and the receivers that still have to read it.
struct Slot<T> {
    /// The value; taken by the last reader (then `None` until the slot leaves the buffer).
    value: Option<Arc<T>>,
    /// Receivers alive at send time that have not read it yet.
    unread: usize,
}

/// The state of one broadcast channel.
struct BroadcastState<T> {
    /// The kept values, oldest first; at most `capacity`.
    buffer: VecDeque<Slot<T>>,
    /// Sequence number of `buffer[0]`; the next send gets `head + buffer.len()`.
    head: u64,
    /// Most values kept for slow receivers.
    capacity: usize,
    /// Live `Sender` handles; at zero, caught-up receivers get `Closed`.
    senders: usize,
    /// Live `Receiver` handles; a send counts them into each slot's `unread`.
    receivers: usize,
    /// Receivers waiting for the next value; all are woken by a send or the last sender's drop.
    receivers_waiting: WaitQueue,
}

impl<T> BroadcastState<T> {
    /// Sequence number the next sent value gets.
    fn tail(&self) -> u64 {
        self.head + self.buffer.len() as u64
    }

    /// What the receiver at `next` gets now: a value (moving `next` on), a lag (moving `next`
    /// to the oldest kept value), the end, or nothing yet. The last reader of a slot takes the
    /// `Arc` out instead of cloning it.
    fn take(&mut self, next: &mut u64) -> Result<Arc<T>, TryRecvError> {
        if *next < self.head {
            let missed = self.head - *next;
            *next = self.head;
            return Err(TryRecvError::Lagged(missed));
        }
        if *next == self.tail() {
            return Err(match self.senders {
                0 => TryRecvError::Closed,
                _ => TryRecvError::Empty,
            });
        }
        let slot = &mut self.buffer[(*next - self.head) as usize];
        slot.unread -= 1;
        let value = match slot.unread {
            0 => slot.value.take(),
            _ => slot.value.clone(),
        };
        *next += 1;
        self.trim_read();
        Ok(value.expect("a slot keeps its value until its last reader"))
    }

    /// Removes slots every receiver has read from the front of the buffer.
    fn trim_read(&mut self) {
        while self.buffer.front().is_some_and(|slot| slot.unread == 0) {
            self.buffer.pop_front();
            self.head += 1;
        }
    }
}

impl<T> Shared<T> {
    /// The state, under its std lock. Poisoning is ignored: only a waker's `clone` or an
    /// allocation can panic inside, and both come before the state changes.
    fn state(&self) -> StdMutexGuard<'_, BroadcastState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending side of a broadcast channel; clone it for more senders.
pub struct Sender<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every receiver alive now and returns how many there are. Never waits:
    /// when the buffer is full the oldest value is dropped (receivers that missed it will see
    /// `Lagged`). Fails, handing the value back, when no receiver is alive.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.shared.state();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let mut overwritten = None;
        if state.buffer.len() == state.capacity {
            overwritten = state.buffer.pop_front();
            state.head += 1;
        }
        let receivers = state.receivers;
        state.buffer.push_back(Slot {
            value: Some(Arc::new(value)),
            unread: receivers,
        });
        let waiting = state.receivers_waiting.take_all();
        drop(state);
        drop(overwritten); // a value's drop is foreign code: after unlocking
        wake_all(waiting);
        Ok(receivers)
    }

    /// A new receiver that gets every value sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.tail(),
        }
    }

    /// How many receivers are alive.
    pub fn receiver_count(&self) -> usize {
        self.shared.state().receivers
    }

    /// How many values some receiver has not read yet (and are still kept).
    pub fn len(&self) -> usize {
        self.shared.state().buffer.len()
    }

    /// True when every kept value was read by every receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// The receiving side of a broadcast channel: its own position in the sequence of values.
pub struct Receiver<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
    /// Sequence number of the next value this receiver reads.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value; see [`RecvError`] for lag and the end. Cancel-safe: a dropped
    /// `recv()` has taken nothing.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            ticket: None,
        }
    }

    /// Takes the next value if there is one, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let taken = self.shared.state().take(&mut self.next);
        taken.map(Arc::unwrap_or_clone)
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel, starting at the next value sent (not at this
    /// receiver's position).
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.tail(),
        }
    }

    /// How many kept values this receiver has not read yet.
    pub fn len(&self) -> usize {
        let state = self.shared.state();
        (state.tail() - self.next.max(state.head)) as usize
    }

    /// True when this receiver has read every kept value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.state().senders == 0
    }

    /// True when both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receivers -= 1;
        // Count down what this receiver will never read, so those values can be freed.
        let unread_from = self.next.max(state.head) - state.head;
        let mut freed = Vec::new();
        for slot in state.buffer.iter_mut().skip(unread_from as usize) {
            slot.unread -= 1;
            if slot.unread == 0 {
                freed.extend(slot.value.take());
            }
        }
        state.trim_read();
        drop(state);
        drop(freed); // values' drops run after unlocking
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Recv<'a, T> {
    /// The receiver it reads for.
    receiver: &'a mut Receiver<T>,
    /// Its place among the waiting receivers, while it waits.
    ticket: Option<Ticket>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A receive spends budget (`executor/coop.rs`): a sender that never stops would otherwise
        // keep this receiver's poll going for ever.
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let this = &mut *self;
        let mut state = this.receiver.shared.state();
        let taken = match state.take(&mut this.receiver.next) {
            Ok(value) => Ok(value),
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                let queue = &mut state.receivers_waiting;
                match this.ticket {
                    Some(ticket) if queue.update(ticket, cx.waker()) => {}
                    _ => this.ticket = Some(queue.push(cx.waker())),
                }
                return Poll::Pending;
            }
        };
        if let Some(ticket) = this.ticket.take() {
            state.receivers_waiting.remove(ticket); // gone already if a send woke us
        }
        drop(state);
        coop.made_progress();
        // Out of the `Arc` after unlocking: moved if this was the last reference, else cloned.
        Poll::Ready(taken.map(Arc::unwrap_or_clone))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.receiver
                .shared
                .state()
                .receivers_waiting
                .remove(ticket);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
