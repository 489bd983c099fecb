//! How the pool gets a thread — and how a test makes the OS say no.
//!
//! The pool never calls `std::thread::spawn` directly: it asks a [`ThreadSpawner`]. In production
//! that is [`OsThreads`], a thin wrapper over `std::thread::Builder::spawn`, whose error is a value
//! (`io::Result`) — `std::thread::spawn` would panic instead, and a panic is exactly what a service
//! in a thread-limited container must not do.
//!
//! [`Deny`] is the **portable simulation** of a container that forbids threads: it refuses in
//! process, with the error the OS gives (`EAGAIN`, "Resource temporarily unavailable (os error
//! 11)"), on every platform and under Miri, so both worker paths — offload and fallback — run in
//! every `cargo test`. It only fools the pool it is given to. To make the *real* OS refuse, for
//! every thread of the process, use [`deny_thread_creation`](crate::sandbox::deny_thread_creation),
//! which installs a seccomp filter (Linux only; tests run it in a child process).
//!
//! ```text
//!  ThreadPool ── spawn(name, body) ──► OsThreads ──► std::thread::Builder ──► clone(2)
//!                                  └─► Deny ── allowed? ─ yes ─► OsThreads
//!                                               └ no ──► Err(EAGAIN), nothing created
//! ```

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

/// Creates the threads of a pool. Object-safe, so a pool holds a `Box<dyn ThreadSpawner>`.
pub trait ThreadSpawner: Send + Sync + 'static {
    /// Starts a thread named `name` running `body`, detached. An error means no thread exists
    /// and `body` was dropped unrun.
    fn spawn(&self, name: String, body: Box<dyn FnOnce() + Send>) -> io::Result<()>;
}

/// The real thing: `std::thread::Builder::spawn`, with its error returned, never panicked.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsThreads;

impl ThreadSpawner for OsThreads {
    fn spawn(&self, name: String, body: Box<dyn FnOnce() + Send>) -> io::Result<()> {
        // Dropping the JoinHandle detaches the thread: the pool tracks its threads by count, and
        // shutdown must never wait for one that is stuck in a blocking call.
        std::thread::Builder::new().name(name).spawn(body).map(drop)
    }
}

/// A spawner that refuses threads in process, like a container with a thread limit would.
///
/// Clones share one state, so a test can keep a clone and [`lift`](Deny::lift) the limit later.
#[derive(Clone)]
pub struct Deny {
    /// Budget, error and counters, shared by the clones.
    state: Arc<Mutex<DenyState>>,
}

/// What a `Deny` remembers.
#[derive(Debug)]
struct DenyState {
    /// Spawns still allowed before refusals begin (`None`: the limit was lifted).
    allowed: Option<u64>,
    /// The errno a refusal reports.
    errno: i32,
    /// Spawns refused so far.
    refused: u64,
    /// Spawns let through so far.
    granted: u64,
}

impl Deny {
    /// Every spawn fails with EAGAIN.
    pub fn always() -> Deny {
        Deny::after(0)
    }

    /// The first `n` spawns create real threads; every later one fails with EAGAIN — a pool that
    /// reached the container's thread limit.
    pub fn after(n: u64) -> Deny {
        Deny {
            state: Arc::new(Mutex::new(DenyState {
                allowed: Some(n),
                errno: libc::EAGAIN,
                refused: 0,
                granted: 0,
            })),
        }
    }

    /// Refuse with `errno` instead of EAGAIN, e.g. `libc::EPERM` for a seccomp-style ban.
    pub fn with_errno(self, errno: i32) -> Deny {
        self.lock().errno = errno;
        self
    }

    /// From now on every spawn succeeds (the limit was raised, a thread elsewhere exited).
    pub fn lift(&self) {
        self.lock().allowed = None;
    }

    /// How many spawns were refused so far.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    /// How many spawns were let through so far.
    pub fn granted(&self) -> u64 {
        self.lock().granted
    }

    /// Locks the state; nothing panics while it is held, so poison is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, DenyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides one spawn: `Ok` to go ahead, or the error to report.
    fn admit(&self) -> io::Result<()> {
        let mut state = self.lock();
        match &mut state.allowed {
            Some(0) => {
                state.refused += 1;
                Err(io::Error::from_raw_os_error(state.errno))
            }
            Some(left) => {
                *left -= 1;
                state.granted += 1;
                Ok(())
            }
            None => {
                state.granted += 1;
                Ok(())
            }
        }
    }
}

impl ThreadSpawner for Deny {
    fn spawn(&self, name: String, body: Box<dyn FnOnce() + Send>) -> io::Result<()> {
        self.admit()?;
        OsThreads.spawn(name, body)
    }
}

impl fmt::Debug for Deny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Deny")
            .field("allowed", &state.allowed)
            .field("errno", &state.errno)
            .field("refused", &state.refused)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn always_refuses_with_eagain_and_drops_the_body_unrun() {
        let deny = Deny::always();
        let (tx, rx) = mpsc::channel::<()>();
        let err = deny
            .spawn("t".into(), Box::new(move || tx.send(()).expect("receiver")))
            .expect_err("refused");
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
        if !cfg!(miri) {
            // Miri words errno its own way ("... (os error 11) (os error 11)").
            assert_eq!(
                err.to_string(),
                "Resource temporarily unavailable (os error 11)"
            );
        }
        // The body (holding `tx`) is gone: the channel is closed, nothing was sent.
        assert_eq!(rx.recv(), Err(mpsc::RecvError));
        assert_eq!((deny.granted(), deny.refused()), (0, 1));
    }

    #[test]
    fn after_n_grants_real_threads_then_refuses_until_lifted() {
        let deny = Deny::after(1).with_errno(libc::EPERM);
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        deny.spawn("t1".into(), Box::new(move || tx.send(1).expect("rx")))
            .expect("first spawn allowed");
        assert_eq!(rx.recv(), Ok(1), "the granted thread really ran");
        let err = deny
            .spawn("t2".into(), Box::new(|| {}))
            .expect_err("second refused");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        deny.clone().lift();
        deny.spawn("t3".into(), Box::new(move || tx2.send(3).expect("rx")))
            .expect("allowed after lift");
        assert_eq!(rx.recv(), Ok(3));
        assert_eq!((deny.granted(), deny.refused()), (2, 1));
    }
}
