//! `AsyncRead`: "read some bytes into this buffer, or tell me you will wake me".
//!
//! The contract of [`AsyncRead::poll_read`], the one method:
//!
//! ```text
//!  Ready(Ok(()))   some bytes were appended to buf.filled() — or none, which means end of stream
//!                  (or a buffer with no room left)
//!  Ready(Err(e))   the read failed; e is the operating system's error, passed through
//!  Pending         nothing to read now; the waker in cx will be woken when there may be
//! ```
//!
//! Returning `Pending` without arranging a wake-up is the classic bug: the task would sleep
//! forever. A socket arranges it through the reactor; a wrapper (`BufReader`) by passing `cx` on
//! to the stream it wraps, which then arranges it.
//!
//! Besides the sockets in `net`, this file gives the implementations tokio has for std types: a
//! byte slice (always ready; reading advances the slice) and the pointer types `Box`, `&mut` and
//! `Pin`, which pass the call to what they point to.

use std::io;
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ReadBuf;

/// Reads bytes from a source that may not have any yet.
///
/// Implement this for a new stream; *use* it through [`AsyncReadExt`](super::AsyncReadExt),
/// whose methods are futures. See the [module docs](super) for why `Pin<&mut Self>`.
pub trait AsyncRead {
    /// Attempts to read into the unfilled part of `buf`.
    ///
    /// `Ready(Ok(()))` with nothing added to `buf.filled()` means the end of the stream.
    /// `Pending` means no bytes yet, and the current task will be woken when there may be some.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>>;
}

/// Reading from a byte slice: copies from its front and moves the slice past what was copied.
/// Never `Pending`; an empty slice is the end of the stream.
impl AsyncRead for &[u8] {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let bytes: &[u8] = *self;
        let (now, rest) = bytes.split_at(bytes.len().min(buf.remaining()));
        buf.put_slice(now);
        *self = rest;
        Poll::Ready(Ok(()))
    }
}

/// The body of `poll_read` for pointers to an `Unpin` reader: pin the target and ask it.
macro_rules! deref_poll_read {
    () => {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_read(cx, buf)
        }
    };
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for Box<T> {
    deref_poll_read!();
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for &mut T {
    deref_poll_read!();
}

/// A pinned pointer (`Pin<Box<T>>`, `Pin<&mut T>`) reads through its target, which may be
/// `!Unpin`: this is how a `!Unpin` reader is used with the `Unpin`-only extension methods.
impl<P> AsyncRead for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.as_deref_mut().poll_read(cx, buf)
    }
}
