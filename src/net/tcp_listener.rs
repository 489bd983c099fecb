//! `TcpListener`: accepts connections, and keeps accepting when the process runs out of
//! file descriptors.
//!
//! ## accept and EMFILE
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
//! [`TcpListener::accept`] does neither. It logs a warning and *sleeps* on a timer — 10 ms, then
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
//! ## The backlog
//!
//! The kernel completes handshakes on its own and queues the connections for `accept`; `listen`'s
//! *backlog* caps that queue. mio and std listen with 128. A burst of more connects than that —
//! 500 clients starting at once — overflows it while the loop is busy: the kernel drops handshake
//! replies, falls back to SYN cookies, and some of those connections are later *reset*
//! (`tests/reliability_load.rs` saw it). [`TcpListener::bind`] therefore asks for 1024, tokio's
//! value (the kernel caps it at `net.core.somaxconn`, 4096 on current Linux).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use mio::Interest;

use super::ToSocketAddrs;
use super::poll_evented::PollEvented;
use super::tcp_stream::TcpStream;
use crate::reactor::Direction;

/// Connections the kernel may hold for `accept` (tokio's value; see the module docs).
pub(super) const BACKLOG: libc::c_int = 1024;

/// The first back-off after running out of descriptors.
const BACKOFF_START: Duration = Duration::from_millis(10);
/// The longest back-off: how late a freed descriptor may be noticed at worst.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// A listening TCP socket registered with the current runtime.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     evloop::spawn(async move { /* serve `stream` */ drop((stream, peer)) });
/// }
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The mio listener and its reactor slot (registered for reading only: accepts are reads).
    io: PollEvented<mio::net::TcpListener>,
}

/// What a failed `accept(2)` means for the accept loop.
#[derive(Debug, PartialEq, Eq)]
enum AcceptFailure {
    /// No descriptors or memory: wait a little, then try again.
    OutOfResources,
    /// That one connection failed; the next one may be fine: try again now.
    Connection,
    /// The listener itself is broken: report it.
    Listener,
}

impl AcceptFailure {
    /// Sorts an `accept(2)` error (see the module docs).
    fn of(error: &io::Error) -> AcceptFailure {
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

impl TcpListener {
    /// Binds to `addr` (the first address that works) and starts listening, with `SO_REUSEADDR`
    /// and a backlog of 1024 (module docs). Port 0 picks a free port: see [`local_addr`].
    ///
    /// `async` as in tokio, because `addr` may be a host name (`"localhost:8080"`), resolved on the
    /// worker; a literal address (`"127.0.0.1:0"`) completes at the first poll, with no thread hop.
    /// For a listen backlog or options of your own, use [`TcpSocket`](super::TcpSocket).
    ///
    /// [`local_addr`]: TcpListener::local_addr
    ///
    /// # Panics
    /// Outside a runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        super::each_addr(addr, TcpListener::bind_addr).await
    }

    /// Binds to one address and listens with [`BACKLOG`].
    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = mio::net::TcpListener::bind(addr)?;
        // mio listened with 128; listening again on a listening socket only changes the backlog.
        crate::sys::listen(listener.as_fd(), BACKLOG)?;
        TcpListener::from_mio(listener)
    }

    /// Takes over a listening `std::net::TcpListener`: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Registers a mio listener for reading.
    pub(super) fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        let io = PollEvented::new(listener, Interest::READABLE)?;
        log::trace!(
            "token {}: listening on {:?}",
            io.token(),
            io.source().local_addr()
        );
        Ok(TcpListener { io })
    }

    /// Waits for the next connection and returns it with the peer's address.
    ///
    /// Out of file descriptors (or memory), it backs off on a timer and tries again instead of
    /// failing; errors of a single connection are skipped (module docs). It returns `Err` only
    /// when the listener itself is broken. Cancel-safe: a connection is either returned or left
    /// queued in the kernel.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        accept_with_backoff(&self.io, |l| l.accept(), TcpStream::from_mio).await
    }

    /// The address the listener is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.source().take_error()
    }
}

/// The accept loop of the module docs, for any listener (`UnixListener` uses it too): `accept`
/// with `accept_one` once readable, register the new connection with `register`, back off while
/// out of resources, skip the failures of single connections.
pub(super) async fn accept_with_backoff<L, S, A, T>(
    io: &PollEvented<L>,
    accept_one: impl Fn(&L) -> io::Result<(S, A)>,
    register: impl Fn(S) -> io::Result<T>,
) -> io::Result<(T, A)>
where
    L: mio::event::Source,
    A: std::fmt::Debug,
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

/// The back-off of one `accept` call while descriptors are short.
#[derive(Debug, Default)]
struct Backoff {
    /// The next pause; `None` until the first failure.
    next: Option<Duration>,
    /// When the first failure happened, for the log line at recovery.
    since: Option<Instant>,
}

impl Backoff {
    /// Logs the failure (a warning the first time, debug after) and sleeps for the current pause,
    /// doubling it for next time up to [`BACKOFF_MAX`].
    async fn wait(&mut self, token: usize, error: &io::Error) {
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
    fn recovered(&self, token: usize) {
        if let Some(since) = self.since {
            log::debug!(
                "token {token}: accepting again after {} ms out of resources",
                since.elapsed().as_millis()
            );
        }
    }
}

/// The socket's descriptor, for options `net` does not wrap (e.g. `libc::setsockopt`). Do not
/// read, write or close it behind the runtime's back.
impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.source().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.source().as_fd()
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
