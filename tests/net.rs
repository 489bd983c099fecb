//! Whole-runtime tests of `evloop::net`: real sockets on 127.0.0.1, port 0.
//!
//! Every test is bounded by `echo_harness::within` (a timeout that panics) and ignored under Miri,
//! which has no sockets.

mod echo_harness;
mod util;

use std::io;
use std::net::Shutdown;

use echo_harness::{Server, round_trips, within};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::spawn;

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn connect_echo_and_addresses() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let server = Server::start().await;
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        assert_eq!(stream.peer_addr().expect("peer_addr"), server.addr);
        assert!(stream.local_addr().expect("local_addr").ip().is_loopback());
        stream.set_nodelay(true).expect("set_nodelay");
        assert!(stream.nodelay().expect("nodelay"));
        stream.write_all(b"ping").await.expect("write");
        let mut echo = [0u8; 4];
        stream.read_exact(&mut echo).await.expect("read");
        assert_eq!(&echo, b"ping");
        assert!(stream.take_error().expect("SO_ERROR").is_none());
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn connecting_to_a_closed_port_returns_connection_refused() {
    let rt = util::runtime();
    // A port that was free a moment ago and has no listener now.
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    let err = within(&rt, 20, TcpStream::connect(addr)).expect_err("nobody listens there");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn binding_a_busy_address_returns_addr_in_use() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let first = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = first.local_addr().expect("addr");
        let err = TcpListener::bind(addr)
            .await
            .expect_err("the port is taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn end_of_stream_right_after_data_is_not_lost() {
    // The data and the FIN reach the client before it reads: one event with both. The first read
    // is short, which clears "readable"; the end of stream must survive that clear (reactor.rs).
    let rt = util::runtime();
    within(&rt, 20, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.write_all(b"last words").await.expect("write");
        }); // the stream drops: FIN
        let mut client = TcpStream::connect(addr).await.expect("connect");
        server.await.expect("server task");
        let mut buf = [0u8; 64];
        assert_eq!(client.read(&mut buf).await.expect("read"), 10);
        assert_eq!(&buf[..10], b"last words");
        assert_eq!(client.read(&mut buf).await.expect("read at EOF"), 0);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn read_exact_reports_a_stream_that_ends_early() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.write_all(b"abc").await.expect("write");
            stream.shutdown_now(Shutdown::Write).expect("shutdown");
            // Keep the stream open until the client is done, so it sees a FIN, not a reset.
            let _ = stream.read(&mut [0u8; 1]).await;
        });
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let mut buf = [0u8; 8];
        let err = client.read_exact(&mut buf).await.expect_err("only 3 bytes");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn std_sockets_can_be_taken_over() {
    let rt = util::runtime();
    within(&rt, 20, async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = std_listener.local_addr().expect("addr");
        let listener = TcpListener::from_std(std_listener).expect("register listener");
        // A blocking connect to a local listener returns once the kernel queued the handshake.
        let std_client = std::net::TcpStream::connect(addr).expect("connect");
        let mut client = TcpStream::from_std(std_client).expect("register client");
        let (mut accepted, peer) = listener.accept().await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("addr"));
        client.write_all(b"hi").await.expect("write");
        let mut buf = [0u8; 2];
        accepted.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"hi");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn io_sources_return_to_the_listener_alone_after_clients_leave() {
    let rt = util::runtime();
    within(&rt, 30, async {
        let server = Server::start().await;
        assert_eq!(rt.io_sources(), 1, "the listener");
        let mut clients = Vec::new();
        for _ in 0..10 {
            let mut client = TcpStream::connect(server.addr).await.expect("connect");
            client.write_all(b"x").await.expect("write");
            client.read_exact(&mut [0u8; 1]).await.expect("echo");
            clients.push(client);
        }
        server.accepted.reach(10).await;
        assert_eq!(
            rt.io_sources(),
            1 + 10 + 10,
            "listener, 10 clients, 10 server sides"
        );
        drop(clients);
        server.ended.reach(10).await;
        assert_eq!(rt.io_sources(), 1, "only the listener is left");
        assert_eq!(evloop::stats().io_sources, 1);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets, 400 descriptors
fn two_hundred_clients_each_echo_a_thousand_messages() {
    const CLIENTS: u64 = 200;
    const MESSAGES: u64 = 1000;
    let rt = util::runtime();
    within(&rt, 120, async {
        let server = Server::start().await;
        // Sizes from 1 byte to a bit over the server's buffer, so some echoes take two reads.
        let size = |client: u64| 1 + (client as usize * 37) % (echo_harness::BUF + 100);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| spawn(round_trips(server.addr, c, MESSAGES, size(c))))
            .collect();
        for (c, client) in clients.into_iter().enumerate() {
            let done = client.await.expect("client task").expect("client I/O");
            assert_eq!(done, MESSAGES, "client {c}");
        }
        server.ended.reach(CLIENTS as usize).await;
        let conns = server.conns.borrow();
        let echoed: u64 = conns
            .iter()
            .map(|conn| match &*conn.outcome.borrow() {
                Some(Ok(bytes)) => *bytes,
                other => panic!("a server connection ended badly: {other:?}"),
            })
            .sum();
        let sent: u64 = (0..CLIENTS).map(|c| size(c) as u64 * MESSAGES).sum();
        assert_eq!(echoed, sent);
    });
    assert_eq!(rt.io_sources(), 1, "only the listener is left");
}
