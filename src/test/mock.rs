//! A mock stream: a scripted peer for protocol code, with no socket.
//!
//! Code that speaks a protocol over a `TcpStream` reads bytes and writes bytes. To test it, a
//! [`Mock`] stands in for the stream and plays a script written up front: "the peer sends
//! this", "expect this to be written", "the peer goes quiet for 30 s", "the next read fails":
//!
//! ```
//! use evloop::io::{AsyncReadExt, AsyncWriteExt};
//! use evloop::test::mock::Builder;
//!
//! evloop::test::run_paused(async {
//!     let mut stream = Builder::new()
//!         .read(b"PING\r\n")
//!         .write(b"PONG\r\n")
//!         .build();
//!     let mut buf = [0; 64];
//!     let n = stream.read(&mut buf).await?;
//!     assert_eq!(&buf[..n], b"PING\r\n");
//!     stream.write_all(b"PONG\r\n").await?;
//!     assert_eq!(stream.read(&mut buf).await?, 0); // the script is over: end of stream
//!     Ok::<(), std::io::Error>(())
//! })
//! .unwrap();
//! ```
//!
//! The script is checked as it plays, and a wrong step fails the test *at the step*, with a
//! message that shows both sides, instead of a hang or a confusing assertion later:
//!
//! - a write that differs from the expected bytes panics: `mock stream: wrong bytes written`,
//!   expected and written shown as byte strings;
//! - a write where the script expects a read (or after its end) panics;
//! - a mock dropped with reads or writes left in its script panics (unless already panicking).
//!
//! A read where the script expects a write *waits*: it returns `Pending`, and its task is woken
//! when the script moves on (a write step done, an error step taken, a wait over). That is what a
//! socket does — the peer answers only after it has heard us — and what protocol code counts on
//! when it reads while it writes: a server that keeps reading while its response is prepared, to
//! notice a client that leaves (`examples/llm_server/connection.rs`, `Connection::departure`), or
//! a stream [`split`](crate::io::split) between a reader task and a writer task. Once the writes
//! before it are done, the read gets its bytes:
//!
//! ```text
//!  script: read "ask" │ write "answer" │ read "next"
//!  reader: ──"ask"──► read … Pending ………………………………… woken ──"next"──►
//!  writer:                 write "answer" ─► step done, wake the reader ─┘
//! ```
//!
//! The price: code that only reads, where its script expects a write, waits forever instead of
//! failing at the step (a missing write, say). Under paused time the loop then jumps to the next
//! timer, so a test whose own `timeout` is the only timer fails at once; with no timer at all, the
//! loop waits in `epoll_wait` for ever. A test should therefore bound itself in *real* time —
//! `tests/util/mod.rs` has `within_real(deadline, test)`, and `paused(test)` runs a paused test
//! under it.
//!
//! Reads and writes may be split differently from the script: a scripted read of 100 bytes can be
//! read 10 at a time, a write may cover several scripted writes (`write_all` finishes it). A
//! [`wait`](Builder::wait) sleeps on the loop's clock: under paused time it takes no real time.
//!
//! `Mock` implements [`AsyncRead`] and [`AsyncWrite`], as `net::TcpStream` does, so protocol
//! code generic over `S: AsyncRead + AsyncWrite + Unpin` runs on either; `read`, `write_all` and
//! the rest come from [`AsyncReadExt`](crate::io::AsyncReadExt) and
//! [`AsyncWriteExt`](crate::io::AsyncWriteExt). `flush` and `shutdown` are no-ops that the script
//! does not check. The model is `tokio-test`'s `io::Builder` and `Mock`.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::time::{Sleep, sleep};

/// One step of a script.
enum Action {
    /// The peer sends these bytes (what is left of them).
    Read(Vec<u8>),
    /// The code under test must write these bytes (what is left of them).
    Write(Vec<u8>),
    /// The peer is silent for this long: reads and writes wait.
    Wait(Duration),
    /// The next read fails with this error.
    ReadError(io::Error),
    /// The next write fails with this error.
    WriteError(io::Error),
}

/// Writes a script for a [`Mock`]: `Builder::new().read(b"…").write(b"…").build()`.
#[derive(Default)]
pub struct Builder {
    /// The steps, in order.
    actions: VecDeque<Action>,
}

