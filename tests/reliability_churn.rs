//! Churn (issue #9): clients connect, echo, and leave — half of them with a reset — over and over;
//! afterwards nothing is left behind.
//!
//! "Nothing left" is checked three ways once the churn is over and every server task has ended:
//!
//! - the reactor holds the listener alone (`Runtime::io_sources() == 1`): every socket of both
//!   sides deregistered;
//! - the task slab holds the acceptor alone (`stats().tasks_alive == 1`);
//! - resident memory (`VmRSS`) grew by less than a small bound between the end of a warm-up phase
//!   (which reaches the same concurrency, so slabs and allocator pools are at their high-water mark)
//!   and the end of the churn. A leak of a few hundred bytes per connection over thousands of
//!   connections would show.
//!
//! Server and clients share one runtime, so its counters see both sides. This binary holds a
//! single test: tests of one binary run in parallel threads of one process, and another test's
//! allocations would blur the memory reading. The default run is bounded by a number of
//! connections; `EVLOOP_SOAK_SECS=N` churns for N seconds instead. Sockets: ignored under Miri.

mod echo_harness;
mod reliability_support;
mod util;

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use echo_harness::{message, pattern, within};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::spawn;
use reliability_support::{Gate, Rng, both, rss_kib, soak};

/// Client loops running at the same time.
const WORKERS: u64 = 64;
/// Connections per worker in the warm-up phase.
const WARM_UP: u64 = 10;
/// Connections per worker in the measured phase of the default run.
const CHURN: u64 = 150;
/// The largest message; each connection echoes one of 1 ..= MAX_SIZE bytes.
const MAX_SIZE: usize = 16 * 1024;
/// How much resident memory may grow from the warm-up to the end (allocator noise, not leaks).
const RSS_BOUND_KIB: u64 = 1024;

#[test]
#[cfg_attr(miri, ignore)] // real sockets, /proc
fn churn_with_resets_leaves_only_the_listener_and_the_acceptor() {
    let soak = soak();
    let rt = util::runtime();
    let limit = soak.map_or(60, |d| d.as_secs() + 120);
    let (rss_before, rss_after, churn) = within(&rt, limit, async {
        let server = ChurnServer::start().await;
        let pattern: Rc<[u8]> = pattern(MAX_SIZE).into();

        let warm_up = churn(&server, &pattern, 0, Until::Count(WARM_UP)).await;
        server.ended.reach(warm_up.conns as usize).await;
        let rss_before = rss_kib();

        let until = soak.map_or(Until::Count(CHURN), |d| Until::Time(Instant::now() + d));
        let started = Instant::now();
        let mut churned = churn(&server, &pattern, WARM_UP, until).await;
        churned.elapsed = started.elapsed();
        server
            .ended
            .reach((warm_up.conns + churned.conns) as usize)
            .await;
        let rss_after = rss_kib();

        server.check(&warm_up, &churned);
        (rss_before, rss_after, churned)
    });
    let stats = rt.stats();
    println!(
        "churn: {} connections ({} reset, {} closed) from {WORKERS} workers, {} bytes echoed, \
         {:.2} s; VmRSS {rss_before} KiB after warm-up, {rss_after} KiB at the end; \
         io_sources {}, tasks_alive {}",
        churn.conns,
        churn.resets,
        churn.conns - churn.resets,
        churn.bytes,
        churn.elapsed.as_secs_f64(),
        stats.io_sources,
        stats.tasks_alive,
    );
    assert_eq!(rt.io_sources(), 1, "only the listener is registered");
    assert_eq!(stats.tasks_alive, 1, "only the acceptor is alive");
    assert!(
        rss_after <= rss_before + RSS_BOUND_KIB,
        "resident memory grew by {} KiB over {} connections",
        rss_after.saturating_sub(rss_before),
        churn.conns
    );
}

/// How long a churn phase lasts.
#[derive(Clone, Copy)]
enum Until {
    /// This many connections per worker.
    Count(u64),
    /// Until this instant (the soak).
    Time(Instant),
}

/// What the clients of one phase did.
#[derive(Default)]
struct Churned {
    /// Connections made.
    conns: u64,
    /// Of those, closed with a reset.
    resets: u64,
    /// Bytes sent and echoed back.
    bytes: u64,
    /// Wall time of the phase.
    elapsed: Duration,
}

/// Runs `WORKERS` client loops until `until`; worker `w`'s connection `i` gets the id
/// `w * 1_000_000 + first + i` (its message and its way out depend on it).
async fn churn(server: &ChurnServer, pattern: &Rc<[u8]>, first: u64, until: Until) -> Churned {
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            spawn(worker(
                server.addr,
                w * 1_000_000 + first,
                pattern.clone(),
                until,
            ))
        })
        .collect();
    let mut total = Churned::default();
    for worker in workers {
        let done = worker.await.expect("a client worker does not panic");
        total.conns += done.conns;
        total.resets += done.resets;
        total.bytes += done.bytes;
    }
    total
}

