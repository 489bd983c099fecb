//! Step 1: a shared-state future. One value, sent once, from any thread.
//!
//! ```text
//!  Receiver::poll ──value there?──► Ready(Some(value))
//!        │ no
//!        └─► keep cx.waker() in the slot ─► Pending
//!  Sender (dropped after send, on any thread) ──► take the waker ──► wake()
//! ```
//!
//! The `Receiver` is the future; the `Sender` is whoever completes it (a thread in step 1, a
//! blocking job in step 5). They meet in a `Mutex`, because they may live on different threads.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Makes the two ends of a one-value channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        closed: false,
        waker: None,
    }));
    (Sender { slot: slot.clone() }, Receiver { slot })
}

/// Where the two ends meet.
struct Slot<T> {
    /// The value, once sent and until received.
    value: Option<T>,
    /// True once the sender is gone, after sending or without (then the receiver gets `None`).
    closed: bool,
    /// The waker of the last poll that found nothing.
    waker: Option<Waker>,
}

/// The sending end: `send` consumes it, and dropping it is what wakes the receiver.
pub struct Sender<T> {
    /// Shared with the receiver.
    slot: Arc<Mutex<Slot<T>>>,
}

/// The receiving end, a future of `Some(value)`, or `None` if the sender was dropped unsent.
pub struct Receiver<T> {
    /// Shared with the sender.
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Sender<T> {
    /// Stores `value`; the drop at the end of this call wakes the receiver.
    pub fn send(self, value: T) {
        self.slot.lock().expect("no panic while locked").value = Some(value);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.slot.lock().expect("no panic while locked");
            slot.closed = true;
            slot.waker.take()
        };
        // Wake after unlocking: the woken side may poll at once (on another thread) and lock.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.slot.lock().expect("no panic while locked");
        if slot.value.is_some() || slot.closed {
            return Poll::Ready(slot.value.take());
        }
        // Keep the waker of *this* poll: a task may be polled with a different waker each time.
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