impl Builder {
    /// An empty script (a mock that is at end of stream at once).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The peer sends `data`: the next reads return it. (Empty data adds no step: a read that
    /// returns nothing is the end of the stream, which is where the script ends anyway.)
    pub fn read(&mut self, data: &[u8]) -> &mut Builder {
        if !data.is_empty() {
            self.actions.push_back(Action::Read(data.to_vec()));
        }
        self
    }

    /// The code under test must write exactly `data` next. (Empty data adds no step.)
    pub fn write(&mut self, data: &[u8]) -> &mut Builder {
        if !data.is_empty() {
            self.actions.push_back(Action::Write(data.to_vec()));
        }
        self
    }

    /// The peer is silent for `duration` (a sleep on the loop's clock, free under paused time).
    pub fn wait(&mut self, duration: Duration) -> &mut Builder {
        self.actions.push_back(Action::Wait(duration));
        self
    }

    /// The next read fails with `error`.
    pub fn read_error(&mut self, error: io::Error) -> &mut Builder {
        self.actions.push_back(Action::ReadError(error));
        self
    }

    /// The next write fails with `error`.
    pub fn write_error(&mut self, error: io::Error) -> &mut Builder {
        self.actions.push_back(Action::WriteError(error));
        self
    }

    /// The mock stream, playing the script written so far (the builder is left empty).
    pub fn build(&mut self) -> Mock {
        let parked = Arc::new(Parked::default());
        Mock {
            actions: std::mem::take(&mut self.actions),
            waiting: None,
            wake_parked: Waker::from(Arc::clone(&parked)),
            parked,
        }
    }
}

/// A stream that plays a script; see the module docs.
pub struct Mock {
    /// The steps still to play.
    actions: VecDeque<Action>,
    /// The sleep of the `Wait` step in progress.
    waiting: Option<Sleep>,
    /// The tasks whose read or write waits for the script to move on.
    parked: Arc<Parked>,
    /// A waker that wakes every task in `parked`: the one the `Wait` step's sleep is polled with.
    wake_parked: Waker,
}

/// The tasks waiting on a mock: at most one reader and one writer (a stream has one of each).
///
/// Both are woken whenever the script moves on, since either may then go on. A `Wait` step's
/// sleep keeps one waker only, the last one it was polled with; a reader and a writer waiting out
/// the same pause in two tasks would then leave one of them asleep. So the sleep is polled with a
/// waker of this whole set instead. (`Mutex`: a `Waker` may be woken from any thread, so what it
/// wakes must be `Sync`; on the loop thread the lock is never contended.)
#[derive(Default)]
struct Parked {
    /// The task of the read that waits, if any.
    reader: Mutex<Option<Waker>>,
    /// The task of the write that waits (out a `Wait` step), if any.
    writer: Mutex<Option<Waker>>,
}

