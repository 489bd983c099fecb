//! The one door to the operating system: every direct `libc` call in evloop is in this file.
//!
//! Most of evloop talks to the OS through safe APIs: `mio` owns epoll and the eventfd, `std` owns
//! sockets, threads and clocks. A few things have no safe API — a listen backlog other than mio's,
//! a socket configured before `bind` (`TcpSocket`: `SO_REUSEPORT`, ...), the coarse kernel clock,
//! the thread's id, signal handlers, and the two calls that install a seccomp filter. They live
//! here, each in a small safe function, so that:
//!
//! - a reader who wants to know "where does this crate touch the OS by hand?" reads one file;
//! - every `unsafe` block has its own `// SAFETY:` note, written for that one call (a macro with a
//!   SAFETY comment inside would vouch for every future use at once, documented or not);
//! - callers get `io::Result`, never a raw `-1` and `errno`.
//!
//! [`cvt`] is the one helper: it turns C's "returns -1 and sets `errno`" convention into
//! `Err(io::Error::last_os_error())`, as mio's `syscall!` and std's `cvt` do.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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
pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: libc::c_int) -> io::Result<()> {
    // SAFETY: `fd` is a `BorrowedFd`, so the descriptor is open for the whole call; `listen` reads
    // only its two integer arguments and touches no memory of ours.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(())
}

/// `socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`: a new TCP socket, neither
/// bound nor connected, already non-blocking and closed on `exec` (`net/tcp_socket.rs`).
pub(crate) fn stream_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `socket` reads only its three integer arguments and touches no memory of ours.
    let fd = cvt(unsafe { libc::socket(domain, flags, 0) })?;
    // SAFETY: `fd` was just returned by a successful `socket(2)`: it is open, and nothing else in
    // the process knows its number, so the `OwnedFd` is its one owner and will close it once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &(on as c_int))`: sets a yes/no socket option such as
/// `SO_REUSEADDR` or `SO_REUSEPORT`.
pub(crate) fn set_socket_flag(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    on: bool,
) -> io::Result<()> {
    let value = libc::c_int::from(on);
    // SAFETY: `fd` is borrowed, so open for the whole call; `value` is a live `c_int` on our stack
    // and the length passed is its size: the kernel reads exactly that many bytes and keeps no
    // pointer. An option that is not a flag, or a wrong level, is refused with an error, not UB.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `getsockopt(fd, level, name)` for a yes/no option: whether it is on.
pub(crate) fn socket_flag(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<bool> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is open for the call; `value` and `len` are live and writable, and `len` says
    // how many bytes `value` has, so the kernel writes at most that many and updates `len`.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &mut len,
        )
    })?;
    Ok(value != 0)
}

/// `bind(fd, addr)`: gives a socket its local address.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (raw, len) = RawSocketAddr::from_std(addr);
    // SAFETY: `fd` is open for the call; `raw` is a valid `sockaddr_in` or `sockaddr_in6` that
    // lives on our stack until the call returns, and `len` is the size of the one in use. The
    // kernel copies the address in and keeps no pointer.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), len) })?;
    Ok(())
}

/// `connect(fd, addr)` on a non-blocking socket: starts the handshake. `EINPROGRESS` (the normal
/// answer: the handshake goes on without us) comes back as an error; the caller waits for the
/// socket to become writable, as `net/tcp_stream.rs` explains.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (raw, len) = RawSocketAddr::from_std(addr);
    // SAFETY: as in `bind`: an open descriptor, a valid address of `len` bytes that outlives the
    // call, copied in by the kernel.
    cvt(unsafe { libc::connect(fd.as_raw_fd(), raw.as_ptr(), len) })?;
    Ok(())
}

/// `getsockname(fd)`: the local address of an IPv4 or IPv6 socket.
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut raw = RawSocketAddr::zeroed();
    let mut len = size_of::<RawSocketAddr>() as libc::socklen_t;
    // SAFETY: `fd` is open for the call; `raw` is writable and `len` says how large it is (room
    // for either address family), so the kernel writes at most `len` bytes and updates `len`.
    cvt(unsafe { libc::getsockname(fd.as_raw_fd(), raw.as_mut_ptr(), &mut len) })?;
    raw.to_std()
}

/// Room for an IPv4 or IPv6 socket address in C's layout: what `bind`, `connect` and
/// `getsockname` read and write. Both members are plain integers and byte arrays, so every bit
/// pattern is a valid value of either.
#[repr(C)]
union RawSocketAddr {
    /// `AF_INET`.
    v4: libc::sockaddr_in,
    /// `AF_INET6`.
    v6: libc::sockaddr_in6,
}

