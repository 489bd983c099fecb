//! `TcpSocket`: a TCP socket configured *before* it becomes a listener or a connection.
//!
//! Some options only matter before `bind` or `listen`: `SO_REUSEADDR` (bind a port that still has
//! connections in `TIME_WAIT`), `SO_REUSEPORT` (several listeners on one port, the kernel spreads
//! the connections), the listen backlog. `TcpListener::bind` picks sensible values for all three;
//! `TcpSocket` lets the caller choose, with tokio's names and steps:
//!
//! ```text
//!  TcpSocket::new_v4() ─► set_reuseaddr / set_reuseport ─► bind(addr) ─┬─► listen(backlog) ─► TcpListener
//!                                                                       └─► connect(addr).await ─► TcpStream
//! ```
//!
//! The socket is created non-blocking with `socket(2)` (mio has no such type since 0.8), and every
//! call goes through `sys.rs`. It joins the reactor only at `listen` or `connect`, when it becomes
//! a `TcpListener` or a `TcpStream`: before that there is nothing to wait for.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{TcpListener, TcpStream};
use crate::sys;

/// A TCP socket that is not yet listening or connected (tokio's `TcpSocket`).
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let socket = evloop::net::TcpSocket::new_v4()?;
/// socket.set_reuseport(true)?; // a second process may listen on the same port
/// socket.bind("127.0.0.1:8080".parse().unwrap())?;
/// let listener = socket.listen(1024)?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    /// The socket; closed on drop unless it became a listener or a stream.
    fd: OwnedFd,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// A new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    /// A new socket of `domain`, non-blocking and close-on-exec.
    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::stream_socket(domain)?,
        })
    }

    /// Allows binding an address that still has connections in `TIME_WAIT` (a restarted
    /// server), `SO_REUSEADDR`. `TcpListener::bind` turns it on; a new `TcpSocket` has it off.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        sys::set_socket_flag(
            self.fd.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            reuseaddr,
        )
    }

    /// Whether `SO_REUSEADDR` is on.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        sys::socket_flag(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR)
    }

    /// Allows several sockets, each with this option on, to bind the same address and port
    /// (`SO_REUSEPORT`): the kernel spreads incoming connections among their listeners — how one
    /// runs one single-threaded loop per core on one port.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        sys::set_socket_flag(
            self.fd.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            reuseport,
        )
    }

    /// Whether `SO_REUSEPORT` is on.
    pub fn reuseport(&self) -> io::Result<bool> {
        sys::socket_flag(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// Turns Nagle's algorithm off (`true`) or on, for the connection this socket will make.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        sys::set_socket_flag(
            self.fd.as_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            nodelay,
        )
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::socket_flag(self.fd.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// Gives the socket its local address. Port 0 picks a free port (see
    /// [`local_addr`](TcpSocket::local_addr)). Binding never waits, so this is not `async`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(self.fd.as_fd(), &addr)
    }

    /// The local address: after `bind`, with the real port when bound to port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.fd.as_fd())
    }

    /// Starts listening with room for `backlog` connections waiting for `accept` (the kernel caps
    /// it at `net.core.somaxconn`), and registers the listener with the current runtime.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
        sys::listen(self.fd.as_fd(), backlog)?;
        let listener = std::net::TcpListener::from(self.fd);
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Connects to `addr` and waits for the handshake, as `TcpStream::connect` does for one
    /// address.
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match sys::connect(self.fd.as_fd(), &addr) {
            Ok(()) => {}
            // The usual answer of a non-blocking connect: the handshake goes on; wait below.
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = std::net::TcpStream::from(self.fd);
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))?
            .connected(addr)
            .await
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
