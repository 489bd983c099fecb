//! The reactor: where the loop waits for the network, on top of `mio::Poll` (epoll on Linux).
//!
//! Every socket a task uses is *registered* once. Registration gets a slot in a `slab`; the slot's
//! index is the `mio::Token` the kernel hands back with each event, so an event finds its slot in
//! O(1). A slot ([`ScheduledIo`]) holds what the kernel last told us (the readiness bits) and the
//! wakers of the tasks waiting on each side — reading and writing — so one task can wait to read
//! while another waits to write on the same socket. Usually one task waits per side; when several
//! do (two tasks awaiting `readable()` on a shared socket), an event wakes them all ([`Waiters`]).
//!
//! ```text
//!  task: read() ──WouldBlock──► clear READABLE, store waker in slot ──► Pending
//!  loop: epoll_wait ──event(token 3, readable)──► slot 3: set READABLE, wake the reader
//!  task: polled again ──► read() succeeds
//! ```
//!
//! ## Edge-triggered readiness, and why no wake is lost
//!
//! mio registers sockets *edge-triggered*: the kernel reports a socket once when it *becomes*
//! readable, not again while it stays readable. So the readiness bit may be cleared only when an
//! operation actually returned `WouldBlock` — that is the proof the socket was drained. Clearing it
//! at any other time would lose the edge and the task would wait forever.
//!
//! A *short* read or write is almost as good a proof: a stream socket that returned fewer bytes
//! than asked has, at that moment, an empty receive buffer (or a full send buffer), and new data
//! (or space) produces a new edge. So `net` forgets the READABLE / WRITABLE bit after a short read /
//! write ([`Registration::clear_drained`]) and saves the read that would only say `WouldBlock` —
//! one syscall per message on an echo server, as tokio does. That clear keeps the READ_CLOSED,
//! WRITE_CLOSED and ERROR bits: data and the peer's FIN often arrive in one event, and a FIN is
//! never reported twice, so forgetting it after the short read of that data would hang the next
//! read instead of letting it return 0 (end of stream).
//!
//! Between an operation's `WouldBlock` and the waker being stored no event can slip through: events
//! are delivered only by [`Reactor::park`], which runs between task polls on this same thread,
//! never during one. The check ("is READABLE set?"), the clear and the waker registration all
//! happen inside one poll, so they are atomic with respect to events.
//!
//! ## Deregistration
//!
//! A socket deregisters from epoll and frees its slot when it is dropped ([`Registration`]'s
//! `Drop`), so `live_sources()` counts exactly the open sockets. A stale event for a freed slot
//! (collected by the same `epoll_wait` that saw the socket close) at worst marks a reused slot
//! readable; its next operation returns `WouldBlock`, clears the bit and waits: a spurious wake,
//! never a lost one.

use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Token};
use slab::Slab;

mod ready;
mod registration;
mod waiters;

pub(crate) use ready::Ready;
pub(crate) use registration::Registration;
use waiters::Waiters;

/// The token of the cross-thread interrupt (`executor/waker.rs`); never a slab index.
pub(crate) const INTERRUPT_TOKEN: Token = Token(usize::MAX);

/// Which side of a socket an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading / accepting / receiving.
    Read,
    /// Writing / connecting / sending.
    Write,
}

/// The reactor's record of one registered source.
#[derive(Default)]
struct ScheduledIo {
    /// What the kernel last reported and no `WouldBlock` has cleared yet.
    readiness: Ready,
    /// The tasks waiting to read.
    readers: Waiters,
    /// The tasks waiting to write.
    writers: Waiters,
}

/// `mio::Poll` plus the slab of registered sources.
pub(crate) struct Reactor {
    /// The OS selector (epoll). Borrowed mutably only inside `park`.
    poll: RefCell<mio::Poll>,
    /// A cloned handle to register sources while `poll` may be borrowed.
    registry: mio::Registry,
    /// Buffer the kernel fills with events; its capacity bounds events per turn.
    events: RefCell<Events>,
    /// One slot per registered source; the index is the source's `Token`.
    sources: RefCell<Slab<ScheduledIo>>,
    /// Wakers collected during `park`, woken after all borrows are released (reused buffer).
    to_wake: RefCell<Vec<Waker>>,
}

