//! A `TcpStream`'s addresses, options and descriptor: calls that never wait, kept apart from the
//! stream's reads and writes (`tcp_stream.rs`).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::TcpStream;

impl TcpStream {
    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.evented().source().peer_addr()
    }

    /// The local address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.evented().source().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`) or on: with it off, small writes go out at once instead
    /// of waiting for the previous segment's acknowledgement — what request/response protocols
    /// want.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.evented().source().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.evented().source().nodelay()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.evented().source().take_error()
    }
}

/// The socket's descriptor, for options `net` does not wrap (e.g. `libc::setsockopt`). Do not
/// read, write or close it behind the runtime's back.
impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.evented().source().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.evented().source().as_fd()
    }
}
