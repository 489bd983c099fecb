//! Where a primitive keeps the wakers of the tasks waiting on it.
//!
//! Every primitive in `sync` has the same shape: a small state behind a `std::sync::Mutex`, and
//! the wakers of tasks that found the state unfavourable (lock taken, buffer full, no value yet).
//! Two shapes of "who waits" occur:
//!
//! - **one task at most** (the receiver of a channel): an `Option<Waker>`, filled by
//!   [`register`].
//! - **many tasks, served in arrival order** (lockers of a mutex, senders blocked on a full
//!   channel): a [`WaitQueue`] of `(Ticket, Waker)`. A primitive that must know *what* each task
//!   waits for keeps it next to the waker: the semaphore stores how many permits each acquirer
//!   needs (`WaitQueue<usize>`), and grants the oldest only once that many are free.
//!
//! ## How a queued future learns it was served
//!
//! ```text
//!   poll: resource busy ──► push(waker) ──► Ticket 7        queue: [5, 6, 7]
//!   resource freed      ──► pop_front() ──► waker of 5 ──► wake() after the std lock is released
//!   poll of 5: update(5) finds no ticket 5 ──► "I was served" ──► take what was set aside for it
//!   future 6 dropped    ──► remove(6) ──► gone without trace
//! ```
//!
//! A ticket leaves the queue in exactly two ways: the primitive *grants* it (`pop_front`, and
//! sets aside the lock or the buffer slot for it), or its own future *cancels* it (`remove`, in
//! `Drop`). So "my ticket is no longer in the queue" means "I was granted" — no per-task flag is
//! needed. A future dropped after being granted but before being polled must pass its grant on;
//! the primitives do that in their `Drop`, which is how a cancelled waiter never swallows a wake-up.
//!
//! Tickets only grow, so the queue is always sorted and a lookup is a binary search. Removing from
//! the middle shifts elements (O(n)); tokio threads an intrusive linked list through the pinned
//! futures themselves for O(1) removal, at the price of `unsafe` pointer code. Queues here are
//! short (a handful of tasks), so the plain `VecDeque` is the better trade for a reader.
//!
//! Wakers are dropped inside the primitive's std lock when replaced or cancelled. That is fine
//! with evloop's waker, whose last drop only frees an empty task shell (see `executor/cell.rs`); an
//! executor whose waker drop ran arbitrary code would need them moved out first.

use std::collections::VecDeque;
use std::task::Waker;

/// A waiting task's place in a [`WaitQueue`]; smaller tickets arrived earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

/// Tasks waiting for a resource, oldest first, each with what it waits for (`D`; nothing by
/// default).
#[derive(Debug)]
pub(crate) struct WaitQueue<D = ()> {
    /// `(ticket, waker, need)` of each waiting task; sorted by ticket because tickets only grow.
    parked: VecDeque<(Ticket, Waker, D)>,
    /// The ticket the next `push` hands out (a `u64` never wraps in practice).
    next_ticket: u64,
}

impl WaitQueue {
    /// Puts a task at the back of the queue and returns its ticket.
    pub(crate) fn push(&mut self, waker: &Waker) -> Ticket {
        self.push_with(waker, ())
    }
}

impl<D> WaitQueue<D> {
    /// An empty queue; allocates nothing until the first task waits.
    pub(crate) const fn new() -> WaitQueue<D> {
        WaitQueue {
            parked: VecDeque::new(),
            next_ticket: 0,
        }
    }

