//! `Chan`: the state every handle of one `mpsc` channel shares, and every decision about it.
//!
//! The public handles in `mpsc.rs` are thin: each method here takes the lock once, decides,
//! releases the lock, and only then wakes whoever the decision freed (a woken task may run at
//! once on another thread, and the first thing it does is take this lock).
//!
//! The lock is a [`BiasedLock`] (`sync/biased.rs`): while only the thread that created the
//! channel has used it — two tasks of one loop, the common case — entering it costs one atomic
//! store instead of a std lock's two read-modify-writes. The first use from another thread (a
//! `Sender` moved to a worker thread) ends that for good, and every handle takes the std lock.
//!
//! ## Slots and grants (bounded channels)
//!
//! ```text
//!   free slots = capacity - buffer.len() - reserved
//!
//!   send: free slot ─────────────────────────────────► push, wake receiver if it waits
//!         no free slot ─► blocked_senders.push ─► Pending
//!   recv: pop a value ─► a slot frees ─► oldest blocked sender granted: reserved += 1, wake it
//!   granted sender polled ─► ticket gone ─► reserved -= 1, push into its slot
//!   granted sender dropped ─► reserved -= 1 ─► grant the slot to the next blocked sender
//! ```
//!
//! Granting the slot to a specific sender (instead of waking it to race for it) keeps senders in
//! FIFO order and means a newcomer or `try_send` never takes a slot from a sender that waited.
//! It also gives the invariant *blocked senders exist only while no slot is free*, so the fast
//! path needs just one comparison. An unbounded channel is a bounded one whose capacity is
//! `usize::MAX`: nobody ever blocks, and the same code serves both.
//!
//! ## Fast paths
//!
//! A send that finds room and a receive that finds a value each take the lock once, touch the
//! `VecDeque`, and wake only if the other side left a waker: no allocation (the buffer grows to
//! its peak once and then reuses its memory), no clock read, no wake when nobody waits.

use std::collections::VecDeque;
use std::mem;
use std::task::{Poll, Waker};

use super::error::{SendError, TryRecvError, TrySendError};
use crate::sync::biased::{BiasedLock, Path};
use crate::sync::waiting::{Ticket, WaitQueue, register, wake_all};

/// Slots allocated up front for a bounded channel; a larger capacity grows the buffer on demand
/// (amortised doubling), so `channel(1 << 30)` does not reserve gigabytes it may never use.
const PREALLOCATED_SLOTS: usize = 1024;

/// The value of a send that is finishing, either way (buffered or handed back).
fn take_value<T>(value: &mut Option<T>) -> T {
    value
        .take()
        .expect("a `SendFuture` is not polled again after it finished")
}

/// What all handles of one channel point at (through an `Arc`).
pub(super) struct Chan<T> {
    /// The channel's state, behind a lock because senders may live on other threads; biased to
    /// the creating thread, which is the only one using most channels.
    state: BiasedLock<ChanState<T>>,
}

/// The state of one channel.
struct ChanState<T> {
    /// Values sent and not yet received, oldest first.
    buffer: VecDeque<T>,
    /// Most values the buffer may hold; `usize::MAX` for an unbounded channel.
    capacity: usize,
    /// Slots promised to blocked senders that were granted one but have not been polled yet.
    reserved: usize,
    /// Senders waiting for a free slot, oldest first (bounded channels only).
    blocked_senders: WaitQueue,
    /// The receiver's last waker. Kept after it was woken on the owner's path, so that the
    /// receiver's next wait finds it there (see `wake_receiver`).
    receiver_waker: Option<Waker>,
    /// True while the receiver waits for a value (its waker is `receiver_waker`).
    receiver_waiting: bool,
    /// Live sender handles; at zero (and an empty buffer) the receiver sees the end.
    senders: usize,
    /// Set by `Receiver::close` or the receiver's drop: every send fails from then on.
    closed: bool,
}

