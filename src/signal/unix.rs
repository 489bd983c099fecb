//! `signal(kind)` and `Signal`: one listener for one Unix signal, awaited with `recv()`.
//!
//! Each `Signal` owns a private pipe (a non-blocking `socketpair`): the handler writes a byte into
//! the write end (`registry.rs`), and the read end is registered with the runtime's reactor like
//! a socket. `recv()` is then an ordinary wait for "readable", followed by draining the bytes:
//!
//! ```text
//!  signal(SignalKind::interrupt()) ─► socketpair, registry::add(SIGINT, write end), register read end
//!  sig.recv().await ─► readable? ──no──► park on the reactor ◄── handler writes a byte
//!                          │ yes
//!                     read every byte (several signals since the last recv count as one)
//!                          └─► Some(())
//! ```
//!
//! Several `Signal`s for one signal each have their own pipe, so each gets every delivery. A
//! signal that arrives between `signal()` and the first `recv()` is not lost: its byte waits.
//! Dropping the `Signal` removes it from the registry *before* its pipe closes (the order the
//! registry's race argument needs), and the last one of a signal restores its disposition.

use std::future::poll_fn;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

use mio::Interest;

use super::registry;
use crate::reactor::{Direction, Registration};
use crate::runtime::context;

/// A Unix signal, named as in tokio (`SignalKind::interrupt()` is SIGINT, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number; `signal()` refuses those that cannot be handled.
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// SIGALRM: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGCHLD: a child process stopped or ended.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGHUP: the terminal went away; daemons take it as "reload the configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGINT: Ctrl-C in the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGIO: I/O is possible on a descriptor set up for it.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// SIGPIPE: a write to a pipe or socket whose reader is gone (Rust programs ignore it at
    /// start and see `EPIPE` instead).
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGQUIT: Ctrl-\ in the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGTERM: the polite request to end (`kill PID`, `systemctl stop`, `docker stop`).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGUSR1: meaning left to the program.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2: meaning left to the program.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGWINCH: the terminal changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

/// Signals a program must not handle: the kernel will not let it (SIGKILL, SIGSTOP), or a handler
/// that returns would run the faulting instruction again forever (SIGSEGV, SIGBUS, SIGILL,
/// SIGFPE). tokio refuses the same list.
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// Starts listening for `kind` on the current runtime. Deliveries from now on are seen by
/// [`Signal::recv`]; while any `Signal` for `kind` lives, the signal's default action (for
/// SIGINT and SIGTERM: ending the process) does not happen.
///
/// Fails for a signal that cannot be handled (SIGKILL, SIGSEGV, ...), a number that is no
/// signal or is kept by the C library, or when 64 `Signal`s already listen in this process.
///
/// # Panics
/// Outside a runtime.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.as_raw_value();
    if !can_be_handled(signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to register signal {signum}"),
        ));
    }
    Signal::new(kind)
}

/// A standard signal (1 to 31) that is not [`FORBIDDEN`], or a real-time one. The numbers in
/// between belong to the C library's threads: a handler there would break them.
fn can_be_handled(signum: libc::c_int) -> bool {
    match signum {
        1..32 => !FORBIDDEN.contains(&signum),
        _ => crate::sys::realtime_signals().contains(&signum),
    }
}

/// Receives one Unix signal: `recv().await` returns each time it was delivered (deliveries that
/// pile up before a `recv` count as one, as in tokio).
///
/// ```no_run
/// use evloop::signal::unix::{SignalKind, signal};
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let mut hangups = signal(SignalKind::hangup())?;
/// while hangups.recv().await.is_some() {
///     println!("SIGHUP: reloading the configuration");
/// }
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Signal {
    /// Which signal.
    kind: SignalKind,
    /// Our slot in the registry: where the handler finds `sender`.
    slot: usize,
    /// The reactor slot of `receiver`.
    registration: Registration,
    /// The read end, registered with the reactor.
    receiver: mio::net::UnixStream,
    /// The write end, written only by the handler (through the registry): held to keep it open,
    /// and closed after `Drop` has taken it out of the registry.
    _sender: UnixStream,
}

impl Signal {
    /// The pipe, its registration, and the registry entry.
    fn new(kind: SignalKind) -> io::Result<Signal> {
        let core = context::expect_current("evloop::signal");
        let (receiver, sender) = UnixStream::pair()?;
        receiver.set_nonblocking(true)?;
        sender.set_nonblocking(true)?; // a handler must never block on a full pipe
        let mut receiver = mio::net::UnixStream::from_std(receiver);
        let registration = Registration::new(core.reactor(), &mut receiver, Interest::READABLE)?;
        let slot = match registry::add(kind.as_raw_value(), sender.as_raw_fd()) {
            Ok(slot) => slot,
            Err(e) => {
                let _ = registration.deregister(&mut receiver);
                return Err(e);
            }
        };
        log::debug!(
            "token {}: listening for signal {}",
            registration.token(),
            kind.as_raw_value()
        );
        Ok(Signal {
            kind,
            slot,
            registration,
            receiver,
            _sender: sender,
        })
    }

    /// Waits for the next delivery. Always `Some(())` here (tokio returns `None` once its signal
    /// driver is gone; evloop's pipe lives as long as the `Signal`). Cancel-safe.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Signal::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let receiver = &self.receiver;
        match self
            .registration
            .poll_io(cx, Direction::Read, || drain(receiver))
        {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Some(())),
            Poll::Ready(Err(e)) => {
                log::warn!("signal {}: its pipe failed: {e}", self.kind.as_raw_value());
                Poll::Ready(None)
            }
        }
    }
}

/// Reads every byte waiting in the pipe: `Ok` if there was at least one, `WouldBlock` if none.
fn drain(mut receiver: &mio::net::UnixStream) -> io::Result<()> {
    let mut buf = [0u8; 64];
    let mut got_any = false;
    loop {
        match receiver.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()), // cannot happen: we hold the sender
            Ok(_) => got_any = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && got_any => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("token", &self.registration.token())
            .finish()
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // Forget the sender in the registry first; it closes after this (field drop order).
        registry::remove(self.slot);
        if let Err(e) = self.registration.deregister(&mut self.receiver) {
            log::debug!("signal pipe: deregister failed: {e}");
        }
        log::debug!("signal {}: listener dropped", self.kind.as_raw_value());
    }
}
