//! Echo server: every byte a client sends comes straight back, one task per connection.
//!
//! Run with: `cargo run --release --example echo_server -- [ADDR] [--stats SECS]
//!            [--work-ms MS] [--worker threads|inline|fallback] [--grace SECS]`
//!
//! ADDR defaults to 127.0.0.1:7878 (port 0 picks a free port). The server prints one line,
//! `listening on ADDR`, and serves until Ctrl-C (see "Graceful shutdown" below). Then try:
//!
//! ```text
//! nc 127.0.0.1 7878                      # type a line, get it back
//! cargo run --release --example echo_client -- 127.0.0.1:7878 --conns 50 --count 1000 --size 64
//! RUST_LOG=debug cargo run --release --example echo_server     # see each connect and disconnect
//! cargo run --release --example echo_server -- --stats 5       # loop statistics every 5 s (stderr)
//! ```
//!
//! The blocking-work story on an echo server: with `--work-ms MS` every message passes through a
//! blocking "transform" (it sleeps MS, then returns the bytes unchanged) run with
//! `evloop::spawn_blocking`. Watch the client's latencies:
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:7878 --work-ms 20 --worker threads
//! cargo run --release --example echo_client -- 127.0.0.1:7878 --conns 10 --count 20 --size 64
//! #   threads: ten clients' transforms overlap on ten pool threads; p50 ≈ 20 ms
//! cargo run --release --example echo_server -- 127.0.0.1:7878 --work-ms 20 --worker inline
//! #   inline: each transform blocks the loop; the ten clients queue behind each other, p50 ≈ 200 ms
//! ```
//!
//! Memory per connection: an idle connection holds no buffer. Its task waits with
//! `readable().await`, and only then takes a buffer (`ECHO_BUF` bytes, default 4096, like the
//! benchmark peers) from a small pool, reads, writes the bytes back and returns the buffer. So 10 000
//! idle connections cost their tasks and sockets, not 10 000 buffers; a connection whose client
//! does not read its echoes keeps exactly one buffer while its task waits to write.
//!
//! ## Graceful shutdown
//!
//! Ctrl-C (SIGINT) does not kill the server mid-sentence. It prints `shutting down: ...` and:
//!
//! 1. stops accepting (the listener closes: new connects are refused);
//! 2. tells every connection, through a `watch` channel: an idle one closes at once, one that is
//!    echoing a message (reading it, transforming it, writing it back) finishes that message
//!    first — a message the server has not started reading is not in flight, and is not echoed;
//! 3. waits for them, at most `--grace SECS` (default 5), then aborts those still running;
//! 4. prints `final stats:` with the loop's statistics and exits with status 0.
//!
//! A second Ctrl-C during the wait ends the process at once: the listener is gone by then, and
//! with it the signal's handler (the default action is back). `tests/echo_server_shutdown.rs`
//! sends SIGINT to this example and checks all four steps.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use evloop::io::AsyncWriteExt;
use evloop::net::{TcpListener, TcpStream};
use evloop::signal::unix::{SignalKind, signal};
use evloop::sync::watch;
use evloop::task::JoinSet;
use evloop::{Runtime, spawn};

fn main() -> io::Result<()> {
    env_logger::init();
    let args = Args::parse()?;
    let mut builder = Runtime::builder();
    if let Some(name) = &args.worker {
        let worker = evloop::worker::by_name(name).ok_or_else(|| Args::usage(name))?;
        builder = builder.worker(worker);
    }
    let rt = builder.build()?;
    rt.block_on(serve(args))
}

/// Accepts until Ctrl-C, one task per connection; then shuts down gracefully (module docs).
async fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr).await?;
    // Listen for Ctrl-C before announcing: from "listening on" on, SIGINT means "shut down".
    let mut interrupt = signal(SignalKind::interrupt())?;
    announce(listener.local_addr()?)?;
    if let Some(every) = args.stats_every {
        spawn(print_stats(every));
    }
    let (shutdown, shutting_down) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        evloop::select! {
            biased;
            _ = interrupt.recv() => break,
            // `accept` itself rides out EMFILE/ENFILE (it backs off and retries); an error here
            // means the listener is broken, and then there is nothing left to serve.
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                connections.spawn(connection(stream, peer, args.work, shutting_down.clone()));
            }
            // Reap connections that ended, so the set holds only live ones.
            Some(_) = connections.join_next() => {}
        }
    }
    drop(listener); // 1. stop accepting
    drop(interrupt); // a second Ctrl-C ends the process at once
    shut_down(connections, shutdown, args.grace).await;
    Ok(())
}

