//! `examples/llm_server` shuts down gracefully on Ctrl-C (`service.rs`, "Graceful shutdown"): this
//! test runs the built example, sends it SIGINT while one keep-alive client is idle and another
//! waits for a generation, and checks that new connects are refused, the idle connection closes,
//! the generation is answered (with `Connection: close`) before its connection closes, and the
//! server prints its final stats and exits with status 0; then that the grace period bounds the
//! wait for a generation that takes too long. The process harness is
//! `tests/example_process/mod.rs`.
#![cfg(unix)]

mod example_process;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use example_process::{ExampleProcess, connect, read_to_close};

/// Starts the service with debug logging (its `POST /generate (N body bytes)` line says a request
/// was read: it is in flight).
fn start(args: &[&str]) -> ExampleProcess {
    ExampleProcess::start("llm_server", args, "llm_server=debug")
}

/// One HTTP response: its head (status line and headers) and body.
struct Response {
    /// The status line and headers, as text.
    head: String,
    /// The body (`Content-Length` bytes).
    body: Vec<u8>,
}

/// Reads one response from `stream`: the head up to the blank line, then `Content-Length` bytes.
fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read the head");
        assert_eq!(n, 1, "the connection closed before a response: {bytes:?}");
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).expect("ASCII head");
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("a number"))
        })
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the body");
    Response { head, body }
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn ctrl_c_answers_the_requests_in_flight_then_prints_the_stats_and_exits_0() {
    let mut server = start(&["--work-ms", "300", "--worker", "threads"]);
    // A keep-alive client, idle after one answer.
    let mut idle = connect(server.addr);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write");
    let health = read_response(&mut idle);
    assert!(health.head.starts_with("HTTP/1.1 200"), "{}", health.head);
    // A client whose generation (300 ms) is running when Ctrl-C comes.
    let mut busy = connect(server.addr);
    busy.write_all(b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
        .expect("write");
    server.stderr_line("POST /generate (5 body bytes)");
    server.interrupt();

    let line = server.stdout_line("shutting down:");
    assert!(line.contains("2 connection(s) open"), "{line}");
    let refused = TcpStream::connect(server.addr).expect_err("no longer accepting");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(read_to_close(&mut idle), b"", "the idle connection closed");
    drop(idle); // the server's lingering close waits for the client to close too
    let answer = read_response(&mut busy);
    assert!(answer.head.starts_with("HTTP/1.1 200"), "{}", answer.head);
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "the last answer says the connection closes:\n{}",
        answer.head
    );
    assert!(!answer.body.is_empty(), "the generation's text");
    assert_eq!(read_to_close(&mut busy), b"", "then it closed");
    drop(busy);

    let exit = server.wait();
    let (status, stdout) = (exit.status, &exit.stdout);
    assert!(status.success(), "exit status 0: {status:?}\n{stdout}");
    assert!(stdout.contains("final stats:"), "{stdout}");
    assert!(stdout.contains("evloop runtime stats"), "{stdout}");
    assert!(
        stdout.contains("connections: 0 open, 2 accepted"),
        "{stdout}"
    );
    assert!(
        !exit.stderr.contains("aborting"),
        "every connection finished within the grace period:\n{}",
        exit.stderr
    );
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn the_grace_period_bounds_the_wait_for_a_long_generation() {
    let server = start(&[
        "--work-ms",
        "30000",
        "--grace",
        "0.3",
        "--worker",
        "threads",
    ]);
    let mut busy = connect(server.addr);
    busy.write_all(b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
        .expect("write");
    server.stderr_line("POST /generate (5 body bytes)");
    let interrupted = Instant::now();
    server.interrupt();

    assert_eq!(read_to_close(&mut busy), b"", "cut without an answer");
    let exit = server.wait();
    let (status, stdout) = (exit.status, &exit.stdout);
    assert!(status.success(), "exit status 0: {status:?}\n{stdout}");
    assert!(
        interrupted.elapsed() < Duration::from_secs(20),
        "the server did not wait for the 30 s generation: {:?}",
        interrupted.elapsed()
    );
    assert!(stdout.contains("final stats:"), "{stdout}");
    assert!(
        exit.stderr
            .contains("1 connection(s) still busy after 300 ms, aborting them"),
        "{}",
        exit.stderr
    );
}
