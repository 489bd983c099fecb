//! `TcpStream`: one TCP connection, read and written through the `io` traits.
//!
//! `TcpStream` implements [`AsyncRead`] and [`AsyncWrite`] (at the end of this file) on top of
//! `PollEvented`'s one-attempt reads and writes; `stream.read(&mut buf).await` and friends come
//! from [`AsyncReadExt`](crate::io::AsyncReadExt) / [`AsyncWriteExt`](crate::io::AsyncWriteExt),
//! as in tokio. A read goes straight into the caller's buffer: one system call per attempt.
//!
//! ## Connecting without blocking
//!
//! A non-blocking `connect(2)` returns at once with `EINPROGRESS`; the handshake finishes later.
//! The kernel then reports the socket *writable* — whether the handshake succeeded or failed.
//! So [`TcpStream::connect`] follows the steps mio documents for `mio::net::TcpStream::connect`:
//!
//! ```text
//!  connect(2) ─► register ─► wait for writable ─► take_error()? ── Some(e) ─► Err(e) (refused, ...)
//!                                  ▲                   │ None
//!                                  │              peer_addr()? ── Ok ─► connected
//!                                  └── NotConnected ───┘ (a wake before the handshake ended)
//! ```
//!
//! ## Reading in one task, writing in another
//!
//! `read` and `write` take `&mut self`, so one `TcpStream` has one reader and one writer at a time.
//! (The reactor itself would wake any number of waiters per direction: `readable()` takes `&self`,
//! and two tasks may await it on a shared stream.) To read and write concurrently, split it:
//! [`TcpStream::split`] borrows (both halves in one task, e.g. polled together), and
//! [`TcpStream::into_split`] gives two owned halves for two tasks, sharing the stream in an `Rc`
//! (one thread: no atomics needed). See `split.rs`.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mio::Interest;

use super::ToSocketAddrs;
use super::poll_evented::PollEvented;
use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::reactor::Direction;

/// A TCP connection registered with the current runtime.
///
/// Reading and writing go through the [`io`](crate::io) traits, as in tokio:
///
/// ```no_run
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let mut stream = evloop::net::TcpStream::connect("127.0.0.1:7878").await?;
/// stream.write_all(b"hello\n").await?;
/// let mut echo = [0u8; 6];
/// stream.read_exact(&mut echo).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The mio stream and its reactor slot.
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each address it resolves to in turn.
    ///
    /// Returns the operating system's error for the last address tried (`ConnectionRefused`,
    /// `TimedOut`, `NetworkUnreachable`, ...). A host name is resolved on the worker, a literal
    /// address on the spot (see [`ToSocketAddrs`]).
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in super::addr::resolve(addr).await? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(super::no_addresses))
    }

    /// Connects to one address: start the handshake, then wait for it to finish.
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?
            .connected(addr)
            .await
    }

    /// Waits for the handshake that `connect(2)` started on this stream to finish (also used by
    /// `TcpSocket::connect`).
    pub(super) async fn connected(self, addr: SocketAddr) -> io::Result<TcpStream> {
        poll_fn(|cx| self.poll_connected(cx)).await?;
        log::trace!("token {}: connected to {addr}", self.io.token());
        Ok(self)
    }

    /// `Ready(Ok)` once the handshake succeeded, `Ready(Err)` once it failed.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.io.poll_ready(cx, Direction::Write));
            if let Some(e) = self.io.source().take_error()? {
                return Poll::Ready(Err(e));
            }
            match self.io.source().peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                // Writable before the handshake ended: the readiness was not about us; wait again.
                Err(e)
                    if e.kind() == io::ErrorKind::NotConnected
                        || e.raw_os_error() == Some(libc::EINPROGRESS) =>
                {
                    self.io.clear_readiness(Direction::Write);
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Registers an already connected mio stream (from `accept` or `connect`).
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let io = PollEvented::new(stream, Interest::READABLE | Interest::WRITABLE)?;
        Ok(TcpStream { io })
    }

    /// Takes over a connected `std::net::TcpStream`: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// One read attempt into a plain slice, for hand-written futures: `Ready(Ok(n))` or `Pending`.
    /// The [`AsyncRead`] impl is the same attempt, called through `Pin` with a `ReadBuf`.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// One write attempt, for hand-written futures; the inherent twin of
    /// [`AsyncWrite::poll_write`].
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    /// Waits until the stream may be readable (data, end of stream or an error), without reading.
    ///
    /// The readiness may be stale: follow with [`try_read`](TcpStream::try_read), which returns
    /// `WouldBlock` in that case (and the next `readable` waits for a new event). With these two a
    /// server can wait for idle connections without holding a buffer for each.
    ///
    /// (Written as a plain `fn` returning `poll_fn`, not an `async fn`: the future is then just
    /// the reference to the stream, 8 bytes, where the `async fn` kept 24 — and an idle
    /// connection's task holds this future for as long as it idles.)
    pub fn readable(&self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Read).map(Ok))
    }

    /// Waits until the stream may be writable, without writing (pair with `try_write`).
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Write).map(Ok))
    }

    /// Reads now, without waiting: `WouldBlock` if no data is there.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes now, without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the reading side, the writing side or both (`shutdown(2)`); does not wait.
    ///
    /// `Shutdown::Write` sends a FIN: the peer reads the end of the stream after the data already
    /// sent, and can still write back (a half-close). It is what [`AsyncWrite::poll_shutdown`]
    /// does, so tokio's `stream.shutdown().await` (`AsyncWriteExt`) works as in tokio. This is
    /// std's synchronous `shutdown(how)` under another name, so that the two do not clash (tokio
    /// has no synchronous one).
    pub fn shutdown_now(&self, how: Shutdown) -> io::Result<()> {
        self.io.source().shutdown(how)
    }

    /// Borrowed halves, both usable in the same task (e.g. polled side by side).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Owned halves for two tasks, one reading and one writing; they share the stream, which
    /// closes when both are dropped.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    /// The registered socket, for the split halves.
    pub(crate) fn evented(&self) -> &PollEvented<mio::net::TcpStream> {
        &self.io
    }
}

/// Reads go straight into the caller's buffer: one `read(2)` per attempt, as `poll_read`.
impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read_buf(cx, buf)
    }
}

/// Writes hand the bytes to the kernel: nothing is buffered here, so `flush` is immediate, and
/// `shutdown` is `shutdown(Shutdown::Write)` (a FIN).
impl AsyncWrite for TcpStream {
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
