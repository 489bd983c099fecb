//! Installing the thread-denial filter: two system calls, in this order.
//!
//! ```text
//! prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)        this thread: exec never grants privileges again
//! seccomp(SECCOMP_SET_MODE_FILTER,
//!         SECCOMP_FILTER_FLAG_TSYNC, &prog)     every thread: run `prog` on each system call
//! ```
//!
//! Both are one-way; see the `sandbox` module docs for why each is needed. The calls themselves,
//! with their `// SAFETY:` notes, are in `sys.rs`, the crate's one door to libc.

use super::filter::THREAD_DENIAL;
use crate::sys;
use std::io;

/// See [`super::deny_thread_creation`]: NO_NEW_PRIVS, then the filter on all threads.
pub(super) fn deny_thread_creation() -> io::Result<()> {
    sys::set_no_new_privs()?;
    let unsynced = sys::seccomp_filter_all_threads(&THREAD_DENIAL)?;
    if unsynced != 0 {
        return Err(io::Error::other(format!(
            "seccomp TSYNC: thread {unsynced} could not take the filter; nothing was installed"
        )));
    }
    log::debug!("seccomp filter installed: new threads now fail with EAGAIN, clone3 with ENOSYS");
    Ok(())
}
