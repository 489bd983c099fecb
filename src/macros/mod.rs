//! How [`select!`](crate::select), [`join!`](crate::join) and [`try_join!`](crate::try_join)
//! work: plain `macro_rules!`, no procedural macro, and what they expand to.
//!
//! All three run several futures *inside the current task*: nothing is spawned, the futures may
//! borrow local variables, and one `poll` of the task polls each of them in turn. They differ in
//! when they stop: `select!` at the first future whose output matches its pattern, `join!` when
//! all have finished, `try_join!` when all have succeeded or one has failed.
//!
//! ## What `select!` expands to
//!
//! ```text
//! let line = evloop::select! {
//!     Some(line) = lines.recv() => line,
//!     _ = sleep(IDLE), if idle_allowed => return Ok(()),
//! };
//! ```
//!
//! becomes, with names shortened:
//!
//! ```text
//! let line = {
//!     // 1. Preconditions, evaluated first: a false one disables its branch.
//!     let mut disabled: u64 = 0;
//!     if !true          { disabled |= 1 << 0; }
//!     if !idle_allowed  { disabled |= 1 << 1; }
//!
//!     // 2. One output slot per branch; only the winner's is ever filled.
//!     let mut outputs = (None, None);
//!     {
//!         // 3. The futures, pinned on the stack in a tuple. This block ends before any
//!         //    handler runs, so the losers are dropped (cancelled) first.
//!         let mut futures = (pin!(lines.recv()), pin!(sleep(IDLE)));
//!         poll_fn(|cx| {
//!             let start = next_start(2);             // 0 with `biased;`
//!             for branch in (start..start + 2).map(|i| i % 2) {
//!                 if branch is disabled { continue }
//!                 // branch 0 (branch 1 alike, with `let (_, future, ..)`):
//!                 let (future, ..) = &mut futures;
//!                 if let Ready(output) = future.as_mut().poll(cx) {
//!                     disable branch;                // never polled again
//!                     if matches!(&output, (Some(line))) {   // pattern checked by reference
//!                         outputs.0 = Some(output);
//!                         return Ready(());
//!                     }                              // no match: drop it, go on
//!                 }
//!             }
//!             if some branch returned Pending { Pending } else { Ready(()) }  // all disabled
//!         }).await;
//!     }
//!     // 4. The winner's handler, outside every closure and loop, so that `return`, `?`,
//!     //    `break` and `.await` in it mean what they mean around the `select!`.
//!     match outputs {
//!         (Some(Some(line)), ..) => line,
//!         (_, Some(_), ..)       => return Ok(()),
//!         _ => panic!("all branches of select! are disabled and there is no `else` branch"),
//!     }
//! };
//! ```
//!
//! A few tricks make that possible in `macro_rules!`, which cannot invent names or count:
//!
//! - **Skip lists instead of indices.** While reading branches, the parser keeps one `_` per
//!   branch read so far. For the third branch that list is `_ _`, which gives both its place in
//!   a tuple (`let (_, _, future, ..) = &mut futures;`) and, through `__count!`, its number
//!   (`1 + 1 + 0`). tokio's `select!` uses the same trick.
//! - **Tuples instead of named variables.** Every future lives in one tuple and every output in
//!   another, so the expansion needs no generated identifiers. `core::pin::pin!` pins each
//!   future in place without `unsafe`.
//! - **Checking a pattern without moving.** The output is matched first through a reference,
//!   with `mut`, `ref` and `&` removed from the pattern (`__select_clean_pattern!`), and only moved into
//!   the real pattern in the final `match`. Tokio does this cleaning with a procedural macro.
//! - **Rotation without randomness.** Unbiased `select!`s start one branch later on each poll
//!   (`support::next_start`, a per-thread counter), so an always-ready branch cannot starve the
//!   others, and a run can be replayed exactly.
//!
//! `join!` and `try_join!` (`macros/join.rs`) have the same shape without patterns: they stop
//! when every slot is full, or, for `try_join!`, at the first `Err`, whose return drops the
//! futures still running.
//!
//! ## Limits
//!
//! - `select!`: at most 64 branches (the `disabled` bit set is a `u64`; a compile-time assert
//!   says so).
//! - Every macro recurses once per branch or future, and `select!` once per token of each
//!   pattern: past the compiler's default recursion limit (128) a crate needs
//!   `#![recursion_limit = "256"]`. Ordinary uses stay far below it.
//! - A `select!` pattern handed in by another macro as a `$p:pat` fragment is one opaque token:
//!   the cleaner cannot see the `mut`/`ref`/`&` inside it, so such a pattern may only use plain
//!   bindings.

mod join;
mod select;
#[doc(hidden)]
pub mod support;
