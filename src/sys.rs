//! The one door to the operating system: every direct `libc` call in evloop is in this file.
//!
//! Most of evloop talks to the OS through safe APIs: `mio` owns epoll and the eventfd, `std` owns
//! sockets, threads and clocks. A few things have no safe API — a listen backlog other than mio's,
//! the coarse kernel clock, the thread's id, and the two calls that install a seccomp filter. They
//! live here, each in a small safe function, so that:
//!
//! - a reader who wants to know "where does this crate touch the OS by hand?" reads one file;
//! - every `unsafe` block has its own `// SAFETY:` note, written for that one call (a macro with a
//!   SAFETY comment inside would vouch for every future use at once, documented or not);
//! - callers get `io::Result`, never a raw `-1` and `errno`.
//!
//! [`cvt`] is the one helper: it turns C's "returns -1 and sets `errno`" convention into
//! `Err(io::Error::last_os_error())`, as mio's `syscall!` and std's `cvt` do.

use std::io;

/// Turns a C-style return value into `io::Result`: `-1` means "failed, see `errno`".
///
/// Must be called right after the libc call, before anything else can change `errno`.
fn cvt<T: PartialEq + From<i8>>(result: T) -> io::Result<T> {
    if result == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// `listen(fd, backlog)`: (re)sets the accept backlog of a listening socket.
///
/// mio listens with a backlog of 128; calling `listen` again on a listening socket only changes
/// the backlog (`net/tcp_listener.rs` says why it wants 1024).
#[cfg(unix)]
pub(crate) fn listen(fd: std::os::fd::BorrowedFd<'_>, backlog: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is a `BorrowedFd`, so the descriptor is open for the whole call; `listen` reads
    // only its two integer arguments and touches no memory of ours.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(())
}

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds: the time of the kernel's last timer tick, read from
/// the vDSO page without entering the kernel (~5 ns, against ~26 ns for `Instant::now()`).
#[cfg(target_os = "linux")]
pub(crate) fn monotonic_coarse_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through the pointer and nothing else; `ts` is
    // a live, writable `timespec` on our stack. CLOCK_MONOTONIC_COARSE exists on every Linux since
    // 2.6.32, older than any kernel mio runs on, so the call cannot fail with EINVAL; EFAULT is
    // impossible with a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    debug_assert_eq!(rc, 0, "CLOCK_MONOTONIC_COARSE is always available on Linux");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `gettid()`: the kernel's id of the calling thread, as `top -H`, `perf` and `/proc/PID/task`
/// show it. The trace recorder labels each thread's track with it (`trace/`).
#[cfg(all(target_os = "linux", not(miri)))]
pub(crate) fn thread_id() -> u32 {
    // SAFETY: `gettid` takes no arguments, touches no memory and cannot fail (gettid(2): "this
    // call is always successful").
    let tid = unsafe { libc::gettid() };
    tid as u32
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`: `exec` never grants privileges again in this
/// process. One-way; the precondition for an unprivileged seccomp filter (`sandbox`).
#[cfg(target_os = "linux")]
pub(crate) fn set_no_new_privs() -> io::Result<()> {
    // `prctl` is variadic, and a bare `1` would travel as a 32-bit int whose upper register half
    // is unspecified, while the kernel reads `unsigned long` and insists the unused ones be zero.
    let (set, unused) = (1 as libc::c_ulong, 0 as libc::c_ulong);
    // SAFETY: PR_SET_NO_NEW_PRIVS reads only its four integer arguments, each passed as the
    // `unsigned long` the kernel expects; no pointer is involved and no memory is touched.
    cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, set, unused, unused, unused) })?;
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)`: installs the cBPF
/// `program` on every thread of the process (`sandbox` explains the program).
///
/// With TSYNC the kernel returns 0 when every thread took the filter, or the id of a thread that
/// could not take it (its filters had diverged from ours); then no thread got the filter. That id
/// is returned as `Ok(id)`.
#[cfg(target_os = "linux")]
pub(crate) fn seccomp_filter_all_threads(
    program: &[libc::sock_filter],
) -> io::Result<libc::c_long> {
    let prog = libc::sock_fprog {
        len: u16::try_from(program.len()).expect("a cBPF program has at most 4096 instructions"),
        // The kernel only reads the program; the field is `*mut` for C's sake.
        filter: program.as_ptr().cast_mut(),
    };
    let (operation, flags) = (
        libc::c_ulong::from(libc::SECCOMP_SET_MODE_FILTER),
        libc::SECCOMP_FILTER_FLAG_TSYNC,
    );
    let prog_ptr: *const libc::sock_fprog = &prog;
    // SAFETY: `prog` points at `program`, valid `sock_filter`s borrowed for the whole call; the
    // kernel only reads them and copies the program before it returns, so nothing refers to them
    // afterwards (the `*mut` is never written through). The integer arguments are passed as the
    // `unsigned long` the variadic `syscall` reads. The call touches no Rust-owned memory.
    cvt(unsafe { libc::syscall(libc::SYS_seccomp, operation, flags, prog_ptr) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvt_turns_minus_one_into_the_last_os_error() {
        assert_eq!(cvt(3i32).expect("not -1"), 3);
        assert!(cvt(-1i64).is_err());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_coarse_clock_never_goes_backwards() {
        let first = monotonic_coarse_ns();
        assert!(monotonic_coarse_ns() >= first);
    }

    #[test]
    #[cfg(all(target_os = "linux", not(miri)))] // the trace never calls gettid under Miri
    fn each_thread_has_its_own_id() {
        let here = thread_id();
        let there = std::thread::spawn(thread_id).join().expect("thread runs");
        assert_ne!(here, there);
        assert!(here > 0 && there > 0);
    }
}
