//! `examples/echo_server/main.rs` shuts down gracefully on Ctrl-C: this test runs the built example,
//! sends it SIGINT while one client is idle and another has a message in flight, and checks the
//! four steps of its module docs — no new connections, the idle one closed, the message in flight
//! echoed before its connection closes, the final stats printed and exit status 0 — and that the
//! grace period bounds the wait. The process harness is `tests/example_process/mod.rs`.
#![cfg(unix)]

mod example_process;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use example_process::{ExampleProcess, connect, read_to_close};

/// Starts the echo server with debug logging (its `echoing N bytes` line marks a message in
/// flight).
fn start(args: &[&str]) -> ExampleProcess {
    ExampleProcess::start("echo_server", args, "echo_server=debug")
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn ctrl_c_finishes_the_messages_in_flight_then_prints_the_stats_and_exits_0() {
    let mut server = start(&["--work-ms", "300", "--worker", "threads"]);
    // An idle client: one echo, then silence.
    let mut idle = connect(server.addr);
    idle.write_all(b"hello").expect("write");
    let mut echo = [0u8; 5];
    idle.read_exact(&mut echo).expect("echo");
    assert_eq!(&echo, b"hello");
    // A busy client: its message is being transformed (300 ms) when Ctrl-C comes.
    let mut busy = connect(server.addr);
    busy.write_all(b"in flight").expect("write");
    let busy_addr = busy.local_addr().expect("addr");
    server.stderr_line(&format!("{busy_addr}: echoing 9 bytes"));
    server.interrupt();

    let line = server.stdout_line("shutting down:");
    assert!(line.contains("2 connection(s) open"), "{line}");
    let refused = TcpStream::connect(server.addr).expect_err("1. no longer accepting");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(
        read_to_close(&mut idle),
        b"",
        "2. the idle connection closed"
    );
    assert_eq!(
        read_to_close(&mut busy),
        b"in flight",
        "2. the message in flight was echoed, then the connection closed"
    );

    let exit = server.wait();
    let (status, stdout) = (exit.status, &exit.stdout);
    assert!(status.success(), "4. exit status 0: {status:?}\n{stdout}");
    assert!(
        !stdout.contains("grace period over"),
        "3. no abort:\n{stdout}"
    );
    assert!(stdout.contains("final stats:"), "4. stats:\n{stdout}");
    assert!(
        stdout.contains("evloop runtime stats"),
        "4. stats:\n{stdout}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn the_grace_period_bounds_the_wait_for_a_stuck_message() {
    // A transform of 30 s, a grace period of 0.3 s.
    let server = start(&[
        "--work-ms",
        "30000",
        "--grace",
        "0.3",
        "--worker",
        "threads",
    ]);
    let mut stuck = connect(server.addr);
    stuck.write_all(b"stuck").expect("write");
    let stuck_addr = stuck.local_addr().expect("addr");
    server.stderr_line(&format!("{stuck_addr}: echoing 5 bytes"));
    let interrupted = Instant::now();
    server.interrupt();

    assert_eq!(read_to_close(&mut stuck), b"", "cut without an echo");
    let exit = server.wait();
    let (status, stdout) = (exit.status, &exit.stdout);
    assert!(status.success(), "exit status 0: {status:?}\n{stdout}");
    assert!(
        interrupted.elapsed() < Duration::from_secs(20),
        "the server did not wait for the 30 s transform: {:?}",
        interrupted.elapsed()
    );
    assert!(
        stdout.contains("grace period over: aborting 1 connection(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("final stats:"), "{stdout}");
}
