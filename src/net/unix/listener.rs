//! `UnixListener`: accepts connections on a path.
//!
//! `bind` creates the socket file; it fails with `AddrInUse` if the path exists, even when no
//! process listens there any more (remove a stale file first, as servers usually do at start).
//! Dropping the listener closes the socket but leaves the file, as in std and tokio.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

use mio::Interest;

use super::{SocketAddr, UnixStream};
use crate::net::accept_backoff::accept_with_backoff;
use crate::net::poll_evented::PollEvented;

/// A Unix stream socket listening on a path, registered with the current runtime.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let listener = evloop::net::UnixListener::bind("/tmp/evloop.sock")?;
/// let (stream, _peer) = listener.accept().await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixListener {
    /// The mio listener and its reactor slot (registered for reading: accepts are reads).
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_mio(mio::net::UnixListener::bind(path)?)
    }

    /// Takes over a listening `std::os::unix::net::UnixListener`: makes it non-blocking and
    /// registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    /// Registers a mio listener for reading.
    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        let io = PollEvented::new(listener, Interest::READABLE)?;
        log::trace!(
            "token {}: listening on {:?}",
            io.token(),
            io.source().local_addr()
        );
        Ok(UnixListener { io })
    }

    /// Waits for the next connection; the same loop as `TcpListener::accept` (it backs off while
    /// out of descriptors and skips failed connections). Cancel-safe.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        accept_with_backoff(&self.io, |l| l.accept(), UnixStream::from_mio).await
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.source().take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.source().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.source().as_fd()
    }
}
