//! `UdpSocket`: datagrams, sent and received with `async fn`s.
//!
//! UDP has no connection and no stream: each `send_to` is one datagram, each `recv_from` returns
//! one (cut to the buffer's length if it is longer — size the buffer for the largest datagram you
//! expect). A datagram shorter than the buffer says nothing about whether another one is queued,
//! so, unlike TCP reads, readiness is cleared only by `WouldBlock`.
//!
//! The methods take `&self`, so an `Rc<UdpSocket>` can be shared by tasks that receive and tasks
//! that send. Several tasks may receive at the same time: the reactor keeps every waiter of a
//! direction and wakes them all when a datagram arrives; one gets it, the others find
//! `WouldBlock` and wait for the next.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use mio::Interest;

use super::ToSocketAddrs;
use super::poll_evented::PollEvented;
use crate::reactor::Direction;

/// A UDP socket registered with the current runtime.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let socket = evloop::net::UdpSocket::bind("127.0.0.1:0").await?;
/// let mut buf = [0u8; 1500];
/// let (n, from) = socket.recv_from(&mut buf).await?;
/// socket.send_to(&buf[..n], from).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The mio socket and its reactor slot.
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first address that works). Port 0 picks a free port. `async` as in
    /// tokio: a host name is resolved on the worker ([`ToSocketAddrs`]).
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let socket = super::each_addr(addr, mio::net::UdpSocket::bind).await?;
        UdpSocket::from_mio(socket)
    }

    /// Takes over a `std::net::UdpSocket`: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    /// Registers a mio socket for both directions.
    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        let io = PollEvented::new(socket, Interest::READABLE | Interest::WRITABLE)?;
        Ok(UdpSocket { io })
    }

    /// Sends one datagram to `target` (its first address, when a name resolves to several);
    /// returns the bytes sent (all of `buf`, or an error such as `EMSGSIZE` for a datagram too
    /// large). Waits while the send buffer is full. Cancel-safe once the address is known.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = super::addr::resolve(target)
            .await?
            .into_iter()
            .next()
            .ok_or_else(super::no_addresses)?;
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Receives one datagram into `buf`, with its sender. Waits until one arrives. Cancel-safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// The poll form of [`send_to`](UdpSocket::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// The poll form of [`recv_from`](UdpSocket::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Sets the default peer (the first address that works): `send` goes there, and only its
    /// datagrams are received. UDP has no handshake; the wait is only for a name's resolution.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        super::each_addr(addr, |addr| self.io.source().connect(addr)).await
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// The local address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The connected peer's address (`NotConnected` if `connect` was not called).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. an ICMP "port unreachable" reported
    /// after sending to a connected peer.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.source().take_error()
    }
}

/// The socket's descriptor, for options `net` does not wrap (e.g. `libc::setsockopt`). Do not
/// read, write or close it behind the runtime's back.
impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.source().as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.source().as_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use super::UdpSocket;
    use crate::task::yield_now;
    use crate::time::timeout;
    use crate::{Runtime, spawn};

    /// Runs `test` on a fresh runtime with a generous deadline.
    fn run<F: Future>(test: F) -> F::Output {
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            timeout(Duration::from_secs(30), test)
                .await
                .expect("finishes in time")
        })
    }

    #[test]
    #[cfg_attr(miri, ignore)] // real sockets
    fn a_datagram_goes_there_and_back() {
        run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind a");
            let b = Rc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind b"));
            let (a_addr, b_addr) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
            // b waits for a datagram before one is sent, then answers it.
            let b2 = b.clone();
            let answer = spawn(async move {
                let mut buf = [0u8; 64];
                let (n, from) = b2.recv_from(&mut buf).await.expect("recv_from");
                b2.send_to(&buf[..n], from).await.expect("send_to");
                from
            });
            yield_now().await;
            assert_eq!(a.send_to(b"ping", b_addr).await.expect("send_to"), 4);
            let mut buf = [0u8; 64];
            let (n, from) = a.recv_from(&mut buf).await.expect("recv_from");
            assert_eq!((&buf[..n], from), (&b"ping"[..], b_addr));
            assert_eq!(answer.await.expect("task"), a_addr);
        });
    }

    #[test]
    #[cfg_attr(miri, ignore)] // real sockets
    fn connected_sockets_send_and_recv() {
        run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            a.connect(b.local_addr().expect("addr"))
                .await
                .expect("connect");
            b.connect(a.local_addr().expect("addr"))
                .await
                .expect("connect");
            assert_eq!(a.peer_addr().expect("peer"), b.local_addr().expect("addr"));
            for i in 0..100u8 {
                a.send(&[i; 3]).await.expect("send");
                let mut buf = [0u8; 8];
                assert_eq!(b.recv(&mut buf).await.expect("recv"), 3);
                assert_eq!(buf[..3], [i; 3]);
            }
        });
    }

    #[test]
    #[cfg_attr(miri, ignore)] // real sockets
    fn an_unconnected_send_to_nowhere_is_the_os_error() {
        run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            // Port 0 is not a valid destination: the kernel refuses it.
            let err = a
                .send_to(b"x", "127.0.0.1:0")
                .await
                .expect_err("cannot send to port 0");
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        });
    }
}
