//! `AsyncReadExt`: the reads you `.await` (`read`, `read_exact`, `read_to_end`, `read_u32`, ...).
//!
//! Every [`AsyncRead`] gets these methods for free (a blanket impl). Each returns a small future
//! that holds a `&mut` to the reader plus the state that must survive a `Pending`, and calls
//! `poll_read` until it has what it wants:
//!
//! ```text
//!  Read        { reader, buf }                  one poll_read, then Ready(n)       cancel-safe
//!  ReadExact   { reader, buf, filled }          poll_read until filled == len      not cancel-safe
//!  ReadToEnd   { reader, buf }                  poll_read until 0 bytes (EOF)      (see read_to_end.rs)
//!  ReadNum     { reader, bytes, filled }        read_exact of 1..16 bytes, decoded (see read_num.rs)
//! ```
//!
//! The methods ask `Self: Unpin` so that each attempt can pin a plain `&mut self`
//! (`Pin::new(&mut *reader)`); see the module docs of [`io`](super).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::read_num::ReadNum;
use super::read_to_end::{ReadToEnd, ReadToString};
use super::{AsyncRead, ReadBuf};

/// Writes the numeric read methods: each returns a [`ReadNum`] of `$size` bytes that `$decode`
/// turns into the number.
macro_rules! read_num_methods {
    ($($(#[$doc:meta])* $name:ident -> $ty:ty = $size:literal, $decode:path;)*) => {
        $(
            $(#[$doc])*
            fn $name(&mut self) -> ReadNum<'_, Self, $size, $ty>
            where
                Self: Unpin,
            {
                ReadNum::new(self, $decode)
            }
        )*
    };
}

/// Reads as futures, for every [`AsyncRead`]: `use evloop::io::AsyncReadExt;` and
/// `stream.read(&mut buf).await`.
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; returns how many. `Ok(0)` means the end of the stream (or an
    /// empty `buf`). Waits while there are none.
    ///
    /// Like `async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>`.
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes move into `buf` only in the poll that returns `Ready`, so a dropped
    /// `read` has read nothing.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first. Returns
    /// `buf.len()`.
    ///
    /// # Cancel safety
    /// Not cancel-safe: if dropped midway, some bytes are already in `buf` and consumed from the
    /// stream, but how many was known only to the dropped future.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            filled: 0,
        }
    }

    /// Reads until the end of the stream, appending to `buf`; returns how many bytes were
    /// appended.
    ///
    /// # Cancel safety
    /// No byte is lost if dropped: each one is appended to `buf` as soon as it is read (tokio
    /// gives the same guarantee in practice). The count, though, is lost with the future.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        ReadToEnd::new(self, buf)
    }

    /// Reads until the end of the stream, appending to `buf` if all of it is UTF-8
    /// (`InvalidData` and `buf` unchanged otherwise); returns how many bytes were appended.
    ///
    /// # Cancel safety
    /// Not cancel-safe: the bytes are checked for UTF-8 at the end, so until then they are held
    /// by the future and are lost with it (`buf` keeps its earlier contents).
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString::new(self, buf)
    }

    read_num_methods! {
        /// Reads one byte.
        ///
        /// # Cancel safety
        /// Cancel-safe: one byte is read in a single poll, or not at all.
        read_u8 -> u8 = 1, u8::from_be_bytes;
        /// Reads one byte as a signed number. Cancel-safe, like [`read_u8`](AsyncReadExt::read_u8).
        read_i8 -> i8 = 1, i8::from_be_bytes;
    }

    read_num_methods! {
        /// Reads a big-endian (network order) `u16`.
        ///
        /// # Cancel safety
        /// Not cancel-safe, nor are the other multi-byte reads: if dropped after the first byte,
        /// the bytes read so far are lost.
        read_u16 -> u16 = 2, u16::from_be_bytes;
        /// Reads a big-endian `i16`. Not cancel-safe.
        read_i16 -> i16 = 2, i16::from_be_bytes;
        /// Reads a big-endian `u32`. Not cancel-safe.
        read_u32 -> u32 = 4, u32::from_be_bytes;
        /// Reads a big-endian `i32`. Not cancel-safe.
        read_i32 -> i32 = 4, i32::from_be_bytes;
        /// Reads a big-endian `u64`. Not cancel-safe.
        read_u64 -> u64 = 8, u64::from_be_bytes;
        /// Reads a big-endian `i64`. Not cancel-safe.
        read_i64 -> i64 = 8, i64::from_be_bytes;
        /// Reads a big-endian `u128`. Not cancel-safe.
        read_u128 -> u128 = 16, u128::from_be_bytes;
        /// Reads a big-endian `i128`. Not cancel-safe.
        read_i128 -> i128 = 16, i128::from_be_bytes;
        /// Reads a big-endian IEEE 754 `f32`. Not cancel-safe.
        read_f32 -> f32 = 4, f32::from_be_bytes;
        /// Reads a big-endian IEEE 754 `f64`. Not cancel-safe.
        read_f64 -> f64 = 8, f64::from_be_bytes;
        /// Reads a little-endian `u16`. Not cancel-safe.
        read_u16_le -> u16 = 2, u16::from_le_bytes;
        /// Reads a little-endian `i16`. Not cancel-safe.
        read_i16_le -> i16 = 2, i16::from_le_bytes;
        /// Reads a little-endian `u32`. Not cancel-safe.
        read_u32_le -> u32 = 4, u32::from_le_bytes;
        /// Reads a little-endian `i32`. Not cancel-safe.
        read_i32_le -> i32 = 4, i32::from_le_bytes;
        /// Reads a little-endian `u64`. Not cancel-safe.
        read_u64_le -> u64 = 8, u64::from_le_bytes;
        /// Reads a little-endian `i64`. Not cancel-safe.
        read_i64_le -> i64 = 8, i64::from_le_bytes;
        /// Reads a little-endian `u128`. Not cancel-safe.
        read_u128_le -> u128 = 16, u128::from_le_bytes;
        /// Reads a little-endian `i128`. Not cancel-safe.
        read_i128_le -> i128 = 16, i128::from_le_bytes;
        /// Reads a little-endian IEEE 754 `f32`. Not cancel-safe.
        read_f32_le -> f32 = 4, f32::from_le_bytes;
        /// Reads a little-endian IEEE 754 `f64`. Not cancel-safe.
        read_f64_le -> f64 = 8, f64::from_le_bytes;
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    /// The stream read from.
    reader: &'a mut R,
    /// The caller's buffer.
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let mut buf = ReadBuf::new(me.buf);
        ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

/// The future of [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    /// The stream read from.
    reader: &'a mut R,
    /// The caller's buffer, to fill completely.
    buf: &'a mut [u8],
    /// How many bytes at the front of `buf` earlier polls have filled.
    filled: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        while me.filled < me.buf.len() {
            let mut rest = ReadBuf::new(&mut me.buf[me.filled..]);
            ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut rest))?;
            match rest.filled().len() {
                0 => return Poll::Ready(Err(super::unexpected_eof())),
                n => me.filled += n,
            }
        }
        Poll::Ready(Ok(me.buf.len()))
    }
}
