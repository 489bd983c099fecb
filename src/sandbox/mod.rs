//! Sandbox: make this process unable to start threads, the way a locked-down container does.
//!
//! # Why a runtime wants this
//!
//! evloop hands blocking jobs to a worker thread and, when no thread can be spawned, runs them on
//! the loop thread instead (see `worker`). That fallback only ever runs on machines where
//! `pthread_create` fails: a container whose `pids.max` is used up, a CI runner at its
//! `ulimit -u`, a seccomp profile that refuses `clone3`. Such machines are hard to come by on a
//! laptop. [`deny_thread_creation`] brings one into the current process: afterwards every
//! `std::thread::spawn` fails with `EAGAIN` ("Resource temporarily unavailable (os error 11)"),
//! the very error a full pids cgroup gives, while processes, I/O and the threads that already run
//! carry on. Tests call it, always in a child process, to drive the fallback path for real.
//!
//! # What seccomp is
//!
//! seccomp ("secure computing") lets a process attach a small program to itself that the kernel
//! runs on *every* system call before the call does anything. The program sees the call's number,
//! the architecture it was made for and its six raw arguments (`struct seccomp_data`), but never
//! the memory those arguments point to. It returns a verdict: allow the call, fail it with an
//! errno of our choosing, kill the thread, and a few more. The language is classic BPF (cBPF),
//! the tiny machine `tcpdump` filters compile to: one 32-bit accumulator `A`, loads from
//! `seccomp_data`, forward-only jumps, and `ret`. With no backward jumps, every program finishes.
//!
//! Filters are one-way. Once installed, a filter cannot be removed or loosened; it is inherited by
//! children across `fork` and `exec`; installing another one only stacks it on top (the kernel runs
//! them all and the strictest verdict wins).
//!
//! # The program, instruction by instruction
//!
//! ```text
//!  0  ld   [arch]                          A = seccomp_data.arch
//!  1  jeq  #AUDIT_ARCH_<native>  -> 2 : 9   a call made through another ABI: allow
//!  2  ld   [nr]                            A = seccomp_data.nr, the syscall number
//!  3  jeq  #SYS_clone3           -> 8 : 4   clone3: answer ENOSYS
//!  4  jeq  #SYS_clone            -> 5 : 9   anything but clone: allow
//!  5  ld   [args[0], low 32 bits]          A = clone's flags
//!  6  jset #CLONE_THREAD         -> 7 : 9   flags & CLONE_THREAD: a thread, else a process
//!  7  ret  ERRNO(EAGAIN)                   new thread: "Resource temporarily unavailable"
//!  8  ret  ERRNO(ENOSYS)                   clone3: "Function not implemented"
//!  9  ret  ALLOW
//! ```
//!
//! (`-> t : f` reads "go to t when true, to f when false". The encoded jumps are offsets counted
//! from the next instruction; `filter.rs` computes them from these absolute numbers.)
//!
//! **Why check the architecture (0-1).** A syscall number only means something for one ABI: on
//! x86_64, clone is 56, but a 64-bit process can still enter the kernel through the 32-bit i386
//! door (`int 0x80`), where clone is 120 and 56 is an unrelated obsolete call. Matching numbers
//! without checking `arch` would deny the wrong call there. On a foreign ABI we **allow**, and
//! that is a choice: a security sandbox must kill instead (libseccomp kills on a wrong arch by
//! default), because otherwise hostile code walks around the filter through the other door. This
//! filter is not a security boundary; it is fault injection in a program we trust, imitating a
//! resource limit, and its promise is "change nothing but native thread creation". Allowing keeps
//! that promise; killing would turn a harmless oddity into a dead process. (x86_64's x32 ABI
//! shares the arch value but sets bit 30 in `nr`, so it also falls through to "allow".)
//!
//! **Why only the low 32 bits of the flags (5).** cBPF words are 32 bits, so a 64-bit argument takes
//! two loads. We need only one: `CLONE_THREAD` is bit 16, in the low half, and the kernel throws the
//! high half of clone's flags away (`lower_32_bits(clone_flags)` in `kernel/fork.c`), so nothing up
//! there can make a thread. The low half comes first in memory on little-endian machines, which is
//! why this module is built only for little-endian targets. The flags are `args[0]` on both
//! architectures; aarch64 orders clone's *later* arguments differently from x86_64 (`tls` before
//! `child_tid`), never the first.
//!
//! **Why clone3 gets ENOSYS, not EAGAIN (3, 8).** `clone3` takes its flags in a struct in user
//! memory, and seccomp cannot read memory, so the filter cannot tell a clone3 thread from a clone3
//! process. ENOSYS ("no such system call") is the answer an old kernel gives, and glibc 2.34+
//! reacts to exactly that by retrying with plain `clone`, whose flags the filter *can* see. EAGAIN
//! would be taken at face value: `posix_spawn`, and with it `std::process::Command`, would break
//! too. Docker's default profile answers clone3 with ENOSYS for the same reason; older profiles
//! did not list clone3, answered it with their default EPERM, and so broke threaded programs
//! built against glibc 2.34.
//!
//! **Why NO_NEW_PRIVS first.** Without it, only a process with `CAP_SYS_ADMIN` may install a filter.
//! The rule stops an unprivileged process from filtering a set-uid program it then `exec`s (making,
//! say, its `setuid()` call "fail" and leaving it running as root). `PR_SET_NO_NEW_PRIVS` promises
//! that `exec` will never grant privileges again, which makes the filter harmless to grant. It is
//! one-way as well.
//!
//! **Why TSYNC.** `prctl` and a plain seccomp call affect only the calling thread. With
//! `SECCOMP_FILTER_FLAG_TSYNC` the kernel puts the filter (and NO_NEW_PRIVS) on every thread of the
//! process at once, or on none: if one thread cannot take it, the call returns that thread's id
//! and nothing is installed. We report that as an error.
//!
//! # How a container does the same
//!
//! A container runtime (runc, crun) installs a seccomp profile just like this one before it
//! `exec`s your program; Docker's default profile also inspects clone's `args[0]` with a bit mask,
//! to refuse namespace flags. The more common way a container runs out of threads is a pids
//! cgroup: `pids.max` counts tasks, and every thread is a task, so once `pids.current` reaches it,
//! `clone` fails with the same EAGAIN. Our filter reproduces that error without any cgroup set-up
//! or root rights, and without counting: it refuses from the first thread on.

