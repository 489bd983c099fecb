//! `AsyncWriteExt`: the writes you `.await` (`write`, `write_all`, `flush`, `shutdown`, ...).
//!
//! The mirror of `read_ext.rs`: every [`AsyncWrite`] gets these methods, each a small future
//! over a `&mut` to the writer and the state that must survive a `Pending`:
//!
//! ```text
//!  Write          { writer, buf }             one poll_write, then Ready(n)      cancel-safe
//!  WriteVectored  { writer, bufs }            one poll_write_vectored            cancel-safe
//!  WriteAll       { writer, buf (the rest) }  poll_write until buf is empty      not cancel-safe
//!  Flush          { writer }                  poll_flush                         cancel-safe
//!  Shutdown       { writer }                  poll_shutdown                      cancel-safe
//!  WriteNum       { writer, bytes, written }  write_all of a number's bytes      (see read_num.rs)
//! ```
//!
//! Flush and shutdown are cancel-safe in the sense that nothing is lost: the writer keeps what it
//! has not pushed out yet, and the next `flush` (or `shutdown`) carries on.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::AsyncWrite;
use super::read_num::WriteNum;

/// Writes the numeric write methods: each turns the number into its bytes with `$encode` and
/// returns a [`WriteNum`] of them.
macro_rules! write_num_methods {
    ($($(#[$doc:meta])* $name:ident($ty:ty) = $size:literal, $encode:path;)*) => {
        $(
            $(#[$doc])*
            fn $name(&mut self, n: $ty) -> WriteNum<'_, Self, $size>
            where
                Self: Unpin,
            {
                WriteNum::new(self, $encode(n))
            }
        )*
    };
}

/// Writes as futures, for every [`AsyncWrite`]: `use evloop::io::AsyncWriteExt;` and
/// `stream.write_all(b"hello").await`.
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes from the front of `buf`; returns how many were taken (may be fewer than
    /// `buf.len()`). Waits while the writer has no room.
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes are taken only in the poll that returns `Ready`, so a dropped `write`
    /// wrote nothing.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, buf }
    }

    /// Writes some bytes from `bufs`, in order, in one call if the writer can (`writev(2)`);
    /// returns how many were taken.
    ///
    /// # Cancel safety
    /// Cancel-safe, like [`write`](AsyncWriteExt::write).
    fn write_vectored<'a, 'b>(&'a mut self, bufs: &'a [IoSlice<'b>]) -> WriteVectored<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteVectored { writer: self, bufs }
    }

    /// Writes all of `buf`, waiting for room as often as needed; `WriteZero` if the writer stops
    /// taking bytes.
    ///
    /// # Cancel safety
    /// Not cancel-safe: if dropped midway, a front part of `buf` has been written and the rest
    /// has not; a new `write_all(buf)` would send the front part again.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, buf }
    }

    /// Pushes out whatever this writer buffers (a [`BufWriter`](super::BufWriter)'s buffer). A
    /// socket buffers nothing of its own: for it this is immediate.
    ///
    /// # Cancel safety
    /// Cancel-safe: the unflushed bytes stay in the writer; flush again to carry on.
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Flushes, then closes the writing direction: for TCP, the peer reads the end of the stream
    /// after the data already sent, and may still write back (a half-close).
    ///
    /// On a [`TcpStream`](crate::net::TcpStream) (and its write halves) the inherent `shutdown`
    /// method is found first; call this one as `AsyncWriteExt::shutdown(&mut stream).await`.
    ///
    /// # Cancel safety
    /// Cancel-safe, like [`flush`](AsyncWriteExt::flush).
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    write_num_methods! {
        /// Writes one byte.
        ///
        /// # Cancel safety
        /// Cancel-safe: one byte is written in a single poll, or not at all.
        write_u8(u8) = 1, u8::to_be_bytes;
        /// Writes one signed byte. Cancel-safe, like [`write_u8`](AsyncWriteExt::write_u8).
        write_i8(i8) = 1, i8::to_be_bytes;
    }

    write_num_methods! {
        /// Writes a `u16`, big-endian (network order).
        ///
        /// # Cancel safety
        /// Not cancel-safe, nor are the other multi-byte writes: dropped midway, part of the
        /// number has been sent.
        write_u16(u16) = 2, u16::to_be_bytes;
        /// Writes an `i16`, big-endian. Not cancel-safe.
        write_i16(i16) = 2, i16::to_be_bytes;
        /// Writes a `u32`, big-endian. Not cancel-safe.
        write_u32(u32) = 4, u32::to_be_bytes;
        /// Writes an `i32`, big-endian. Not cancel-safe.
        write_i32(i32) = 4, i32::to_be_bytes;
        /// Writes a `u64`, big-endian. Not cancel-safe.
        write_u64(u64) = 8, u64::to_be_bytes;
        /// Writes an `i64`, big-endian. Not cancel-safe.
        write_i64(i64) = 8, i64::to_be_bytes;
        /// Writes a `u128`, big-endian. Not cancel-safe.
        write_u128(u128) = 16, u128::to_be_bytes;
        /// Writes an `i128`, big-endian. Not cancel-safe.
        write_i128(i128) = 16, i128::to_be_bytes;
        /// Writes an IEEE 754 `f32`, big-endian. Not cancel-safe.
        write_f32(f32) = 4, f32::to_be_bytes;
        /// Writes an IEEE 754 `f64`, big-endian. Not cancel-safe.
        write_f64(f64) = 8, f64::to_be_bytes;
        /// Writes a `u16`, little-endian. Not cancel-safe.
        write_u16_le(u16) = 2, u16::to_le_bytes;
        /// Writes an `i16`, little-endian. Not cancel-safe.
        write_i16_le(i16) = 2, i16::to_le_bytes;
        /// Writes a `u32`, little-endian. Not cancel-safe.
        write_u32_le(u32) = 4, u32::to_le_bytes;
        /// Writes an `i32`, little-endian. Not cancel-safe.
        write_i32_le(i32) = 4, i32::to_le_bytes;
        /// Writes a `u64`, little-endian. Not cancel-safe.
        write_u64_le(u64) = 8, u64::to_le_bytes;
        /// Writes an `i64`, little-endian. Not cancel-safe.
        write_i64_le(i64) = 8, i64::to_le_bytes;
        /// Writes a `u128`, little-endian. Not cancel-safe.
        write_u128_le(u128) = 16, u128::to_le_bytes;
        /// Writes an `i128`, little-endian. Not cancel-safe.
        write_i128_le(i128) = 16, i128::to_le_bytes;
        /// Writes an IEEE 754 `f32`, little-endian. Not cancel-safe.
        write_f32_le(f32) = 4, f32::to_le_bytes;
        /// Writes an IEEE 754 `f64`, little-endian. Not cancel-safe.
        write_f64_le(f64) = 8, f64::to_le_bytes;
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// The future of [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, W: ?Sized> {
    /// The stream written to.
    writer: &'a mut W,
    /// The bytes offered.
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write(cx, me.buf)
    }
}

/// The future of [`AsyncWriteExt::write_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteVectored<'a, 'b, W: ?Sized> {
    /// The stream written to.
    writer: &'a mut W,
    /// The buffers offered, in order.
    bufs: &'a [IoSlice<'b>],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteVectored<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write_vectored(cx, me.bufs)
    }
}

/// The future of [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAll<'a, W: ?Sized> {
    /// The stream written to.
    writer: &'a mut W,
    /// What is left to write (earlier polls cut the front off).
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        while !me.buf.is_empty() {
            match ready!(Pin::new(&mut *me.writer).poll_write(cx, me.buf))? {
                0 => return Poll::Ready(Err(super::write_zero())),
                n => me.buf = &me.buf[n..],
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Flush<'a, W: ?Sized> {
    /// The stream flushed.
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
    }
}

/// The future of [`AsyncWriteExt::shutdown`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shutdown<'a, W: ?Sized> {
    /// The stream shut down.
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_shutdown(cx)
    }
}
