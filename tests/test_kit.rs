//! The test kit (`evloop::test`) as a user meets it: a protocol tested with a mock stream on
//! paused time, the mock's clear failures, and its reads that wait for the writes before them.
//!
//! The protocol here is a toy with the shape of a real server's connection loop: answer each
//! `PING\n` with `PONG\n`, and close a connection that stays silent for 30 s (a keep-alive
//! timeout). Written once against the `io` traits (`AsyncRead + AsyncWrite`), it runs on a real
//! `TcpStream` in production and on a `Mock` in tests.

mod util;

use std::cell::RefCell;
use std::io;
use std::time::Duration;

use evloop::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::test::mock::Builder;
use evloop::test::run_paused;
use evloop::time::{Instant, timeout};

/// The keep-alive timeout of the toy protocol.
const IDLE: Duration = Duration::from_secs(30);

/// How a connection ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The peer closed it.
    Closed,
    /// It stayed silent for `IDLE`.
    Idle,
}

/// The protocol: `PING\n` → `PONG\n`, until the peer closes or stays silent for `IDLE`.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> io::Result<End> {
    let mut line = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        let n = match timeout(IDLE, stream.read(&mut buf)).await {
            Err(_) => return Ok(End::Idle),
            Ok(read) => read?,
        };
        if n == 0 {
            return Ok(End::Closed);
        }
        line.extend_from_slice(&buf[..n]);
        while let Some(end) = line.iter().position(|b| *b == b'\n') {
            let request: Vec<u8> = line.drain(..=end).collect();
            let reply: &[u8] = if request == b"PING\n" {
                b"PONG\n"
            } else {
                b"ERR\n"
            };
            stream.write_all(reply).await?;
        }
    }
}

#[test]
fn a_silent_peer_is_dropped_after_exactly_the_keep_alive_timeout() {
    let (end, elapsed) = util::paused(|| async {
        let mut stream = Builder::new()
            .read(b"PING\n")
            .write(b"PONG\n")
            .wait(Duration::from_secs(29)) // silent, but not for long enough
            .read(b"PI")
            .read(b"NG\nPING\n") // requests split and joined anyhow
            .write(b"PONG\nPONG\n")
            .wait(Duration::from_secs(3600)) // silent for good
            .build();
        let start = Instant::now();
        let end = serve(&mut stream).await.expect("no I/O error");
        (end, start.elapsed())
    });
    assert_eq!(end, End::Idle);
    assert_eq!(
        elapsed,
        Duration::from_secs(29 + 30),
        "29 s of talk, then 30 s of silence"
    );
}

#[test]
fn a_peer_that_closes_ends_the_connection_and_errors_come_through() {
    run_paused(async {
        let mut polite = Builder::new().read(b"PING\n").write(b"PONG\n").build();
        assert_eq!(serve(&mut polite).await.expect("no error"), End::Closed);
        assert!(polite.is_done());

        let mut broken = Builder::new()
            .read(b"PING\n")
            .write_error(io::ErrorKind::BrokenPipe.into())
            .build();
        let err = serve(&mut broken).await.expect_err("the write fails");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

        let mut reset = Builder::new()
            .read_error(io::ErrorKind::ConnectionReset.into())
            .build();
        let err = serve(&mut reset).await.expect_err("the read fails");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    });
}

#[test]
fn reads_and_writes_may_be_cut_differently_from_the_script() {
    run_paused(async {
        let mut stream = Builder::new()
            .read(b"hello world")
            .write(b"one ")
            .write(b"two")
            .build();
        let mut small = [0u8; 4];
        let mut got = Vec::new();
        while got.len() < 11 {
            let n = stream.read(&mut small).await.expect("read");
            got.extend_from_slice(&small[..n]);
        }
        assert_eq!(got, b"hello world");
        stream
            .write_all(b"one two")
            .await
            .expect("covers both writes");
        let mut rest = [0u8; 1];
        assert_eq!(stream.read(&mut rest).await.expect("eof"), 0);
        let err = stream.read_exact(&mut rest).await.expect_err("eof");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
#[should_panic(
    expected = "mock stream: wrong bytes written\n  expected: b\"HTTP/1.1 200 OK\\r\\n\"\n   written: b\"HTTP/1.1 404 Not Found\\r\\n\""
)]
fn a_wrong_write_fails_with_both_sides_shown() {
    run_paused(async {
        let mut stream = Builder::new()
            .read(b"GET / HTTP/1.1\r\n\r\n")
            .write(b"HTTP/1.1 200 OK\r\n")
            .build();
        let mut buf = [0u8; 64];
        stream.read(&mut buf).await.expect("read");
        let _ = stream.write(b"HTTP/1.1 404 Not Found\r\n").await;
    });
}

#[test]
#[should_panic(
    expected = "mock stream: unexpected write of b\"hi\": the script expects a read of b\"GET"
)]
fn writing_where_the_script_expects_a_read_fails() {
    run_paused(async {
        let mut stream = Builder::new().read(b"GET /").build();
        let _ = stream.write(b"hi").await;
    });
}

