//! `split`: a read half and a write half of *any* stream, to give to two tasks.
//!
//! A task reading a stream and another writing it both need `&mut` to it, which Rust allows one
//! at a time. `split` puts the stream in an `Rc<RefCell<_>>` and gives each half a handle; a half
//! borrows the stream only for the length of one `poll_*` call:
//!
//! ```text
//!  ReadHalf ──┐                      reader task: poll_read  → borrow_mut, one attempt, release
//!             ├─► Rc<RefCell<T>>
//!  WriteHalf ─┘                      writer task: poll_write → borrow_mut, one attempt, release
//! ```
//!
//! The borrow never fails: the runtime polls one task at a time on one thread, a `poll_*` call
//! runs to its end without yielding, and a stream's `poll_*` never calls into a half. (A waker
//! woken inside only queues its task; it does not poll it there and then.)
//!
//! tokio's `split` shares the stream through an `Arc` and a lock instead, because its halves may
//! move to other threads. Here nothing is `Send`, so a reference count without atomics and a
//! `RefCell` are enough. For a [`TcpStream`](crate::net::TcpStream), prefer its own
//! `into_split`: its halves share the socket without any `RefCell`, since a socket may be read and
//! written through `&` at the same time.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite, ReadBuf};

/// Splits `stream` into a half that reads and a half that writes, sharing it.
///
/// The stream is dropped when both halves are; [`ReadHalf::unsplit`] puts it back together.
pub fn split<T: AsyncRead + AsyncWrite + Unpin>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let stream = Rc::new(RefCell::new(stream));
    let read = ReadHalf {
        stream: Rc::clone(&stream),
    };
    (read, WriteHalf { stream })
}

/// The reading half of a stream, from [`split`].
#[derive(Debug)]
pub struct ReadHalf<T> {
    /// The stream, shared with the write half.
    stream: Rc<RefCell<T>>,
}

/// The writing half of a stream, from [`split`].
#[derive(Debug)]
pub struct WriteHalf<T> {
    /// The stream, shared with the read half.
    stream: Rc<RefCell<T>>,
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half split off the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Rc::ptr_eq(&self.stream, &other.stream)
    }

    /// Puts the two halves back together into the stream.
    ///
    /// # Panics
    /// If `other` is not this half's partner.
    pub fn unsplit(self, other: WriteHalf<T>) -> T {
        assert!(self.is_pair_of(&other), "unsplit of halves of two streams");
        drop(other);
        let stream = Rc::try_unwrap(self.stream)
            .ok()
            .expect("with the write half dropped, this half holds the only reference");
        stream.into_inner()
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the read half split off the same stream.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        other.is_pair_of(self)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.borrow().is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_shutdown(cx)
    }
}
