//! `spawn_blocking` and its `BlockingHandle`: hand a blocking closure to the runtime's worker,
//! await its result without blocking the loop.
//!
//! The job is submitted *at the call*, not at the first poll, as in tokio: the work starts even if
//! the handle is awaited much later. So by the time `spawn_blocking` returns, the handle already
//! knows where the job went ([`BlockingHandle::execution`]) — and an inline job has already run.
//!
//! The one exception is a full queue under `QueueFull::Wait`: the handle then holds the job and
//! submits it again each time the pool signals room, from its `poll`. Until then the job has not
//! started, and dropping the handle drops the job unrun.
//!
//! Dropping a handle whose job was placed *detaches* the job: it still runs to the end, and its
//! result is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::error::BlockingError;
use super::execution::Execution;
use super::job::{Completion, Job};
use super::{Refused, Worker};
use crate::executor::JoinError;
use crate::executor::scheduler::Scheduler;

/// Runs the blocking closure `f` on the current runtime's worker — a pool thread by default, the
/// loop thread when no thread can be had — and returns a handle to await its result.
///
/// Awaiting gives `Ok(output)`, or a [`JoinError`]: `is_panic()` if `f` panicked (the message is
/// kept; the pool thread survives), `is_cancelled()` if the job never ran (the worker refused it,
/// see [`try_spawn_blocking`], or the runtime shut down before a thread took it).
///
/// # Panics
/// Outside a runtime (not inside `Runtime::block_on` or a task). That includes a pool thread: a
/// blocking job cannot submit blocking jobs of its own (and waiting for one is the deadlock trap
/// of the module docs).
///
/// # Example
/// ```
/// let rt = evloop::Runtime::new()?;
/// let (reply, path) = rt.block_on(async {
///     let mut handle = evloop::spawn_blocking(|| 6 * 7); // imagine a slow LLM call here
///     let reply = (&mut handle).await.expect("did not panic");
///     (reply, handle.execution())
/// });
/// assert_eq!(reply, 42);
/// println!("{path:?}"); // Some(Offloaded), or Some(Inline(ThreadsRefused)) without threads
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> BlockingHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (handle, refused) = super::current::with_worker(|worker| submit(worker, f));
    if let Some(err) = refused {
        log::warn!(
            "{err}; its handle resolves to a cancelled JoinError (try_spawn_blocking returns the \
             error instead)"
        );
    }
    handle
}

/// Like [`spawn_blocking`], but a job the worker refuses comes back as an error at once:
/// [`BlockingError::QueueFull`] under `QueueFull::Reject`, [`BlockingError::NoThread`] from a bare
/// `ThreadPool` that cannot create a thread. A service turns these into "503 busy".
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn try_spawn_blocking<F, T>(f: F) -> Result<BlockingHandle<T>, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match super::current::with_worker(|worker| submit(worker, f)) {
        (handle, None) => Ok(handle),
        (_, Some(err)) => Err(err),
    }
}

/// Wraps `f` in a job and submits it to `worker`. On refusal the job is already dropped, so the
/// returned handle resolves to a cancelled `JoinError`.
pub(crate) fn submit<F, T>(worker: &dyn Worker, f: F) -> (BlockingHandle<T>, Option<BlockingError>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (mut job, completion) = Job::new(f);
    // A paused loop must not jump to its next timer while this job runs (`runtime/auto_advance.rs`).
    Scheduler::with_current(|scheduler| job.hold_auto_advance(scheduler.clock()));
    job.trace_into(super::current::trace());
    let mut handle = BlockingHandle {
        completion,
        waiting: None,
        execution: None,
        done: false,
    };
    let refused = handle.place(worker, job, None).err();
    (handle, refused)
}

/// Awaits a blocking job's result. Dropping it detaches the job (it still runs).
///
/// It is `Unpin`, so `(&mut handle).await` leaves the handle to ask
/// [`execution`](BlockingHandle::execution) afterwards.
pub struct BlockingHandle<T> {
    /// Where the result arrives.
    completion: Arc<Completion<T>>,
    /// The job, while it waits for room in a full queue (`QueueFull::Wait`).
    waiting: Option<Job>,
    /// Where the job went, once placed.
    execution: Option<Execution>,
    /// The result was returned: polling again is a bug.
    done: bool,
}

impl<T> BlockingHandle<T> {
    /// Where the job ran: known as soon as it was placed — right after `spawn_blocking`, unless it
    /// waits for room in a full queue. `None` while waiting, and for a refused job.
    pub fn execution(&self) -> Option<Execution> {
        self.execution
    }

    /// True once the result is here (the next poll returns it), or was returned.
    pub fn is_finished(&self) -> bool {
        self.done || self.completion.is_ready()
    }

    /// Submits `job` to `worker` and remembers where it went. `room` is woken when a full queue
    /// has room again; the job then waits in `self.waiting`.
    fn place(
        &mut self,
        worker: &dyn Worker,
        job: Job,
        room: Option<&std::task::Waker>,
    ) -> Result<(), BlockingError> {
        match worker.submit(job, room) {
            Ok(execution) => {
                self.execution = Some(execution);
                Ok(())
            }
            Err(Refused::WaitForRoom(job)) => {
                self.waiting = Some(job);
                Ok(())
            }
            Err(Refused::Error(err)) => Err(err),
        }
    }

    /// One poll, submitting a waiting job to `worker` first. `Future::poll` passes the runtime's
    /// worker; unit tests pass one directly, without a runtime.
    pub(crate) fn poll_with(
        &mut self,
        worker: &dyn Worker,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, JoinError>> {
        if let Some(job) = self.waiting.take()
            && let Err(err) = self.place(worker, job, Some(cx.waker()))
        {
            // The job was dropped, so its result (a cancelled `JoinError`) is already here.
            log::warn!("{err}");
        }
        if self.waiting.is_some() {
            return Poll::Pending; // still no room; the pool wakes us when a thread takes a job
        }
        self.poll_result(cx)
    }

    /// Takes the result if it has arrived, or leaves the waker for the job.
    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        assert!(
            !self.done,
            "BlockingHandle polled after it returned its result"
        );
        let result = self.completion.poll_result(cx);
        self.done = result.is_ready();
        result
    }
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.waiting.is_some() {
            // Only a job waiting for room needs the worker; a placed one just waits for its result.
            return super::current::with_worker(|worker| this.poll_with(worker, cx));
        }
        this.poll_result(cx)
    }
}

impl<T> Drop for BlockingHandle<T> {
    fn drop(&mut self) {
        if !self.done {
            // Detach: a running job finishes and its result is dropped; a job still waiting for
            // room (`self.waiting`) is dropped unrun right after this.
            self.completion.detach();
        }
    }
}

impl<T> fmt::Debug for BlockingHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHandle")
            .field("execution", &self.execution)
            .field("waiting_for_room", &self.waiting.is_some())
            .field("finished", &self.is_finished())
            .finish()
    }
}