/// Steps 2 to 4 of the graceful shutdown (module docs).
async fn shut_down(mut connections: JoinSet<()>, shutdown: watch::Sender<bool>, grace: Duration) {
    println!(
        "shutting down: {} connection(s) open; waiting up to {} ms for the messages in flight",
        connections.len(),
        grace.as_millis()
    );
    let _ = shutdown.send(true); // no receiver left is fine: no connection to tell
    let all_done = async { while connections.join_next().await.is_some() {} };
    if evloop::time::timeout(grace, all_done).await.is_err() {
        println!(
            "grace period over: aborting {} connection(s)",
            connections.len()
        );
        connections.shutdown().await;
    }
    println!("final stats:\n{}", evloop::stats());
}

/// One connection's task: echo, then say how it ended (at debug level).
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    work: Option<Duration>,
    shutting_down: watch::Receiver<bool>,
) {
    log::debug!("{peer}: connected");
    match echo(stream, peer, work, shutting_down).await {
        Ok(bytes) => log::debug!("{peer}: disconnected after echoing {bytes} bytes"),
        Err(e) => log::debug!("{peer}: connection ended with an error: {e}"),
    }
}

/// Echoes until the client closes its side, or until shutdown while idle; returns the bytes
/// echoed.
async fn echo(
    stream: TcpStream,
    peer: SocketAddr,
    work: Option<Duration>,
    mut shutting_down: watch::Receiver<bool>,
) -> io::Result<u64> {
    // Small messages should leave at once, not wait for the previous segment's ACK (Nagle).
    stream.set_nodelay(true)?;
    let mut stream = stream;
    let mut echoed = 0;
    loop {
        // Wait without a buffer: this is where idle connections spend their time, and where
        // they hear about a shutdown (checked first: a closing server takes no new message).
        evloop::select! {
            biased;
            _ = shutting_down.changed() => return Ok(echoed),
            readable = stream.readable() => readable?,
        }
        let mut buf = BUFFERS.with(BufferPool::take);
        let n = match stream.try_read(&mut buf.bytes) {
            Ok(0) => return Ok(echoed),
            Ok(n) => n,
            // The readiness was stale: wait for the next event.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        // From here the message is in flight: a shutdown waits for it (up to the grace period).
        log::debug!("{peer}: echoing {n} bytes");
        if let Some(work) = work {
            let transformed = transform(buf.bytes[..n].to_vec(), work).await?;
            drop(buf); // do not hold a pooled buffer while the transform runs
            stream.write_all(&transformed).await?;
        } else {
            stream.write_all(&buf.bytes[..n]).await?;
        }
        echoed += n as u64;
    }
}

/// The blocking "transform" of `--work-ms`: sleeps (a stand-in for a slow synchronous call), then
/// gives the bytes back unchanged, so the client can still verify every byte. It runs wherever the
/// runtime's worker puts it: a pool thread (the loop stays free) or the loop thread (it blocks).
async fn transform(bytes: Vec<u8>, work: Duration) -> io::Result<Vec<u8>> {
    let handle = evloop::spawn_blocking(move || {
        std::thread::sleep(work);
        bytes
    });
    Ok(handle.await?)
}

/// Prints the one line the benchmark scripts wait for, and flushes it.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Prints the loop's statistics to stderr every `every`.
async fn print_stats(every: Duration) {
    let mut ticks = evloop::time::interval(every);
    // After a stall, print once and resume the rhythm, rather than a burst of catch-up lines.
    ticks.set_missed_tick_behavior(evloop::time::MissedTickBehavior::Skip);
    ticks.tick().await; // the first tick is immediate
    loop {
        ticks.tick().await;
        eprintln!("{}", evloop::stats());
    }
}

thread_local! {
    /// Buffers not in use right now. One loop thread: a `RefCell`, no lock.
    static BUFFERS: BufferPool = BufferPool::new(buffer_size());
}

/// Read buffers lent to connections only while they read and write back.
struct BufferPool {
    /// Size of every buffer.
    size: usize,
    /// Free buffers, reused most-recently-returned first (warm in the cache).
    free: RefCell<Vec<Box<[u8]>>>,
}

/// How many free buffers the pool keeps; more are freed when returned.
const POOL_KEEP: usize = 64;

impl BufferPool {
    /// An empty pool of `size`-byte buffers.
    fn new(size: usize) -> BufferPool {
        BufferPool {
            size,
            free: RefCell::new(Vec::new()),
        }
    }

    /// A free buffer, or a new one when all are lent out.
    fn take(&self) -> PooledBuf {
        let bytes = self.free.borrow_mut().pop();
        PooledBuf {
            bytes: bytes.unwrap_or_else(|| vec![0; self.size].into_boxed_slice()),
        }
    }
}

/// A lent buffer; dropping it (also when the task errors or is dropped) gives it back.
struct PooledBuf {
    /// The bytes.
    bytes: Box<[u8]>,
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        // `try_with`: at thread exit the pool may already be gone; then the buffer is just freed.
        let _ = BUFFERS.try_with(|pool| {
            let mut free = pool.free.borrow_mut();
            if free.len() < POOL_KEEP {
                free.push(bytes);
            }
        });
    }
}

