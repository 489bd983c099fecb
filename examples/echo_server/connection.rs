//! One connection's task: echo every byte back until the client closes. (Part of the
//! `echo_server` example; `tests/echo_sizes.rs` includes this file to weigh its future.)
//!
//! Memory per connection is the point of this file. An idle connection is a task waiting in
//! `readable().await`, and everything its future holds across that `.await` stays allocated for
//! as long as the client is connected — with 10 000 idle clients, 10 000 times. So the task holds
//! as little as it can while it waits: the stream, a byte count, and no buffer.
//!
//! ```text
//!  readable().await ──► take a buffer from the pool ──► try_read ──► write_all(.. n).await ──┐
//!  (idle: 48 bytes)                                                    (buffer kept only if   │
//!        ▲                                                              the write must wait)  │
//!        └───────────────────────── buffer back to the pool ◄──────────────────────────────────┘
//! ```
//!
//! The rest is kept out of the future on purpose: the peer's address (32 bytes) is asked of the
//! socket again when a log line needs it, the `--work-ms` setting and the shutdown flag live in
//! statics, and the rarely used slow path is boxed, so that its larger state is allocated only
//! while a message goes through it. `docs/performance.md` ("Memory per idle connection") has the
//! whole breakdown: task cell, future, slabs, allocator.
//!
//! ## Shutdown
//!
//! `main` asks for a graceful shutdown with [`begin_shutdown`]: from then on a connection that
//! wakes up with a new message closes instead of reading it, and [`messages_in_flight_done`]
//! waits for the messages already being echoed. A message is *in flight* only while its task
//! awaits the slow path (a write that has to wait, or the `--work-ms` transform): the common echo
//! reads and writes without an `.await`, so no shutdown can find it half done. The counters are
//! statics shared by all loops of the process (`--loops N`), not per-connection state.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use evloop::io::AsyncWriteExt;
use evloop::net::TcpStream;
use evloop::sync::Notify;

/// The `--work-ms` transform's duration, set once by `main` before the first connection.
static WORK: OnceLock<Option<Duration>> = OnceLock::new();

/// Connections open now, all loops together.
static OPEN: AtomicUsize = AtomicUsize::new(0);
/// Messages being echoed on the slow path now (see "Shutdown" in the module docs).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Set by `begin_shutdown`: a connection that wakes up closes instead of reading.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Notified when the last message in flight is done, once shutting down.
static IN_FLIGHT_DONE: Notify = Notify::const_new();

/// Connections open now.
pub fn open() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// Messages being echoed on the slow path now.
pub fn in_flight() -> usize {
    IN_FLIGHT.load(Ordering::Relaxed)
}

/// From now on connections take no new message: each closes when it next wakes up.
pub fn begin_shutdown() {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
}

/// Waits until no message is in flight (call after `begin_shutdown`: no new one starts then).
pub async fn messages_in_flight_done() {
    while IN_FLIGHT.load(Ordering::SeqCst) > 0 {
        // A permit stored by `notify_one` between the check and the wait is not lost.
        IN_FLIGHT_DONE.notified().await;
    }
}

/// Counts a connection open for as long as it lives (a zero-sized guard in its future).
struct Open;

