//! Bad peers and scarce resources: what a server built on `evloop::net` must survive.
//!
//! Each test uses real sockets on 127.0.0.1 (ignored under Miri, which has none) and is bounded by
//! a timeout that panics. The out-of-descriptors test lowers RLIMIT_NOFILE, so it runs in a child
//! process (this test binary, re-executed for that one test).

mod echo_harness;
mod util;

use std::cell::{Cell, RefCell};
use std::io;
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use echo_harness::{Counter, Server, round_trips, within};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::spawn;

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_reset_mid_stream_ends_only_that_connection() {
    let rt = util::runtime();
    within(&rt, 30, async {
        let server = Server::start().await;
        let mut healthy = TcpStream::connect(server.addr).await.expect("connect");
        echo_once(&mut healthy, b"before").await;
        let mut rude = TcpStream::connect(server.addr).await.expect("connect");
        echo_once(&mut rude, b"hello").await;
        // Mid-stream: send more, then reset without reading the echo.
        rude.write_all(b"never read back").await.expect("write");
        util::reset_on_close(&rude);
        drop(rude);

        server.ended.reach(1).await;
        let outcome = server.conn(1).outcome.borrow_mut().take();
        match outcome {
            Some(Err(e)) => assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "unexpected error: {e}"
            ),
            other => panic!("the reset connection should end with an error, got {other:?}"),
        }
        // The server goes on: the old client and a new one are served.
        assert!(
            server.conn(0).outcome.borrow().is_none(),
            "the healthy connection lives"
        );
        echo_once(&mut healthy, b"after").await;
        round_trips(server.addr, 7, 100, 64)
            .await
            .expect("a new client");
    });
}

