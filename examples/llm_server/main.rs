//! The service of the story, over HTTP: a small HTTP/1.1 server whose `POST /generate` calls a
//! slow synchronous "model", and whose `GET /health` shows whether the loop is free meanwhile.
//!
//! Run with: `cargo run --example llm_server`
//!
//! Flags: `[ADDR]` (default 127.0.0.1:8080; port 0 picks a free port), `--worker
//! threads|inline|fallback` (default fallback), `--lock` / `--no-lock` (default lock: one
//! generation at a time), `--work-ms MS` (the model's duration, default 1000), `--deny-threads`
//! (make the OS refuse new threads first, with seccomp where it can), `--read-timeout-ms MS`
//! (default 10000: time a client has to send a request or take a response), `--max-waiting N`
//! (default 64: requests that may wait for the lock; more get `503` at once) and
//! `--retry-after-s S` (default 1: the `Retry-After` of that 503) and `--grace SECS` (default 5:
//! how long Ctrl-C waits for the requests in flight). It prints `listening on ADDR`, then which
//! way blocking work goes, and serves until Ctrl-C: then it stops accepting, answers the requests
//! in flight (`Connection: close`), closes idle connections, prints its final `/stats` and exits
//! with status 0 (`service.rs`, "Graceful shutdown"; `tests/llm_server_shutdown.rs`).
//!
//! **Watch it live**: open `http://localhost:8080/` in a browser. The page polls `/stats.json` a few
//! times a second and draws the loop lag and utilization per second for the last minute, the
//! requests in flight, where each model call ran, and a strip of the last seconds of the loop
//! thread and the worker threads. Then, in a terminal, `curl -d 'hello' localhost:8080/generate`:
//! with threads the loop stays free; with `--deny-threads` its row goes solid red for the whole
//! call and the lag jumps to a second.
//!
//! Try this — watch `/health` during a generation, in two terminals:
//!
//! ```text
//! cargo run --release --example llm_server -- --worker inline
//! curl -s -d 'hello world' localhost:8080/generate & sleep 0.1; time curl -s localhost:8080/health
//! #   inline: /health waits for the generation, ≈ 0.9 s — the loop thread is running the model
//! cargo run --release --example llm_server -- --worker threads
//! #   the same two curls: /health answers in a millisecond; the model runs on a pool thread
//! cargo run --release --example llm_server -- --deny-threads
//! #   the default fallback after the OS refused threads: /health stalls again, and the reply's
//! #   X-Blocking header says why (curl -si shows it)
//! curl -s localhost:8080/stats          # the loop, the worker, the lock, the line, the connections
//! curl -sI localhost:8080/health        # HEAD: the headers of GET, no body
//! RUST_LOG=debug cargo run --release --example llm_server   # each request and how each connection ended
//! ```
//!
//! Clients that leave are not served (`generation.rs`): a request whose client closes while it
//! waits for the lock is dropped, and never reaches the model; one whose client closes while the
//! model runs is counted (a call running on a thread cannot be interrupted). Try it:
//!
//! ```text
//! for i in $(seq 20); do curl -s -m 0.2 -d x localhost:8080/generate & done; wait
//! curl -s localhost:8080/stats | grep gone   # 19 before their turn, 1 while the model ran
//! ```
//!
//! The parser (`request.rs`) and the connection loop (`connection.rs`) take no chances: a head
//! over 8 KiB is a 431 (a request line over 8 KiB a 414), a body over 64 KiB a 413, a POST without
//! `Content-Length` a 411, a missing, doubled or invalid `Host` or anything else malformed a 400,
//! chunked bodies a 501; a client that stalls mid-request gets a 408 and is closed after the read
//! timeout. Each refusal names its rule:
//!
//! ```text
//! curl -s -X POST localhost:8080/generate                                  # 411 Length Required
//! curl -s -H 'Transfer-Encoding: chunked' -d x localhost:8080/generate     # 501 Not Implemented
//! curl -s -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" localhost:8080/health   # 431
//! ```

mod connection;
mod dashboard;
mod generation;
mod model;
mod request;
mod response;
mod service;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use evloop::Runtime;
use evloop::net::TcpListener;
use evloop::signal::unix::{SignalKind, signal};
use evloop::worker::Worker;
use service::{Service, Settings};

