//! `examples/echo_server.rs` shuts down gracefully on Ctrl-C: this test runs the built example,
//! sends it SIGINT while one client is idle and another has a message in flight, and checks the
//! four steps of its module docs — no new connections, the idle one closed, the message in flight
//! echoed before its connection closes, the final stats printed and exit status 0 — and that the
//! grace period bounds the wait.
//!
//! Like `tests/course.rs`, it runs the example binary that `cargo build --examples` (or a plain
//! `cargo test`) put in `target/<profile>/examples/`. Nothing waits on a sleep: the test waits for
//! the lines the server prints (`listening on`, the debug line `echoing N bytes`, `shutting down`)
//! and for bytes on its sockets, each with a deadline that fails loudly.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous bound on any one wait: a loaded machine is slow, a hung server is stuck.
const DEADLINE: Duration = Duration::from_secs(60);

/// Where cargo put the example `name` (as `tests/course.rs` finds it).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --examples` first (.ci/run does)",
        path.display()
    );
    path
}

/// The echo server running as a child process, its output read line by line on two threads.
struct EchoServer {
    /// The process (in its own process group).
    child: Child,
    /// Lines of its stdout, as they come.
    stdout: Receiver<String>,
    /// Lines of its stderr (the debug log), as they come.
    stderr: Receiver<String>,
    /// Every stdout line seen so far, for the final report.
    seen: Vec<String>,
    /// Where it listens.
    addr: SocketAddr,
}

impl EchoServer {
    /// Starts `echo_server 127.0.0.1:0 ARGS` with debug logging and waits for its address.
    fn start(args: &[&str]) -> EchoServer {
        let mut child = Command::new(example("echo_server"))
            .arg("127.0.0.1:0")
            .args(args)
            .env("RUST_LOG", "echo_server=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("the example starts");
        let stdout = lines_of(child.stdout.take().expect("piped"));
        let stderr = lines_of(child.stderr.take().expect("piped"));
        let mut server = EchoServer {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
            addr: "0.0.0.0:0".parse().expect("literal"),
        };
        let line = server.stdout_line("listening on ");
        server.addr = line["listening on ".len()..]
            .parse()
            .expect("an address after `listening on`");
        server
    }

    /// Waits for a stdout line starting with `prefix`.
    fn stdout_line(&mut self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self
                .stdout
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no stdout line {prefix:?}; saw {:#?}", self.seen));
            self.seen.push(line.clone());
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn stderr_line(&self, needle: &str) {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no stderr line containing {needle:?}"),
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C in its terminal would.
    fn interrupt(&self) {
        // SAFETY: `kill` takes two integers. The pid is our own unreaped child, so it cannot
        // belong to another process.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0, "kill(SIGINT)");
    }

    /// Waits for the process to exit; returns its status and the rest of its stdout.
    fn wait(mut self) -> (ExitStatus, Vec<String>) {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("status readable") {
                break status;
            }
            assert!(Instant::now() < end, "still running after {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(10)); // polling the exit, not syncing
        };
        // The process is gone: its stdout reader ends at the end of the pipe.
        self.seen.extend(self.stdout.iter());
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: as in `interrupt`: our own unreaped child's process group.
            unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// The lines of `pipe`, sent over a channel by a reader thread.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A client connection with a read deadline.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; returns what came (a reset counts as closed).
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("reading until the server closes: {e}"),
        }
    }
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn ctrl_c_finishes_the_messages_in_flight_then_prints_the_stats_and_exits_0() {
    let mut server = EchoServer::start(&["--work-ms", "300", "--worker", "threads"]);
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

    let (status, stdout) = server.wait();
    let stdout = stdout.join("\n");
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
    let server = EchoServer::start(&[
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
    let (status, stdout) = server.wait();
    let stdout = stdout.join("\n");
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