/// One client loop: connect, echo one message, leave (every other time with a reset).
async fn worker(addr: SocketAddr, first_id: u64, pattern: Rc<[u8]>, until: Until) -> Churned {
    let mut done = Churned::default();
    let mut echoed = vec![0u8; MAX_SIZE];
    for id in first_id.. {
        let more = match until {
            Until::Count(n) => id - first_id < n,
            Until::Time(deadline) => Instant::now() < deadline,
        };
        if !more {
            break;
        }
        let reset = id % 2 == 0;
        let size = Rng::new(id).between(1, MAX_SIZE);
        let sent = message(&pattern, size, id, 0);
        visit(addr, sent, &mut echoed[..size], reset)
            .await
            .unwrap_or_else(|e| panic!("connection {id}: {e}"));
        done.conns += 1;
        done.resets += u64::from(reset);
        done.bytes += size as u64;
    }
    done
}

/// One connection: echo `sent`, check it, then reset or close cleanly.
async fn visit(addr: SocketAddr, sent: &[u8], echo: &mut [u8], reset: bool) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    {
        let (mut reader, mut writer) = stream.split();
        let (wrote, read) = both(writer.write_all(sent), reader.read_exact(echo)).await;
        wrote?;
        read?;
    }
    if sent != echo {
        return Err(io::Error::other("echo differs"));
    }
    if reset {
        util::reset_on_close(&stream);
    } else {
        // Half-close, and wait for the server's close: a clean goodbye on both sides.
        stream.shutdown_now(Shutdown::Write)?;
        let extra = stream.read(&mut [0u8; 1]).await?;
        if extra != 0 {
            return Err(io::Error::other("the server sent bytes after the echo"));
        }
    }
    Ok(())
}

/// A lean echo server: counters only, so that it holds no memory per past connection.
struct ChurnServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Connection tasks that ended, whichever way.
    ended: Rc<Gate>,
    /// Connections that ended with end of stream, and the bytes they echoed.
    clean: Rc<Cell<(u64, u64)>>,
    /// Connections that ended with a reset, and the bytes they echoed before it.
    reset: Rc<Cell<(u64, u64)>>,
    /// Connections that ended with any other error.
    other_errors: Rc<Cell<u64>>,
}

impl ChurnServer {
    /// Binds 127.0.0.1:0 and accepts in a spawned task (the one task left at the end).
    async fn start() -> ChurnServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let server = ChurnServer {
            addr: listener
                .local_addr()
                .expect("bound listener has an address"),
            ended: Rc::default(),
            clean: Rc::default(),
            reset: Rc::default(),
            other_errors: Rc::default(),
        };
        let (ended, clean) = (server.ended.clone(), server.clean.clone());
        let (reset, other) = (server.reset.clone(), server.other_errors.clone());
        spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.expect("the listener works");
                let (ended, clean) = (ended.clone(), clean.clone());
                let (reset, other) = (reset.clone(), other.clone());
                spawn(async move {
                    let echoed = Rc::new(Cell::new(0));
                    match echo(stream, &echoed).await {
                        Ok(()) => add(&clean, echoed.get()),
                        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                            add(&reset, echoed.get())
                        }
                        Err(_) => other.set(other.get() + 1),
                    }
                    ended.arrive();
                });
            }
        });
        server
    }

    /// Checks the server's count against what the clients of both phases did.
    fn check(&self, warm_up: &Churned, churned: &Churned) {
        let conns = warm_up.conns + churned.conns;
        let resets = warm_up.resets + churned.resets;
        let bytes = warm_up.bytes + churned.bytes;
        let (clean, clean_bytes) = self.clean.get();
        let (reset, reset_bytes) = self.reset.get();
        assert_eq!(self.other_errors.get(), 0, "no error but the resets");
        assert_eq!(reset, resets, "every reset reached the server as one");
        assert_eq!(
            clean,
            conns - resets,
            "every other connection closed cleanly"
        );
        assert_eq!(clean_bytes + reset_bytes, bytes, "every byte echoed");
    }
}

/// Adds one connection and its bytes to a `(connections, bytes)` pair.
fn add(pair: &Cell<(u64, u64)>, bytes: u64) {
    let (conns, total) = pair.get();
    pair.set((conns + 1, total + bytes));
}

/// Echoes until end of stream, counting bytes in `echoed`.
async fn echo(mut stream: TcpStream, echoed: &Cell<u64>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        echoed.set(echoed.get() + n as u64);
    }
}
