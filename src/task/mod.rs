//! Tasks, as users see them: spawn one, await its handle, hand blocking work to a thread.
//!
//! Everything here is named as in `tokio::task`, so code moves over by renaming the crate. The
//! machinery lives below: a spawned future and its waker in `executor/`, the blocking worker in
//! `worker/`; this module gathers what users call, and adds [`JoinSet`] (`join_set.rs`), built
//! only from what the executor already offers.
//!
//! ```text
//! spawn(fut)          -> JoinHandle<T>      a future on this loop     (executor/)
//! spawn_local(fut)    -> JoinHandle<T>      the same: every task here is local
//! handle.abort_handle() -> AbortHandle      cancel without the output (executor/abort_handle.rs)
//! JoinSet::spawn(fut) -> AbortHandle        many tasks, joined as they finish (join_set.rs)
//! spawn_blocking(f)   -> BlockingHandle<T>  a closure on a thread     (worker/)
//! yield_now().await                         let the other tasks run
//! ```

mod join_set;

use std::future::Future;

pub use crate::executor::{
    AbortHandle, JoinError, JoinHandle, TaskId, YieldNow, spawn, spawn_named, yield_now,
};
pub use crate::worker::{BlockingHandle, spawn_blocking};
pub use join_set::JoinSet;

/// Spawns `future` on the current runtime: the same as [`spawn`].
///
/// tokio has two spawns because its runtime may move tasks between threads: `spawn` wants a
/// `Send` future, `spawn_local` takes any future but keeps it on this thread (inside a
/// `LocalSet`). Every evloop task stays on its loop thread, so both names do the same thing, and
/// code written with either moves over unchanged.
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(future)
}
