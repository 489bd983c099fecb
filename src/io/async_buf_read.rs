//! `AsyncBufRead`: a reader with a buffer of its own that you may look into before taking.
//!
//! Finding a line's end means looking at bytes without knowing yet how many you want. With plain
//! `AsyncRead` you would read into your own buffer and keep the leftover after the newline
//! somewhere; a buffered reader keeps it for you:
//!
//! ```text
//!  poll_fill_buf ─► &[u8] of what is buffered (reading more only if the buffer is empty)
//!  consume(n)    ─► the first n of those bytes are taken; the rest stay for the next call
//! ```
//!
//! An empty slice from `poll_fill_buf` is the end of the stream. [`BufReader`](super::BufReader)
//! turns any `AsyncRead` into one; a byte slice is one already.

use std::io;
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::AsyncRead;

/// A reader with an internal buffer: look with `poll_fill_buf`, take with `consume`.
///
/// *Use* it through [`AsyncBufReadExt`](super::AsyncBufReadExt) (`read_line`, `lines`, ...).
pub trait AsyncBufRead: AsyncRead {
    /// Attempts to return the buffered bytes, reading more from the stream only if there are
    /// none. An empty slice means the end of the stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks the first `amt` bytes of the last `poll_fill_buf` as taken. `amt` larger than what
    /// that call returned is clamped by the implementations here (tokio leaves it unspecified).
    fn consume(self: Pin<&mut Self>, amt: usize);
}

/// A byte slice is its own buffer.
impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(*self.get_mut()))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let bytes: &[u8] = *self;
        *self = &bytes[amt.min(bytes.len())..];
    }
}

/// The methods of `AsyncBufRead` for pointers to an `Unpin` reader.
macro_rules! deref_async_buf_read {
    () => {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
        }

        fn consume(mut self: Pin<&mut Self>, amt: usize) {
            Pin::new(&mut **self).consume(amt)
        }
    };
}

impl<T: ?Sized + AsyncBufRead + Unpin> AsyncBufRead for Box<T> {
    deref_async_buf_read!();
}

impl<T: ?Sized + AsyncBufRead + Unpin> AsyncBufRead for &mut T {
    deref_async_buf_read!();
}

/// A pinned pointer buffers through its target, which may be `!Unpin`.
impl<P> AsyncBufRead for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncBufRead,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.as_deref_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.as_deref_mut().consume(amt)
    }
}
