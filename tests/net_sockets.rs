//! Whole-runtime tests of the rest of `evloop::net`'s tokio surface: addresses (`ToSocketAddrs`,
//! `lookup_host`, names resolved on the worker and literals without it), `TcpSocket`, and Unix
//! domain sockets. Real sockets on 127.0.0.1 (port 0) and in the temporary directory.
//!
//! Issue 16: "tokio programs run by renaming".

mod echo_harness;
mod util;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use echo_harness::within;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixListener, UnixStream};
use evloop::spawn;

/// Jobs the worker has taken so far, wherever they ran (a pool thread, or inline).
fn worker_jobs(rt: &evloop::Runtime) -> u64 {
    let stats = rt.worker_stats();
    stats.offloaded + stats.inline.total()
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn literal_addresses_never_go_to_the_worker() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        TcpStream::connect(addr).await.expect("SocketAddr");
        TcpStream::connect(addr.to_string()).await.expect("String");
        TcpStream::connect(("127.0.0.1", addr.port()))
            .await
            .expect("(&str, u16)");
        TcpStream::connect((Ipv4Addr::LOCALHOST, addr.port()))
            .await
            .expect("(Ipv4Addr, u16)");
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind (Ipv4Addr, u16)");
    });
    assert_eq!(worker_jobs(&rt), 0, "no literal needed a thread hop");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn host_names_are_resolved_on_the_worker() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let listener = TcpListener::bind("localhost:0")
            .await
            .expect("bind by name");
        let port = listener.local_addr().expect("addr").port();
        let accepted = spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
        let stream = TcpStream::connect(("localhost", port))
            .await
            .expect("connect by name");
        let peer = accepted.await.expect("task").expect("accept");
        assert_eq!(stream.local_addr().expect("addr"), peer);
        let found: Vec<SocketAddr> = evloop::net::lookup_host(format!("localhost:{port}"))
            .await
            .expect("lookup_host")
            .collect();
        assert!(
            found
                .iter()
                .all(|a| a.port() == port && a.ip().is_loopback()),
            "{found:?}"
        );
        assert!(!found.is_empty());
    });
    assert_eq!(
        worker_jobs(&rt),
        3,
        "bind, connect and lookup_host each resolved once"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_name_that_does_not_resolve_is_an_error_not_a_panic() {
    let rt = util::runtime();
    // `.invalid` is reserved (RFC 2606): no resolver may answer it.
    let err = within(&rt, 20, TcpStream::connect("no-such-host.invalid:80"))
        .expect_err("nothing to connect to");
    assert_ne!(
        err.kind(),
        io::ErrorKind::Other,
        "the resolver's own error: {err}"
    );
    let bad = within(&rt, 20, TcpListener::bind("127.0.0.1")).expect_err("no port");
    assert_eq!(bad.kind(), io::ErrorKind::InvalidInput, "{bad}");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn udp_binds_connects_and_sends_to_names() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("localhost:0").await.expect("bind by name");
        let b_port = b.local_addr().expect("addr").port();
        a.send_to(b"by name", ("localhost", b_port))
            .await
            .expect("send_to a name");
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.expect("recv_from");
        assert_eq!(
            (&buf[..n], from),
            (&b"by name"[..], a.local_addr().expect("addr"))
        );
        b.connect(from).await.expect("connect");
        b.send(b"back").await.expect("send");
        let (n, _) = a.recv_from(&mut buf).await.expect("recv_from");
        assert_eq!(&buf[..n], b"back");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn tcp_socket_listens_and_connects_with_its_options() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let socket = TcpSocket::new_v4().expect("socket");
        assert!(!socket.reuseaddr().expect("getsockopt"), "off by default");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        assert!(socket.reuseaddr().expect("getsockopt"));
        socket
            .bind("127.0.0.1:0".parse().expect("literal"))
            .expect("bind");
        let addr = socket.local_addr().expect("local_addr");
        assert_ne!(addr.port(), 0, "the kernel picked a port");
        let listener = socket.listen(16).expect("listen");
        assert_eq!(listener.local_addr().expect("addr"), addr);

        let client = TcpSocket::new_v4().expect("socket");
        client.set_nodelay(true).expect("TCP_NODELAY");
        let accepted = spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
        let stream = client.connect(addr).await.expect("connect");
        assert!(
            stream.nodelay().expect("nodelay"),
            "the option went with the socket"
        );
        let peer = accepted.await.expect("task").expect("accept");
        assert_eq!(stream.local_addr().expect("addr"), peer);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn reuseport_lets_two_listeners_share_a_port() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let first = TcpSocket::new_v4().expect("socket");
        first.set_reuseport(true).expect("SO_REUSEPORT");
        assert!(first.reuseport().expect("getsockopt"));
        first
            .bind("127.0.0.1:0".parse().expect("literal"))
            .expect("bind");
        let addr = first.local_addr().expect("addr");
        let _first = first.listen(16).expect("listen");

        let second = TcpSocket::new_v4().expect("socket");
        second.set_reuseport(true).expect("SO_REUSEPORT");
        second.bind(addr).expect("the same port, shared");
        let _second = second.listen(16).expect("listen");

        // Without the option the port is taken, as for any listener.
        let third = TcpSocket::new_v4().expect("socket");
        let err = third.bind(addr).expect_err("not shared with this one");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn tcp_socket_connect_to_a_closed_port_is_refused() {
    let rt = util::runtime();
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    let socket = TcpSocket::new_v4().expect("socket");
    let err = within(&rt, 20, socket.connect(addr)).expect_err("nobody listens");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

/// A fresh path in the temporary directory for one test's socket, removed on drop.
struct SocketPath(PathBuf);

impl SocketPath {
    /// `evloop-<pid>-<name>.sock`, with any stale file from an earlier run removed.
    fn new(name: &str) -> SocketPath {
        let path = std::env::temp_dir().join(format!("evloop-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads until the peer closes its side; returns everything read.
async fn receive_all(stream: &mut UnixStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).await.expect("read");
    all
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn unix_listener_and_stream_carry_bytes_both_ways() {
    let rt = util::runtime();
    let path = SocketPath::new("round-trip");
    within(&rt, 20, async {
        let listener = UnixListener::bind(&path.0).expect("bind");
        assert_eq!(
            listener.local_addr().expect("addr").as_pathname(),
            Some(path.0.as_path())
        );
        let server = spawn(async move {
            let (mut stream, _peer) = listener.accept().await.expect("accept");
            let request = receive_all(&mut stream).await;
            stream.write_all(&request.repeat(2)).await.expect("write");
        });
        let mut client = UnixStream::connect(&path.0).await.expect("connect");
        assert_eq!(
            client.peer_addr().expect("peer").as_pathname(),
            Some(path.0.as_path())
        );
        client.write_all(b"twice ").await.expect("write");
        client
            .shutdown_now(std::net::Shutdown::Write)
            .expect("half-close");
        assert_eq!(receive_all(&mut client).await, b"twice twice ");
        server.await.expect("server task");
    });
    assert_eq!(rt.io_sources(), 0, "every socket left the reactor");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn unix_pair_and_the_errors_of_paths() {
    let rt = util::runtime();
    let path = SocketPath::new("errors");
    within(&rt, 20, async {
        let (mut a, mut b) = UnixStream::pair().expect("socketpair");
        a.write_all(b"over the pair").await.expect("write");
        drop(a);
        assert_eq!(receive_all(&mut b).await, b"over the pair");

        // io::split gives a stream two halves, as into_split does for TCP.
        let (a, mut c) = UnixStream::pair().expect("socketpair");
        let (mut a_reads, mut a_writes) = evloop::io::split(a);
        let (wrote, echoed) = evloop::join!(a_writes.write_all(b"ping"), async {
            let mut got = [0u8; 4];
            c.read_exact(&mut got).await.expect("read");
            c.write_all(&got).await.expect("echo");
            got
        });
        wrote.expect("write");
        let mut back = [0u8; 4];
        a_reads.read_exact(&mut back).await.expect("read");
        assert_eq!((&echoed, &back), (b"ping", b"ping"));

        let err = UnixStream::connect(&path.0)
            .await
            .expect_err("no such file");
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let _listener = UnixListener::bind(&path.0).expect("bind");
        let err = UnixListener::bind(&path.0).expect_err("the file exists");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}
