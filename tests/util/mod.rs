//! Helpers shared by the whole-runtime tests: one env_logger init, a runtime, CPU-time readings.
#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

/// Starts env_logger once per test binary (`RUST_LOG=evloop=debug cargo test` to see the loop).
pub fn init_logging() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// A fresh runtime with logging on.
pub fn runtime() -> evloop::Runtime {
    init_logging();
    evloop::Runtime::new().expect("epoll and eventfd are available")
}

/// CPU time (user + system) consumed so far by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID is supported on
    // every Linux kernel mio supports; the call writes only into `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
