//! Step 3: the reactor. The loop sleeps in `epoll_wait` (`mio::Poll`) instead of `thread::park`,
//! and a socket event wakes the task waiting on that socket.
//!
//! ```text
//!  register(socket) ──► token = slab index; Source { ready: [true, true], waker: None }
//!  poll_io(token, dir, op):  ready[dir]? ── no ──► keep the waker, Pending
//!                                 │ yes
//!                                 └─► op() ── WouldBlock ──► ready[dir] = false, ask again
//!                                       └──── anything else ─► Ready(result)
//!  park(timeout): epoll_wait ─► for each event: ready[dir] = true, wake the waker
//! ```
//!
//! mio registers sockets *edge-triggered*: the kernel reports "readable" when a socket *becomes*
//! readable, not again while it stays so. So we remember readiness ourselves, and only
//! `WouldBlock` — the proof the socket is drained — may forget it.

use std::cell::{Cell, Ref, RefCell};
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Token};
use slab::Slab;

/// Which half of a socket an operation uses.
#[derive(Clone, Copy)]
pub enum Direction {
    Read = 0,
    Write = 1,
}

/// What the reactor knows about one registered socket.
struct Source {
    /// Per direction: may an operation make progress? Set by events, cleared by `WouldBlock`.
    ready: [bool; 2],
    /// The task waiting on this socket. One waker: in the steps, one task uses a socket at a time.
    waker: Option<Waker>,
}

/// The reactor: `mio::Poll` and a token → `Source` table.
pub struct Reactor {
    /// The epoll instance.
    poll: RefCell<mio::Poll>,
    /// Buffer for the events of one `epoll_wait`.
    events: RefCell<Events>,
    /// Registered sockets; a socket's token is its index here.
    sources: RefCell<Slab<Source>>,
    /// Times `park` returned, for the steps' reports.
    pub parks: Cell<u64>,
}

impl Reactor {
    /// A reactor with a fresh epoll instance.
    pub fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: RefCell::new(mio::Poll::new()?),
            events: RefCell::new(Events::with_capacity(256)),
            sources: RefCell::default(),
            parks: Cell::new(0),
        })
    }

    /// The registry, to register things that are not sockets (step 5's `mio::Waker`).
    pub fn registry(&self) -> Ref<'_, mio::Registry> {
        Ref::map(self.poll.borrow(), mio::Poll::registry)
    }

    /// Registers `socket` for both directions; returns its token. Readiness starts as "ready":
    /// the first operation just tries, and `WouldBlock` teaches us otherwise.
    pub fn register(&self, socket: &mut impl mio::event::Source) -> io::Result<usize> {
        let token = self.sources.borrow_mut().insert(Source {
            ready: [true; 2],
            waker: None,
        });
        let both = Interest::READABLE | Interest::WRITABLE;
        self.registry().register(socket, Token(token), both)?;
        Ok(token)
    }

    /// Removes `socket` from epoll and frees its token.
    pub fn deregister(&self, socket: &mut impl mio::event::Source, token: usize) {
        let _ = self.registry().deregister(socket); // closing the socket would do it too
        self.sources.borrow_mut().remove(token);
    }

    /// Runs `op` (a non-blocking syscall on the socket `token`) if the socket may be ready; on
    /// `WouldBlock`, forgets that readiness and keeps the task's waker for the next event.
    pub fn poll_io<R>(
        &self,
        token: usize,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            {
                let source = &mut self.sources.borrow_mut()[token];
                if !source.ready[dir as usize] {
                    // No event can slip in before this: events arrive only in `park`, which runs
                    // on this same thread, between polls.
                    source.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.sources.borrow_mut()[token].ready[dir as usize] = false; // drained
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// Sleeps in `epoll_wait` until an event or `timeout` (`None`: no limit); marks the sockets
    /// ready and wakes their tasks.
    pub fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {} // a signal: just a short turn
            other => other?,
        }
        self.parks.set(self.parks.get() + 1);
        let mut to_wake = Vec::new();
        let mut sources = self.sources.borrow_mut();
        for event in events.iter() {
            // A token not in the table (step 5's mio::Waker) only had to end the wait.
            let Some(source) = sources.get_mut(event.token().0) else {
                continue;
            };
            // Closed or failed counts as ready: the next operation will report it.
            source.ready[0] |= event.is_readable() || event.is_read_closed() || event.is_error();
            source.ready[1] |= event.is_writable() || event.is_write_closed() || event.is_error();
            to_wake.extend(source.waker.take());
        }
        drop(sources); // a wake must not find the table borrowed
        to_wake.into_iter().for_each(Waker::wake);
        Ok(())
    }
}
