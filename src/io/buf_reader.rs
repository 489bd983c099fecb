//! `BufReader`: read a stream in large chunks, hand it out in small ones.
//!
//! Each read of a socket is a system call. A parser that asks for a few bytes at a time (a line,
//! a 4-byte length) would pay one per ask; a `BufReader` reads up to its capacity at once and
//! serves the small asks from memory:
//!
//! ```text
//!  buf: [ consumed | pos .. filled: not handed out yet | free ]
//!  poll_fill_buf: pos == filled? ─yes─► one poll_read of the inner stream into the whole buf
//!                                 no ─► &buf[pos..filled]
//! ```
//!
//! It also makes any reader an [`AsyncBufRead`], which `read_line` and `lines` need. A read at
//! least as large as the buffer, arriving while the buffer is empty, skips it and goes straight
//! into the caller's memory: copying through the buffer would only cost a `memcpy`.
//!
//! Differences from tokio: the capacity must be at least one byte (a zero-byte buffer would read
//! nothing and look like the end of the stream), and the traits need `R: Unpin` (see the module
//! docs of [`io`](super)). No `AsyncSeek`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// The default capacity, tokio's and std's: 8 KiB.
const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Adds a buffer to a reader: fewer system calls, and [`AsyncBufRead`] (`read_line`, `lines`).
///
/// Writing through a `BufReader` writes to the inner stream directly (it implements
/// [`AsyncWrite`] when the stream does), so `BufReader<TcpStream>` can still answer.
#[derive(Debug)]
pub struct BufReader<R> {
    /// The stream read from.
    inner: R,
    /// The buffer; its length is the capacity.
    buf: Box<[u8]>,
    /// Where the bytes not handed out yet start.
    pos: usize,
    /// Where the bytes read from `inner` end.
    filled: usize,
}

impl<R: AsyncRead> BufReader<R> {
    /// A `BufReader` with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A `BufReader` with a buffer of `capacity` bytes.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        assert!(capacity > 0, "a BufReader needs room for at least one byte");
        BufReader {
            inner,
            buf: vec![0; capacity].into_boxed_slice(),
            pos: 0,
            filled: 0,
        }
    }
}

impl<R> BufReader<R> {
    /// The inner stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner stream, mutably. Reading from it directly skips the buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Gives the inner stream back; buffered bytes not read yet are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes read from the stream and not handed out yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        // Nothing buffered and a large read: skip the buffer.
        if me.pos == me.filled && buf.remaining() >= me.buf.len() {
            return Pin::new(&mut me.inner).poll_read(cx, buf);
        }
        let available = ready!(Pin::new(&mut *me).poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        me.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if me.pos == me.filled {
            // Everything handed out: read a new chunk over the whole buffer.
            let mut chunk = ReadBuf::new(&mut me.buf);
            ready!(Pin::new(&mut me.inner).poll_read(cx, &mut chunk))?;
            me.filled = chunk.filled().len();
            me.pos = 0;
        }
        Poll::Ready(Ok(&me.buf[me.pos..me.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        me.pos = (me.pos + amt).min(me.filled);
    }
}

/// Writes go straight to the inner stream, unbuffered.
impl<R: AsyncRead + AsyncWrite + Unpin> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
