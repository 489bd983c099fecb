//! The executor: tasks, their wakers, and the queue of tasks ready to run.
//!
//! A *task* is a future the runtime owns and polls on its own, independently of whoever spawned
//! it. `spawn` moves the future into a `TaskCell` (`cell.rs`, one allocation), puts it in the
//! current loop's task slab (`scheduler.rs`), queues it to be polled, and hands back a
//! [`JoinHandle`].
//!
//! ```text
//! spawn -> run queue -> poll --Pending--> waker kept by reactor / timer / worker
//!             ^                                  |
//!             +------------ wake() <-------------+        (waker.rs: local or remote)
//!                      poll --Ready--> output to the JoinHandle, slot freed
//! ```
//!
//! This layer knows nothing of sockets, timers or threads: a waker is all it gives out, and all
//! it needs back. The runtime (`runtime/`) drives it together with the reactor and the timers.
//!
//! Reading order: `id.rs`, `join_error.rs`, `cell.rs`, `waker.rs`, `run_queue.rs`,
//! `scheduler.rs` and `current.rs` (with `blocked_loop.rs`, `lag_sampler.rs`, `traced.rs`, and `coop.rs`, the
//! budget each poll gets), `abort_handle.rs` (what cancelling needs), `join_handle.rs`,
//! `yield_now.rs`.

mod abort_handle;
mod blocked_loop;
pub(crate) mod cell;
pub(crate) mod coop;
pub(crate) mod current;
mod header;
mod id;
mod join_error;
mod join_handle;
pub(crate) mod lag_sampler;
mod run_queue;
pub(crate) mod scheduler;
mod traced;
pub(crate) mod waker;
mod yield_now;

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;

pub use abort_handle::AbortHandle;
pub use id::TaskId;
pub use join_error::JoinError;
pub(crate) use join_error::drop_payload;
pub use join_handle::JoinHandle;
pub use yield_now::{YieldNow, yield_now};

use crate::trace::Label;
use cell::TaskMeta;
use scheduler::Scheduler;

/// Spawns `future` as a new task on the current runtime and returns its [`JoinHandle`].
///
/// The future need not be `Send`: it never leaves the loop thread. In logs the task is named by
/// where `spawn` was called; use [`spawn_named`] to give it a name.
///
/// # Panics
/// When called outside a runtime (not inside `Runtime::block_on` or a task).
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_with_meta(future, None, Location::caller())
}

/// Like [`spawn`], with a name that logs, stats and the blocked-loop warning will use
/// (`task 7 (handle_request) blocked the event loop for 1.204 s`).
#[track_caller]
pub fn spawn_named<F>(name: impl Into<Cow<'static, str>>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_with_meta(future, Some(name.into()), Location::caller())
}

/// The body of both spawns: find the current scheduler and hand it the future.
fn spawn_with_meta<F>(
    future: F,
    name: Option<Cow<'static, str>>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let meta = TaskMeta {
        location,
        name: name.map(|name| Box::new(Label::from(name))),
    };
    Scheduler::with_current(|scheduler| scheduler.spawn(future, meta)).unwrap_or_else(|| {
        panic!(
            "evloop::spawn called outside of a runtime (at {location}): spawn from inside \
             `Runtime::block_on(...)` or from another task, e.g. \
             `Runtime::new()?.block_on(async {{ evloop::spawn(fut).await }})`"
        )
    })
}
