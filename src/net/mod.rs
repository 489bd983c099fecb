//! Networking: TCP, UDP and Unix sockets whose operations are futures.
//!
//! The files: `poll_evented.rs` (a socket plus its reactor slot), `addr.rs` (`ToSocketAddrs`:
//! which addresses need the resolver), `tcp_listener.rs` with `accept_backoff.rs`,
//! `tcp_stream.rs` with `split.rs`, `tcp_socket.rs` (options before `bind`), `udp.rs`, and
//! `unix/` (Unix domain streams).
//!
//! Every socket here is a `mio` socket (non-blocking, registered once with the reactor for both
//! directions, edge-triggered) plus its reactor slot. An operation is one attempt at the
//! non-blocking system call, and a wait for the reactor when the kernel says "not now":
//!
//! ```text
//!  stream.read(&mut buf).await
//!    └─ PollEvented::poll_read ─► slot says readable? ──no──► store the waker, Pending
//!                                       │ yes                        ▲
//!                                  read(2) ──WouldBlock──► clear ────┘
//!                                       │ n bytes (n < buf.len(): buffer drained, clear too)
//!                                  Ready(Ok(n))
//! ```
//!
//! The protocol itself (when readiness may be cleared, why no wake is lost) lives in
//! `reactor/`; `PollEvented` (`poll_evented.rs`) is the one place in `net` that speaks it, and
//! each socket type is a thin layer over it: `async fn`s (`connect`, `accept`, `recv_from`, ...),
//! and for TCP streams the [`io`](crate::io) traits `AsyncRead` and `AsyncWrite`, whose extension
//! methods (`use evloop::io::{AsyncReadExt, AsyncWriteExt}`) give `read`, `write_all`, ...
//!
//! ## Rules a user can rely on
//!
//! - **Errors are the operating system's**, passed through unchanged (`ConnectionRefused`,
//!   `ConnectionReset`, `AddrInUse`, ...). Nothing in `net` panics on a socket error.
//! - **Any number of waiters per direction.** The reactor keeps the wakers of every task waiting to
//!   read and of every task waiting to write, and an event wakes all of that side's; so one task
//!   may read while another writes ([`TcpStream::into_split`]), and two tasks may both await
//!   `readable()` on a shared `Rc<TcpStream>`, or both receive on a shared [`UdpSocket`]: each is
//!   woken, one gets the data, the other finds `WouldBlock` and waits again. (`TcpStream::read`
//!   takes `&mut self`, so two concurrent `read`s on one stream need a split or a shared
//!   reference to the `&self` methods: `readable` + `try_read`.)
//! - **Cancellation.** Dropping a `read`, `write`, `accept`, `recv_from` or `send_to` future before
//!   it completes loses nothing: the operation either happened (and the future returned) or did
//!   not. `read_exact` and `write_all` are loops; dropped midway, the bytes already moved are gone.
//! - **Sockets belong to the runtime that created them**; use them only inside it. An operation
//!   that would wait on a socket of another runtime (or outside any) panics and says so, instead
//!   of waiting forever on a reactor that nobody polls. Dropping a socket deregisters it and frees
//!   its slot: `Runtime::io_sources()` counts open sockets.
//! - **Addresses.** `bind` and `connect` are `async` and take our [`ToSocketAddrs`] (tokio's
//!   trait): an IP literal (`"127.0.0.1:0"`, `(Ipv4Addr, u16)`) is parsed on the spot, without a
//!   system call; a host name (`"localhost:80"`) is resolved on the blocking worker, so the loop
//!   keeps serving while DNS answers (`addr.rs`).
//! - **A busy socket yields.** Each operation that completes spends one unit of the task's
//!   cooperative budget (`executor/coop.rs`, 128 per poll, as in tokio): a task reading a socket
//!   that always has data gives the loop back every 128 operations instead of never.
//!
//! What tokio does that we do not: waiter lists that a dropped future leaves at once (ours are
//! cleared by the next event).

mod accept_backoff;
mod addr;
#[cfg(feature = "futures-io")]
mod futures_io;
mod poll_evented;
mod split;
mod tcp_listener;
mod tcp_options;
mod tcp_socket;
mod tcp_stream;
mod try_io;
mod udp;
#[cfg(unix)]
pub mod unix;
mod wrong_runtime;

use std::io;
use std::net::SocketAddr;

pub use addr::{ToSocketAddrs, lookup_host};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
pub use tcp_listener::TcpListener;
pub use tcp_socket::TcpSocket;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

/// The halves of a split [`TcpStream`], also at the path tokio gives them (`tokio::net::tcp`), so
/// that code naming `tcp::OwnedReadHalf` moves over by the rename.
pub mod tcp {
    pub use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
}

/// Resolves `addr` (`addr.rs`), then tries `op` on each address in order, like `std::net`: the
/// first success wins, otherwise the last error is returned.
async fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut op: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_err = None;
    for addr in addr::resolve(addr).await? {
        match op(addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(no_addresses))
}

/// The error for a name that resolved to nothing (std uses the same kind).
fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}
