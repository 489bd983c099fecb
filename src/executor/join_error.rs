//! `JoinError`: why a task (or a blocking job) produced no value.
//!
//! A task can end without a value in exactly two ways, and callers usually want to treat them
//! differently, so the error says which:
//!
//! - **panicked**: the future (or the blocking closure) panicked. The runtime caught the panic so
//!   that one bad task cannot take down the loop and everything else on it; the panic message is
//!   kept for the log.
//! - **cancelled**: someone called [`JoinHandle::abort`](crate::JoinHandle::abort), or the runtime
//!   was dropped while the task was still alive.
//!
//! The names (`is_panic`, `is_cancelled`, `into_panic`) are tokio's, so code moves over unchanged.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The reason a task or blocking job has no output.
pub struct JoinError {
    /// Which of the two endings happened.
    repr: Repr,
}

/// The two ways a task can end without a value.
enum Repr {
    /// Cancelled by `abort()` or by runtime shutdown.
    Cancelled,
    /// Panicked; holds the payload given to `panic!`.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// A task that was cancelled before it finished.
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// A task whose poll (or a blocking closure) panicked with `payload`.
    pub(crate) fn from_panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    /// True when the task was cancelled (`abort()` or runtime shutdown).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic message, when the payload was a string (as `panic!("...")` makes it).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(payload) => panic_message(payload.as_ref()),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked (use `try_into_panic` to check first).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("`JoinError::into_panic` called on a cancelled task"))
    }

    /// The panic payload, or the error itself back when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }
}

/// Reads the message out of a panic payload: `panic!` with a literal gives `&str`, with
/// formatting gives `String`; anything else (`panic_any(42)`) has no message.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// Drops the payload of a panic that the loop (or a pool thread) caught. The payload is user data
/// too, and its destructor may panic in turn; dropped bare, that second panic would escape into the
/// loop (or kill the pool thread). So each payload is dropped under `catch_unwind`, and what its
/// destructor panicked with is dropped the same way. A chain that never ends (every payload's
/// destructor panicking with yet another such payload) is cut after a few links by leaking the
/// rest: std's own runtime aborts the process there; a loop serving other tasks prefers a small
/// leak.
pub(crate) fn drop_payload(mut payload: Box<dyn Any + Send>) {
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(next) => {
                log::warn!("a panic payload's destructor panicked");
                payload = next;
            }
        }
    }
    std::mem::forget(payload);
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "task panicked with message {msg:?}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_with_literal_and_formatted_messages() {
        let e = JoinError::from_panic(Box::new("boom"));
        assert!(e.is_panic() && !e.is_cancelled());
        assert_eq!(e.panic_message(), Some("boom"));
        let e = JoinError::from_panic(Box::new(format!("boom {}", 7)));
        assert_eq!(e.to_string(), "task panicked with message \"boom 7\"");
    }

    #[test]
    fn cancelled_has_no_payload() {
        let e = JoinError::cancelled();
        assert!(e.is_cancelled() && !e.is_panic());
        assert!(e.try_into_panic().is_err());
    }
}