impl Parked {
    /// Stores `waker` in `slot` (a read's or a write's), replacing the one there.
    fn park(slot: &Mutex<Option<Waker>>, waker: &Waker) {
        let mut slot = slot.lock().expect("a mock's waker slot is never poisoned");
        match slot.as_ref() {
            Some(parked) if parked.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Wakes the task in `slot`, if any (taking it out first: a woken task that still has to
    /// wait parks again).
    fn unpark(slot: &Mutex<Option<Waker>>) {
        let parked = slot
            .lock()
            .expect("a mock's waker slot is never poisoned")
            .take();
        if let Some(waker) = parked {
            waker.wake();
        }
    }
}

/// The waker of the whole set: wakes the reader and the writer.
impl Wake for Parked {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Parked::unpark(&self.reader);
        Parked::unpark(&self.writer);
    }
}

impl Mock {
    /// One read attempt into a plain slice: what the script sends next; `Ok(0)` once the script
    /// is over. The [`AsyncRead`] impl is the same attempt (`stream.read(&mut buf).await` with
    /// `AsyncReadExt`).
    ///
    /// `Pending` while the script expects a write (or waits): the task is woken when the script
    /// moves on (see the module docs).
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let result = match self.front_for(cx, Side::Read) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => Ok(0), // the script is over: end of stream
            Poll::Ready(Some(Action::Read(data))) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                data.drain(..n);
                Ok(n)
            }
            Poll::Ready(Some(Action::ReadError(_))) => Err(self.take_error()),
            Poll::Ready(Some(Action::Write(_) | Action::WriteError(_))) => {
                // The peer answers after it has heard us: wait for the writes before this read.
                Parked::park(&self.parked.reader, cx.waker());
                return Poll::Pending;
            }
            Poll::Ready(Some(Action::Wait(_))) => unreachable!("front_for plays the waits"),
        };
        self.pop_finished();
        Poll::Ready(result)
    }

    /// One write attempt, checked against the script; returns how much was taken. The
    /// [`AsyncWrite`] impl is the same attempt.
    ///
    /// # Panics
    /// If the bytes differ from the script, or the script expects a read or has ended.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let result = match std::task::ready!(self.front_for(cx, Side::Write)) {
            Some(Action::Write(expected)) => {
                let n = expected.len().min(buf.len());
                assert!(
                    buf[..n] == expected[..n],
                    "mock stream: wrong bytes written\n  expected: {}\n   written: {}",
                    Bytes(expected),
                    Bytes(buf)
                );
                expected.drain(..n);
                Ok(n)
            }
            Some(Action::WriteError(_)) => Err(self.take_error()),
            None => panic!(
                "mock stream: unexpected write of {}: the script has ended",
                Bytes(buf)
            ),
            Some(other) => panic!(
                "mock stream: unexpected write of {}: the script expects {} first",
                Bytes(buf),
                other
            ),
        };
        self.pop_finished();
        Poll::Ready(result)
    }

    /// True once every step of the script has been played.
    pub fn is_done(&self) -> bool {
        self.actions.is_empty()
    }

    /// Plays the `Wait` steps at the front of the script, then gives the first other step (`None`
    /// when the script is over). `Pending` while a wait sleeps, with the caller's task parked as
    /// `side`: the sleep wakes the reader and the writer both.
    fn front_for(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Option<&mut Action>> {
        while let Some(Action::Wait(duration)) = self.actions.front() {
            let duration = *duration;
            let waiting = self.waiting.get_or_insert_with(|| sleep(duration));
            if Pin::new(waiting)
                .poll(&mut Context::from_waker(&self.wake_parked))
                .is_pending()
            {
                let slot = match side {
                    Side::Read => &self.parked.reader,
                    Side::Write => &self.parked.writer,
                };
                Parked::park(slot, cx.waker());
                return Poll::Pending;
            }
            self.waiting = None;
            self.next_step();
        }
        Poll::Ready(self.actions.front_mut())
    }

    /// Takes the error of the error step at the front.
    fn take_error(&mut self) -> io::Error {
        match self.next_step() {
            Some(Action::ReadError(e) | Action::WriteError(e)) => e,
            _ => unreachable!("called on an error step"),
        }
    }

    /// Drops the front step if it is a read or write with no bytes left.
    fn pop_finished(&mut self) {
        if let Some(Action::Read(data) | Action::Write(data)) = self.actions.front()
            && data.is_empty()
        {
            self.next_step();
        }
    }

    /// Moves the script on by one step (returned), and wakes the tasks waiting for that: a read
    /// parked behind a write may now go on.
    fn next_step(&mut self) -> Option<Action> {
        let step = self.actions.pop_front();
        self.wake_parked.wake_by_ref();
        step
    }
}

/// Which side of the stream a waiting task is on.
#[derive(Clone, Copy)]
enum Side {
    /// A read.
    Read,
    /// A write.
    Write,
}

impl AsyncRead for Mock {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self.get_mut().poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Mock {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // a test already failing: do not turn its panic into an abort
        }
        let left: Vec<String> = self
            .actions
            .iter()
            .filter(|a| !matches!(a, Action::Wait(_)))
            .map(Action::to_string)
            .collect();
        assert!(
            left.is_empty(),
            "mock stream dropped with its script unfinished; left: {}",
            left.join(", then ")
        );
    }
}

impl fmt::Debug for Mock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self.actions.iter().map(Action::to_string).collect();
        f.debug_struct("Mock").field("script", &steps).finish()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self.actions.iter().map(Action::to_string).collect();
        f.debug_struct("Builder").field("script", &steps).finish()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Read(data) => write!(f, "a read of {}", Bytes(data)),
            Action::Write(data) => write!(f, "a write of {}", Bytes(data)),
            Action::Wait(duration) => write!(f, "a wait of {duration:?}"),
            Action::ReadError(e) => write!(f, "a read error ({e})"),
            Action::WriteError(e) => write!(f, "a write error ({e})"),
        }
    }
}