/// One round trip of `msg`, checked.
async fn echo_once(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).await.expect("write");
    let mut echo = vec![0u8; msg.len()];
    stream.read_exact(&mut echo).await.expect("read echo");
    assert_eq!(echo, msg);
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_client_that_never_reads_stalls_only_its_own_connection() {
    const OTHERS: u64 = 10;
    const ROUND_TRIPS: u64 = 1000;
    let rt = util::runtime();
    within(&rt, 60, async {
        let server = Server::start().await;
        // The stalled client writes far more than all the socket buffers on the way can hold
        // (a few MiB), and never reads its echoes.
        let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
        let sent = Rc::new(Cell::new(0u64));
        let finished = Rc::new(Cell::new(false));
        let (s, f) = (sent.clone(), finished.clone());
        spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            for _ in 0..4096 {
                stalled.write_all(&chunk).await.expect("write");
                s.set(s.get() + chunk.len() as u64);
            }
            f.set(true); // 256 MiB: not reached while nobody reads
        });
        server.parked_in_write.reach(1).await;
        let stuck = server.conn(0);
        let polls_before = stuck.polls.get();

        // Everyone else is served while that connection's task waits to write.
        let others: Vec<_> = (0..OTHERS)
            .map(|c| spawn(round_trips(server.addr, c, ROUND_TRIPS, 64)))
            .collect();
        for other in others {
            let done = other.await.expect("client task").expect("client I/O");
            assert_eq!(done, ROUND_TRIPS);
        }

        assert!(
            stuck.waiting_to_write.get(),
            "the stalled connection's task waits to write"
        );
        assert!(stuck.outcome.borrow().is_none(), "and is still alive");
        assert!(!finished.get(), "its client could not send everything");
        let woken = stuck.polls.get() - polls_before;
        assert!(
            woken < 100,
            "a parked task is not polled in a loop: {woken} polls"
        );
        // Memory: the server holds at most one buffer of unsent bytes for it; the rest of what
        // the client sent is in kernel socket buffers or not sent at all.
        assert!(stuck.read.get() - stuck.written.get() <= echo_harness::BUF as u64);
        assert!(
            sent.get() > stuck.read.get(),
            "the client got ahead of the server"
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn half_close_gets_every_echo_then_the_server_closes() {
    const TOTAL: usize = 1 << 20;
    let rt = util::runtime();
    within(&rt, 30, async {
        let server = Server::start().await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let pattern = echo_harness::pattern(TOTAL);
        let data: Rc<[u8]> = pattern[..TOTAL].into();
        let to_send = data.clone();
        // One task writes everything, then shuts its side; this one reads concurrently.
        spawn(async move {
            for piece in to_send.chunks(10_000) {
                writer.write_all(piece).await.expect("write");
            }
            writer.shutdown().await.expect("shutdown(Write)");
        });
        let mut received = Vec::with_capacity(TOTAL);
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf).await.expect("read") {
                0 => break, // the server closed after its last echo
                n => received.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(received.len(), TOTAL);
        assert!(received[..] == data[..], "every byte echoed, in order");
        server.ended.reach(1).await;
        match &*server.conn(0).outcome.borrow() {
            Some(Ok(bytes)) => assert_eq!(*bytes, TOTAL as u64),
            other => panic!("the server side should close cleanly: {other:?}"),
        }
    });
}

/// Set in the child process of the out-of-descriptors test.
const EMFILE_CHILD: &str = "EVLOOP_TEST_EMFILE_CHILD";
/// How long the child keeps the server out of descriptors.
const STALL: Duration = Duration::from_millis(600);

#[test]
#[cfg_attr(miri, ignore)] // real sockets, rlimits and a child process
fn accept_backs_off_while_out_of_file_descriptors() {
    if std::env::var_os(EMFILE_CHILD).is_some() {
        return out_of_descriptors_child();
    }
    let output = run_child("accept_backs_off_while_out_of_file_descriptors", 60);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let warnings = stderr.lines().filter(|l| l.contains("WARN")).count();
    assert!(
        stderr.contains("Too many open files") && stderr.contains("backing off"),
        "the listener warns about the stall:\n{stderr}"
    );
    assert_eq!(
        warnings, 1,
        "one warning per stall, retries at debug:\n{stderr}"
    );
    let retries = stderr.matches("accept still failing").count();
    assert!(
        (2..=20).contains(&retries),
        "a {STALL:?} stall with 10-100 ms back-off retries a handful of times, not {retries}"
    );
    println!("{stdout}");
}

/// The child's side: a server out of descriptors with clients waiting in its backlog.
fn out_of_descriptors_child() {
    let rt = util::runtime();
    within(&rt, 30, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // 1. Five clients connect while descriptors are plenty; the kernel completes their
        //    handshakes into the listen backlog, no accept needed.
        let clients: Vec<_> = (0..5)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        // 2. Use up every descriptor but two.
        let mut fillers = exhaust_descriptors();
        assert!(fillers.len() > 2, "the limit left room to fill");
        fillers.truncate(fillers.len() - 2);
        // 3. Serve: two connections fit, three wait.
        let server = Server::serve(listener);
        let served = Rc::new(Counter::default());
        // Served clients stay connected: closing them would give descriptors back.
        let keep_open = Rc::new(RefCell::new(Vec::new()));
        for (i, client) in clients.into_iter().enumerate() {
            spawn(client_echo(client, i, served.clone(), keep_open.clone()));
        }
        served.reach(2).await;
        // 4. The stall. The loop stays free; the listener must not spin on accept.
        let (cpu_before, wall_before) = (util::process_cpu_time(), Instant::now());
        evloop::time::sleep(STALL).await;
        let (cpu, wall) = (util::process_cpu_time() - cpu_before, wall_before.elapsed());
        println!("stall: {cpu:?} of CPU in {wall:?}");
        assert_eq!(server.accepted.get(), 2, "no descriptor, no accept");
        assert_eq!(served.get(), 2);
        assert!(
            cpu < wall / 2,
            "the listener spun: {cpu:?} of CPU in {wall:?}"
        );
        // 5. Descriptors come back: the waiting clients are accepted and served.
        drop(fillers);
        served.reach(5).await;
        assert_eq!(server.accepted.get(), 5);
    });
}

/// One round trip on a pre-connected std socket, taken over by the runtime (no new descriptor).
async fn client_echo(
    client: std::net::TcpStream,
    i: usize,
    served: Rc<Counter>,
    keep_open: Rc<RefCell<Vec<TcpStream>>>,
) {
    let mut stream = TcpStream::from_std(client).expect("register client");
    let msg = format!("client {i}");
    echo_once(&mut stream, msg.as_bytes()).await;
    keep_open.borrow_mut().push(stream);
    served.bump();
}

/// Lowers the soft RLIMIT_NOFILE to a little above what is open, then opens `/dev/null` until
/// `EMFILE`; returns the files that hold the descriptors.
fn exhaust_descriptors() -> Vec<std::fs::File> {
    let open = std::fs::read_dir("/proc/self/fd").expect("/proc").count() as u64;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit; getrlimit only writes into it.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_cur = open + 32;
    // SAFETY: `limit` is a valid rlimit whose soft value is below its hard value; setrlimit only
    // reads it. Lowering the soft limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut files = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return files,
            Err(e) => panic!("open /dev/null: {e}"),
        }
    }
}

/// Re-runs this test binary for test `name` alone with [`EMFILE_CHILD`] set, and returns its
/// output; kills it and fails if it runs longer than `secs`.
fn run_child(name: &str, secs: u64) -> Output {
    let child = Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(EMFILE_CHILD, "1")
        .env("RUST_LOG", "evloop::net=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child test");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(output) => output.expect("wait for the child"),
        Err(_) => {
            // SAFETY: `pid` is our child, not yet reaped (the waiting thread has not returned).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child test ran longer than {secs} s and was killed");
        }
    }
}
