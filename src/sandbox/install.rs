//! Installing the thread-denial filter: two system calls, in this order.
//!
//! ```text
//! prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)        this thread: exec never grants privileges again
//! seccomp(SECCOMP_SET_MODE_FILTER,
//!         SECCOMP_FILTER_FLAG_TSYNC, &prog)     every thread: run `prog` on each system call
//! ```
//!
//! Both are one-way; see the `sandbox` module docs for why each is needed. All `unsafe` in the
//! sandbox is here, inside `syscall!`, one use per call, each with its own `// SAFETY:` note.

use super::filter::THREAD_DENIAL;
use std::io;

/// Calls the libc function `$fn` and turns C-style failure (`-1` with `errno` set) into
/// `Err(io::Error)`, like mio's `syscall!` (`src/sys/unix/mod.rs`).
///
/// The macro only checks the result; it cannot know the call's preconditions. Every use must be
/// preceded by a `// SAFETY:` comment saying why that particular call is sound.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the preconditions of this particular call are argued in the `// SAFETY:`
        // comment written above the `syscall!` use.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// See [`super::deny_thread_creation`]: NO_NEW_PRIVS, then the filter on all threads.
pub(super) fn deny_thread_creation() -> io::Result<()> {
    forbid_new_privileges()?;
    install_on_all_threads(THREAD_DENIAL)?;
    log::debug!("seccomp filter installed: new threads now fail with EAGAIN, clone3 with ENOSYS");
    Ok(())
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`: the precondition for an unprivileged filter.
fn forbid_new_privileges() -> io::Result<()> {
    // `prctl` is variadic, and a bare `1` would travel as a 32-bit int whose upper register half
    // is unspecified, while the kernel reads `unsigned long` and insists the unused ones be zero.
    let (set, unused) = (1 as libc::c_ulong, 0 as libc::c_ulong);
    // SAFETY: PR_SET_NO_NEW_PRIVS reads only its four integer arguments, each passed as the
    // `unsigned long` the kernel expects; no pointer is involved and no memory is touched.
    syscall!(prctl(libc::PR_SET_NO_NEW_PRIVS, set, unused, unused, unused))?;
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)` for `program`.
///
/// With TSYNC the kernel returns 0 when every thread took the filter, or the id of a thread that
/// could not take it (its filters had diverged from ours); then no thread got the filter.
fn install_on_all_threads<const N: usize>(mut program: [libc::sock_filter; N]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: u16::try_from(N).expect("a cBPF program has at most 4096 instructions"),
        filter: program.as_mut_ptr(),
    };
    let (operation, flags) = (
        libc::c_ulong::from(libc::SECCOMP_SET_MODE_FILTER),
        libc::SECCOMP_FILTER_FLAG_TSYNC,
    );
    let prog_ptr: *const libc::sock_fprog = &prog;
    // SAFETY: `prog` points at `program`, N valid `sock_filter`s that live on this stack frame
    // until the call returns; the kernel only reads them and copies the program before it
    // returns, so nothing refers to them afterwards. The integer arguments are passed as the
    // `unsigned long` the variadic `syscall` reads. The call cannot touch any Rust-owned memory.
    let unsynced = syscall!(syscall(libc::SYS_seccomp, operation, flags, prog_ptr))?;
    if unsynced != 0 {
        return Err(io::Error::other(format!(
            "seccomp TSYNC: thread {unsynced} could not take the filter; nothing was installed"
        )));
    }
    Ok(())
}