impl<T> ChanState<T> {
    /// True when a new value may go into the buffer right now.
    fn has_room(&self) -> bool {
        self.buffer.len() + self.reserved < self.capacity
    }

    /// Buffers `value` and wakes the receiver if it waits (see `wake_receiver`).
    fn push(&mut self, value: T, path: Path) -> Option<Waker> {
        self.buffer.push_back(value);
        self.wake_receiver(path)
    }

    /// Wakes the receiver if it waits. Under the std lock its waker is handed back, to be woken
    /// once the lock is released (rule 1 of `sync/mod.rs`). On the owner's path — the only thread
    /// that has ever used the channel, with nobody blocked on its lock — it is woken here, by
    /// reference, and stays stored: the receiver's next wait then finds it (`will_wake`), and
    /// neither the wake nor that wait touches its reference count. That saves two atomic
    /// read-modify-writes per wait, about a tenth of a `pingpong` round trip. A waker that
    /// re-entered this channel from `wake` would make the lock panic, not deadlock.
    fn wake_receiver(&mut self, path: Path) -> Option<Waker> {
        if !mem::take(&mut self.receiver_waiting) {
            return None;
        }
        match path {
            Path::Locked => self.receiver_waker.take(),
            Path::Owner => {
                if let Some(waker) = &self.receiver_waker {
                    waker.wake_by_ref();
                }
                None
            }
        }
    }

    /// If a slot is free and a sender waits for one, promises the slot to the oldest blocked
    /// sender and returns its waker.
    fn grant_slot(&mut self) -> Option<Waker> {
        if !self.has_room() {
            return None;
        }
        let sender = self.blocked_senders.pop_front()?;
        self.reserved += 1;
        Some(sender)
    }
}

impl<T> Chan<T> {
    /// A channel holding at most `capacity` values, with one sender and one receiver.
    pub(super) fn new(capacity: usize) -> Chan<T> {
        Chan {
            state: BiasedLock::new(ChanState {
                buffer: VecDeque::with_capacity(capacity.min(PREALLOCATED_SLOTS)),
                capacity,
                reserved: 0,
                blocked_senders: WaitQueue::new(),
                receiver_waker: None,
                receiver_waiting: false,
                senders: 1,
                closed: false,
            }),
        }
    }

