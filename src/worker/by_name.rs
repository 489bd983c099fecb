//! Workers by name, for the demos' `--worker threads|inline|fallback` and `--deny-threads` flags,
//! and the default worker a runtime gets.

use std::fmt;

use super::{Deny, Fallback, Inline, ThreadPool, Worker};

/// The worker a runtime gets when the builder was given none: a [`Fallback`] around a default
/// [`ThreadPool`] (64 threads, 10 s keep-alive, 1024 queued jobs, `QueueFull::Wait`).
pub fn default_worker() -> Box<dyn Worker> {
    Box::new(Fallback::default())
}

/// A worker chosen by name, as the examples' `--worker threads|inline|fallback` flag does:
/// `threads` is a bare [`ThreadPool`] (jobs fail when no thread can be had), `inline` is
/// [`Inline`] (every job blocks the loop, on purpose), `fallback` is the default [`Fallback`].
pub fn by_name(name: &str) -> Option<Box<dyn Worker>> {
    match name {
        "threads" => Some(Box::new(ThreadPool::new())),
        "inline" => Some(Box::new(Inline::new())),
        "fallback" => Some(default_worker()),
        _ => None,
    }
}

/// How [`by_name_denied`] made thread creation fail.
#[derive(Debug)]
pub enum Denial {
    /// For real, process-wide and for good: `sandbox::deny_thread_creation` (seccomp).
    Seccomp,
    /// The portable simulation: only this worker's pool is refused threads (`Deny::always`),
    /// because seccomp denial is not available here (the error says why).
    Portable(std::io::Error),
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Seccomp => f.write_str(
                "thread creation denied for this process (seccomp: clone with CLONE_THREAD → EAGAIN)",
            ),
            Denial::Portable(e) => write!(
                f,
                "seccomp denial is not available here ({e}); using the portable in-process denial \
                 (evloop::worker::Deny::always) instead"
            ),
        }
    }
}

/// [`by_name`], in a process that may not create threads — what the demos' `--deny-threads` does.
///
/// Where the platform allows, thread creation is denied for real with
/// [`sandbox::deny_thread_creation`](crate::sandbox::deny_thread_creation): **irreversible and
/// process-wide**, so call it only in a process (or child process) made for it. Elsewhere the
/// named worker's pool gets the portable [`Deny::always`] instead. `Ok(None)` for an unknown
/// name (nothing is denied then).
pub fn by_name_denied(name: &str) -> std::io::Result<Option<(Box<dyn Worker>, Denial)>> {
    if by_name(name).is_none() {
        return Ok(None);
    }
    match crate::sandbox::deny_thread_creation() {
        Ok(()) => Ok(by_name(name).map(|worker| (worker, Denial::Seccomp))),
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            let pool = ThreadPool::builder().spawner(Deny::always()).build();
            let worker: Box<dyn Worker> = match name {
                "threads" => Box::new(pool),
                "fallback" => Box::new(Fallback::new(pool)),
                _ => by_name(name).expect("checked above"),
            };
            Ok(Some((worker, Denial::Portable(e))))
        }
        Err(e) => Err(e),
    }
}
