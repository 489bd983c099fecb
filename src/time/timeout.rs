//! `timeout`: give a future a deadline.
//!
//! The inner future is polled first, so a future that is ready at the deadline still wins.
//! When the future finishes first, the `Sleep` is dropped and its timer removed, so a timeout
//! costs the timers nothing once it is over.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Sleep, sleep};

/// Runs `future`, giving up with [`Elapsed`] after `duration`.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The error of a [`timeout`] that ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Future returned by [`timeout`].
#[must_use = "futures do nothing unless you `.await` them"]
#[derive(Debug)]
pub struct Timeout<F> {
    /// The future being given a deadline.
    future: F,
    /// The deadline.
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `Timeout`, and
        // `Timeout` has no `Drop` impl or `Unpin` impl that could move it. `sleep` is `Unpin`,
        // so handing out `&mut Sleep` is fine.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `future` stays pinned inside the pinned `Timeout`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
