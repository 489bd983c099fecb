//! Echo client: sends messages to an echo server, checks every byte that comes back, and reports
//! what it measured.
//!
//! Run with: `cargo run --release --example echo_client -- [ADDR] [--conns C --count N --size S]`
//!
//! Start the server first (`cargo run --release --example echo_server`). Then try:
//!
//! ```text
//! echo hello | cargo run --example echo_client                        # lines from stdin
//! cargo run --release --example echo_client -- --conns 50 --count 1000 --size 64
//! ```
//!
//! With `--count`, C connections (default 1) each send N generated messages of S bytes (default
//! 64), one at a time, as concurrent tasks on one loop; each message's bytes depend on the
//! connection and message number, so a byte echoed on the wrong connection is caught too. Without
//! it, each line of stdin is one message and its echo is printed. The last line is
//! `messages= bytes= errors= mismatches= secs= rps= p50_us= p99_us= max_us=`; the exit status is 1
//! on any error or mismatch.

use std::io::{self, BufRead, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use evloop::Runtime;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::task::JoinSet;

fn main() -> io::Result<()> {
    env_logger::init();
    let args = Args::parse()?;
    let rt = Runtime::new()?;
    let started = Instant::now();
    let report = rt.block_on(async {
        match args.count {
            Some(count) => generated(&args, count).await,
            None => from_stdin(args.addr).await,
        }
    });
    let failed = report.errors > 0 || report.mismatches > 0;
    report.print(started.elapsed());
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// C connections, each sending `count` generated messages; their reports merged.
async fn generated(args: &Args, count: u64) -> Report {
    let (addr, size) = (args.addr, args.size);
    let mut conns = JoinSet::new();
    for conn in 0..args.conns {
        conns.spawn(one_connection(addr, conn, count, size));
    }
    let mut total = Report::default();
    while let Some(report) = conns.join_next().await {
        total.merge(report.expect("a client task does not panic"));
    }
    total
}

/// One connection's round trips; an I/O error ends it and is counted.
async fn one_connection(addr: SocketAddr, conn: u64, count: u64, size: usize) -> Report {
    let mut report = Report::default();
    if let Err(e) = round_trips(addr, conn, count, size, &mut report).await {
        log::warn!("connection {conn}: {e}");
        report.errors += 1;
    }
    report
}

/// Sends `count` messages of `size` bytes and checks each echo.
async fn round_trips(
    addr: SocketAddr,
    conn: u64,
    count: u64,
    size: usize,
    report: &mut Report,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.split();
    let (mut sent, mut echoed) = (vec![0u8; size], vec![0u8; size]);
    for message in 0..count {
        fill(&mut sent, conn, message);
        let start = Instant::now();
        // Write and read at the same time: a message larger than the socket buffers would
        // otherwise deadlock (we would not read the echoes that the server is blocked writing).
        let (wrote, read) = evloop::join!(writer.write_all(&sent), reader.read_exact(&mut echoed));
        wrote?;
        read?;
        report.record(start.elapsed(), &sent, &echoed);
    }
    Ok(())
}

/// The bytes of message `message` on connection `conn`: distinct per connection and message.
fn fill(buf: &mut [u8], conn: u64, message: u64) {
    let seed = conn
        .wrapping_mul(131)
        .wrapping_add(message.wrapping_mul(31));
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = seed.wrapping_add(i as u64) as u8;
    }
}

/// One connection, one message per stdin line, each echo printed.
///
/// Reading stdin blocks the loop thread. Here nothing else runs on this loop and one message is in
/// flight at a time, so nothing waits because of it; a server must never do this (offload such
/// calls to a worker thread instead).
async fn from_stdin(addr: SocketAddr) -> Report {
    let mut report = Report::default();
    if let Err(e) = lines(addr, &mut report).await {
        eprintln!("echo_client: {e}");
        report.errors += 1;
    }
    report
}

/// Sends each line, checks and prints its echo, then half-closes and expects the server to close.
async fn lines(addr: SocketAddr, report: &mut Report) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut echoed = Vec::new();
    for line in io::stdin().lock().lines() {
        let sent = format!("{}\n", line?).into_bytes();
        echoed.resize(sent.len(), 0);
        let start = Instant::now();
        stream.write_all(&sent).await?;
        stream.read_exact(&mut echoed).await?;
        report.record(start.elapsed(), &sent, &echoed);
        io::stdout().write_all(&echoed)?;
    }
    // No more lines: tell the server, which then closes its side after the last echo.
    stream.shutdown_now(Shutdown::Write)?;
    let extra = stream.read(&mut [0u8; 1]).await?;
    if extra != 0 {
        report.mismatches += 1;
        eprintln!("echo_client: the server sent bytes nobody asked for");
    }
    Ok(())
}

/// What the client measured.
#[derive(Default)]
struct Report {
    /// Round trips completed.
    messages: u64,
    /// Bytes sent (and expected back).
    bytes: u64,
    /// Connections that ended with an I/O error.
    errors: u64,
    /// Echoed bytes that differ from the ones sent.
    mismatches: u64,
    /// Round-trip latency of every message, in microseconds.
    latencies_us: Vec<u32>,
}

impl Report {
    /// Counts one round trip and compares its bytes.
    fn record(&mut self, latency: Duration, sent: &[u8], echoed: &[u8]) {
        self.messages += 1;
        self.bytes += sent.len() as u64;
        self.mismatches += sent.iter().zip(echoed).filter(|(a, b)| a != b).count() as u64;
        self.latencies_us
            .push(latency.as_micros().min(u32::MAX as u128) as u32);
    }

    /// Adds another connection's report.
    fn merge(&mut self, other: Report) {
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.errors += other.errors;
        self.mismatches += other.mismatches;
        self.latencies_us.extend(other.latencies_us);
    }

    /// Prints the summary line to stderr (stdout may carry the echoes).
    fn print(mut self, elapsed: Duration) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| match self.latencies_us.len() {
            0 => 0,
            n => self.latencies_us[((n - 1) as f64 * p).round() as usize],
        };
        let secs = elapsed.as_secs_f64();
        eprintln!(
            "messages={} bytes={} errors={} mismatches={} secs={secs:.3} rps={:.0} \
             p50_us={} p99_us={} max_us={}",
            self.messages,
            self.bytes,
            self.errors,
            self.mismatches,
            self.messages as f64 / secs.max(1e-9),
            pct(0.50),
            pct(0.99),
            self.latencies_us.last().copied().unwrap_or(0),
        );
    }
}

/// Command line: `[ADDR] [--conns C] [--count N] [--size S]`.
struct Args {
    /// The server.
    addr: SocketAddr,
    /// Concurrent connections (generated mode).
    conns: u64,
    /// Messages per connection; `None`: lines from stdin.
    count: Option<u64>,
    /// Bytes per generated message.
    size: usize,
}

impl Args {
    /// Parses `std::env::args`, or explains the usage.
    fn parse() -> io::Result<Args> {
        let usage = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: echo_client [ADDR] [--conns C] [--count N] [--size S]",
            )
        };
        let mut args = Args {
            addr: "127.0.0.1:7878".parse().expect("a valid literal address"),
            conns: 1,
            count: None,
            size: 64,
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            let mut number = || {
                argv.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(usage)
            };
            match arg.as_str() {
                "--conns" => args.conns = number()?,
                "--count" => args.count = Some(number()?),
                "--size" => args.size = number()? as usize,
                addr => args.addr = addr.parse().map_err(|_| usage())?,
            }
        }
        if (args.count.is_none() && args.conns != 1) || args.size == 0 {
            return Err(usage());
        }
        Ok(args)
    }
}
