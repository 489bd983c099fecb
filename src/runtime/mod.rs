//! `Runtime`: the event loop itself — `block_on` turns it until the given future is done.
//!
//! ```text
//!            ┌────────────────────── one turn (Core) ─────────────────────┐
//!  block_on ─┤ poll the block_on future if woken                           │
//!            │ poll each task that was ready at the start (run_ready_tasks)│
//!            │ epoll_wait(timeout), unless busy           (poll_reactor)    │
//!            │ remote wakes → run queue; fire timers      (after_reactor)   │
//!            │ then the tasks that yielded for lack of budget (coop.rs)   │
//!            └──────────────── until the block_on future is Ready ─────────┘
//! ```
//!
//! `block_on` is the only place the loop runs: while it runs, this thread *is* the event loop.
//! When it returns, the tasks still alive stay in the runtime (a later `block_on` continues them)
//! until the runtime is dropped; then their futures are dropped, on this thread.

mod auto_advance;
pub(crate) mod builder;
pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod observe;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub use builder::Builder;

use self::core::Core;
use crate::executor::coop;
use crate::executor::waker::MainWake;
use crate::worker::Worker;

/// A single-threaded event loop. Not `Send`: it stays on the thread that made it.
pub struct Runtime {
    /// The loop's state, shared with the thread-local context while `block_on` runs.
    core: Rc<Core>,
}

impl Runtime {
    /// A runtime with default settings (see [`Builder`]).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Configures a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Builds the loop state from a finished configuration.
    fn from_config(config: builder::Config, worker: Box<dyn Worker>) -> io::Result<Runtime> {
        Ok(Runtime {
            core: Rc::new(Core::new(config, Rc::from(worker))?),
        })
    }

    /// Runs the loop until `future` completes, and returns its output.
    ///
    /// The future may borrow from the caller (it is not spawned). Tasks it spawns keep running
    /// while it waits, and those still alive when it returns stay in the runtime.
    ///
    /// # Panics
    /// If called from inside a runtime (a task or another `block_on`): that would block the loop
    /// running the caller; `.await` the future instead. A panic of `future` itself propagates.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(&self.core);
        let mut future = pin!(future);
        let scheduler = self.core.scheduler();
        let inbox = scheduler.inbox();
        let waker = Waker::from(Arc::new(MainWake {
            inbox: Arc::clone(inbox),
        }));
        let mut cx = Context::from_waker(&waker);
        // The future has not been polled yet: treat it as woken.
        inbox.wake_main();
        self.core.resume();
        loop {
            if inbox.take_main_wake() {
                let start = self.core.now();
                let traced = scheduler.trace_poll_start();
                // The `block_on` future gets a budget too: it may be the one reading a busy socket.
                let poll = coop::with_budget(scheduler.budget(), || future.as_mut().poll(&mut cx));
                scheduler.trace_poll_end(traced, None);
                scheduler.after_poll(start, None);
                if let Poll::Ready(output) = poll {
                    self.core.pause();
                    return output;
                }
            }
            self.turn();
        }
    }

    /// One turn of the loop after the `block_on` future: tasks, reactor, remote wakes, timers.
    fn turn(&self) {
        let core = &self.core;
        core.run_ready_tasks();
        if let Err(e) = core.poll_reactor() {
            // epoll_wait failing (other than EINTR) means the selector itself is broken.
            log::error!("reactor poll failed, the loop cannot go on: {e}");
            panic!("evloop: reactor poll failed: {e}");
        }
        core.after_reactor();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Destructors of task futures may use the runtime (drop a socket, a timer): make it current
        // while they run, whatever was current before (a runtime may be dropped inside another).
        let _enter = context::enter_unchecked(&self.core);
        self.core.shutdown();
        if let Some(trace) = self.core.trace() {
            match trace.write() {
                Ok(Some(path)) => log::info!("trace written to {}", path.display()),
                Ok(None) => {}
                Err(e) => log::warn!("could not write the trace: {e}"),
            }
        }
    }
}
