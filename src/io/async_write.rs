//! `AsyncWrite`: "take some of these bytes, or tell me you will wake me".
//!
//! Four attempts, each `Ready` or `Pending` (with a wake-up arranged, as for `AsyncRead`):
//!
//! | method | `Ready(Ok(..))` means |
//! | --- | --- |
//! | [`poll_write`](AsyncWrite::poll_write) | `n` bytes from the front of `buf` were taken (`0`: the writer takes no more) |
//! | [`poll_write_vectored`](AsyncWrite::poll_write_vectored) | the same, from several buffers in order (one `writev(2)`) |
//! | [`poll_flush`](AsyncWrite::poll_flush) | everything taken so far has left this writer's own buffers |
//! | [`poll_shutdown`](AsyncWrite::poll_shutdown) | flushed, and the other side told "no more data" (a TCP FIN) |
//!
//! A write may take fewer bytes than offered: the caller loops (that is `write_all`). "Taken" is
//! not "arrived": a socket write only copies into the kernel's send buffer.
//!
//! `std::io::Write` has no `shutdown`: a blocking writer says "no more" by being dropped. An async
//! writer cannot finish anything in `Drop` (drop cannot wait), so ending a stream gracefully is a
//! method of its own, and a `BufWriter` dropped without `flush` or `shutdown` loses its buffer.
//!
//! Implementations here: `Vec<u8>` (appends, always ready) and the pointer types `Box`, `&mut`,
//! `Pin`, as in tokio.

use std::io::{self, IoSlice};
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Writes bytes to a sink that may not have room yet.
///
/// Implement this for a new stream; *use* it through [`AsyncWriteExt`](super::AsyncWriteExt).
pub trait AsyncWrite {
    /// Attempts to write bytes from the front of `buf`; returns how many were taken.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Attempts to push out anything this writer (or one it wraps) holds in a buffer.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Attempts to flush and then close the writing direction (for TCP, send a FIN). Writes after
    /// a successful shutdown fail.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Attempts to write from several buffers, in order, as if they were one.
    ///
    /// The default writes only the first non-empty buffer (a correct partial write); a writer for
    /// which several buffers are cheaper than one (a socket: one `writev(2)`) overrides it and
    /// says so in [`is_write_vectored`](AsyncWrite::is_write_vectored).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.poll_write(cx, first)
    }

    /// Whether [`poll_write_vectored`](AsyncWrite::poll_write_vectored) is better than writing the
    /// buffers one by one. Defaults to `false`.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// Writing into a `Vec<u8>` appends; it is always ready and always takes everything.
impl AsyncWrite for Vec<u8> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Write::write_vectored(self.get_mut(), bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The methods of `AsyncWrite` for pointers to an `Unpin` writer: pin the target and ask it.
macro_rules! deref_async_write {
    () => {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            (**self).is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_shutdown(cx)
        }
    };
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for Box<T> {
    deref_async_write!();
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for &mut T {
    deref_async_write!();
}

/// A pinned pointer writes through its target, which may be `!Unpin`.
impl<P> AsyncWrite for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.as_deref_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.as_deref_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_deref_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_deref_mut().poll_shutdown(cx)
    }
}
