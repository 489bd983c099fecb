//! `copy`: move every byte from a reader to a writer, through one buffer.
//!
//! The heart is [`CopyBuffer::poll_copy`], shared with `copy_bidirectional`. One poll does as
//! much as it can: read into the buffer when it is empty, write it out until it is empty, repeat,
//! and stop on the first `Pending` (from either side) or at the end:
//!
//! ```text
//!          ┌──── buffer empty? ── poll_read ── Pending ─► flush the writer if it has news, Pending
//!          │            │ n bytes (0: end of stream)
//!          │     poll_write buf[pos..cap] ── Pending ─► Pending (the writer will wake us)
//!          └────────────┘ all written
//!  end of stream and all written ─► poll_flush ─► Ready(total)
//! ```
//!
//! Flushing when the *reader* stalls matters for buffered writers: if the peer only answers after
//! seeing our bytes, and they sit in a `BufWriter`, both sides would wait for each other.
//!
//! The buffer is 8 KiB on the heap (as tokio's): a copy is often held in a spawned task, whose
//! future should stay small.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, AsyncWrite, ReadBuf};

/// The size of a copy's buffer.
const COPY_BUF_SIZE: usize = 8 * 1024;

/// Copies everything `reader` gives until the end of its stream into `writer`, then flushes
/// `writer`; returns the number of bytes copied. Does not shut `writer` down.
///
/// # Cancel safety
/// Not cancel-safe: bytes read but not yet written sit in the copy's buffer and are lost with it.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = CopyBuffer::new();
    std::future::poll_fn(|cx| buf.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer)))
        .await
}

/// One direction of a copy: the buffer and how far along it is.
#[derive(Debug)]
pub(super) struct CopyBuffer {
    /// Bytes read and not written yet are `buf[pos..cap]`.
    buf: Box<[u8]>,
    /// Where the bytes not written yet start.
    pos: usize,
    /// Where the bytes read end.
    cap: usize,
    /// The reader has reported the end of its stream.
    read_done: bool,
    /// Something was written since the last flush.
    need_flush: bool,
    /// Bytes written so far.
    copied: u64,
}

impl CopyBuffer {
    /// An empty copy.
    pub(super) fn new() -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; COPY_BUF_SIZE].into_boxed_slice(),
            pos: 0,
            cap: 0,
            read_done: false,
            need_flush: false,
            copied: 0,
        }
    }

    /// Copies until `Pending` (of either side) or until the reader ended and everything was
    /// written and flushed: then `Ready(Ok(bytes copied))`.
    pub(super) fn poll_copy<R, W>(
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
            // 1. The buffer is empty: read into it. Nothing to read now: push out what a
            //    buffered writer holds (see above), and wait for the reader.
            let empty = self.pos == self.cap && !self.read_done;
            if empty && self.poll_fill(cx, reader.as_mut())?.is_pending() {
                if self.need_flush {
                    ready!(writer.as_mut().poll_flush(cx))?;
                    self.need_flush = false;
                }
                return Poll::Pending;
            }
            // 2. Write the buffer out.
            while self.pos < self.cap {
                let n = ready!(
                    writer
                        .as_mut()
                        .poll_write(cx, &self.buf[self.pos..self.cap])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(super::write_zero()));
                }
                self.pos += n;
                self.copied += n as u64;
                self.need_flush = true;
            }
            // 3. The reader is done and everything went out: flush, and that is the copy.
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                return Poll::Ready(Ok(self.copied));
            }
        }
    }

    /// One read into the (empty) buffer; notes the end of the stream.
    fn poll_fill<R: AsyncRead + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = ReadBuf::new(&mut self.buf);
        ready!(reader.poll_read(cx, &mut chunk))?;
        let n = chunk.filled().len();
        (self.pos, self.cap) = (0, n);
        self.read_done = n == 0;
        Poll::Ready(Ok(()))
    }
}