use std::io;

// The filter is written for Linux on little-endian 64-bit x86_64 and aarch64 (the module docs say
// why each part of the condition matters). The condition is spelled out on each item below: plain
// `#[cfg]`s, so that rustfmt and every tool see these files (a macro hiding them would not).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little",
    target_pointer_width = "64"
))]
mod filter;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little",
    target_pointer_width = "64"
))]
mod install;

/// True on targets that have [`deny_thread_creation`]: Linux on little-endian 64-bit x86_64 or
/// aarch64. A compile-time fact; the running kernel may still refuse (for example when built
/// without `CONFIG_SECCOMP_FILTER`), which shows up as an error. Elsewhere
/// [`deny_thread_creation`] returns `ErrorKind::Unsupported`.
pub const fn is_supported() -> bool {
    cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64"),
        target_endian = "little",
        target_pointer_width = "64"
    ))
}

/// Makes every later attempt to create a thread in this process fail with `EAGAIN`.
///
/// # THIS IS IRREVERSIBLE AND PROCESS-WIDE
///
/// After a successful call, **no thread of this process, and no process it forks or execs, can
/// ever create a thread again.** There is no undo: the seccomp filter and `NO_NEW_PRIVS` stay
/// until the process exits and are inherited by its children. Never call this in a process you
/// want to keep using normally, and never in a shared test runner: re-execute the test binary
/// and call it in the child (see `tests/sandbox.rs`).
///
/// # What changes, what does not
///
/// - `std::thread::Builder::spawn` (and `pthread_create`) returns `Err` with raw os error 11,
///   `EAGAIN`, exactly like a container whose pids cgroup is full.
/// - `clone3` fails with `ENOSYS`, so glibc falls back to `clone`, which the filter can inspect.
/// - Threads already running keep running, can be joined, and are denied new threads too.
/// - Processes (`fork`, `posix_spawn`, `std::process::Command`), file and socket I/O are untouched.
///
/// Calling it again succeeds and stacks one more identical filter (harmless; the kernel caps the
/// total filter size at 32768 instructions, so a few thousand calls would fail with `ENOMEM`).
///
/// # Errors
///
/// `ErrorKind::Unsupported` on targets other than Linux on x86_64/aarch64 (see [`is_supported`]).
/// On Linux, the OS error of `prctl` or `seccomp` (e.g. `EINVAL` from a kernel without seccomp
/// filters), or an error naming the thread that could not take the filter, in which case nothing
/// was installed.
pub fn deny_thread_creation() -> io::Result<()> {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64"),
        target_endian = "little",
        target_pointer_width = "64"
    ))]
    return install::deny_thread_creation();
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64"),
        target_endian = "little",
        target_pointer_width = "64"
    )))]
    return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "thread denial needs seccomp on linux x86_64 or aarch64",
    ));
}
