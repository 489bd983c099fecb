//! `BufWriter`: collect small writes, send them in large ones.
//!
//! Each write to a socket is a system call and, with Nagle off, often a packet. Code that writes a
//! header, then a body, then a newline would pay three; a `BufWriter` copies them into its buffer
//! and writes the buffer when it is full or when asked:
//!
//! ```text
//!  poll_write(b):  buffered + b > capacity? ─► write the buffer out first (may be Pending)
//!                  b >= capacity?           ─► write b straight through (copying would not help)
//!                  otherwise                ─► append b to the buffer: Ready(b.len()), no I/O
//!  poll_flush:     write the buffer out, then flush the inner stream
//!  poll_shutdown:  write the buffer out, then shut the inner stream down
//! ```
//!
//! **Flush before you drop it.** `Drop` cannot wait for a socket, so a `BufWriter` dropped with
//! bytes in its buffer loses them (tokio's does too). End with `flush().await` or
//! `shutdown().await`.
//!
//! While the buffer is being written out, `written` remembers how much already went, so a
//! `Pending` in the middle resumes where it stopped instead of sending bytes twice.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, AsyncWrite, ReadBuf};

/// The default capacity, tokio's and std's: 8 KiB.
const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Adds a buffer to a writer: small writes are collected and sent together.
///
/// Reading through a `BufWriter` reads the inner stream directly.
#[derive(Debug)]
pub struct BufWriter<W> {
    /// The stream written to.
    inner: W,
    /// Bytes taken from callers and not yet written to `inner` (from `written` on).
    buf: Vec<u8>,
    /// How many bytes at the front of `buf` an unfinished flush has already written.
    written: usize,
    /// The most bytes `buf` collects before writing them out.
    capacity: usize,
}

impl<W: AsyncWrite> BufWriter<W> {
    /// A `BufWriter` with an 8 KiB buffer.
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A `BufWriter` that collects up to `capacity` bytes (0: every write goes straight through).
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            written: 0,
            capacity,
        }
    }
}

impl<W> BufWriter<W> {
    /// The inner stream.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner stream, mutably. Writing to it directly jumps ahead of the buffered bytes.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Gives the inner stream back; buffered bytes not written yet are lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The bytes buffered and not written yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    /// The most bytes collected before they are written out.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<W: AsyncWrite + Unpin> BufWriter<W> {
    /// Writes the whole buffer to the inner stream; `Ready(Ok)` once it is empty.
    fn poll_flush_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut result = Ok(());
        while self.written < self.buf.len() {
            let rest = &self.buf[self.written..];
            match ready!(Pin::new(&mut self.inner).poll_write(cx, rest)) {
                Ok(0) => {
                    result = Err(super::write_zero());
                    break;
                }
                Ok(n) => self.written += n,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Forget what went out, also after an error: those bytes must not be sent twice.
        self.buf.drain(..self.written);
        self.written = 0;
        Poll::Ready(result)
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for BufWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.buf.len() + buf.len() > me.capacity {
            ready!(me.poll_flush_buf(cx))?;
        }
        if buf.len() >= me.capacity {
            Pin::new(&mut me.inner).poll_write(cx, buf)
        } else {
            me.buf.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
    }

    /// Collects all the buffers if they fit, else passes them through as one vectored write.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let total = bufs
            .iter()
            .fold(0usize, |sum, b| sum.saturating_add(b.len()));
        if me.buf.len() + total > me.capacity {
            ready!(me.poll_flush_buf(cx))?;
        }
        if total >= me.capacity {
            Pin::new(&mut me.inner).poll_write_vectored(cx, bufs)
        } else {
            bufs.iter().for_each(|b| me.buf.extend_from_slice(b));
            Poll::Ready(Ok(total))
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_flush_buf(cx))?;
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_flush_buf(cx))?;
        Pin::new(&mut me.inner).poll_shutdown(cx)
    }
}

/// Reads go straight to the inner stream.
impl<W: AsyncWrite + AsyncRead + Unpin> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}
