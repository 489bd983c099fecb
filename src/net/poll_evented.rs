//! `PollEvented`: a mio socket together with its reactor registration.
//!
//! Every socket type in `net` is one of these plus a few `async fn`s. It owns the two things that
//! must live and die together: the non-blocking mio socket and the reactor slot that records its
//! readiness. (tokio has a type of the same name and job: `tokio/src/io/poll_evented.rs`.)
//!
//! Its methods are the only place in `net` that runs system calls on a socket, always through
//! [`Registration::poll_io`], which carries out the edge-triggered protocol of `reactor/`:
//! try the call while the slot says ready, clear readiness on `WouldBlock`, park until the next
//! event. On top of that, stream reads and writes clear readiness after a *short* transfer, which
//! proves the buffer empty (or full) without one more call that would only return `WouldBlock`.
//!
//! Each `poll_io` and `poll_ready` that completes spends one unit of the task's cooperative
//! budget (`executor/coop.rs`); when it is spent they return `Pending` without touching the socket,
//! after waking the task. That, and not the reactor, is where a busy connection is made to yield:
//! the reactor knows nothing about tasks.
//!
//! Nothing here allocates or re-registers: registration happens once in `new`, for both
//! directions, and each operation costs one system call when the socket is ready.
//!
//! Dropping a `PollEvented` removes the socket from epoll, frees its slot and closes it, in that
//! order.

use std::io::{self, IoSlice, Read, Write};
use std::task::{Context, Poll, ready};

use mio::Interest;
use mio::event::Source;

use crate::executor::coop;
use crate::io::ReadBuf;
use crate::reactor::{Direction, Registration};
use crate::runtime::context;

/// A non-blocking socket registered with the current runtime's reactor.
pub(crate) struct PollEvented<S: Source> {
    /// The reactor slot (readiness and wakers); dropped before `source` closes.
    pub(super) registration: Registration,
    /// The mio socket.
    pub(super) source: S,
}

impl<S: Source> PollEvented<S> {
    /// Registers `source` with the current runtime for `interest`, once for its lifetime.
    ///
    /// # Panics
    /// Outside a runtime.
    pub(crate) fn new(mut source: S, interest: Interest) -> io::Result<PollEvented<S>> {
        let core = context::expect_current("an evloop socket");
        let registration = Registration::new(core.reactor(), &mut source, interest)?;
        Ok(PollEvented {
            registration,
            source,
        })
    }

    /// The mio socket, for calls that never block (addresses, options, `shutdown`).
    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    /// The reactor token, for logs.
    pub(crate) fn token(&self) -> usize {
        self.registration.token()
    }

    /// Runs the non-blocking `op` on the socket once it is ready in `dir` (see
    /// `Registration::poll_io`), if the task's budget allows one more operation.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(coop::poll_proceed(cx));
        let Poll::Ready(result) = self.registration.poll_io(cx, dir, || op(&self.source)) else {
            return self.wait();
        };
        coop.made_progress();
        Poll::Ready(result)
    }

    /// `Ready` once the reactor says `dir` may make progress (nothing is read or written). Costs
    /// one unit of budget: `readable().await` + `try_read` in a loop is an operation loop too.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        if self.registration.poll_ready(cx, dir).is_pending() {
            return self.wait();
        }
        coop.made_progress();
        Poll::Ready(())
    }

    /// Forgets readiness in `dir` (an operation outside `poll_io` returned `WouldBlock`).
    pub(crate) fn clear_readiness(&self, dir: Direction) {
        self.registration.clear_readiness(dir);
    }
}

/// Reads and writes for stream sockets (`&TcpStream` implements `Read` and `Write` in mio).
impl<S: Source> PollEvented<S>
where
    for<'a> &'a S: Read + Write,
{
    /// Reads into `buf` once data (or the end of the stream) is there.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.poll_io(cx, Direction::Read, |mut s| s.read(buf)))?;
        self.note_transfer(Direction::Read, n, buf.len());
        Poll::Ready(Ok(n))
    }

    /// Reads into the unfilled part of `buf` (the `AsyncRead` form of `poll_read`): the bytes go
    /// straight into the caller's memory, one system call as before.
    pub(crate) fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Writes from `buf` once there is room in the send buffer.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let n = ready!(self.poll_io(cx, Direction::Write, |mut s| s.write(buf)))?;
        self.note_transfer(Direction::Write, n, buf.len());
        Poll::Ready(Ok(n))
    }

    /// Writes from several buffers in one `writev(2)` once there is room in the send buffer.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.poll_io(cx, Direction::Write, |mut s| s.write_vectored(bufs)))?;
        let wanted = bufs.iter().map(|b| b.len()).sum();
        self.note_transfer(Direction::Write, n, wanted);
        Poll::Ready(Ok(n))
    }

    /// After a stream transfer of `n` of `wanted` bytes: a short one (`0 < n < wanted`) proves the
    /// receive buffer empty (or the send buffer full), so the next attempt would only say
    /// `WouldBlock`; forget readiness now and save that system call. `n == 0` is the end of the
    /// stream (read) or an empty buffer (either): nothing is learned about the buffers.
    ///
    /// This relies on a TCP read returning everything queued that fits, and a write taking
    /// everything that fits; Linux does both (tokio relies on the same). Were it ever wrong, the
    /// task would wait for the next event instead of reading bytes already there.
    pub(super) fn note_transfer(&self, dir: Direction, n: usize, wanted: usize) {
        if n > 0 && n < wanted {
            self.registration.clear_drained(dir);
        }
    }
}

impl<S: Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        // Deregister before the socket closes; the slot is freed when `registration` drops next.
        // Closing would remove the socket from epoll anyway, unless its descriptor had been
        // duplicated, and the error (if any) has nobody to be reported to.
        if let Err(e) = self.registration.deregister(&mut self.source) {
            log::debug!("token {}: deregister failed: {e}", self.token());
        }
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollEvented")
            .field("token", &self.token())
            .field("source", &self.source)
            .finish()
    }
}
