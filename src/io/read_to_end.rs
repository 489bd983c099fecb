//! `read_to_end` and `read_to_string`: read until the stream ends, growing a buffer.
//!
//! The loop: make room at the end of the `Vec`, read into that room, keep what was read, repeat
//! until a read returns nothing (the end of the stream):
//!
//! ```text
//!  vec: [ data ..... | zeroed chunk ]  ─ poll_read ─►  [ data ..... | n new | ]  truncate to data + n
//! ```
//!
//! The room must be initialized memory (our `ReadBuf` takes nothing else), so each chunk is zeroed
//! before the read: one `memset` of at most [`CHUNK`] bytes per read. tokio reads straight into
//! the `Vec`'s spare capacity and skips it, with `unsafe` to track which bytes are initialized.
//! Capping the chunk keeps the zeroing proportional to what is read even when `buf` has reserved
//! far more than will arrive.
//!
//! `read_to_string` reads into its own `Vec` and appends to the `String` only at the end, after
//! checking the bytes are UTF-8: a `String` may never hold anything else, even for a moment.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, ReadBuf};

/// The most bytes zeroed and offered to one `poll_read`.
const CHUNK: usize = 32 * 1024;

/// How much a full `Vec` grows by at least (it doubles in practice: `Vec::reserve`).
const MIN_GROWTH: usize = 32;

/// The future of [`AsyncReadExt::read_to_end`](super::AsyncReadExt::read_to_end).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    /// The stream read from.
    reader: &'a mut R,
    /// The caller's buffer, appended to.
    buf: &'a mut Vec<u8>,
    /// `buf.len()` when the call started, to count what was appended.
    start_len: usize,
}

impl<'a, R: ?Sized> ReadToEnd<'a, R> {
    /// Starts reading `reader` to its end into `buf`.
    pub(super) fn new(reader: &'a mut R, buf: &'a mut Vec<u8>) -> Self {
        let start_len = buf.len();
        ReadToEnd {
            reader,
            buf,
            start_len,
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(poll_read_to_end(Pin::new(&mut *me.reader), cx, me.buf))?;
        Poll::Ready(Ok(me.buf.len() - me.start_len))
    }
}

/// The future of [`AsyncReadExt::read_to_string`](super::AsyncReadExt::read_to_string).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToString<'a, R: ?Sized> {
    /// The stream read from.
    reader: &'a mut R,
    /// The caller's string, appended to at the end.
    buf: &'a mut String,
    /// The bytes read so far, not yet checked for UTF-8.
    bytes: Vec<u8>,
}

impl<'a, R: ?Sized> ReadToString<'a, R> {
    /// Starts reading `reader` to its end into `buf`.
    pub(super) fn new(reader: &'a mut R, buf: &'a mut String) -> Self {
        ReadToString {
            reader,
            buf,
            bytes: Vec::new(),
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(poll_read_to_end(
            Pin::new(&mut *me.reader),
            cx,
            &mut me.bytes
        ))?;
        let text = std::str::from_utf8(&me.bytes).map_err(|_| super::invalid_utf8())?;
        me.buf.push_str(text);
        Poll::Ready(Ok(std::mem::take(&mut me.bytes).len()))
    }
}

/// Reads `reader` into `buf` until the end of the stream; `Ready(Ok(()))` then. What was read
/// before a `Pending` or an error stays in `buf`.
pub(super) fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(MIN_GROWTH);
        }
        // Zero a chunk of the spare capacity: the room this read may fill.
        let len = buf.len();
        let room = (buf.capacity() - len).min(CHUNK);
        buf.resize(len + room, 0);
        let mut chunk = ReadBuf::new(&mut buf[len..]);
        let poll = reader.as_mut().poll_read(cx, &mut chunk);
        let n = chunk.filled().len();
        // Keep only what was read, whatever the outcome.
        buf.truncate(len + n);
        match ready!(poll) {
            Err(e) => return Poll::Ready(Err(e)),
            Ok(()) if n == 0 => return Poll::Ready(Ok(())),
            Ok(()) => continue,
        }
    }
}
