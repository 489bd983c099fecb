//! What the worker does when it cannot take a job, and the errors it can give back.
//!
//! A pool has room for `max_threads` running jobs plus `queue_capacity` waiting ones. The next job
//! after that meets the [`QueueFull`] policy. Each policy moves the cost somewhere else; none is
//! free, so the builder makes you choose (the default is `Wait`):
//!
//! | policy | the caller | the loop | the job |
//! | --- | --- | --- | --- |
//! | `Wait` | its `spawn_blocking` future waits for room (back-pressure) | stays free | runs later; never, if the handle is dropped while waiting |
//! | `Reject` | gets [`BlockingError::QueueFull`] at once | stays free | never runs |
//! | `RunInline` | gets its result, late | **blocked** while the job runs | runs now, on the loop thread |
//!
//! [`BlockingError`] names the two ways a job can be refused. Like tokio's `SpawnError`
//! (`tokio/src/runtime/blocking/pool.rs`) it converts into `io::Error`, so a service can `?` it.

use std::fmt;
use std::io;

/// What a thread pool does with a job when every thread is busy and its queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueFull {
    /// Back-pressure: the `spawn_blocking` future holds the job and waits until a pool thread takes
    /// a job off the queue. The caller slows down; the loop stays free. A handle dropped while it
    /// waits drops its job unrun. If every running job waits for a job stuck behind it, nothing
    /// moves (see "the deadlock trap" in the module docs).
    #[default]
    Wait,
    /// Refuse: `try_spawn_blocking` returns [`BlockingError::QueueFull`] (and `spawn_blocking`'s
    /// handle resolves to a cancelled `JoinError`). The caller must shed the load, e.g. answer 503.
    Reject,
    /// Run the job now on the calling thread — the event loop, which is blocked while it runs.
    /// Nothing waits and nothing fails, but every other task stalls for the job's duration.
    RunInline,
}

/// Why a worker refused a blocking job. Converts into `io::Error`.
#[derive(Debug)]
#[non_exhaustive]
pub enum BlockingError {
    /// Every thread was busy and the queue held `capacity` jobs already (policy `Reject`).
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The OS refused a new thread and the pool had no live thread to queue the job on; a bare
    /// [`ThreadPool`](super::ThreadPool) gives up here, where [`Fallback`](super::Fallback) runs
    /// the job inline instead.
    NoThread(io::Error),
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingError::QueueFull { capacity } => write!(
                f,
                "blocking job refused: every pool thread is busy and the queue is full \
                 ({capacity} jobs)"
            ),
            BlockingError::NoThread(e) => write!(
                f,
                "blocking job refused: thread creation refused ({e}) and the pool has no thread"
            ),
        }
    }
}

impl std::error::Error for BlockingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BlockingError::QueueFull { .. } => None,
            BlockingError::NoThread(e) => Some(e),
        }
    }
}

impl From<BlockingError> for io::Error {
    fn from(err: BlockingError) -> io::Error {
        match err {
            // A full queue is a busy resource, not a broken one: try again later.
            BlockingError::QueueFull { .. } => io::Error::new(io::ErrorKind::ResourceBusy, err),
            // Hand the OS error back untouched, so `raw_os_error()` still says EAGAIN or EPERM.
            BlockingError::NoThread(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_thread_converts_back_to_the_os_error() {
        let err = BlockingError::NoThread(io::Error::from_raw_os_error(libc::EAGAIN));
        assert!(err.to_string().contains("os error 11"), "{err}");
        let io: io::Error = err.into();
        assert_eq!(io.raw_os_error(), Some(libc::EAGAIN));
    }

    #[test]
    fn queue_full_is_a_busy_resource() {
        let io: io::Error = BlockingError::QueueFull { capacity: 8 }.into();
        assert_eq!(io.kind(), io::ErrorKind::ResourceBusy);
        assert!(io.to_string().contains("(8 jobs)"), "{io}");
    }
}