/// What one `park` saw.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ParkReport {
    /// Readiness events for sockets.
    pub(crate) io_events: usize,
    /// True if another thread interrupted the wait (remote wakes may be waiting).
    pub(crate) interrupted: bool,
}

impl Reactor {
    /// Creates the selector and the cross-thread interrupt registered with it (an eventfd on
    /// Linux): writing to it from any thread makes `epoll_wait` return (`executor/waker.rs`).
    pub(crate) fn new(event_capacity: usize) -> io::Result<(Reactor, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let interrupt = mio::Waker::new(poll.registry(), INTERRUPT_TOKEN)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            registry,
            events: RefCell::new(Events::with_capacity(event_capacity)),
            sources: RefCell::new(Slab::new()),
            to_wake: RefCell::new(Vec::new()),
        };
        Ok((reactor, interrupt))
    }

    /// Waits for events at most `timeout` (`None`: until one arrives), records readiness, and
    /// wakes the tasks waiting on it. This is the only place the loop thread sleeps.
    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<ParkReport> {
        let mut report = ParkReport::default();
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        {
            let mut events = self.events.borrow_mut();
            match self.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => {}
                // A signal interrupted epoll_wait: not an error, just an early return.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let mut sources = self.sources.borrow_mut();
            for event in events.iter() {
                if event.token() == INTERRUPT_TOKEN {
                    report.interrupted = true;
                    continue;
                }
                report.io_events += 1;
                if let Some(io) = sources.get_mut(event.token().0) {
                    io.readiness = Ready(io.readiness.0 | Ready::from_event(event).0);
                    let ready = io.readiness;
                    if ready.allows(Direction::Read) {
                        io.readers.take_all(&mut to_wake);
                    }
                    if ready.allows(Direction::Write) {
                        io.writers.take_all(&mut to_wake);
                    }
                }
            }
        }
        // Wake with no borrow held: a waker may be anyone's, and may register a source.
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        *self.to_wake.borrow_mut() = to_wake;
        Ok(report)
    }

    /// Registers `source` for `interest` and returns its token (slab index).
    fn register(&self, source: &mut impl Source, interest: Interest) -> io::Result<usize> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let token = entry.key();
        self.registry.register(source, Token(token), interest)?;
        entry.insert(ScheduledIo::default());
        log::trace!("registered source, token {token}");
        Ok(token)
    }

    /// Number of registered sources (open sockets), for tests and stats.
    pub(crate) fn live_sources(&self) -> usize {
        self.sources.borrow().len()
    }

    /// `Ready` if the kernel said `dir` may make progress; otherwise stores the waker and
    /// returns `Pending`.
    fn poll_ready(&self, token: usize, dir: Direction, cx: &mut Context<'_>) -> Poll<()> {
        let mut sources = self.sources.borrow_mut();
        let io = sources
            .get_mut(token)
            .expect("a Registration's slot lives as long as the Registration");
        if io.readiness.allows(dir) {
            return Poll::Ready(());
        }
        let flushed = match dir {
            Direction::Read => io.readers.register(cx.waker()),
            Direction::Write => io.writers.register(cx.waker()),
        };
        drop(sources);
        if let Some(flushed) = flushed {
            // Woken with no borrow held, as in `park`: a waker may be anyone's.
            flushed.into_iter().for_each(Waker::wake);
        }
        Poll::Pending
    }

    /// Forgets readiness for `dir` after an operation returned `WouldBlock`.
    fn clear_readiness(&self, token: usize, dir: Direction) {
        if let Some(io) = self.sources.borrow_mut().get_mut(token) {
            io.readiness = io.readiness.cleared(dir);
        }
    }

    /// Forgets only the data/space bit for `dir` after a short read or write (see the module
    /// docs); closed and error bits stay, so an end of stream already reported is not lost.
    fn clear_drained(&self, token: usize, dir: Direction) {
        if let Some(io) = self.sources.borrow_mut().get_mut(token) {
            io.readiness = io.readiness.drained(dir);
        }
    }

    /// Frees a slot; wakers still stored there are dropped.
    fn remove(&self, token: usize) {
        let removed = self.sources.borrow_mut().try_remove(token);
        drop(removed); // dropping wakers runs no user code of ours, but do it after the borrow
        log::trace!("deregistered source, token {token}");
    }

    /// Drops every stored waker (runtime shutdown): wakers point at tasks, which are being freed.
    pub(crate) fn clear_wakers(&self) {
        let mut sources = self.sources.borrow_mut();
        let mut wakers = Vec::new();
        for (_, io) in sources.iter_mut() {
            io.readers.take_all(&mut wakers);
            io.writers.take_all(&mut wakers);
        }
        drop(sources);
        drop(wakers);
    }
}

