//! The loop's cheap clock: how the loop can time *every* poll without paying for it.
//!
//! Blocked-loop detection needs to know how long each poll took, so the loop looks at the clock
//! after every poll. `Instant::now()` (`CLOCK_MONOTONIC`) costs about 26 ns on the project's VM: a
//! quarter of a whole task round trip (`docs/performance.md`). Most polls take microseconds, far
//! less than any threshold worth warning about, and paying 26 ns to learn that is waste.
//!
//! Linux keeps a second monotonic clock, `CLOCK_MONOTONIC_COARSE`: the time of the kernel's last
//! timer tick (every 1–4 ms, depending on `CONFIG_HZ`), read from memory the kernel shares with
//! every process (the vDSO), with no hardware timer access: about 5 ns. The loop reads it after
//! each poll and compares it with the tick of its last precise reading:
//!
//! - **same tick**: less than one tick has passed since the last precise reading, so this poll
//!   was shorter than a tick and cannot be a slow poll. Nothing else to do.
//! - **the tick moved**: read the precise clock (`Instant::now()`) and measure as before.
//!
//! A poll longer than a tick always crosses a tick, so the blocked-loop warning still fires for
//! every slow poll and reports its duration to within one tick. The price is resolution: poll
//! times and wake-to-poll lags shorter than a tick read as zero (`stats.rs` buckets lag from 1 ms
//! up for that reason). A slow-poll threshold below two of the longest possible ticks
//! ([`MAX_TICK`]) switches the loop back to a precise reading after every poll (`Core::new`).
//!
//! Elsewhere than Linux there is no coarse clock here: every poll gets a precise reading.

use std::time::Duration;

/// The kernel tick: the coarse clock in nanoseconds (Linux), or a value that never repeats.
#[cfg(target_os = "linux")]
pub(crate) fn kernel_tick() -> u64 {
    let ts = coarse(libc::clock_gettime);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The longest a kernel tick can be: Linux ticks at `CONFIG_HZ` = 100 to 1000 per second.
/// (Asking the kernel, `clock_getres`, would be exact, but a bound is all the loop needs.)
pub(crate) const MAX_TICK: Duration = Duration::from_millis(10);

/// Reads `CLOCK_MONOTONIC_COARSE`.
#[cfg(target_os = "linux")]
fn coarse(
    call: unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int,
) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `call` is `clock_gettime`, which writes one `timespec` through the pointer and
    // nothing else; `ts` is a live, writable `timespec` on our stack. CLOCK_MONOTONIC_COARSE
    // exists on every Linux since 2.6.32, older than any kernel mio runs on, so the call cannot
    // fail with EINVAL; EFAULT is impossible with a valid pointer.
    let rc = unsafe { call(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    debug_assert_eq!(rc, 0, "CLOCK_MONOTONIC_COARSE is always available on Linux");
    ts
}

/// Without a coarse clock every reading is "a new tick", so every poll is measured precisely.
#[cfg(not(target_os = "linux"))]
pub(crate) fn kernel_tick() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // waits for real time to pass (every runtime test still calls the clock)
    fn the_coarse_clock_moves_forward_in_ticks() {
        let first = kernel_tick();
        // Wait (bounded) for the tick to move; the clock must never go backwards.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut later = kernel_tick();
        while later == first && std::time::Instant::now() < deadline {
            std::hint::spin_loop();
            later = kernel_tick();
        }
        assert!(later > first, "the coarse clock did not move in 5 s");
    }
}
