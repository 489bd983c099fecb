//! Why the OS refused a thread: a short diagnosis of a thread-spawn error.
//!
//! STAND-IN: the real module is written on branch `sandbox` (with the seccomp denial) and replaces
//! this file at merge. It has the same API (`SpawnDiagnosis::from_error`, `failure`, `os_error`,
//! `meaning`, `what_to_check`, `Display`) and only as much logic as the worker needs to compile and
//! to log something true.

use std::fmt;
use std::io;

/// The kinds of reasons a thread could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnFailure {
    /// A limit on threads or processes was reached (EAGAIN).
    ResourceLimit,
    /// A security policy forbids creating threads (EPERM, EACCES).
    Forbidden,
    /// No memory for the new thread's stack (ENOMEM).
    OutOfMemory,
    /// The platform cannot create threads (ENOSYS, `Unsupported`).
    Unsupported,
    /// Anything else.
    Other,
}

/// A spawn error, classified and explained.
#[derive(Clone, Debug)]
pub struct SpawnDiagnosis {
    /// What kind of refusal this was.
    pub failure: SpawnFailure,
    /// The OS error as the OS words it: "Resource temporarily unavailable (os error 11)".
    pub os_error: String,
}

impl SpawnDiagnosis {
    /// Classifies the error returned by `std::thread::Builder::spawn`.
    pub fn from_error(error: &io::Error) -> SpawnDiagnosis {
        let failure = match error.raw_os_error() {
            Some(libc::EAGAIN) => SpawnFailure::ResourceLimit,
            Some(libc::EPERM | libc::EACCES) => SpawnFailure::Forbidden,
            Some(libc::ENOMEM) => SpawnFailure::OutOfMemory,
            Some(libc::ENOSYS) => SpawnFailure::Unsupported,
            _ if error.kind() == io::ErrorKind::Unsupported => SpawnFailure::Unsupported,
            _ => SpawnFailure::Other,
        };
        SpawnDiagnosis {
            failure,
            os_error: error.to_string(),
        }
    }

    /// What the refusal means, in one sentence.
    pub fn meaning(&self) -> &'static str {
        match self.failure {
            SpawnFailure::ResourceLimit => "a limit on threads or processes was reached",
            SpawnFailure::Forbidden => "a security policy forbids creating threads",
            SpawnFailure::OutOfMemory => "there is no memory for another thread's stack",
            SpawnFailure::Unsupported => "this platform cannot create threads",
            SpawnFailure::Other => "the OS refused to create a thread",
        }
    }

    /// Where to look to lift the refusal.
    pub fn what_to_check(&self) -> &'static str {
        match self.failure {
            SpawnFailure::ResourceLimit => {
                "ulimit -u, the pids cgroup (pids.max), kernel.threads-max"
            }
            SpawnFailure::Forbidden => "the container's seccomp profile or sandbox policy",
            SpawnFailure::OutOfMemory => "the memory cgroup limit and the thread stack size",
            SpawnFailure::Unsupported | SpawnFailure::Other => "the OS error above",
        }
    }
}

impl fmt::Display for SpawnDiagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; check {}",
            self.os_error,
            self.meaning(),
            self.what_to_check()
        )
    }
}
