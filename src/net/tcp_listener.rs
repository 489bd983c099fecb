//! `TcpListener`: accepts connections, and keeps accepting when the process runs out of
//! file descriptors.
//!
//! ## accept and EMFILE
//!
//! When the process runs out of file descriptors, `accept(2)` fails while the connection stays
//! queued and the listener stays readable: retrying at once spins, waiting for the next event
//! hangs. [`TcpListener::accept`] sorts each failure and, when resources are short, backs off on a
//! timer instead (`net/accept_backoff.rs` explains both bugs and the cure).
//!
//! ## The backlog
//!
//! The kernel completes handshakes on its own and queues the connections for `accept`; `listen`'s
//! *backlog* caps that queue. mio and std listen with 128. A burst of more connects than that —
//! 500 clients starting at once — overflows it while the loop is busy: the kernel drops handshake
//! replies, falls back to SYN cookies, and some of those connections are later *reset*
//! (`tests/reliability_load.rs` saw it). [`TcpListener::bind`] therefore asks for 1024, tokio's
//! value (the kernel caps it at `net.core.somaxconn`, 4096 on current Linux).

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use mio::Interest;

use super::accept_backoff::{AcceptFailure, Backoff};
use super::poll_evented::PollEvented;
use super::tcp_stream::TcpStream;
use crate::reactor::Direction;

/// Connections the kernel may hold for `accept` (tokio's value; see the module docs).
const BACKLOG: libc::c_int = 1024;

/// A listening TCP socket registered with the current runtime.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let listener = evloop::net::TcpListener::bind("127.0.0.1:0")?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     evloop::spawn(async move { /* serve `stream` */ drop((stream, peer)) });
/// }
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The mio listener and its reactor slot (registered for reading only: accepts are reads).
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first address that works) and starts listening, with `SO_REUSEADDR`
    /// and a backlog of 1024 (module docs). Port 0 picks a free port: see [`local_addr`].
    ///
    /// [`local_addr`]: TcpListener::local_addr
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let listener = super::each_addr(addr, mio::net::TcpListener::bind)?;
        // mio listened with 128; listening again on a listening socket only changes the backlog.
        crate::sys::listen(listener.as_fd(), BACKLOG)?;
        TcpListener::from_mio(listener)
    }

    /// Takes over a listening `std::net::TcpListener`: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Registers a mio listener for reading.
    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        let io = PollEvented::new(listener, Interest::READABLE)?;
        log::trace!(
            "token {}: listening on {:?}",
            io.token(),
            io.source().local_addr()
        );
        Ok(TcpListener { io })
    }

    /// Waits for the next connection and returns it with the peer's address.
    ///
    /// Out of file descriptors (or memory), it backs off on a timer and tries again instead of
    /// failing; errors of a single connection are skipped (module docs). It returns `Err` only
    /// when the listener itself is broken. Cancel-safe: a connection is either returned or left
    /// queued in the kernel.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let token = self.io.token();
        let mut backoff = Backoff::default();
        loop {
            let accepted = poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |l| l.accept())).await;
            let (failure, error) = match accepted {
                Ok((stream, peer)) => match TcpStream::from_mio(stream) {
                    Ok(stream) => {
                        backoff.recovered(token);
                        log::trace!("token {token}: accepted {peer}");
                        return Ok((stream, peer));
                    }
                    // epoll_ctl failed (ENOMEM, or ENOSPC: the epoll watch limit). The connection
                    // closes as `stream` drops; the kernel is short of something, so back off.
                    Err(e) => {
                        log::warn!("token {token}: cannot register {peer}, closing it: {e}");
                        (AcceptFailure::OutOfResources, e)
                    }
                },
                Err(e) => (AcceptFailure::of(&e), e),
            };
            match failure {
                AcceptFailure::OutOfResources => backoff.wait(token, &error).await,
                AcceptFailure::Connection => {
                    log::debug!("token {token}: accept skipped a failed connection: {error}");
                }
                AcceptFailure::Listener => return Err(error),
            }
        }
    }

    /// The address the listener is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.source().take_error()
    }
}

/// The socket's descriptor, for options `net` does not wrap (e.g. `libc::setsockopt`). Do not
/// read, write or close it behind the runtime's back.
impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.source().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.source().as_fd()
    }
}