#[test]
#[should_panic(expected = "mock stream: unexpected write of b\"late\": the script has ended")]
fn writing_after_the_script_fails() {
    run_paused(async {
        let mut stream = Builder::new().build();
        let _ = stream.write(b"late").await;
    });
}

/// A read where the script expects a write waits for that write, as a socket's peer answers only
/// once it has heard us: what a server needs that keeps reading while it answers (to notice a
/// client that leaves), or a stream split between a reader and a writer.
#[test]
fn a_read_waits_for_the_scripted_write_before_it() {
    let log = util::paused(|| async {
        let stream = Builder::new()
            .read(b"PING\n")
            .write(b"PONG\n")
            .read(b"BYE\n")
            .build();
        let (mut reader, mut writer) = evloop::io::split(stream);
        let mut buf = [0u8; 8];
        let n = reader.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"PING\n");
        let log = RefCell::new(Vec::new());
        evloop::join!(
            async {
                // Polled first, before the write: it waits, and the write step wakes it.
                let n = reader.read(&mut buf).await.expect("read");
                let got = String::from_utf8_lossy(&buf[..n]).into_owned();
                log.borrow_mut().push(format!("read {got:?}"));
            },
            async {
                writer.write_all(b"PONG\n").await.expect("write");
                log.borrow_mut().push("wrote \"PONG\\n\"".to_string());
            },
        );
        assert!(reader.unsplit(writer).is_done());
        log.into_inner()
    });
    assert_eq!(log, ["wrote \"PONG\\n\"", "read \"BYE\\n\""]);
}

/// The price of waiting: a read whose write never comes waits forever, so a test bounds itself.
/// Under paused time its own timeout is the next timer, and the loop jumps straight to it.
#[test]
fn a_read_whose_write_never_comes_ends_at_the_tests_own_timeout() {
    let waited = util::paused(|| async {
        let mut stream = Builder::new().write(b"PONG\n").build();
        let start = Instant::now();
        let mut buf = [0u8; 8];
        let read = timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(read.is_err(), "the read waits for the write");
        let waited = start.elapsed();
        stream
            .write_all(b"PONG\n")
            .await
            .expect("the script goes on");
        assert!(stream.is_done());
        waited
    });
    assert_eq!(waited, Duration::from_secs(5));
}

#[test]
#[should_panic(
    expected = "mock stream dropped with its script unfinished; left: a write of b\"PONG\\n\""
)]
fn a_script_left_unfinished_fails() {
    run_paused(async {
        let mut stream = Builder::new().read(b"PING\n").write(b"PONG\n").build();
        let mut buf = [0u8; 8];
        let _ = stream.read(&mut buf).await;
        drop(stream);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn the_same_protocol_runs_on_a_real_socket() {
    use evloop::net::TcpListener;

    let rt = util::runtime();
    let end = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = evloop::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            serve(&mut conn).await
        });
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.write_all(b"PING\n").await.expect("write");
        let mut pong = [0u8; 5];
        client.read_exact(&mut pong).await.expect("read");
        assert_eq!(&pong, b"PONG\n");
        drop(client);
        timeout(Duration::from_secs(10), server)
            .await
            .expect("the server ends within 10 s")
            .expect("no panic")
            .expect("no I/O error")
    });
    assert_eq!(end, End::Closed);
}
