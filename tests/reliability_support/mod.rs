//! Tools shared by the `reliability_*` tests: a seeded random generator, a gate many tasks can
//! wait on, a two-way join, resets on close, resident memory, soak length, and a deadline for code
//! that might hang outside any runtime (a runtime's drop).
//!
//! Everything here is deterministic: the generator is seeded, waiting uses wakers, and the only
//! clock reads are deadlines that fail a test loudly instead of letting it hang.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// The environment variable that turns the bounded default runs into soaks of that many seconds.
pub const SOAK_ENV: &str = "EVLOOP_SOAK_SECS";

/// How long to soak, if `EVLOOP_SOAK_SECS` asks for it (`None`: the quick default run).
pub fn soak() -> Option<Duration> {
    let secs = std::env::var(SOAK_ENV).ok()?;
    let secs: u64 = secs
        .parse()
        .unwrap_or_else(|_| panic!("{SOAK_ENV}={secs:?} is not a number of seconds"));
    Some(Duration::from_secs(secs))
}

/// xorshift64*: a tiny seeded generator, so "random" sizes are the same on every run.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value; zero is remapped, xorshift would stay at zero).
    pub fn new(seed: u64) -> Rng {
        // Spread nearby seeds (0, 1, 2, ...) apart before the first draw.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }
}

/// A count that any number of tasks can wait on (the echo harness's `Counter` has one waiter).
#[derive(Default)]
pub struct Gate {
    /// Arrivals so far.
    count: Cell<usize>,
    /// Every task waiting for the count to reach its mark.
    waiters: RefCell<Vec<Waker>>,
}

impl Gate {
    /// Counts one arrival and wakes every waiter (each re-checks its own mark).
    pub fn arrive(&self) {
        self.count.set(self.count.get() + 1);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }

    /// Arrivals so far.
    pub fn count(&self) -> usize {
        self.count.get()
    }

    /// Waits until at least `n` have arrived.
    pub async fn reach(&self, n: usize) {
        poll_fn(|cx| {
            if self.count.get() >= n {
                Poll::Ready(())
            } else {
                self.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Runs two futures in this task until both are done. A client writing a 64 KiB message must
/// read its echo at the same time: the echo fills the socket buffers long before the message is
/// all written, and a client that only writes would wait for a server waiting for it.
pub async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(value) = a.as_mut().poll(cx)
        {
            out_a = Some(value);
        }
        if out_b.is_none()
            && let Poll::Ready(value) = b.as_mut().poll(cx)
        {
            out_b = Some(value);
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready((
                out_a.take().expect("checked above"),
                out_b.take().expect("checked above"),
            ))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Makes sure this process may open `needed` descriptors: raises the soft `RLIMIT_NOFILE` up to
/// the hard one if it is lower (many systems default to 1024), and fails loudly if even the hard
/// limit is too low.
pub fn ensure_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit; getrlimit only writes into it.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} descriptors; the hard limit is {}",
        limit.rlim_max
    );
    limit.rlim_cur = needed;
    // SAFETY: `limit` is a valid rlimit whose soft value does not exceed its hard value;
    // setrlimit only reads it. Raising the soft limit up to the hard one is always allowed.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Resident memory of this process in KiB (`VmRSS` in `/proc/self/status`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("Linux reports VmRSS");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS: <n> kB")
}

/// A runtime whose blocking jobs go to a pool of at most `threads` threads (the default worker,
/// `Fallback`, around a smaller pool).
pub fn runtime_with_pool(threads: usize) -> evloop::Runtime {
    let _ = env_logger::builder().is_test(true).try_init();
    let pool = evloop::worker::ThreadPool::builder()
        .max_threads(threads)
        .build();
    evloop::Runtime::builder()
        .worker(evloop::worker::Fallback::new(pool))
        .build()
        .expect("epoll and eventfd are available")
}

/// Runs `f` on a new thread and returns its result; panics if it takes longer than `limit`.
///
/// For what cannot be bounded by `evloop::time::timeout` because it runs outside any loop — above
/// all dropping a runtime. On a hang the thread is left behind and the test fails loudly.
pub fn on_thread_within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            thread.join().expect("the thread returned its value");
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} took longer than {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The thread panicked before sending: show its panic.
            match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("a thread that returned has sent its value"),
            }
        }
    }
}
