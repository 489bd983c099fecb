//! `Waiters`: the tasks waiting on a socket, for reading and for writing.

use std::task::Waker;

use super::Direction;

/// The tasks waiting on each direction of a socket; all of a direction's waiters are woken by its
/// next event in that direction.
///
/// Nearly always there is one per direction (a connection's task), so the first waker of each has
/// an inline slot and the common path is exactly what a single `Option<Waker>` costs. A second
/// *distinct* task waiting at the same time (two tasks awaiting `readable()` on a shared stream,
/// two receivers on one `UdpSocket`) goes to `more`, which allocates only then. Keeping just one
/// waker and overwriting it, as this reactor once did, left the first task waiting forever.
///
/// Every waiter is woken by the event: each then retries its operation, one wins, and the others
/// see `WouldBlock` and wait again — a spurious wake for them, never a lost one. A waiter that gave
/// up (its future was dropped) stays here until the next event; waking it is harmless. tokio keeps
/// an intrusive list instead, from which a dropped future unlinks itself at once.
///
/// Left alone, those stale wakers could pile up on a socket that stays quiet for long: a
/// combinator that hands every poll a fresh waker, polled often for other reasons, would add one
/// per poll. So `more` is bounded: when a direction's list is full, everyone waiting there is
/// woken *now* (waking early is always allowed) and starts afresh; those still interested wait
/// again at their next poll.
///
/// Both directions share one box for their rare extra waiters: 40 bytes in every slot, where a
/// `Vec` per direction made it 80 — and a slot per idle connection is the reactor's share of its
/// memory (`docs/performance.md`, "Memory per idle connection").
#[derive(Default)]
pub(super) struct Waiters {
    /// The first task waiting to read (`[0]`) and to write (`[1]`): see `Direction::index`.
    first: [Option<Waker>; 2],
    /// Further distinct tasks waiting at the same time, per direction (`None` nearly always).
    more: Option<Box<[Vec<Waker>; 2]>>,
}

impl Direction {
    /// Where this direction's waiters are in `Waiters`.
    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// Most extra waiters kept per direction before they are all woken to start afresh.
pub(super) const MAX_MORE_WAITERS: usize = 32;

impl Waiters {
    /// Adds `waker` to the waiters of `dir` unless it would wake a task already waiting there
    /// (`will_wake`). Returns the waiters so far when the list was full: the caller wakes them
    /// once no borrow of the reactor is held. (`None`, nearly always, costs nothing to return.)
    #[inline]
    pub(super) fn register(&mut self, dir: Direction, waker: &Waker) -> Option<Vec<Waker>> {
        match &self.first[dir.index()] {
            None => self.first[dir.index()] = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => return self.register_another(dir, waker),
        }
        None
    }

    /// The rare case, kept out of the common path: a second task waits on the same direction.
    #[cold]
    fn register_another(&mut self, dir: Direction, waker: &Waker) -> Option<Vec<Waker>> {
        let more = &mut self.more.get_or_insert_default()[dir.index()];
        if more.iter().any(|w| w.will_wake(waker)) {
            return None;
        }
        if more.len() < MAX_MORE_WAITERS {
            more.push(waker.clone());
            return None;
        }
        let mut flushed = Vec::with_capacity(MAX_MORE_WAITERS + 1);
        self.take_all(dir, &mut flushed);
        self.first[dir.index()] = Some(waker.clone());
        Some(flushed)
    }

    /// Moves every waiter of `dir` into `to_wake`. (A direction's extra list is empty whenever
    /// its first slot is: a second waiter is only ever added next to a first, and both are taken
    /// together.)
    #[inline]
    pub(super) fn take_all(&mut self, dir: Direction, to_wake: &mut Vec<Waker>) {
        if let Some(first) = self.first[dir.index()].take() {
            to_wake.push(first);
            if self.more.is_some() {
                self.take_more(dir, to_wake);
            }
        }
    }

    /// The rare part of `take_all`; the box is freed once both directions' lists are empty (a
    /// socket rarely has two waiters for long).
    #[cold]
    fn take_more(&mut self, dir: Direction, to_wake: &mut Vec<Waker>) {
        if let Some(more) = &mut self.more {
            to_wake.append(&mut more[dir.index()]);
            if more.iter().all(Vec::is_empty) {
                self.more = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes.
    struct Counting(AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Counting>, Waker) {
        let count = Arc::new(Counting(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn both_directions_fit_in_40_bytes() {
        assert_eq!(std::mem::size_of::<Waiters>(), 40);
    }

    #[test]
    fn the_two_directions_keep_their_waiters_apart_and_the_extra_box_is_freed() {
        let ((r1, wr1), (r2, wr2), (writer, ww)) = (counting(), counting(), counting());
        let mut w = Waiters::default();
        assert!(w.register(Direction::Read, &wr1).is_none());
        assert!(w.register(Direction::Read, &wr2).is_none());
        assert!(w.register(Direction::Write, &ww).is_none());
        assert!(w.more.is_some(), "a second reader needs the box");
        let mut to_wake = Vec::new();
        w.take_all(Direction::Read, &mut to_wake);
        to_wake.drain(..).for_each(Waker::wake);
        let counts = |c: &Arc<Counting>| c.0.load(Ordering::SeqCst);
        assert!(counts(&r1) >= 1 && counts(&r2) >= 1, "both readers woken");
        assert_eq!(counts(&writer), 0, "the writer still waits");
        assert!(w.more.is_none(), "freed: no extra waiter left");
        w.take_all(Direction::Write, &mut to_wake);
        to_wake.drain(..).for_each(Waker::wake);
        assert_eq!(counts(&writer), 1);
    }

    #[test]
    fn every_distinct_waiter_is_kept_and_woken_once() {
        let (a, wa) = counting();
        let (b, wb) = counting();
        let mut w = Waiters::default();
        for waker in [&wa, &wb, &wa, &wb] {
            assert!(w.register(Direction::Read, waker).is_none());
        }
        let mut to_wake = Vec::new();
        w.take_all(Direction::Read, &mut to_wake);
        let kept = to_wake.len();
        to_wake.into_iter().for_each(Waker::wake);
        let woken = (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst));
        // `will_wake` is best effort, and under Miri (which gives one function several vtable
        // addresses) it may say no to a clone: then a task is woken twice, never zero times.
        if cfg!(miri) {
            assert!(woken.0 >= 1 && woken.1 >= 1, "{woken:?}");
        } else {
            assert_eq!(kept, 2, "one waker per task, however often it polls");
            assert_eq!(woken, (1, 1));
        }
    }

    #[test]
    fn a_full_list_of_waiters_is_woken_early_rather_than_grown() {
        let mut w = Waiters::default();
        let wakers: Vec<_> = (0..=MAX_MORE_WAITERS + 1).map(|_| counting()).collect();
        let flushed: Vec<Waker> = wakers
            .iter()
            .filter_map(|(_, waker)| w.register(Direction::Read, waker))
            .flatten()
            .collect();
        assert_eq!(
            flushed.len(),
            MAX_MORE_WAITERS + 1,
            "everyone before the last one"
        );
        flushed.into_iter().for_each(Waker::wake);
        let mut left = Vec::new();
        w.take_all(Direction::Read, &mut left);
        assert_eq!(left.len(), 1, "the list started afresh with the last one");
        left.into_iter().for_each(Waker::wake);
        let woken: Vec<usize> = wakers
            .iter()
            .map(|(c, _)| c.0.load(Ordering::SeqCst))
            .collect();
        assert!(woken.iter().all(|&n| n == 1), "each woken once: {woken:?}");
    }
}
