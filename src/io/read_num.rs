//! Numbers on the wire: `read_u32`, `write_u16_le` and friends, as two small generic futures.
//!
//! A binary protocol sends a number as its bytes in an agreed order: *big-endian* (most
//! significant byte first, "network order", what the plain names use) or *little-endian* (the
//! `_le` names). Reading one is a `read_exact` of `N` bytes into a fixed array, then the std
//! conversion (`u32::from_be_bytes`); writing one is the std conversion (`to_le_bytes`), then a
//! `write_all` of the array. So each direction is one future generic over the size `N` and the
//! conversion, instead of tokio's one type per number and order (`ReadU32`, `ReadU32Le`, ...).
//!
//! The bytes live in the future until the number is complete: a multi-byte read or write dropped
//! midway loses (or half-sends) the number. One-byte ones happen in a single poll or not at all.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, AsyncWrite, ReadBuf};

/// The future of the `AsyncReadExt::read_u8` .. `read_f64_le` methods: `N` bytes, then a number.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadNum<'a, R: ?Sized, const N: usize, T> {
    /// The stream read from.
    reader: &'a mut R,
    /// The number's bytes as they arrive.
    bytes: [u8; N],
    /// How many of `bytes` earlier polls have filled.
    filled: usize,
    /// The std conversion for this number and byte order (`u32::from_be_bytes`, ...).
    decode: fn([u8; N]) -> T,
}

impl<'a, R: ?Sized, const N: usize, T> ReadNum<'a, R, N, T> {
    /// Starts reading `N` bytes from `reader`, to be turned into a number by `decode`.
    pub(super) fn new(reader: &'a mut R, decode: fn([u8; N]) -> T) -> Self {
        ReadNum {
            reader,
            bytes: [0; N],
            filled: 0,
            decode,
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized, const N: usize, T> Future for ReadNum<'_, R, N, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let me = self.get_mut();
        while me.filled < N {
            let mut rest = ReadBuf::new(&mut me.bytes[me.filled..]);
            ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut rest))?;
            match rest.filled().len() {
                0 => return Poll::Ready(Err(super::unexpected_eof())),
                n => me.filled += n,
            }
        }
        Poll::Ready(Ok((me.decode)(me.bytes)))
    }
}

/// Shows progress, not the reader.
impl<R: ?Sized, const N: usize, T> fmt::Debug for ReadNum<'_, R, N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadNum")
            .field("size", &N)
            .field("filled", &self.filled)
            .finish()
    }
}

/// The future of the `AsyncWriteExt::write_u8` .. `write_f64_le` methods: a number's `N` bytes.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteNum<'a, W: ?Sized, const N: usize> {
    /// The stream written to.
    writer: &'a mut W,
    /// The number's bytes, already in the wanted order.
    bytes: [u8; N],
    /// How many of `bytes` earlier polls have written.
    written: usize,
}

impl<'a, W: ?Sized, const N: usize> WriteNum<'a, W, N> {
    /// Starts writing `bytes` (a number's, from `to_be_bytes` or `to_le_bytes`) to `writer`.
    pub(super) fn new(writer: &'a mut W, bytes: [u8; N]) -> Self {
        WriteNum {
            writer,
            bytes,
            written: 0,
        }
    }
}

impl<W: AsyncWrite + Unpin + ?Sized, const N: usize> Future for WriteNum<'_, W, N> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        while me.written < N {
            let rest = &me.bytes[me.written..];
            match ready!(Pin::new(&mut *me.writer).poll_write(cx, rest))? {
                0 => return Poll::Ready(Err(super::write_zero())),
                n => me.written += n,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Shows progress, not the writer.
impl<W: ?Sized, const N: usize> fmt::Debug for WriteNum<'_, W, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteNum")
            .field("size", &N)
            .field("written", &self.written)
            .finish()
    }
}