impl Open {
    /// One more open connection.
    fn count() -> Open {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a message in flight while the slow path runs (a zero-sized guard in the boxed future).
struct InFlight;

impl InFlight {
    /// One more message in flight.
    fn count() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 && SHUTTING_DOWN.load(Ordering::SeqCst) {
            IN_FLIGHT_DONE.notify_one();
        }
    }
}

/// The `--work-ms` duration, if set.
fn work() -> Option<Duration> {
    WORK.get().copied().flatten()
}

/// Sets the blocking transform every message passes through (`--work-ms`); call before serving.
pub fn set_work(work: Option<Duration>) {
    WORK.set(work)
        .expect("set once, before the first connection");
}

/// The task of one accepted connection: echo until the client closes, then say how it ended (at
/// debug level).
///
/// Two details keep its future small. It is a plain `fn` returning an `async` block, not an
/// `async fn`: an `async fn` that rebinds its argument (`mut stream`) stores the argument twice,
/// 32 bytes more (rust-lang/rust#62958). And everything between two waits happens in the
/// synchronous [`echo_now`], so the buffer, the byte count and the `Result`s in between are never
/// part of the future; only a write that has to wait leaves a boxed future behind.
#[allow(clippy::manual_async_fn)] // on purpose: see above
pub fn connection(mut stream: TcpStream) -> impl Future<Output = ()> {
    async move {
        let _open = Open::count();
        log::debug!("{}: connected", Peer(&stream));
        let mut echoed = 0;
        let end = loop {
            // Wait without a buffer: this is where idle connections spend their time.
            if let Err(e) = stream.readable().await {
                break End::Failed(e);
            }
            let rest = match echo_now(&mut stream, &mut echoed) {
                Ok(None) => continue, // echoed already (or nothing to read after all)
                Ok(Some(rest)) => rest,
                Err(end) => break end,
            };
            if let Err(e) = rest.await {
                break End::Failed(e);
            }
        };
        ended(&stream, echoed, end);
    }
}

/// Why a connection's task ends.
enum End {
    /// The client closed its side.
    Closed,
    /// The server is shutting down.
    Shutdown,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// Reads what is there and writes it back, without waiting; counts it in `echoed`. Returns the
/// rest of the work as a boxed future when the echo could not be finished now (the socket's send
/// buffer is full, or `--work-ms` needs a thread), and why the connection ends when it does.
fn echo_now<'a>(
    stream: &'a mut TcpStream,
    echoed: &mut u64,
) -> Result<Option<Pin<Box<impl Future<Output = io::Result<()>> + 'a>>>, End> {
    // A closing server takes no new message (module docs, "Shutdown").
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(End::Shutdown);
    }
    let mut buf = BUFFERS.with(BufferPool::take);
    let n = match stream.try_read(&mut buf.bytes) {
        Ok(0) => return Err(End::Closed),
        Ok(n) => n,
        // The readiness was stale: wait for the next event.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(End::Failed(e)),
    };
    *echoed += n as u64;
    log::debug!("{}: echoing {n} bytes", Peer(stream));
    // Nearly always the socket takes the whole echo at once.
    let written = match work() {
        None => write_now(stream, &buf.bytes[..n]).map_err(End::Failed)?,
        Some(_) => 0,
    };
    if written == n {
        return Ok(None);
    }
    // Boxed: the rest of the write (and the transform) is allocated only while it runs.
    Ok(Some(Box::pin(finish(
        stream,
        buf,
        written..n,
        InFlight::count(),
    ))))
}

/// Writes as much of `bytes` as the socket takes right now; returns how much that was.
fn write_now(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.try_write(&bytes[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// The slow path of one message: the `--work-ms` transform if set, and a write that has to wait
/// for room in the socket's send buffer (a client that does not read its echoes).
async fn finish(
    stream: &mut TcpStream,
    buf: PooledBuf,
    rest: Range<usize>,
    _in_flight: InFlight,
) -> io::Result<()> {
    let Some(work) = work() else {
        return stream.write_all(&buf.bytes[rest]).await;
    };
    let bytes = buf.bytes[rest].to_vec();
    drop(buf); // do not hold a pooled buffer while the transform runs
    let transformed = transform(bytes, work).await?;
    stream.write_all(&transformed).await
}

/// Logs how a connection ended.
fn ended(stream: &TcpStream, echoed: u64, end: End) {
    match end {
        End::Closed => log::debug!(
            "{}: disconnected after echoing {echoed} bytes",
            Peer(stream)
        ),
        End::Shutdown => log::debug!("{}: closed by the shutdown", Peer(stream)),
        End::Failed(e) => log::debug!("{}: connection ended with an error: {e}", Peer(stream)),
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

/// The peer's address for a log line, asked of the socket only when the line is printed.
struct Peer<'a>(&'a TcpStream);

impl fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.peer_addr() {
            Ok(addr) => write!(f, "{addr}"),
            Err(_) => write!(f, "(reset connection)"),
        }
    }
}

thread_local! {
    /// Buffers not in use right now. One per loop thread: a `RefCell`, no lock.
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
