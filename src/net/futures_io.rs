//! The `futures-io` feature: `futures_io::{AsyncRead, AsyncWrite}` for `TcpStream` and its halves.
//!
//! The Rust ecosystem has two families of byte-stream traits: tokio's (which `evloop::io` copies)
//! and the `futures` crate's, which many runtime-agnostic libraries are written against. They
//! differ in small ways, and each impl here is the translation, over the `evloop::io` impl:
//!
//! | `futures_io` | `evloop::io` |
//! | --- | --- |
//! | `poll_read(&mut [u8]) -> usize` | `poll_read(&mut ReadBuf)`, count = `filled().len()` |
//! | `poll_write`, `poll_write_vectored`, `poll_flush` | the same |
//! | `poll_close` | `poll_shutdown` (a FIN) |
//!
//! So both families behave the same: one system call per attempt, readiness cleared the same way.
//! Rust's orphan rule forbids one blanket impl "every `evloop::io::AsyncRead` is a `futures_io`
//! one" (both the trait and the type parameter would be foreign), hence one impl per socket type.
//!
//! Built only with `--features futures-io`; the default dependencies stay mio, slab, libc, log.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `futures_io::AsyncRead` over the type's `evloop::io::AsyncRead`.
macro_rules! impl_futures_read {
    ($($ty:ty),*) => {$(
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let mut buf = ReadBuf::new(buf);
                ready!(AsyncRead::poll_read(self, cx, &mut buf))?;
                Poll::Ready(Ok(buf.filled().len()))
            }
        }
    )*};
}

/// `futures_io::AsyncWrite` over the type's `evloop::io::AsyncWrite`.
macro_rules! impl_futures_write {
    ($($ty:ty),*) => {$(
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }
        }
    )*};
}

impl_futures_read!(TcpStream, ReadHalf<'_>, OwnedReadHalf);
impl_futures_write!(TcpStream, WriteHalf<'_>, OwnedWriteHalf);