#[cfg(test)]
mod tests {
    use super::waiters::MAX_MORE_WAITERS;
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

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
    fn every_distinct_waiter_is_kept_and_woken_once() {
        let (a, wa) = counting();
        let (b, wb) = counting();
        let mut waiters = Waiters::default();
        for waker in [&wa, &wb, &wa, &wb] {
            assert!(waiters.register(waker).is_none());
        }
        let mut to_wake = Vec::new();
        waiters.take_all(&mut to_wake);
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
        let mut waiters = Waiters::default();
        let wakers: Vec<_> = (0..=MAX_MORE_WAITERS + 1).map(|_| counting()).collect();
        let flushed: Vec<Waker> = wakers
            .iter()
            .filter_map(|(_, waker)| waiters.register(waker))
            .flatten()
            .collect();
        assert_eq!(
            flushed.len(),
            MAX_MORE_WAITERS + 1,
            "everyone before the last one"
        );
        flushed.into_iter().for_each(Waker::wake);
        let mut left = Vec::new();
        waiters.take_all(&mut left);
        assert_eq!(left.len(), 1, "the list started afresh with the last one");
        left.into_iter().for_each(Waker::wake);
        let woken: Vec<usize> = wakers
            .iter()
            .map(|(c, _)| c.0.load(Ordering::SeqCst))
            .collect();
        assert!(woken.iter().all(|&n| n == 1), "each woken once: {woken:?}");
    }

    #[test]
    fn readiness_masks_by_direction() {
        let read = Ready(Ready::READABLE);
        assert!(read.allows(Direction::Read) && !read.allows(Direction::Write));
        let closed = Ready(Ready::READ_CLOSED);
        assert!(closed.allows(Direction::Read));
        let err = Ready(Ready::ERROR);
        assert!(err.allows(Direction::Read) && err.allows(Direction::Write));
        let cleared = Ready(Ready::READABLE | Ready::WRITABLE | Ready::READ_CLOSED);
        assert_eq!(cleared.cleared(Direction::Read), Ready(Ready::WRITABLE));
    }

    #[test]
    fn a_short_read_forgets_data_but_not_the_end_of_stream() {
        let drained = Ready(Ready::READABLE | Ready::READ_CLOSED).drained(Direction::Read);
        assert_eq!(drained, Ready(Ready::READ_CLOSED));
        assert!(
            drained.allows(Direction::Read),
            "the next read must run and see EOF"
        );
        let full = Ready(Ready::WRITABLE | Ready::ERROR).drained(Direction::Write);
        assert!(
            full.allows(Direction::Write),
            "a pending error still lets a write report it"
        );
        let data_only = Ready(Ready::READABLE | Ready::WRITABLE).drained(Direction::Read);
        assert_eq!(
            data_only,
            Ready(Ready::WRITABLE),
            "the other direction is untouched"
        );
    }
}