    /// Puts a task that waits for `need` at the back of the queue and returns its ticket.
    pub(crate) fn push_with(&mut self, waker: &Waker, need: D) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.parked.push_back((ticket, waker.clone(), need));
        ticket
    }

    /// What the oldest task waits for, if any task waits.
    pub(crate) fn front_need(&self) -> Option<&D> {
        self.parked.front().map(|(_, _, need)| need)
    }

    /// A queued task was polled again: keeps its waker current. Returns `false` when the ticket
    /// is no longer queued, i.e. the task was granted what it waited for.
    pub(crate) fn update(&mut self, ticket: Ticket, waker: &Waker) -> bool {
        let Some(index) = self.position(ticket) else {
            return false;
        };
        let stored = &mut self.parked[index].1;
        // Re-polls usually come with the same waker (same task); skip the clone (an atomic
        // increment) and the drop of the old one. A task moved into a `select`-like combinator
        // brings a different waker, and that one must be kept or the wake-up would go astray.
        if !stored.will_wake(waker) {
            *stored = waker.clone();
        }
        true
    }

    /// True while `ticket` waits in the queue (it was neither granted nor removed).
    pub(crate) fn contains(&self, ticket: Ticket) -> bool {
        self.position(ticket).is_some()
    }

    /// Takes a task out of the queue because its future was dropped. Returns `false` when the
    /// ticket was not queued any more (it had been granted).
    pub(crate) fn remove(&mut self, ticket: Ticket) -> bool {
        match self.position(ticket) {
            Some(index) => {
                self.parked.remove(index);
                true
            }
            None => false,
        }
    }

    /// Grants the oldest task: takes it off the queue and returns its waker, for the caller to
    /// wake once it has released its own lock.
    pub(crate) fn pop_front(&mut self) -> Option<Waker> {
        self.parked.pop_front().map(|(_, waker, _)| waker)
    }

    /// Like [`pop_front`](Self::pop_front), and says which ticket was granted, for a primitive
    /// that must later tell this grant apart from others (`Notify` forwards a `notify_one` that
    /// reached a dropped future, but not a `notify_waiters`).
    pub(crate) fn pop_front_ticket(&mut self) -> Option<(Ticket, Waker)> {
        self.parked
            .pop_front()
            .map(|(ticket, waker, _)| (ticket, waker))
    }

    /// Empties the queue (the resource is gone for good, or every waiter is served at once) and
    /// returns every waker, oldest first.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.parked.drain(..).map(|(_, waker, _)| waker).collect()
    }

    /// How many tasks wait.
    pub(crate) fn len(&self) -> usize {
        self.parked.len()
    }

    /// True when nobody waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// Index of `ticket` in the queue, found by binary search (the queue is sorted by ticket).
    fn position(&self, ticket: Ticket) -> Option<usize> {
        self.parked
            .binary_search_by_key(&ticket, |(t, _, _)| *t)
            .ok()
    }
}

/// Stores the waker of the one task that waits on a slot, keeping the stored one when it would
/// wake the same task anyway.
pub(crate) fn register(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(stored) if stored.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// Wakes every waker in `wakers`. Callers pass what they collected under their std lock, after
/// releasing it.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sync::test_waker::counting_waker;

    #[test]
    fn pop_front_serves_tickets_in_arrival_order() {
        let (counters, wakers): (Vec<_>, Vec<_>) = (0..3).map(|_| counting_waker()).unzip();
        let mut queue = WaitQueue::new();
        let tickets: Vec<Ticket> = wakers.iter().map(|w| queue.push(w)).collect();
        assert!(tickets.windows(2).all(|t| t[0] < t[1]));
        for (i, counter) in counters.iter().enumerate() {
            queue.pop_front().expect("three queued").wake();
            assert_eq!(counter.wakes(), 1, "task {i} is served {i}th");
            assert!(counters[i + 1..].iter().all(|c| c.wakes() == 0));
        }
        assert!(queue.pop_front().is_none());
    }

    #[test]
    fn a_granted_ticket_is_no_longer_found_and_a_removed_one_is_gone() {
        let (_, waker) = counting_waker();
        let mut queue = WaitQueue::new();
        let first = queue.push(&waker);
        let second = queue.push(&waker);
        let third = queue.push(&waker);
        assert!(queue.remove(second), "second was still queued");
        assert!(!queue.remove(second), "and is gone after removal");
        queue.pop_front().expect("first is queued");
        assert!(!queue.update(first, &waker), "first was granted");
        assert!(queue.update(third, &waker), "third still waits");
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn update_keeps_an_equivalent_waker_and_replaces_a_different_one() {
        let (same, waker) = counting_waker();
        let mut queue = WaitQueue::new();
        let ticket = queue.push(&waker);
        assert_eq!(
            Arc::strong_count(&same),
            3,
            "ours, the waker's, the queue's"
        );
        assert!(queue.update(ticket, &waker.clone()));
        assert_eq!(Arc::strong_count(&same), 3, "will_wake spared a clone");

        let (other, other_waker) = counting_waker();
        assert!(queue.update(ticket, &other_waker));
        assert_eq!(Arc::strong_count(&same), 2, "the old waker was dropped");
        queue.pop_front().expect("queued").wake();
        assert_eq!(
            (same.wakes(), other.wakes()),
            (0, 1),
            "the new waker is woken"
        );
    }

    #[test]
    fn register_keeps_an_equivalent_waker() {
        let (counter, waker) = counting_waker();
        let mut slot = None;
        register(&mut slot, &waker);
        register(&mut slot, &waker);
        assert_eq!(Arc::strong_count(&counter), 3, "one stored clone");
        let (other, other_waker) = counting_waker();
        register(&mut slot, &other_waker);
        wake_all(slot.take());
        assert_eq!((counter.wakes(), other.wakes()), (0, 1));
    }

    #[test]
    fn take_all_returns_every_waker_and_empties_the_queue() {
        let (counter, waker) = counting_waker();
        let mut queue = WaitQueue::new();
        for _ in 0..4 {
            queue.push(&waker);
        }
        wake_all(queue.take_all());
        assert_eq!(counter.wakes(), 4);
        assert!(queue.is_empty());
    }
}
