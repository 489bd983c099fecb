//! Keeping the accept loop alive when the process runs out of file descriptors.
//!
//! Every accepted connection needs a file descriptor. When the process (EMFILE) or the whole
//! system (ENFILE) has none left, `accept(2)` fails — but the connection stays queued in the
//! kernel, so the listener stays readable. Two classic bugs follow:
//!
//! - retry at once: the loop spins at 100 % CPU calling `accept` for as long as descriptors stay
//!   short, and starves everything else;
//! - give up until the next event: with edge-triggered epoll no new event comes for connections
//!   already queued, so they wait forever.
//!
//! [`accept_with_backoff`], the accept loop of `TcpListener::accept` and `UnixListener::accept`,
//! does neither. It logs a warning and *sleeps* on a timer — 10 ms, then
//! 20, 40, ... capped at 100 ms — and tries again; meanwhile the loop serves every other task, and
//! connections closing elsewhere give descriptors back. The readiness bit is not cleared (the
//! connection is still queued), so the retry goes straight to `accept(2)`. Out of memory (ENOMEM,
//! ENOBUFS) is treated the same way.
//!
//! Errors about one connection only — it was reset before we took it (ECONNABORTED), a firewall
//! refused it (EPERM), the network went away (ENETDOWN, EHOSTUNREACH, ...) — are skipped: Linux
//! reports some network errors of the *new* socket through `accept`, and `accept(2)` says to treat
//! them like `EAGAIN`. Anything else (a closed or invalid listener) is returned to the caller.
//!

use std::fmt::Debug;
use std::future::poll_fn;
use std::io;
use std::time::{Duration, Instant};

use super::poll_evented::PollEvented;
use crate::reactor::Direction;

/// The first back-off after running out of descriptors.
const BACKOFF_START: Duration = Duration::from_millis(10);
/// The longest back-off: how late a freed descriptor may be noticed at worst.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// The accept loop, for any listener: `accept_one` once the listener is readable, `register` the
/// new connection with the reactor, back off while out of resources, skip the failures of single
/// connections (module docs). Returns `Err` only when the listener itself is broken.
pub(super) async fn accept_with_backoff<L, S, A, T>(
    io: &PollEvented<L>,
    accept_one: impl Fn(&L) -> io::Result<(S, A)>,
    register: impl Fn(S) -> io::Result<T>,
) -> io::Result<(T, A)>
where
    L: mio::event::Source,
    A: Debug,
{
    let token = io.token();
    let mut backoff = Backoff::default();
    loop {
        let accepted = poll_fn(|cx| io.poll_io(cx, Direction::Read, &accept_one)).await;
        let (failure, error) = match accepted {
            Ok((stream, peer)) => match register(stream) {
                Ok(stream) => {
                    backoff.recovered(token);
                    log::trace!("token {token}: accepted {peer:?}");
                    return Ok((stream, peer));
                }
                // epoll_ctl failed (ENOMEM, or ENOSPC: the epoll watch limit). The connection
                // closed as it dropped; the kernel is short of something, so back off.
                Err(e) => {
                    log::warn!("token {token}: cannot register {peer:?}, closing it: {e}");
                    (AcceptFailure::OutOfResources, e)
                }
            },
            Err(e) => (AcceptFailure::of(&e), e),
        };
        match failure {
            AcceptFailure::OutOfResources => backoff.wait(token, &error).await,
            AcceptFailure::Connection => {
                log::debug!("token {token}: accept skipped a failed connection: {error}");
            }
            AcceptFailure::Listener => return Err(error),
        }
    }
}

/// What a failed `accept(2)` means for the accept loop.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AcceptFailure {
    /// No descriptors or memory: wait a little, then try again.
    OutOfResources,
    /// That one connection failed; the next one may be fine: try again now.
    Connection,
    /// The listener itself is broken: report it.
    Listener,
}

impl AcceptFailure {
    /// Sorts an `accept(2)` error (see the module docs).
    pub(super) fn of(error: &io::Error) -> AcceptFailure {
        match error.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                AcceptFailure::OutOfResources
            }
            Some(
                libc::ECONNABORTED
                | libc::EPERM
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::ETIMEDOUT,
            ) => AcceptFailure::Connection,
            _ => AcceptFailure::Listener,
        }
    }
}

/// The back-off of one `accept` call while descriptors are short.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// The next pause; `None` until the first failure.
    next: Option<Duration>,
    /// When the first failure happened, for the log line at recovery.
    since: Option<Instant>,
}

impl Backoff {
    /// Logs the failure (a warning the first time, debug after) and sleeps for the current pause,
    /// doubling it for next time up to [`BACKOFF_MAX`].
    pub(super) async fn wait(&mut self, token: usize, error: &io::Error) {
        let pause = self.next_pause();
        if self.since.is_none() {
            self.since = Some(Instant::now());
            log::warn!(
                "token {token}: accept failed: {error}; out of resources, retrying in {} ms \
                 (and backing off) instead of spinning",
                pause.as_millis()
            );
        } else {
            log::debug!(
                "token {token}: accept still failing: {error}; retrying in {} ms",
                pause.as_millis()
            );
        }
        crate::time::sleep(pause).await;
    }

    /// The pause before the next attempt: [`BACKOFF_START`], doubling up to [`BACKOFF_MAX`].
    fn next_pause(&mut self) -> Duration {
        let pause = self.next.unwrap_or(BACKOFF_START);
        self.next = Some((pause * 2).min(BACKOFF_MAX));
        pause
    }

    /// Logs how long accepting was stalled, if it was.
    pub(super) fn recovered(&self, token: usize) {
        if let Some(since) = self.since {
            log::debug!(
                "token {token}: accepting again after {} ms out of resources",
                since.elapsed().as_millis()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_sorted_by_who_they_concern() {
        let of = |errno| AcceptFailure::of(&io::Error::from_raw_os_error(errno));
        assert_eq!(of(libc::EMFILE), AcceptFailure::OutOfResources);
        assert_eq!(of(libc::ENFILE), AcceptFailure::OutOfResources);
        assert_eq!(of(libc::ENOBUFS), AcceptFailure::OutOfResources);
        assert_eq!(of(libc::ECONNABORTED), AcceptFailure::Connection);
        assert_eq!(of(libc::EPERM), AcceptFailure::Connection);
        assert_eq!(of(libc::EBADF), AcceptFailure::Listener);
        assert_eq!(of(libc::EINVAL), AcceptFailure::Listener);
        let no_errno = io::Error::other("not from the OS");
        assert_eq!(AcceptFailure::of(&no_errno), AcceptFailure::Listener);
    }

    #[test]
    fn backoff_doubles_from_10_ms_up_to_100_ms() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u128> = (0..6).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 100, 100]);
    }
}
