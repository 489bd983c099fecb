//! # evloop — a single-threaded event loop, built by hand to be read
//!
//! An async runtime has three jobs: keep a list of tasks that can make progress, poll them, and
//! when none can, sleep until the operating system says something happened (a socket became
//! readable, a deadline passed, another thread finished a job). evloop does those jobs on one
//! thread with `mio` (epoll). Each idea has its own file; the README lists the files on the path
//! of one request first (about 2,500 lines), and what can wait for a second reading after.
//!
//! ## Layout: the reading order is the dependency order
//!
//! Each layer uses only the layers above it in this table, never one below; a test
//! (`tests/layers.rs`) reads every `use crate::…` and keeps it so. `docs/architecture.md` draws
//! the layers and one turn of the loop.
//!
//! | layer | modules | idea |
//! | --- | --- | --- |
//! | 0. the leaves | `sys.rs`, [`json`] | every direct libc call, each with its own `// SAFETY:`; a JSON writer |
//! | 1. tools | `clock.rs`, `stats.rs`, [`trace`] | the loop clock; counters and histograms; the trace recorder |
//! | 2. the OS, wrapped | `reactor/`, `timer.rs`, [`sandbox`] | `mio::Poll` and readiness; deadlines; seccomp |
//! | 3. tasks | `executor/` | a spawned future, its waker (local or remote), the run queue, `spawn`, the budget of each poll |
//! | 4. blocking work | [`worker`] | offload to a thread pool, or run inline when threads are refused |
//! | 5. the loop | [`runtime`] | `block_on`: one turn at a time, over the layers below |
//! | 6. what users call | [`task`], [`time`], [`sync`], [`io`], [`macros`] | tokio's names, found through the current runtime; byte-stream traits; `select!`, `join!`, `try_join!` |
//! | 7. sockets, signals, testing | [`net`], [`signal`], [`mod@test`] | `TcpListener`, `TcpStream`, `UdpSocket`, `UnixStream`, `ctrl_c()` on the reactor; paused time in one line, a mock stream |
//!
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// Layer 0: the leaves.
pub mod json;
mod sys;
// Layer 1: tools.
mod clock;
mod stats;
pub mod trace;
// Layer 2: the OS, wrapped.
mod reactor;
pub mod sandbox;
mod timer;
// Layer 3: tasks.
mod executor;
// Layer 4: blocking work.
pub mod worker;
// Layer 5: the loop.
pub mod runtime;
// Layer 6: what users call.
pub mod io;
pub mod macros;
pub mod sync;
pub mod task;
pub mod time;
// Layer 7: sockets, signals, and a kit for testing code that runs on evloop.
pub mod net;
#[cfg(unix)]
pub mod signal;
pub mod test;

pub use runtime::{Builder, Runtime};
pub use stats::{LagHistogram, LatencyHistogram, RuntimeStats, StatsDelta};
pub use task::{JoinError, JoinHandle, spawn, spawn_named};
pub use worker::spawn_blocking;

/// The current runtime's statistics.
///
/// # Panics
/// Outside a runtime; use `Runtime::stats()` there.
pub fn stats() -> RuntimeStats {
    runtime::observe::current_stats()
        .expect("evloop::stats() called outside a runtime; use Runtime::stats() instead")
}
