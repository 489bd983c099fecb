//! Tasks, as users see them: spawn one, await its handle, hand blocking work to a thread.
//!
//! Everything here is named as in `tokio::task`, so code moves over by renaming the crate. The
//! machinery lives below: a spawned future and its waker in `executor/`, the blocking worker in
//! `worker/`; this module only gathers what users call.
//!
//! ```text
//! spawn(fut)          -> JoinHandle<T>      a future on this loop     (executor/)
//! spawn_blocking(f)   -> BlockingHandle<T>  a closure on a thread     (worker/)
//! yield_now().await                         let the other tasks run
//! ```

pub use crate::executor::{JoinError, JoinHandle, TaskId, YieldNow, spawn, spawn_named, yield_now};
pub use crate::worker::{BlockingHandle, spawn_blocking};
