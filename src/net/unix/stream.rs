//! `UnixStream`: one connection over a Unix domain socket.
//!
//! Connecting needs no handshake over a network: `connect(2)` on a non-blocking Unix socket either
//! succeeds at once or fails (`ECONNREFUSED` when nobody listens, `EAGAIN` when the listener's
//! backlog is full). The stream still waits for "writable" and checks `SO_ERROR` before calling
//! itself connected, as tokio does, so the two connects read alike.
//!
//! Reads and writes are the same one-attempt operations as `TcpStream`'s (`PollEvented`), with the
//! same rules: one reader and one writer, cancel-safe. `UnixStream` implements [`AsyncRead`] and
//! [`AsyncWrite`], so `read`, `write_all`, `BufReader`, `copy`, `io::split` work as on TCP.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mio::Interest;

use super::SocketAddr;
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::net::poll_evented::PollEvented;
use crate::reactor::Direction;

/// A Unix stream socket registered with the current runtime.
///
/// ```no_run
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let mut stream = evloop::net::UnixStream::connect("/tmp/evloop.sock").await?;
/// stream.write_all(b"ping").await?;
/// let mut reply = [0u8; 4];
/// stream.read_exact(&mut reply).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixStream {
    /// The mio stream and its reactor slot.
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// `Ready(Ok)` once the socket is writable without a pending error.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.io.poll_ready(cx, Direction::Write));
        match self.io.source().take_error()? {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Two connected, unnamed streams (`socketpair(2)`): a private channel, e.g. between a parent
    /// and a child process, or between two tasks in a test.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Takes over a connected `std::os::unix::net::UnixStream`: makes it non-blocking and
    /// registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// Registers a connected mio stream for both directions.
    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        let io = PollEvented::new(stream, Interest::READABLE | Interest::WRITABLE)?;
        Ok(UnixStream { io })
    }

    /// One read attempt into a plain slice, for hand-written futures: `Ready(Ok(n))` once data
    /// (or the end of the stream, `n == 0`) is there, else `Pending`. The [`AsyncRead`] impl is
    /// the same attempt with a `ReadBuf`.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// One write attempt, for hand-written futures.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    /// Waits until the stream may be readable (pair with [`try_read`](UnixStream::try_read)).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Read)).await;
        Ok(())
    }

    /// Waits until the stream may be writable (pair with [`try_write`](UnixStream::try_write)).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Write)).await;
        Ok(())
    }

    /// Reads now, without waiting: `WouldBlock` if no data is there.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes now, without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the reading side, the writing side or both; does not wait. std's synchronous
    /// `shutdown(how)` under another name, as on `TcpStream`, so that tokio's
    /// `stream.shutdown().await` (`AsyncWriteExt`) is not hidden by it.
    pub fn shutdown_now(&self, how: Shutdown) -> io::Result<()> {
        self.io.source().shutdown(how)
    }

    /// The local address (unnamed for a client or a `pair`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.source().take_error()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.source().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.source().as_fd()
    }
}

/// Reads go straight into the caller's buffer: one `read(2)` per attempt.
impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read_buf(cx, buf)
    }
}

/// Writes hand the bytes to the kernel: `flush` has nothing to do, and `shutdown` is
/// `shutdown(Shutdown::Write)`, the peer then reads the end of the stream.
impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_now(Shutdown::Write))
    }
}
