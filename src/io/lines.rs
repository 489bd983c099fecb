//! `Lines` and `Split`: a buffered reader cut into lines (or segments), one `.await` each.
//!
//! ```text
//!  let mut lines = BufReader::new(stream).lines();
//!  while let Some(line) = lines.next_line().await? { ... }      "GET /\r\n" -> "GET /"
//! ```
//!
//! The part of a line read so far is kept in the `Lines` itself, not in the future of one
//! `next_line` call. So a `next_line` dropped by a timeout loses nothing: the next call finds the
//! partial line where it was left and carries on. That is what makes `next_line` cancel-safe
//! where `read_line` is not (see `buf_read_ext.rs`).
//!
//! Line endings follow `std::io::BufRead::lines`: a line ends at `\n`, and a `\r` just before it is
//! removed too; a last line without `\n` is returned as it is; an empty stream has no lines.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::AsyncBufRead;
use super::buf_read_ext::poll_read_until;

/// The lines of a buffered reader, from [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines).
#[derive(Debug)]
#[must_use = "a Lines does nothing unless you call `next_line`"]
pub struct Lines<R> {
    /// The buffered stream read from.
    reader: R,
    /// The line so far (kept across cancelled calls).
    bytes: Vec<u8>,
    /// Bytes taken for the current line so far.
    read: usize,
}

impl<R> Lines<R> {
    /// Cuts `reader` into lines (see [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines)).
    pub(super) fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            bytes: Vec::new(),
            read: 0,
        }
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably; reading from it directly skips lines.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Gives the reader back; a partial line read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// The next line without its `\n` or `\r\n`; `Ok(None)` at the end of the stream.
    /// `InvalidData` if the line is not UTF-8 (the line is skipped).
    ///
    /// # Cancel safety
    /// Cancel-safe: the partial line is kept in `self`, and the next call continues it.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// The poll form of [`next_line`](Lines::next_line), for hand-written futures.
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let me = self.get_mut();
        let reader = Pin::new(&mut me.reader);
        ready!(poll_read_until(
            reader,
            cx,
            b'\n',
            &mut me.bytes,
            &mut me.read
        ))?;
        if me.bytes.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut line = std::mem::take(&mut me.bytes);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        let line = String::from_utf8(line).map_err(|_| super::invalid_utf8())?;
        Poll::Ready(Ok(Some(line)))
    }
}

/// The segments of a buffered reader between delimiter bytes, from
/// [`AsyncBufReadExt::split`](super::AsyncBufReadExt::split).
#[derive(Debug)]
#[must_use = "a Split does nothing unless you call `next_segment`"]
pub struct Split<R> {
    /// The buffered stream read from.
    reader: R,
    /// The byte between segments.
    delimiter: u8,
    /// The segment so far (kept across cancelled calls).
    bytes: Vec<u8>,
    /// Bytes taken for the current segment so far.
    read: usize,
}

impl<R> Split<R> {
    /// Cuts `reader` at every `delimiter`.
    pub(super) fn new(reader: R, delimiter: u8) -> Split<R> {
        Split {
            reader,
            delimiter,
            bytes: Vec::new(),
            read: 0,
        }
    }

    /// Gives the reader back; a partial segment read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Split<R> {
    /// The next segment without its delimiter; `Ok(None)` at the end of the stream.
    ///
    /// # Cancel safety
    /// Cancel-safe: the partial segment is kept in `self`.
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// The poll form of [`next_segment`](Split::next_segment).
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let me = self.get_mut();
        let reader = Pin::new(&mut me.reader);
        ready!(poll_read_until(
            reader,
            cx,
            me.delimiter,
            &mut me.bytes,
            &mut me.read
        ))?;
        if me.bytes.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut segment = std::mem::take(&mut me.bytes);
        if segment.last() == Some(&me.delimiter) {
            segment.pop();
        }
        Poll::Ready(Ok(Some(segment)))
    }
}
