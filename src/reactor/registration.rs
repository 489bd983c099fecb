//! `Registration`: a socket's slot in a reactor, and the edge-triggered protocol in one function.

use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::Interest;
use mio::event::Source;

use super::{Direction, Reactor};

/// A source's registration with a reactor; what sockets in `net` hold.
///
/// Deregister the source with [`Registration::deregister`] before it is closed; dropping the
/// `Registration` frees the reactor slot.
pub(crate) struct Registration {
    /// The reactor that holds the slot (kept alive as long as the socket).
    reactor: Rc<Reactor>,
    /// The slot index, which is also the mio token.
    token: usize,
}

impl Registration {
    /// Registers `source` with `reactor` for `interest`, once for the source's lifetime.
    pub(crate) fn new(
        reactor: &Rc<Reactor>,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        let token = reactor.register(source, interest)?;
        Ok(Registration {
            reactor: Rc::clone(reactor),
            token,
        })
    }

    /// Runs the non-blocking `op` once the source is ready in `dir`, retrying while readiness
    /// lasts. On `WouldBlock` it clears readiness and parks the task until the next event —
    /// the whole edge-triggered protocol in one function.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let reactor = &self.reactor;
        loop {
            if reactor.poll_ready(self.token, dir, cx).is_pending() {
                return Poll::Pending;
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    reactor.clear_readiness(self.token, dir);
                }
                // A signal arrived during the call: nothing happened, try again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// `Ready` once the source is ready in `dir` (without running an operation).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        self.reactor.poll_ready(self.token, dir, cx)
    }

    /// Forgets readiness in `dir` (after an operation outside `poll_io` hit `WouldBlock`).
    pub(crate) fn clear_readiness(&self, dir: Direction) {
        self.reactor.clear_readiness(self.token, dir);
    }

    /// Forgets that data (or space) is available in `dir` after a short read (or write) proved
    /// the socket's buffer empty (or full); keeps the closed and error bits. Only for stream
    /// sockets: a short datagram proves nothing about the next one.
    pub(crate) fn clear_drained(&self, dir: Direction) {
        self.reactor.clear_drained(self.token, dir);
    }

    /// Removes `source` from epoll. Call it before the source is closed.
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.reactor.registry.deregister(source)
    }

    /// The token, for logs.
    pub(crate) fn token(&self) -> usize {
        self.token
    }

    /// True if the slot is in `reactor` (a pointer comparison): only that reactor's loop will
    /// ever wake a task waiting on this source.
    pub(crate) fn is_in(&self, reactor: &Rc<Reactor>) -> bool {
        Rc::ptr_eq(&self.reactor, reactor)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.remove(self.token);
    }
}
