//! Echo server: every byte a client sends comes straight back, one task per connection.
//!
//! Run with: `cargo run --release --example echo_server -- [ADDR] [--stats SECS]
//!            [--work-ms MS] [--worker threads|inline|fallback] [--grace SECS] [--loops N]`
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
//! More than one core: `--loops N` runs N loops, one per thread, each with its own runtime and its
//! own listener on the same port (`SO_REUSEPORT`; `loops.rs` says how, and what it gives up):
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:7878 --loops 2
//! ```
//!
//! Memory per connection: an idle connection holds no buffer. Its task (`connection.rs`) waits
//! with `readable().await`, and only then takes a buffer (`ECHO_BUF` bytes, default 4096, like the
//! benchmark peers) from a small pool, reads, writes the bytes back and returns the buffer. So
//! 10 000 idle connections cost their tasks and sockets, not 10 000 buffers — about 250 bytes each
//! in all (`docs/performance.md`, "Memory per idle connection"); a connection whose client does
//! not read its echoes keeps exactly one buffer while its task waits to write.
//!
//! ## Graceful shutdown
//!
//! Ctrl-C (SIGINT) does not kill the server mid-sentence. It prints `shutting down: ...` and:
//!
//! 1. stops accepting (the listener closes: new connects are refused);
//! 2. lets the connections that are echoing a message (reading it, transforming it, writing it
//!    back) finish that message — a message the server has not started reading is not in flight,
//!    and is not echoed;
//! 3. waits for them, at most `--grace SECS` (default 5), then aborts those still running;
//! 4. prints `final stats:` with the loop's statistics and exits with status 0, which closes every
//!    connection: the idle ones as soon as no message is in flight any more.
//!
//! The connections learn of the shutdown from a flag they read when a message arrives, and the
//! server counts the messages in flight (`connection.rs`): nothing per connection. (An earlier
//! version told each connection through a `watch` channel and kept them in a `JoinSet`, so that an
//! idle one closed at once even while others were still finishing a message; that cost about 150
//! bytes per idle connection, more than half of the whole budget.)
//!
//! A second Ctrl-C during the wait ends the process at once: the listener is gone by then, and
//! with it the signal's handler (the default action is back). `tests/echo_server_shutdown.rs`
//! sends SIGINT to this example and checks all four steps.

mod connection;
mod loops;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::signal::unix::{Signal, SignalKind, signal};
use evloop::{Runtime, spawn};

fn main() -> io::Result<()> {
    env_logger::init();
    let args = Args::parse()?;
    connection::set_work(args.work);
    if args.loops > 1 {
        return loops::run(&args);
    }
    runtime(&args)?.block_on(async {
        let listener = TcpListener::bind(args.addr).await?;
        // Listen for Ctrl-C before announcing: from "listening on" on, SIGINT means "shut down".
        let interrupt = signal(SignalKind::interrupt())?;
        announce(listener.local_addr()?)?;
        serve(listener, interrupt, &args, None).await
    })
}

/// A runtime with the worker `--worker` names (the default one otherwise). Without `--work-ms`
/// no blocking job ever runs, so the worker's start-up probe is skipped: its one thread would make
/// glibc take the slower, cancellable path in every `recv`/`send`/`epoll_wait` for the rest of
/// the process (`Builder::probe_worker`).
fn runtime(args: &Args) -> io::Result<Runtime> {
    let mut builder = Runtime::builder().probe_worker(args.work.is_some());
    if let Some(name) = &args.worker {
        let worker = evloop::worker::by_name(name).ok_or_else(|| Args::usage(name))?;
        builder = builder.worker(worker);
    }
    builder.build()
}

/// Accepts until Ctrl-C, one task per connection; then shuts down gracefully (module docs).
/// `loop_index` names the loop with `--loops N` (`loops.rs`).
async fn serve(
    listener: TcpListener,
    mut interrupt: Signal,
    args: &Args,
    loop_index: Option<usize>,
) -> io::Result<()> {
    if let Some(every) = args.stats_every {
        spawn(print_stats(every));
    }
    let mut served = 0u64;
    loop {
        evloop::select! {
            biased;
            _ = interrupt.recv() => break,
            // `accept` itself rides out EMFILE/ENFILE (it backs off and retries); an error here
            // means the listener is broken, and then there is nothing left to serve.
            accepted = listener.accept() => {
                let (stream, _peer) = accepted?;
                // Small messages should leave at once, not wait for the previous segment's ACK
                // (Nagle). Failing that is no reason to drop the client, let alone to stop serving.
                if let Err(e) = stream.set_nodelay(true) {
                    log::debug!("set_nodelay: {e}");
                }
                spawn(connection::connection(stream));
                served += 1;
            }
        }
    }
    drop(listener); // 1. stop accepting
    drop(interrupt); // a second Ctrl-C ends the process at once
    shut_down(args.grace, loop_index, served).await;
    Ok(())
}

/// Steps 2 to 4 of the graceful shutdown (module docs). The idle connections close when the
/// runtime is dropped with their tasks. With `--loops N` every loop runs this (the counts are the
/// whole process's) and says which loop it is.
async fn shut_down(grace: Duration, loop_index: Option<usize>, served: u64) {
    let prefix = loop_index.map_or(String::new(), |i| format!("loop {i}: "));
    println!(
        "{prefix}shutting down: {} connection(s) open; waiting up to {} ms for the messages in \
         flight",
        connection::open(),
        grace.as_millis()
    );
    connection::begin_shutdown();
    if evloop::time::timeout(grace, connection::messages_in_flight_done())
        .await
        .is_err()
    {
        println!(
            "{prefix}grace period over: aborting {} connection(s)",
            connection::in_flight()
        );
    }
    match loop_index {
        None => println!("final stats:\n{}", evloop::stats()),
        Some(i) => println!(
            "final stats, loop {i}: served {served} connection(s)\n{}",
            evloop::stats()
        ),
    }
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

/// Command line: `[ADDR] [--stats SECS] [--work-ms MS] [--worker threads|inline|fallback]
/// [--grace SECS] [--loops N]`.
#[derive(Clone)]
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
    /// How many loops, each on its own thread with its own listener (`loops.rs`).
    loops: usize,
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
            loops: 1,
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
                "--loops" => {
                    let n: usize = argv.next().and_then(|s| s.parse().ok()).ok_or_else(usage)?;
                    args.loops = n.max(1);
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
                 [--worker threads|inline|fallback] [--grace SECS] [--loops N]   \
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
