//! The current worker: how `spawn_blocking` finds where to send a job.
//!
//! `evloop::spawn_blocking(f)` takes no runtime argument, like tokio's. While a runtime's
//! `block_on` runs, the runtime makes its worker *current* on this thread ([`enter`]); the
//! free functions of this module look it up here. The worker layer thus needs nothing from the
//! runtime above it: the runtime hands the worker down, not the other way round.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::Worker;
use crate::trace::Trace;

/// The current worker, and the runtime's trace recorder that its jobs record into (if tracing).
type Current = (Rc<dyn Worker>, Option<Arc<Trace>>);

thread_local! {
    /// The worker of the runtime whose `block_on` runs on this thread, if any.
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Makes `worker` current on this thread until the guard is dropped; restores the previous one.
/// Jobs submitted meanwhile record themselves in `trace`, if given.
pub(crate) fn enter(worker: &Rc<dyn Worker>, trace: Option<&Arc<Trace>>) -> EnterGuard {
    let current = (Rc::clone(worker), trace.cloned());
    let previous = CURRENT.with(|c| c.borrow_mut().replace(current));
    EnterGuard { previous }
}

/// Keeps a worker current; see [`enter`].
pub(crate) struct EnterGuard {
    /// What was current before `enter`.
    previous: Option<Current>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let old =
            CURRENT.try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous));
        drop(old); // after the borrow: a worker's drop may run arbitrary code
    }
}

/// Runs `f` with the current worker.
///
/// The worker is cloned out of the thread-local first, so `f` may run user code — an inline
/// job — that uses the runtime again (spawns, or calls `spawn_blocking` itself).
///
/// # Panics
/// Outside a runtime; `#[track_caller]` makes the panic point at the user's `spawn_blocking`.
#[track_caller]
pub(crate) fn with_worker<R>(f: impl FnOnce(&dyn Worker) -> R) -> R {
    let worker = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
    let Some((worker, _)) = worker else {
        panic!(
            "evloop::spawn_blocking must be used inside an evloop runtime: call it from a future \
             run by `Runtime::block_on(...)` or by a spawned task"
        )
    };
    f(&*worker)
}

/// The current runtime's trace recorder, when tracing is on (`None` outside a runtime too).
pub(crate) fn trace() -> Option<Arc<Trace>> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().and_then(|(_, trace)| trace.clone()))
        .ok()
        .flatten()
}