impl RawSocketAddr {
    /// All zeros: an empty buffer for `getsockname`.
    fn zeroed() -> RawSocketAddr {
        RawSocketAddr {
            v6: libc::sockaddr_in6 {
                sin6_family: 0,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: [0; 16] },
                sin6_scope_id: 0,
            },
        }
    }

    /// `addr` in C's layout (ports and IPv4 addresses in network byte order), with its length.
    fn from_std(addr: &SocketAddr) -> (RawSocketAddr, libc::socklen_t) {
        match addr {
            SocketAddr::V4(a) => {
                let v4 = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                (RawSocketAddr { v4 }, len)
            }
            SocketAddr::V6(a) => {
                let v6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                let len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                (RawSocketAddr { v6 }, len)
            }
        }
    }

    /// The address the kernel wrote, back in Rust's form.
    fn to_std(&self) -> io::Result<SocketAddr> {
        // SAFETY: reading a union member is sound when its bytes are a valid value of that type;
        // both members are plain integers and arrays (any bits are valid), and `sin6_family` sits
        // at the same offset as `sin_family` in both layouts.
        let family = unsafe { self.v6.sin6_family };
        match libc::c_int::from(family) {
            libc::AF_INET => {
                // SAFETY: any bits are a valid `sockaddr_in` (see above); the family says the
                // kernel wrote one.
                let a = unsafe { self.v4 };
                let ip = Ipv4Addr::from(a.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::new(ip.into(), u16::from_be(a.sin_port)))
            }
            libc::AF_INET6 => {
                // SAFETY: any bits are a valid `sockaddr_in6`; the family says the kernel wrote one.
                let a = unsafe { self.v6 };
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                let port = u16::from_be(a.sin6_port);
                Ok(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id).into())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an IPv4 or IPv6 socket",
            )),
        }
    }

    /// For the calls that read an address.
    fn as_ptr(&self) -> *const libc::sockaddr {
        (self as *const RawSocketAddr).cast()
    }

    /// For the calls that write one.
    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (self as *mut RawSocketAddr).cast()
    }
}

/// A signal's disposition as the kernel keeps it (handler, mask, flags), saved to be put back.
pub(crate) struct SignalDisposition(libc::sigaction);

/// `sigaction(signal, handler)`: from now on `handler` runs when `signal` arrives, on whichever
/// thread the kernel picks. `SA_RESTART` makes slow system calls interrupted by it (a blocking read
/// on a pool thread) restart instead of failing with `EINTR`; `epoll_wait` is never restarted, and
/// the reactor treats its `EINTR` as an early return. Returns the disposition it replaced.
pub(crate) fn set_signal_handler(
    signal: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<SignalDisposition> {
    let mut action = empty_sigaction();
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    let mut previous = empty_sigaction();
    // SAFETY: both pointers are to live, initialised `sigaction`s on our stack; the kernel reads
    // `action` and writes `previous`, and keeps neither. The handler is an `extern "C" fn` that
    // lives for the whole program; that it only does async-signal-safe things is the caller's
    // promise (`signal/registry.rs`), which keeps Rust's rules: it touches atomics and `write`.
    cvt(unsafe { libc::sigaction(signal, &action, &mut previous) })?;
    Ok(SignalDisposition(previous))
}

/// `sigaction(signal, saved)`: puts back a disposition saved by [`set_signal_handler`] (usually
/// `SIG_DFL`, so that the signal's default action — for SIGINT, ending the process — applies again).
pub(crate) fn restore_signal_disposition(
    signal: libc::c_int,
    saved: &SignalDisposition,
) -> io::Result<()> {
    // SAFETY: `saved.0` is a disposition the kernel itself returned, live for the call and only
    // read; a null `oldact` asks for nothing back.
    cvt(unsafe { libc::sigaction(signal, &saved.0, std::ptr::null_mut()) })?;
    Ok(())
}

/// A `sigaction` with the default handler, no flags and an empty mask.
fn empty_sigaction() -> libc::sigaction {
    // SAFETY: `sigaction` is a C struct of integers, a signal set and (on Linux) an optional
    // function pointer; all zeros is a valid value of each (SIG_DFL, no flags, `None`).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `sigemptyset` writes only the `sigset_t` it is given, which is live and writable;
    // it cannot fail for a valid pointer.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    action
}

/// The real-time signals, `SIGRTMIN()..=SIGRTMAX()`. The C library keeps the few numbers between
/// the standard signals (1 to 31) and these for its own threads, so they are asked for, not fixed.
pub(crate) fn realtime_signals() -> std::ops::RangeInclusive<libc::c_int> {
    // Safe functions of the `libc` crate, but still calls into the C library: they live here.
    libc::SIGRTMIN()..=libc::SIGRTMAX()
}

/// Writes `byte` to `fd` from inside a signal handler, and nothing else.
///
/// Async-signal-safe: `write(2)` is on POSIX's list of functions a handler may call, and `errno`,
/// which `write` may change under the feet of the code the signal interrupted, is put back. A
/// full pipe (`EAGAIN`, the descriptor is non-blocking) is ignored: a byte is already waiting.
pub(crate) fn write_from_signal_handler(fd: RawFd, byte: u8) {
    let errno = errno_location();
    // SAFETY: `errno_location` points at this thread's `errno`, valid for the thread's life.
    let saved = unsafe { *errno };
    // SAFETY: `write` reads one byte from `byte`, a live local. The descriptor stays open while a
    // handler can see it: `signal/registry.rs` closes it only after unpublishing it and waiting
    // for running handlers to finish, so this never writes to a descriptor that was reused.
    let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    // SAFETY: as above; restoring the value read at entry.
    unsafe { *errno = saved };
}

/// The address of the calling thread's `errno`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: `__errno_location` takes nothing and returns the calling thread's `errno`; it is
    // async-signal-safe (it reads the thread pointer).
    unsafe { libc::__errno_location() }
}

/// The address of the calling thread's `errno`.
#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: `__error` takes nothing and returns the calling thread's `errno`.
    unsafe { libc::__error() }
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
    fn socket_addresses_survive_the_trip_to_c_and_back() {
        for text in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%3]:9", "0.0.0.0:0"] {
            let addr: SocketAddr = text.parse().expect("literal");
            let (raw, _) = RawSocketAddr::from_std(&addr);
            assert_eq!(raw.to_std().expect("a known family"), addr);
        }
        assert!(RawSocketAddr::zeroed().to_std().is_err(), "AF_UNSPEC");
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
