//! Split halves of a `TcpStream`: read in one place while writing in another.
//!
//! A TCP connection is two independent byte streams, one each way, and the reactor keeps the
//! waiters of each direction of a socket apart. So a reader parked on "no data yet" and a writer
//! parked on "send buffer full" can wait on the same socket at the same time, and an event wakes
//! the one(s) it concerns:
//!
//! ```text
//!  slot of token 7: readiness | readers (task A) | writers (task B)
//!  event(7, readable)  ──► wakes task A only
//!  event(7, writable)  ──► wakes task B only
//! ```
//!
//! - [`TcpStream::split`] lends two halves borrowing the stream: for one task that drives both,
//!   e.g. copying while echoing, or polling two futures side by side.
//! - [`TcpStream::into_split`] gives two owned halves sharing the stream through an `Rc` (the
//!   runtime is one thread, so no atomic count is needed and the halves are not `Send`). Spawn one
//!   task per half. The connection closes when both halves are gone; to tell the peer "no more
//!   data" earlier, call `half.shutdown().await` (`AsyncWriteExt`) or
//!   [`OwnedWriteHalf::shutdown_now`]. (tokio's owned write half shuts down on drop; here it is
//!   explicit.)
//!
//! Each half implements [`AsyncRead`] (or [`AsyncWrite`]), whose methods take `&mut self`, so
//! there is still one reader and one writer. (For a stream that is not a socket,
//! [`io::split`](crate::io::split) does the same job with a `RefCell`.)

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::tcp_stream::TcpStream;
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::reactor::Direction;

/// The reading half of a [`TcpStream`], borrowed by [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    /// The whole stream; this half only reads from it.
    stream: &'a TcpStream,
}

/// The writing half of a [`TcpStream`], borrowed by [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    /// The whole stream; this half only writes to it.
    stream: &'a TcpStream,
}

/// The reading half of a [`TcpStream`], owned, from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    /// The stream, shared with the write half.
    stream: Rc<TcpStream>,
}

/// The writing half of a [`TcpStream`], owned, from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    /// The stream, shared with the read half.
    stream: Rc<TcpStream>,
}

/// Lends the two borrowed halves (`TcpStream::split`).
pub(crate) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    // `&mut` in, two `&` out: while the halves live nobody else can read or write the stream.
    let stream = &*stream;
    (ReadHalf { stream }, WriteHalf { stream })
}

/// Makes the two owned halves (`TcpStream::into_split`).
pub(crate) fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Rc::new(stream);
    let read = OwnedReadHalf {
        stream: Rc::clone(&stream),
    };
    (read, OwnedWriteHalf { stream })
}

/// The reading operations, identical for both read halves; `stream` is the shared stream.
macro_rules! read_half_methods {
    () => {
        /// One read attempt into a plain slice, for hand-written futures (the inherent twin of
        /// `AsyncRead::poll_read`).
        pub fn poll_read(
            &mut self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.stream.evented().poll_read(cx, buf)
        }

        /// Waits until data (or the end of the stream) may be there; pair with `try_read`.
        pub async fn readable(&self) -> io::Result<()> {
            poll_fn(|cx| self.stream.evented().poll_ready(cx, Direction::Read)).await;
            Ok(())
        }

        /// Reads now, without waiting: `WouldBlock` if no data is there.
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.stream.evented().try_read(buf)
        }

        /// The address of the other end.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream.peer_addr()
        }

        /// The local address of this end.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream.local_addr()
        }
    };
}

/// The writing operations, identical for both write halves; `stream` is the shared stream.
macro_rules! write_half_methods {
    () => {
        /// One write attempt, for hand-written futures (the inherent twin of
        /// `AsyncWrite::poll_write`).
        pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            self.stream.evented().poll_write(cx, buf)
        }

        /// Waits until there may be room to write; pair with `try_write`.
        pub async fn writable(&self) -> io::Result<()> {
            poll_fn(|cx| self.stream.evented().poll_ready(cx, Direction::Write)).await;
            Ok(())
        }

        /// Writes now, without waiting: `WouldBlock` if the send buffer is full.
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.stream.evented().try_write(buf)
        }

        /// Shuts down the writing direction (sends a FIN) now; the read half keeps reading.
        /// `AsyncWriteExt::shutdown(&mut half).await` does the same, as in tokio.
        pub fn shutdown_now(&self) -> io::Result<()> {
            self.stream.shutdown_now(Shutdown::Write)
        }

        /// The address of the other end.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream.peer_addr()
        }

        /// The local address of this end.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream.local_addr()
        }
    };
}

/// `AsyncRead` for a read half: the stream's read, as `TcpStream`'s impl.
macro_rules! impl_async_read {
    ($half:ty) => {
        impl AsyncRead for $half {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.stream.evented().poll_read_buf(cx, buf)
            }
        }
    };
}

/// `AsyncWrite` for a write half: the stream's write; `shutdown` sends a FIN.
macro_rules! impl_async_write {
    ($half:ty) => {
        impl AsyncWrite for $half {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.stream.evented().poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream.evented().poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.stream.shutdown_now(Shutdown::Write))
            }
        }
    };
}

impl ReadHalf<'_> {
    read_half_methods!();
}

impl OwnedReadHalf {
    read_half_methods!();
}

impl WriteHalf<'_> {
    write_half_methods!();
}

impl OwnedWriteHalf {
    write_half_methods!();
}

impl_async_read!(ReadHalf<'_>);
impl_async_read!(OwnedReadHalf);
impl_async_write!(WriteHalf<'_>);
impl_async_write!(OwnedWriteHalf);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::io::{AsyncReadExt, AsyncWriteExt};
    use crate::net::{TcpListener, TcpStream};
    use crate::task::yield_now;
    use crate::time::timeout;
    use crate::{Runtime, spawn};

    /// More than every socket buffer between the two tasks can hold: the writer must wait for the
    /// reader, which must be woken while the writer is parked too.
    const TOTAL: usize = 8 << 20;

    /// Echoes one connection back, then closes.
    async fn echo_peer(listener: TcpListener) {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await.expect("peer read") {
                0 => return,
                n => stream.write_all(&buf[..n]).await.expect("peer write"),
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)] // real sockets
    fn one_task_reads_while_another_writes_the_same_stream() {
        let rt = Runtime::new().expect("runtime");
        let received = rt.block_on(async {
            let test = async {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("addr");
                let peer = spawn(echo_peer(listener));
                let stream = TcpStream::connect(addr).await.expect("connect");
                let (mut reader, mut writer) = stream.into_split();
                // The reader starts first and parks on "no data yet".
                let reading = spawn(async move {
                    let (mut got, mut buf) = (0, vec![0u8; 16384]);
                    while got < TOTAL {
                        let n = reader.read(&mut buf).await.expect("read");
                        assert!(n > 0, "the peer closed early");
                        let expected = (got..got + n).map(|i| (i % 251) as u8);
                        assert!(buf[..n].iter().copied().eq(expected), "bytes at {got}");
                        got += n;
                    }
                    got
                });
                yield_now().await;
                let writing = spawn(async move {
                    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
                    writer.write_all(&data).await.expect("write");
                });
                writing.await.expect("writer task");
                let received = reading.await.expect("reader task");
                // Both halves are dropped with their tasks: the stream closes, the peer sees EOF.
                peer.await.expect("peer task");
                received
            };
            timeout(Duration::from_secs(60), test)
                .await
                .expect("finishes in time")
        });
        assert_eq!(received, TOTAL);
        assert_eq!(rt.io_sources(), 0, "every socket closed and deregistered");
    }
}
