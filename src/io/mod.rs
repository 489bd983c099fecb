//! Byte streams that may not be ready: the `AsyncRead` / `AsyncWrite` traits and their tools.
//!
//! `std::io::Read` asks "give me some bytes" and blocks until there are some. An async stream must
//! be able to say "not now, I will wake you" instead. This module is that vocabulary, shaped like
//! tokio's `tokio::io` so code moves between the two with a change of `use` lines:
//!
//! | trait or item | what it is |
//! | --- | --- |
//! | [`AsyncRead`], [`ReadBuf`] | "read some bytes into this buffer, or `Pending`" |
//! | [`AsyncWrite`] | "take some bytes / flush / shut down, or `Pending`" |
//! | [`AsyncBufRead`] | a reader with its own buffer you may look into (for lines) |
//! | [`AsyncReadExt`], [`AsyncWriteExt`], [`AsyncBufReadExt`] | `read`, `write_all`, `read_line`, ... as futures |
//! | [`BufReader`], [`BufWriter`] | fewer, larger system calls |
//! | [`copy`](fn@copy), [`copy_bidirectional`](fn@copy_bidirectional) | move bytes from a reader to a writer (a proxy) |
//! | [`split`](fn@split) | a read half and a write half of any stream, for two tasks |
//! | [`empty`](fn@empty), [`sink`](fn@sink), [`repeat`](fn@repeat) | stand-ins for tests |
//!
//! [`TcpStream`](crate::net::TcpStream) and its halves implement the traits on top of the reactor;
//! `&[u8]` reads, `Vec<u8>` writes, and `Box`, `&mut` and `Pin` pass the traits through.
//!
//! ## Poll methods in the traits, futures in the extensions
//!
//! The traits have no `async fn read`; they have `poll_read`, one *attempt*: `Ready` with what
//! happened, or `Pending` after arranging a wake-up (the reactor keeps the waker, see
//! `net/poll_evented.rs`). The friendly `async`-looking methods live in the extension traits and
//! return small named futures that call the poll method until it is `Ready`:
//!
//! ```text
//!  stream.read(&mut buf).await                              AsyncReadExt::read -> Read future
//!    └─ Read::poll ─► Pin::new(&mut stream).poll_read(cx, &mut ReadBuf::new(buf))   AsyncRead
//!                        └─ PollEvented::poll_read ─► read(2), or Pending (waker kept by the reactor)
//! ```
//!
//! Why split it this way instead of one trait of `async fn`s:
//!
//! - **Wrappers need the attempt, not the wait.** [`BufReader`] refills its buffer by calling the
//!   inner `poll_read` from inside *its own* `poll_read`; [`copy`](fn@copy) alternates a read attempt and a
//!   write attempt in one poll. With only `async fn read` they would have to store the inner
//!   future (which borrows the reader, so it cannot sit next to it in a struct) or box it.
//! - **The state lives where you can see it.** A poll method keeps no hidden state between calls:
//!   whatever must survive a `Pending` is a field of a struct (the position in `BufReader`, the
//!   count in `ReadExact`). That is also what decides cancel-safety, below.
//! - **Trait objects.** `Box<dyn AsyncRead + Unpin>` works; a trait whose methods return
//!   `impl Future` cannot be used as `dyn`.
//!
//! ## Why `self: Pin<&mut Self>`
//!
//! A future is a value that may point into itself once polled (an `async` block that borrows one
//! of its locals across an `.await`). Such a value must not move, and `Pin<&mut Self>` is the
//! promise that it will not. Taking `Pin<&mut Self>` lets *those* types be streams too — a TLS
//! stream or a decompressor is often written as a state machine holding a future. For everything
//! else (sockets, buffers, everything in this crate) `Self: Unpin`, and the pin costs nothing:
//! `Pin::new(&mut stream)` wraps a `&mut`, and `Pin::get_mut` unwraps it. That is why the
//! extension methods ask `Self: Unpin`: they pin a plain `&mut self` for each attempt. A `!Unpin`
//! stream is used through `Box::pin(stream)`, which is `Unpin` and implements the traits too.
//!
//! ## Cancel-safety
//!
//! A future is *cancelled* when it is dropped before it completes: a [`timeout`](crate::time::timeout)
//! fired, or a race between two futures was won by the other one. Its `poll` will never run again,
//! so whatever it held is gone. A future is **cancel-safe** when that loses nothing: either its
//! operation happened (and it returned `Ready`) or it had no effect. Each method documents its
//! judgment, the same as tokio's:
//!
//! - `read` is cancel-safe: bytes move only in the poll that returns them.
//! - `read_exact` is not: bytes read by earlier polls sit in your buffer, but how many is a
//!   counter inside the dropped future.
//! - `read_line` is not: the partial line is held by the future; `Lines::next_line` is, because
//!   `Lines` keeps the partial line in itself, which outlives each call.
//!
//! Cancelling a *non*-cancel-safe read leaves the stream in an unknown position: the usual fix is
//! to keep the state outside the future (a `Lines`, a `BufReader`) and call a cancel-safe method.
//!
//! ## What differs from tokio, and why
//!
//! - **[`ReadBuf`] holds initialized memory only.** tokio's can lend uninitialized bytes to a reader
//!   (saving a `memset` when a fresh `Vec` is read into) at the price of `unsafe` in its API. Here
//!   every byte is initialized; `read_to_end` zeroes each chunk once before reading into it.
//! - **Wrappers need `Unpin` inner streams.** [`BufReader<R>`] and [`BufWriter<W>`] implement the
//!   traits when `R: Unpin`; tokio lifts that with pin projection (`pin-project-lite`, unsafe
//!   inside). Wrap a `!Unpin` stream in `Box::pin` first.
//! - **[`split`](fn@split) shares through `Rc<RefCell<_>>`**, not an `Arc` and a lock: the runtime is one
//!   thread, so the halves are not `Send`, and the `RefCell` is never contended (see `split.rs`).
//! - **The futures are named but not exported** (`Read`, `ReadExact`, ...), as in tokio; the numeric
//!   reads and writes share two generic futures instead of one type per number.
//! - **The cooperative budget is spent by sockets, not here.** A `copy` between two fast sockets
//!   yields every 128 socket operations, as tokio's does (`executor/coop.rs`); but the in-memory
//!   streams ([`repeat()`], [`empty()`], [`sink()`]) spend nothing, so a `copy` from `repeat` to `sink`
//!   never yields (tokio charges those too).
//! - **A cancelled `read_line` leaves `buf` as it was** (tokio's may leave it empty); the partial
//!   line is lost in both.
//! - **`stream.shutdown().await` is tokio's** (`AsyncWriteExt`); std's synchronous
//!   `shutdown(how)` is there too, as `TcpStream::shutdown_now(how)`, named apart so that the two
//!   do not clash.
//! - Not here: `AsyncSeek`, `read_buf`/`BufMut` (no `bytes` dependency), `take`, `chain`,
//!   `duplex`, `BufStream`, `copy_buf`, and `fill_buf`/`consume` as extension methods (a future
//!   that returns a borrow of the reader needs `unsafe` in tokio; call `poll_fill_buf` instead).

