//! The reactor: where the loop waits for the network, on top of `mio::Poll` (epoll on Linux).
//!
//! Every socket a task uses is *registered* once. Registration gets a slot in a `slab`; the slot's
//! index is the `mio::Token` the kernel hands back with each event, so an event finds its slot in
//! O(1). A slot ([`ScheduledIo`]) holds what the kernel last told us (the readiness bits) and the
//! wakers of the tasks waiting on each side — reading and writing — so one task can wait to read
//! while another waits to write on the same socket. Usually one task waits per side; when several
//! do (two tasks awaiting `readable()` on a shared socket), an event wakes them all ([`ScheduledIo`]).
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

/// The reactor's record of one registered source: what the kernel last said, and who waits. 48
/// bytes, one per connection: `Waiters` says how it stays that small.
#[derive(Default)]
struct ScheduledIo {
    /// What the kernel last reported and no `WouldBlock` has cleared yet.
    readiness: Ready,
    /// The tasks waiting to read and to write.
    waiters: Waiters,
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
    /// Wakers collected by `park`, woken by `wake_ready` with no borrow held (reused buffer).
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
    /// collects the wakers of the tasks waiting on it; [`wake_ready`](Reactor::wake_ready) wakes
    /// them. This is the only place the loop thread sleeps.
    ///
    /// Two steps, so that the loop can read its clock in between: a task woken by an event is
    /// stamped with the time the wait *ended* (its wake-to-poll lag starts there), not with the
    /// reading taken before the loop went to sleep.
    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<ParkReport> {
        let mut report = ParkReport::default();
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted epoll_wait: not an error, just an early return.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut sources = self.sources.borrow_mut();
        let mut to_wake = self.to_wake.borrow_mut();
        for event in events.iter() {
            if event.token() == INTERRUPT_TOKEN {
                report.interrupted = true;
                continue;
            }
            report.io_events += 1;
            if let Some(io) = sources.get_mut(event.token().0) {
                io.readiness = Ready(io.readiness.0 | Ready::from_event(event).0);
                let ready = io.readiness;
                for dir in [Direction::Read, Direction::Write] {
                    if ready.allows(dir) {
                        io.waiters.take_all(dir, &mut to_wake);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Wakes the tasks whose sockets the last [`park`](Reactor::park) found ready.
    pub(crate) fn wake_ready(&self) {
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        // Wake with no borrow held: a waker may be anyone's, and may register a source.
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        *self.to_wake.borrow_mut() = to_wake; // the buffer, kept for the next turn
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
        let flushed = io.waiters.register(dir, cx.waker());
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
            io.waiters.take_all(Direction::Read, &mut wakers);
            io.waiters.take_all(Direction::Write, &mut wakers);
        }
        drop(sources);
        drop(wakers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_18_a_socket_slot_stays_small() {
        // One slot per connection: readiness, the first waiter of each direction inline, and one
        // box for the rare others (`docs/performance.md`, "Memory per idle connection"). The
        // slab adds its own 8-byte tag.
        assert_eq!(std::mem::size_of::<ScheduledIo>(), 48);
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