fn main() -> io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse()?;
    let worker = make_worker(&args.worker, args.deny_threads)?;
    // The trace ring, in memory, feeds the live page's strip of the last seconds (`dashboard.rs`).
    let rt = Runtime::builder()
        .worker(worker)
        .trace_capacity(evloop::trace::DEFAULT_CAPACITY)
        .build()?;
    let probe = rt.worker_stats().probe;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr).await?;
        // Listen for Ctrl-C before announcing: from "listening on" on, SIGINT means "shut down".
        let mut interrupt = signal(SignalKind::interrupt())?;
        announce(listener.local_addr()?)?;
        if let Some(probe) = probe {
            println!("{probe}");
        }
        let line = match args.lock {
            true => format!(
                "one at a time (execution lock), at most {} waiting, then 503 (Retry-After: {} s)",
                args.max_waiting,
                args.retry_after.as_secs()
            ),
            false => "no lock".into(),
        };
        println!("model: {} ms per generation, {line}", args.work.as_millis());
        let mut settings = Settings::new(model::with_work(args.work));
        settings.lock = args.lock;
        settings.read_timeout = args.read_timeout;
        settings.max_waiting = args.max_waiting;
        settings.retry_after = args.retry_after;
        settings.grace = args.grace;
        settings.trace = rt.trace();
        let service = Service::new(settings);
        let ctrl_c = async {
            interrupt.recv().await;
        };
        service.clone().serve_until(listener, ctrl_c).await?;
        println!("final stats:\n{}", service.stats());
        Ok(())
    })
}

/// Prints the line scripts wait for, and flushes it.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// The worker named on the command line; with `deny`, thread creation is denied first
/// (`evloop::worker::by_name_denied`: for real with seccomp where the platform allows).
fn make_worker(name: &str, deny: bool) -> io::Result<Box<dyn Worker>> {
    let found = if deny {
        evloop::worker::by_name_denied(name)?.map(|(worker, denial)| {
            println!("{denial}");
            worker
        })
    } else {
        evloop::worker::by_name(name)
    };
    found.ok_or_else(|| Args::bad(&format!("--worker {name}")))
}

/// The command line.
struct Args {
    /// Where to listen.
    addr: SocketAddr,
    /// Worker name for `evloop::worker::by_name`.
    worker: String,
    /// Hold the execution lock around each generation.
    lock: bool,
    /// The model's duration.
    work: Duration,
    /// Deny thread creation before building the runtime.
    deny_threads: bool,
    /// Time a client has to send one request or take one response.
    read_timeout: Duration,
    /// Most requests waiting for the lock.
    max_waiting: usize,
    /// `Retry-After` of the 503 for a full line.
    retry_after: Duration,
    /// How long Ctrl-C waits for the requests in flight.
    grace: Duration,
}

impl Args {
    /// Parses `std::env::args`.
    fn parse() -> io::Result<Args> {
        let mut args = Args {
            addr: "127.0.0.1:8080".parse().expect("a valid literal address"),
            worker: "fallback".into(),
            lock: true,
            work: Duration::from_millis(1000),
            deny_threads: false,
            read_timeout: Duration::from_secs(10),
            max_waiting: 64,
            retry_after: Duration::from_secs(1),
            grace: Duration::from_secs(5),
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            let mut number = || -> io::Result<u64> {
                let value = argv.next().and_then(|v| v.parse().ok());
                value.ok_or_else(|| Args::bad(&arg))
            };
            match arg.as_str() {
                "--worker" => args.worker = argv.next().ok_or_else(|| Args::bad(&arg))?,
                "--lock" => args.lock = true,
                "--no-lock" => args.lock = false,
                "--work-ms" => args.work = Duration::from_millis(number()?),
                "--read-timeout-ms" => args.read_timeout = Duration::from_millis(number()?),
                "--max-waiting" => args.max_waiting = number()? as usize,
                "--retry-after-s" => args.retry_after = Duration::from_secs(number()?.max(1)),
                "--deny-threads" => args.deny_threads = true,
                "--grace" => {
                    let secs = argv.next().and_then(|v| v.parse::<f64>().ok());
                    let secs = secs.ok_or_else(|| Args::bad(&arg))?;
                    args.grace = Duration::from_secs_f64(secs.max(0.0));
                }
                addr => args.addr = addr.parse().map_err(|_| Args::bad(addr))?,
            }
        }
        if evloop::worker::by_name(&args.worker).is_none() {
            return Err(Args::bad(&format!("--worker {}", args.worker)));
        }
        Ok(args)
    }

    /// The usage error, naming what was not understood.
    fn bad(what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not understood: {what}\nusage: llm_server [ADDR] [--worker threads|inline|fallback] \
                 [--lock|--no-lock] [--work-ms MS] [--read-timeout-ms MS] [--max-waiting N] \
                 [--retry-after-s S] [--grace SECS] [--deny-threads] (see the top of \
                 examples/llm_server/main.rs)"
            ),
        )
    }
}
