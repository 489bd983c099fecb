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
//! - a write where the script expects a read (or after its end), and a read where it expects a
//!   write, panic: a one-task stream cannot do both at once, so waiting would hang forever;
//! - a mock dropped with reads or writes left in its script panics (unless already panicking).
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
use std::task::{Context, Poll};
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
        Mock {
            actions: std::mem::take(&mut self.actions),
            waiting: None,
        }
    }
}

/// A stream that plays a script; see the module docs.
pub struct Mock {
    /// The steps still to play.
    actions: VecDeque<Action>,
    /// The sleep of the `Wait` step in progress.
    waiting: Option<Sleep>,
}

impl Mock {
    /// One read attempt into a plain slice: what the script sends next; `Ok(0)` once the script
    /// is over. The [`AsyncRead`] impl is the same attempt (`stream.read(&mut buf).await` with
    /// `AsyncReadExt`).
    ///
    /// # Panics
    /// If the script expects a write next (see the module docs).
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.poll_waits(cx).is_pending() {
            return Poll::Pending;
        }
        let result = match self.actions.front_mut() {
            None => Ok(0), // the script is over: end of stream
            Some(Action::Read(data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                data.drain(..n);
                Ok(n)
            }
            Some(Action::ReadError(_)) => Err(self.take_error()),
            Some(other) => panic!(
                "mock stream: read called, but the script expects {} next",
                other
            ),
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
        if self.poll_waits(cx).is_pending() {
            return Poll::Pending;
        }
        let result = match self.actions.front_mut() {
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

    /// Plays the `Wait` steps at the front of the script: `Pending` while one is sleeping.
    fn poll_waits(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while let Some(Action::Wait(duration)) = self.actions.front() {
            let duration = *duration;
            let waiting = self.waiting.get_or_insert_with(|| sleep(duration));
            if Pin::new(waiting).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.waiting = None;
            self.actions.pop_front();
        }
        Poll::Ready(())
    }

    /// Takes the error of the error step at the front.
    fn take_error(&mut self) -> io::Error {
        match self.actions.pop_front() {
            Some(Action::ReadError(e) | Action::WriteError(e)) => e,
            _ => unreachable!("called on an error step"),
        }
    }

    /// Drops the front step if it is a read or write with no bytes left.
    fn pop_finished(&mut self) {
        if let Some(Action::Read(data) | Action::Write(data)) = self.actions.front()
            && data.is_empty()
        {
            self.actions.pop_front();
        }
    }
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