    /// Sends without waiting: into a free slot, or back with the reason.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let (result, receiver) = self.state.with_path(|state, path| {
            if state.closed {
                return (Err(TrySendError::Closed(value)), None);
            }
            if !state.has_room() {
                return (Err(TrySendError::Full(value)), None);
            }
            (Ok(()), state.push(value, path))
        });
        wake_all(receiver);
        result
    }

    /// One poll of a waiting send. `ticket` is the sender's place among the blocked senders
    /// (`None` before it first blocked); `value` is taken when the send completes either way.
    pub(super) fn poll_send(
        &self,
        value: &mut Option<T>,
        ticket: &mut Option<Ticket>,
        waker: &Waker,
    ) -> Poll<Result<(), SendError<T>>> {
        let (poll, receiver) = self.state.with_path(|state, path| {
            if state.closed {
                // `close` emptied the queue; grants no longer matter since nothing is sent again.
                *ticket = None;
                return (Poll::Ready(Err(SendError(take_value(value)))), None);
            }
            match *ticket {
                None if state.has_room() => {}
                None => {
                    *ticket = Some(state.blocked_senders.push(waker));
                    return (Poll::Pending, None);
                }
                Some(t) if state.blocked_senders.update(t, waker) => return (Poll::Pending, None),
                Some(_) => {
                    // The ticket is gone: a receive granted us a slot. Fill it.
                    state.reserved -= 1;
                    *ticket = None;
                }
            }
            (Poll::Ready(Ok(())), state.push(take_value(value), path))
        });
        wake_all(receiver);
        poll
    }

    /// A send future holding `ticket` was dropped before it finished: leave the queue, and if a
    /// slot had already been granted, pass it to the next blocked sender.
    ///
    /// `#[cold]`: only a cancelled send gets here, so the compiler keeps it out of line and
    /// `SendFuture`'s drop, run after every send, inlines to a check of one field.
    #[cold]
    pub(super) fn cancel_send(&self, ticket: Ticket) {
        let next = self.state.with(|state| {
            if state.closed || state.blocked_senders.remove(ticket) {
                return None;
            }
            state.reserved -= 1;
            state.grant_slot()
        });
        wake_all(next);
    }

    /// One poll of the receiver: a value, the end of the stream, or a registered waker.
    pub(super) fn poll_recv(&self, waker: &Waker) -> Poll<Option<T>> {
        let (poll, sender) = self.state.with(|state| {
            if let Some(value) = state.buffer.pop_front() {
                return (Poll::Ready(Some(value)), state.grant_slot());
            }
            if state.closed || state.senders == 0 {
                return (Poll::Ready(None), None);
            }
            register(&mut state.receiver_waker, waker);
            state.receiver_waiting = true;
            (Poll::Pending, None)
        });
        wake_all(sender);
        poll
    }

    /// Takes a value without waiting.
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let (result, sender) = self.state.with(|state| {
            if let Some(value) = state.buffer.pop_front() {
                return (Ok(value), state.grant_slot());
            }
            if state.closed || state.senders == 0 {
                return (Err(TryRecvError::Disconnected), None);
            }
            (Err(TryRecvError::Empty), None)
        });
        wake_all(sender);
        result
    }

    /// A receive future that left its waker was dropped: forget the waker, so that the next
    /// send does not wake a task that no longer waits.
    ///
    /// `#[cold]` for the same reason as `cancel_send`: `Recv`'s drop, run after every receive,
    /// stays a check of one flag.
    #[cold]
    pub(super) fn forget_receiver_waker(&self) {
        let waker = self.state.with(|state| {
            state.receiver_waiting = false;
            state.receiver_waker.take()
        });
        drop(waker);
    }

    /// The receiver closes the channel: sends fail from now on, buffered values stay to be
    /// received, and blocked senders are woken to take their values back.
    pub(super) fn close(&self) {
        let senders = self.state.with(|state| {
            state.closed = true;
            state.blocked_senders.take_all()
        });
        log::debug!(
            "channel closed by its receiver; {} blocked senders woken",
            senders.len()
        );
        wake_all(senders);
    }

    /// The receiver is dropped: close, and drop the values nobody will receive.
    pub(super) fn close_and_drain(&self) {
        let (senders, unread, waker) = self.state.with(|state| {
            state.closed = true;
            let senders = state.blocked_senders.take_all();
            state.receiver_waiting = false;
            (
                senders,
                mem::take(&mut state.buffer),
                state.receiver_waker.take(),
            )
        });
        if !unread.is_empty() || !senders.is_empty() {
            log::debug!(
                "receiver dropped: {} unread values dropped, {} blocked senders woken",
                unread.len(),
                senders.len()
            );
        }
        // Dropped outside the lock: a value may hold a sender of this very channel, whose drop
        // takes this lock (the lock is not re-entrant: that would deadlock, or panic).
        drop(unread);
        drop(waker);
        wake_all(senders);
    }

    /// A sender handle was cloned.
    pub(super) fn add_sender(&self) {
        self.state.with(|state| state.senders += 1);
    }

    /// A sender handle was dropped; the last one wakes the receiver to see the end.
    pub(super) fn drop_sender(&self) {
        let receiver = self.state.with_path(|state, path| {
            state.senders -= 1;
            match state.senders {
                0 => state.wake_receiver(path),
                _ => None,
            }
        });
        wake_all(receiver);
    }

    /// True once the receiver is gone or closed the channel.
    pub(super) fn is_closed(&self) -> bool {
        self.state.with(|state| state.closed)
    }
}
