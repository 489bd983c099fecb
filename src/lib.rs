//! # evloop — a single-threaded event loop, built by hand to be read
//!
//! An async runtime has three jobs: keep a list of tasks that can make progress, poll them, and
//! when none can, sleep until the operating system says something happened (a socket became
//! readable, a deadline passed, another thread finished a job). evloop does those jobs on one
//! thread with `mio` (epoll) and a few hundred lines per idea, so the whole loop can be read in
//! one sitting.
//!
//! ## Layout, in reading order
//!
//! | module | idea |
//! | --- | --- |
//! | [`runtime`] (`runtime/mod.rs`, `runtime/core.rs`) | the loop: `block_on`, one turn at a time |
//! | [`task`] (`task/cell.rs`, `task/join_handle.rs`, `task/id.rs`) | a spawned future, its handle, stale ids |
//! | `run_queue.rs` | woken tasks waiting for their poll, FIFO |
//! | `waker.rs` | the hand-made waker: local wake vs. wake from another thread |
//! | `runtime/context.rs` | how `spawn` finds the current loop |
//! | `timer.rs`, [`time`] | deadlines → the reactor's timeout; `sleep`, `timeout`, `interval` |
//! | `reactor.rs` | `mio::Poll`, one slot per socket, edge-triggered readiness |
//! | [`io`] | `AsyncRead`/`AsyncWrite` (poll methods), their `.await` forms, buffers, `copy`, `split` |
//! | [`net`] | `TcpListener`, `TcpStream`, `UdpSocket` on the reactor |
//! | [`net`] (`net/poll_evented.rs`, `net/tcp_*.rs`, `net/split.rs`, `net/udp.rs`) | sockets as futures |
//! | `stats.rs`, `clock.rs` | counters, lag histogram, the blocked-loop warning, a cheap clock |
//! | [`sync`] | the async `Mutex` (the execution lock), `oneshot`, `mpsc` |
//! | [`worker`] (`worker/pool.rs`, `worker/fallback.rs`, ...) | blocking calls: offload to a thread, or run inline |
//!
//! `docs/architecture.md` draws one turn of the loop with the file and function of each step.
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod io;
pub mod net;
pub mod runtime;
pub mod sandbox;
pub mod sync;
pub mod task;
pub mod time;
pub mod worker;

mod clock;
mod reactor;
mod run_queue;
mod stats;
mod timer;
mod waker;

pub use runtime::{Builder, Runtime};
pub use stats::{LagHistogram, RuntimeStats};
pub use task::{JoinError, JoinHandle, spawn, spawn_named};
pub use worker::spawn_blocking;

/// The current runtime's statistics.
///
/// # Panics
/// Outside a runtime; use `Runtime::stats()` there.
pub fn stats() -> RuntimeStats {
    runtime::core::current_stats()
        .expect("evloop::stats() called outside a runtime; use Runtime::stats() instead")
}
