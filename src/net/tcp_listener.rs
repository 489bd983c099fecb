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

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use mio::Interest;

use super::ToSocketAddrs;
use super::accept_backoff::accept_with_backoff;
use super::poll_evented::PollEvented;
use super::tcp_stream::TcpStream;

/// Connections the kernel may hold for `accept` (tokio's value; see the module docs).
const BACKLOG: libc::c_int = 1024;

/// A listening TCP socket registered with the current runtime.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
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
    /// `async` as in tokio, because `addr` may be a host name (`"localhost:8080"`), resolved on the
    /// worker; a literal address (`"127.0.0.1:0"`) completes at the first poll, with no thread hop.
    /// For a listen backlog or options of your own, use [`TcpSocket`](super::TcpSocket).
    ///
    /// [`local_addr`]: TcpListener::local_addr
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        super::each_addr(addr, TcpListener::bind_addr).await
    }

    /// Binds to one address and listens with [`BACKLOG`].
    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = mio::net::TcpListener::bind(addr)?;
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

    /// Registers a mio listener for reading (also the last step of `TcpSocket::listen`).
    pub(super) fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
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
        accept_with_backoff(&self.io, |l| l.accept(), TcpStream::from_mio).await
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