mod async_buf_read;
mod async_read;
mod async_write;
mod buf_read_ext;
mod buf_reader;
mod buf_writer;
mod copy;
mod copy_bidirectional;
mod empty;
mod lines;
mod read_buf;
mod read_ext;
mod read_num;
mod read_to_end;
mod repeat;
mod sink;
mod split;
mod write_ext;

pub use async_buf_read::AsyncBufRead;
pub use async_read::AsyncRead;
pub use async_write::AsyncWrite;
pub use buf_read_ext::AsyncBufReadExt;
pub use buf_reader::BufReader;
pub use buf_writer::BufWriter;
pub use copy::copy;
pub use copy_bidirectional::copy_bidirectional;
pub use empty::{Empty, empty};
pub use lines::{Lines, Split};
pub use read_buf::ReadBuf;
pub use read_ext::AsyncReadExt;
pub use repeat::{Repeat, repeat};
pub use sink::{Sink, sink};
pub use split::{ReadHalf, WriteHalf, split};
pub use write_ext::AsyncWriteExt;

use std::io;

/// The error of a read that needed more bytes than the stream had (as `std`'s `read_exact`).
fn unexpected_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "stream ended before the buffer was filled",
    )
}

/// The error of a write that accepted nothing (as `std`'s `write_all`).
fn write_zero() -> io::Error {
    io::Error::new(io::ErrorKind::WriteZero, "failed to write the whole buffer")
}

/// The error of `read_line`, `read_to_string` or `Lines` on bytes that are not UTF-8.
fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}
