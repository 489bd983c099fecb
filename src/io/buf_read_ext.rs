//! `AsyncBufReadExt`: reading up to a delimiter (`read_until`, `read_line`, `lines`, `split`).
//!
//! All of them run one loop, [`poll_read_until`]: look into the reader's buffer, take the bytes
//! up to and including the delimiter if it is there, or all of them and look again:
//!
//! ```text
//!  poll_fill_buf ─► "ab"        no '\n': take "ab", consume(2), look again
//!  poll_fill_buf ─► "c\nde"     '\n' at 1: take "c\n", consume(2), done: "abc\n" ("de" stays buffered)
//!  poll_fill_buf ─► ""          end of stream: done with whatever was taken
//! ```
//!
//! Where the taken bytes go decides cancel-safety. `read_until` appends them to the caller's `Vec`
//! at once: nothing is lost if it is dropped (call it again to finish the line). `read_line` must
//! check them for UTF-8 before they may enter the caller's `String`, so it holds them itself until
//! the line is complete — and drops them with itself. [`Lines`] and [`Split`] hold them in the
//! stream object instead, which outlives each call: their `next_*` methods are cancel-safe.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::lines::{Lines, Split};
use super::{AsyncBufRead, invalid_utf8};

/// Reads up to a delimiter, for every [`AsyncBufRead`] (a [`BufReader`](super::BufReader), a
/// byte slice): `use evloop::io::AsyncBufReadExt;`.
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads until `delimiter` (included) or the end of the stream, appending to `buf`; returns
    /// how many bytes were appended (`0`: the stream had ended).
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes are appended to `buf` as they are found, so a dropped `read_until`
    /// leaves them there; calling it again continues the same segment.
    fn read_until<'a>(&'a mut self, delimiter: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            delimiter,
            buf,
            read: 0,
        }
    }

    /// Reads a line: until `\n` (included) or the end of the stream, appending it to `buf`;
    /// returns how many bytes were appended (`0`: the stream had ended). `InvalidData` if the line
    /// is not UTF-8; `buf` is then unchanged. The `\n` (or `\r\n`) stays; [`lines`] removes it.
    ///
    /// [`lines`]: AsyncBufReadExt::lines
    ///
    /// # Cancel safety
    /// Not cancel-safe: the part of the line read so far is held by the future (it must be
    /// checked for UTF-8 first) and is lost with it; `buf` keeps its earlier contents. Use
    /// [`Lines::next_line`] in a race or under a timeout.
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        ReadLine {
            reader: self,
            line: buf,
            bytes: Vec::new(),
            read: 0,
        }
    }

    /// The lines of this reader, one [`Lines::next_line`] at a time, without their `\n` or
    /// `\r\n`. A last line without a newline is still a line.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(self)
    }

    /// The segments of this reader between `delimiter` bytes, one [`Split::next_segment`] at a
    /// time, without the delimiter.
    fn split(self, delimiter: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split::new(self, delimiter)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// The future of [`AsyncBufReadExt::read_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadUntil<'a, R: ?Sized> {
    /// The buffered stream read from.
    reader: &'a mut R,
    /// The byte that ends a segment.
    delimiter: u8,
    /// The caller's buffer, appended to.
    buf: &'a mut Vec<u8>,
    /// Bytes appended by earlier polls.
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let reader = Pin::new(&mut *me.reader);
        poll_read_until(reader, cx, me.delimiter, me.buf, &mut me.read)
    }
}

/// The future of [`AsyncBufReadExt::read_line`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadLine<'a, R: ?Sized> {
    /// The buffered stream read from.
    reader: &'a mut R,
    /// The caller's string, appended to once the line is complete and checked.
    line: &'a mut String,
    /// The line so far, not yet checked for UTF-8.
    bytes: Vec<u8>,
    /// Bytes taken by earlier polls.
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let reader = Pin::new(&mut *me.reader);
        let result = ready!(poll_read_until(
            reader,
            cx,
            b'\n',
            &mut me.bytes,
            &mut me.read
        ));
        // As tokio: after an I/O error, the part read so far is still appended if it is UTF-8.
        let text = std::str::from_utf8(&me.bytes);
        if let Ok(text) = text {
            me.line.push_str(text);
        }
        match (result, text.is_ok()) {
            (Err(e), _) => Poll::Ready(Err(e)),
            (Ok(_), false) => Poll::Ready(Err(invalid_utf8())),
            (Ok(n), true) => Poll::Ready(Ok(n)),
        }
    }
}

/// Takes bytes from `reader` into `buf` up to and including `delimiter`, or to the end of the
/// stream. `read` counts the bytes taken across `Pending`s; on `Ready(Ok(n))` it is reset and `n`
/// is the total.
pub(super) fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delimiter: u8,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (found, used) = {
            let available = ready!(reader.as_mut().poll_fill_buf(cx))?;
            let (found, used) = match available.iter().position(|&b| b == delimiter) {
                Some(i) => (true, i + 1),
                None => (false, available.len()),
            };
            buf.extend_from_slice(&available[..used]);
            (found, used)
        };
        reader.as_mut().consume(used);
        *read += used;
        // Found the delimiter, or nothing more to look at: the end of the stream.
        if found || used == 0 {
            return Poll::Ready(Ok(std::mem::take(read)));
        }
    }
}
