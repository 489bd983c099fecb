//! `copy_bidirectional`: a proxy's loop, both directions of two streams in one future.
//!
//! Two [`copy`](fn@super::copy) buffers, `a → b` and `b → a`, each polled in turn by the same task.
//! When one direction reaches the end of its stream, it shuts down the writing side it was
//! copying into, so the far end also sees the end; the other direction keeps going:
//!
//! ```text
//!  Running(copy) ── reader ended, all written ──► ShuttingDown ── poll_shutdown ──► Done(n)
//! ```
//!
//! The future is ready when both directions are `Done`. One task waits on four readiness
//! conditions (a readable, b writable, b readable, a writable); the reactor keeps the waiters of
//! each direction of each socket, and all four are this task's, so any of them wakes it.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::copy::CopyBuffer;
use super::{AsyncRead, AsyncWrite};

/// Copies `a`'s bytes to `b` and `b`'s to `a` until both streams end, shutting down each writing
/// side once its source ended; returns `(bytes a → b, bytes b → a)`.
///
/// On the first error of either direction, stops and returns it.
///
/// # Cancel safety
/// Not cancel-safe: bytes read but not yet written sit in the two copy buffers.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Transfer::Running(CopyBuffer::new());
    let mut b_to_a = Transfer::Running(CopyBuffer::new());
    poll_fn(|cx| {
        // Poll both before returning, so that each registers its wake-ups.
        let a_to_b = a_to_b.poll(cx, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let b_to_a = b_to_a.poll(cx, Pin::new(&mut *b), Pin::new(&mut *a))?;
        let a_to_b = ready!(a_to_b);
        let b_to_a = ready!(b_to_a);
        Poll::Ready(Ok((a_to_b, b_to_a)))
    })
    .await
}

/// How far one direction is.
#[derive(Debug)]
enum Transfer {
    /// Copying.
    Running(CopyBuffer),
    /// The source ended after this many bytes; the writer is being shut down.
    ShuttingDown(u64),
    /// Finished after this many bytes.
    Done(u64),
}

impl Transfer {
    /// Moves this direction forward as far as it goes without waiting.
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            match self {
                Transfer::Running(buf) => {
                    let copied = ready!(buf.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                    *self = Transfer::ShuttingDown(copied);
                }
                Transfer::ShuttingDown(copied) => {
                    ready!(writer.as_mut().poll_shutdown(cx))?;
                    *self = Transfer::Done(*copied);
                }
                Transfer::Done(copied) => return Poll::Ready(Ok(*copied)),
            }
        }
    }
}
