//! What the macros' expansions call at run time: only the rotating start of `select!`.
//!
//! Everything else an expansion needs comes from `core` (`pin!`, `poll_fn`, `Future`, `Poll`),
//! named by absolute paths (`::core::...`) so that the user's own imports cannot change what the
//! expansion means.

use std::cell::Cell;

thread_local! {
    /// Counts the polls of unbiased `select!`s on this thread; each poll starts one branch later.
    static NEXT_START: Cell<u32> = const { Cell::new(0) };
}

/// The branch an unbiased `select!` polls first this time, in `0..branches`.
///
/// Tokio draws it from a per-thread random generator. A counter is just as fair over time (no
/// branch is always polled first, so none is starved by an always-ready sibling) and keeps runs
/// reproducible, which is worth more in a runtime written to be read and debugged.
pub fn next_start(branches: u32) -> u32 {
    NEXT_START.with(|next| {
        let start = next.get();
        next.set(start.wrapping_add(1));
        start % branches
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_starts_one_branch_later() {
        let first = next_start(3);
        let starts: Vec<u32> = (0..4).map(|_| next_start(3)).collect();
        let expected: Vec<u32> = (1..5).map(|i| (first + i) % 3).collect();
        assert_eq!(starts, expected);
        assert_eq!(next_start(1), 0, "one branch always starts at itself");
    }
}