/// Bytes shown as a byte string literal, `b"GET / HTTP/1.1\r\n"`, cut after 200 bytes.
struct Bytes<'a>(&'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 200;
        let shown = &self.0[..self.0.len().min(SHOWN)];
        write!(f, "b\"{}\"", shown.escape_ascii())?;
        if self.0.len() > SHOWN {
            write!(f, "… ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::io::{AsyncReadExt, AsyncWriteExt, split};
    use crate::task::spawn_local;
    use crate::test::run_paused;
    use crate::time::{Instant, timeout};

    /// Reads once into a small buffer and returns the bytes as text.
    async fn read_text(stream: &mut (impl AsyncRead + Unpin)) -> String {
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).await.expect("read");
        String::from_utf8(buf[..n].to_vec()).expect("text")
    }

    /// The bound a test puts on itself: a task left waiting forever leaves the paused loop idle,
    /// so it jumps to this deadline and the test fails at once instead of hanging.
    const HANG: Duration = Duration::from_secs(3600);

    #[test]
    fn a_read_waits_for_the_write_before_it_and_is_woken_by_it() {
        run_paused(async {
            let stream = Builder::new()
                .read(b"ask")
                .write(b"answer")
                .read(b"next")
                .build();
            let (mut reader, mut writer) = split(stream);
            assert_eq!(read_text(&mut reader).await, "ask");
            // The reader is its own task: only the write step can wake it.
            let reading = spawn_local(async move { read_text(&mut reader).await });
            crate::task::yield_now().await;
            assert!(!reading.is_finished(), "the read waits for the write");
            writer.write_all(b"answer").await.expect("write");
            let next = timeout(HANG, reading).await.expect("the read was woken");
            assert_eq!(next.expect("no panic"), "next");
        });
    }

    #[test]
    fn a_read_waits_for_a_write_error_step_to_be_taken() {
        run_paused(async {
            let stream = Builder::new()
                .write_error(io::ErrorKind::BrokenPipe.into())
                .read(b"after")
                .build();
            let (mut reader, mut writer) = split(stream);
            let reading = spawn_local(async move { read_text(&mut reader).await });
            crate::task::yield_now().await;
            assert!(!reading.is_finished(), "the read waits for the write error");
            let failed = writer
                .write_all(b"x")
                .await
                .expect_err("the scripted error");
            assert_eq!(failed.kind(), io::ErrorKind::BrokenPipe);
            let after = timeout(HANG, reading).await.expect("the read was woken");
            assert_eq!(after.expect("no panic"), "after");
        });
    }

    #[test]
    fn a_reader_and_a_writer_waiting_out_one_pause_are_both_woken() {
        run_paused(async {
            let stream = Builder::new()
                .wait(Duration::from_secs(10))
                .write(b"w")
                .read(b"r")
                .build();
            let (mut reader, mut writer) = split(stream);
            let start = Instant::now();
            // The writer waits out the pause first, then a reader that gives up half way: the
            // pause's sleep was last polled for the reader, yet the writer must wake at 10 s.
            let writing = spawn_local(async move {
                writer.write_all(b"w").await.expect("write");
                (start.elapsed(), writer)
            });
            crate::task::yield_now().await;
            let early = timeout(Duration::from_secs(5), read_text(&mut reader)).await;
            assert!(early.is_err(), "nothing to read during the pause");
            let (wrote_at, writer) = timeout(HANG, writing)
                .await
                .expect("the writer was woken")
                .expect("no panic");
            assert_eq!(wrote_at, Duration::from_secs(10));
            assert_eq!(read_text(&mut reader).await, "r");
            assert!(reader.unsplit(writer).is_done());
        });
    }

    #[test]
    #[should_panic(
        expected = "mock stream: unexpected write of b\"hi\": the script expects a \
                               read of b\"GET /\" first"
    )]
    fn a_write_where_the_script_expects_a_read_still_panics() {
        run_paused(async {
            let mut stream = Builder::new().read(b"GET /").build();
            let _ = stream.write(b"hi").await;
        });
    }
}
