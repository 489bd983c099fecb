//! A built example run as a process, for the tests that drive a whole program: its address, its
//! output line by line, Ctrl-C, its exit. Used by `tests/echo_server_shutdown.rs`,
//! `tests/echo_server_loops.rs` and `tests/llm_server_shutdown.rs`; `tests/course.rs` uses its
//! [`example`] to find the course's steps.
//!
//! It runs the example binary that `cargo build --examples` (or a plain `cargo test`) put in
//! `target/<profile>/examples/`. Nothing waits on a sleep: callers wait for
//! lines the program prints and for bytes on their sockets, each with a deadline that fails
//! loudly. The process runs in its own group, killed with its children if a test fails.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous bound on any one wait: a loaded machine is slow, a hung server is stuck.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Where cargo put the example `name`: `target/<profile>/examples/`, next to the test's `deps/`.
pub fn example(name: &str) -> PathBuf {
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

/// A built example running as a child process, its output read line by line on two threads.
pub struct ExampleProcess {
    /// The process (in its own process group).
    child: Child,
    /// Lines of its stdout, as they come.
    stdout: Receiver<String>,
    /// Lines of its stderr (the debug log), as they come.
    stderr: Receiver<String>,
    /// Every stdout line seen so far, for the final report.
    seen: Vec<String>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ExampleProcess {
    /// Starts the example `name` as `NAME 127.0.0.1:0 ARGS` with `RUST_LOG=rust_log`, and waits
    /// for its `listening on ADDR` line.
    pub fn start(name: &str, args: &[&str], rust_log: &str) -> ExampleProcess {
        let mut child = Command::new(example(name))
            .arg("127.0.0.1:0")
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("the example starts");
        let stdout = lines_of(child.stdout.take().expect("piped"));
        let stderr = lines_of(child.stderr.take().expect("piped"));
        let mut server = ExampleProcess {
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
    pub fn stdout_line(&mut self, prefix: &str) -> String {
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
    pub fn stderr_line(&self, needle: &str) {
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
    pub fn interrupt(&self) {
        // SAFETY: `kill` takes two integers. The pid is our own unreaped child, so it cannot
        // belong to another process.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0, "kill(SIGINT)");
    }

    /// Waits for the process to exit; returns its status, all its stdout and the stderr lines
    /// not consumed by [`stderr_line`](ExampleProcess::stderr_line).
    pub fn wait(mut self) -> Exit {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("status readable") {
                break status;
            }
            assert!(Instant::now() < end, "still running after {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(10)); // polling the exit, not syncing
        };
        // The process is gone: the readers end at the end of the pipes.
        self.seen.extend(self.stdout.iter());
        Exit {
            status,
            stdout: std::mem::take(&mut self.seen).join("\n"),
            stderr: self.stderr.iter().collect::<Vec<_>>().join("\n"),
        }
    }
}

/// How an example process ended.
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr after the last line a test waited for.
    pub stderr: String,
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: as in `interrupt`: our own unreaped child's process group.
            unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// The lines of `pipe`, sent over a channel by a reader thread.
pub fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
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
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; returns what came (a reset counts as closed).
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
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
