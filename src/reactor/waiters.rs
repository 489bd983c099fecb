//! `Waiters`: the tasks waiting on one direction of a socket.

use std::task::Waker;

/// The tasks waiting on one direction of a socket; all of them are woken by its next event.
///
/// Nearly always there is one (a connection's task), so the first waker has an inline slot and
/// the common path is exactly what a single `Option<Waker>` costs. A second *distinct* task
/// waiting at the same time (two tasks awaiting `readable()` on a shared stream, two receivers on
/// one `UdpSocket`) goes to `more`, which allocates only then. Keeping just one waker and
/// overwriting it, as this reactor once did, left the first task waiting forever.
///
/// Every waiter is woken by the event: each then retries its operation, one wins, and the others
/// see `WouldBlock` and wait again — a spurious wake for them, never a lost one. A waiter that gave
/// up (its future was dropped) stays here until the next event; waking it is harmless. tokio keeps
/// an intrusive list instead, from which a dropped future unlinks itself at once.
///
/// Left alone, those stale wakers could pile up on a socket that stays quiet for long: a
/// combinator that hands every poll a fresh waker, polled often for other reasons, would add one
/// per poll. So `more` is bounded: when it is full, everyone waiting is woken *now* (waking early is
/// always allowed) and starts afresh; those still interested wait again at their next poll.
#[derive(Default)]
pub(super) struct Waiters {
    /// The first waiting task.
    first: Option<Waker>,
    /// Further distinct tasks waiting at the same time (empty and unallocated nearly always).
    more: Vec<Waker>,
}

/// Most extra waiters kept per direction before they are all woken to start afresh.
pub(super) const MAX_MORE_WAITERS: usize = 32;

impl Waiters {
    /// Adds `waker` unless it would wake a task already waiting (`will_wake`). Returns the
    /// waiters so far when the list was full: the caller wakes them once no borrow of the reactor
    /// is held. (`None`, nearly always, costs nothing to return.)
    #[inline]
    pub(super) fn register(&mut self, waker: &Waker) -> Option<Vec<Waker>> {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => return self.register_another(waker),
        }
        None
    }

    /// The rare case, kept out of the common path: a second task waits on the same direction.
    #[cold]
    pub(super) fn register_another(&mut self, waker: &Waker) -> Option<Vec<Waker>> {
        if self.more.iter().any(|w| w.will_wake(waker)) {
            return None;
        }
        if self.more.len() < MAX_MORE_WAITERS {
            self.more.push(waker.clone());
            return None;
        }
        let mut flushed = Vec::with_capacity(MAX_MORE_WAITERS + 1);
        self.take_all(&mut flushed);
        self.first = Some(waker.clone());
        Some(flushed)
    }

    /// Moves every waiter into `to_wake`. (`more` is empty whenever `first` is: a second waiter
    /// is only ever added next to a first, and both are taken together.)
    #[inline]
    pub(super) fn take_all(&mut self, to_wake: &mut Vec<Waker>) {
        if let Some(first) = self.first.take() {
            to_wake.push(first);
            if !self.more.is_empty() {
                self.take_more(to_wake);
            }
        }
    }

    /// The rare part of `take_all`.
    #[cold]
    pub(super) fn take_more(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.append(&mut self.more);
    }
}