/// The buffer size: `ECHO_BUF` (as the benchmark peers read it), default 4096.
fn buffer_size() -> usize {
    std::env::var("ECHO_BUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(4096)
}

/// Command line: `[ADDR] [--stats SECS] [--work-ms MS] [--worker threads|inline|fallback]
/// [--grace SECS]`.
struct Args {
    /// Where to listen.
    addr: SocketAddr,
    /// Print stats this often, if given.
    stats_every: Option<Duration>,
    /// Pass every message through a blocking transform of this duration, if given.
    work: Option<Duration>,
    /// The worker by name (`evloop::worker::by_name`); the runtime's default when absent.
    worker: Option<String>,
    /// How long a shutdown waits for the messages in flight.
    grace: Duration,
}

impl Args {
    /// Parses `std::env::args`, or explains the usage.
    fn parse() -> io::Result<Args> {
        let usage = || Args::usage("");
        let mut args = Args {
            addr: "127.0.0.1:7878".parse().expect("a valid literal address"),
            stats_every: None,
            work: None,
            worker: None,
            grace: Duration::from_secs(5),
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            match arg.as_str() {
                "--stats" => {
                    let secs: f64 = argv.next().and_then(|s| s.parse().ok()).ok_or_else(usage)?;
                    args.stats_every = Some(Duration::from_secs_f64(secs.max(0.001)));
                }
                "--work-ms" => {
                    let ms: u64 = argv.next().and_then(|s| s.parse().ok()).ok_or_else(usage)?;
                    args.work = Some(Duration::from_millis(ms));
                }
                "--worker" => args.worker = Some(argv.next().ok_or_else(usage)?),
                "--grace" => {
                    let secs: f64 = argv.next().and_then(|s| s.parse().ok()).ok_or_else(usage)?;
                    args.grace = Duration::from_secs_f64(secs.max(0.0));
                }
                addr => args.addr = addr.parse().map_err(|_| usage())?,
            }
        }
        Ok(args)
    }

    /// The usage error (naming the offending value, if any).
    fn usage(bad: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "usage: echo_server [ADDR] [--stats SECS] [--work-ms MS] \
                 [--worker threads|inline|fallback] [--grace SECS]   \
                 (ADDR default 127.0.0.1:7878){}",
                if bad.is_empty() {
                    String::new()
                } else {
                    format!("; not understood: {bad}")
                }
            ),
        )
    }
}
