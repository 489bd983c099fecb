//! `Job`: one blocking closure on its way to a thread, and the slot its result comes back through.
//!
//! `spawn_blocking(f)` splits into two halves that may live on different threads:
//!
//! ```text
//!  loop thread                         shared: Arc<Completion<T>>            pool thread
//!  BlockingHandle<T> ── poll ──► lock: result? ─ no ─► keep cx.waker()
//!                                                        ▲
//!                                      lock: store result, take waker ◄── Job::run: f() (panics caught)
//!       task polled again  ◄── wake() (a remote wake for the loop) ◄──── unlock, then wake
//! ```
//!
//! The `Job` is type-erased (`Box<dyn JobBody>`), so a worker can queue jobs of every output type
//! in one `VecDeque<Job>`. A job always delivers exactly one result: its output, a `JoinError` for
//! a panic, or — when it is dropped without running (queue discarded at shutdown, job refused) — a
//! cancelled `JoinError`. So an awaiting task never waits for a job that no longer exists.
//!
//! The waker is taken out under the lock but woken after the lock is released: waking may run
//! arbitrary code (here: push a task id and write an eventfd), and it must not run while the
//! awaiting side could be blocked on the same lock.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::execution::InlineReason;
use crate::clock::{AutoAdvanceHold, LoopClock};
use crate::executor::JoinError;
use crate::executor::drop_payload;
use crate::trace::Trace;
use crate::worker::pool::RoomLine;

/// Source of job ids for logs ("blocking job 7").
static NEXT_JOB_ID: AtomicU64 = AtomicU64::new(1);

/// A blocking closure with the slot its result goes to. Dropping a job that has not run cancels it:
/// its handle resolves to a cancelled `JoinError`.
pub struct Job {
    /// Number for logs, unique in the process.
    id: u64,
    /// The closure and its result slot; `None` once run or cancelled.
    body: Option<Box<dyn JobBody>>,
    /// Keeps a paused loop from jumping ahead while the job is in flight (`clock/paused.rs`).
    /// A field, so that it is dropped only after `run` or the cancel delivered the result.
    hold: Option<AutoAdvanceHold>,
    /// The runtime's trace recorder, when tracing is on: the job records its own slice, on the
    /// thread that runs it.
    trace: Option<Arc<Trace>>,
    /// The line the job waits in for room in a full queue (`QueueFull::Wait`), while it does:
    /// told if the job is dropped there, so the place it may have been woken for is not lost.
    pub(crate) room_line: Option<Weak<dyn RoomLine>>,
}

/// What a worker can do with a type-erased job body.
trait JobBody: Send {
    /// Runs the closure on this thread and delivers its output (or its panic).
    ///
    /// `finished` is called when the closure has returned, *before* the result is delivered: the
    /// trace's slice must be recorded while the awaiting task cannot yet have seen the result
    /// (it may write the trace file as soon as it has).
    fn run(self: Box<Self>, finished: &mut dyn FnMut());
    /// Delivers a cancelled `JoinError` without running the closure.
    fn cancel(self: Box<Self>);
}

/// The typed body behind a `Job`.
struct Body<F, T> {
    /// The blocking closure.
    f: F,
    /// Where its result goes.
    completion: Arc<Completion<T>>,
}

impl<F, T> JobBody for Body<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, finished: &mut dyn FnMut()) {
        let Body { f, completion } = *self;
        // AssertUnwindSafe: after a panic nothing touched by `f` is used again here; the payload
        // goes to the caller, who decides (like a task's panic, `executor/cell.rs`).
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_panic);
        finished();
        completion.deliver(result);
    }

    fn cancel(self: Box<Self>) {
        self.completion.deliver(Err(JoinError::cancelled()));
    }
}

impl Job {
    /// Wraps `f` and returns the job with the slot its result will arrive in.
    pub(crate) fn new<F, T>(f: F) -> (Job, Arc<Completion<T>>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let completion = Arc::new(Completion::default());
        let body = Body {
            f,
            completion: Arc::clone(&completion),
        };
        let job = Job {
            id: NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed),
            body: Some(Box::new(body)),
            hold: None,
            trace: None,
            room_line: None,
        };
        (job, completion)
    }

    /// Records the job's run in `trace` (if any) as a `blocking` slice.
    pub(crate) fn trace_into(&mut self, trace: Option<Arc<Trace>>) {
        self.trace = trace;
    }

    /// Holds `clock`'s auto-advance back until this job has delivered its result.
    pub(crate) fn hold_auto_advance(&mut self, clock: &LoopClock) {
        self.hold = Some(clock.hold_auto_advance());
    }

    /// The job's number, as logs show it ("blocking job 7").
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Runs the closure on the calling thread and hands its result (or panic) to the awaiting task.
    /// A panic in the closure is caught: it never unwinds into the caller.
    pub fn run(self) {
        self.run_here(None);
    }

    /// Runs the job on the calling thread — the loop thread — because of `reason`: as `run`, and
    /// a trace shows the slice on the loop thread's track with the reason.
    pub(crate) fn run_inline(self, reason: InlineReason) {
        self.run_here(Some(reason));
    }

    /// Runs the closure here, timing it for the trace when tracing is on.
    fn run_here(mut self, inline: Option<InlineReason>) {
        let Some(body) = self.body.take() else {
            return;
        };
        match self.trace.take() {
            None => body.run(&mut || {}),
            Some(trace) => {
                let (id, start) = (self.id, Instant::now());
                let why = inline.map(|reason| reason.as_str());
                body.run(&mut || trace.blocking(id, why, start, Instant::now()));
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(body) = self.body.take() {
            log::debug!("blocking job {} dropped unrun: cancelled", self.id);
            // Cancelling drops the closure unrun, and with it what it captured: user values whose
            // destructors may panic. Jobs are dropped by the pool's shutdown (inside the runtime's
            // drop) and when refused (on the loop thread); neither may unwind.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.cancel())) {
                log::warn!(
                    "blocking job {}: a destructor panicked as it was cancelled",
                    self.id
                );
                drop_payload(payload);
            }
            if let Some(line) = self.room_line.take().and_then(|line| line.upgrade()) {
                line.leave(self.id);
            }
        }
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Job({})", self.id)
    }
}

/// The result slot shared by a job and its handle.
pub(crate) struct Completion<T> {
    /// Result and waker, behind one lock (taken twice per job: once by each side).
    slot: Mutex<Slot<T>>,
}

/// What the two sides exchange.
struct Slot<T> {
    /// The job's result, until the handle takes it.
    result: Option<Result<T, JoinError>>,
    /// The waker of the task awaiting the handle, if it has polled.
    waker: Option<Waker>,
    /// The handle was dropped: a result delivered now is dropped.
    detached: bool,
}

impl<T> Default for Completion<T> {
    fn default() -> Self {
        Completion {
            slot: Mutex::new(Slot {
                result: None,
                waker: None,
                detached: false,
            }),
        }
    }
}

impl<T> Completion<T> {
    /// Locks the slot. A poisoned lock means a panic *between* lock and unlock here, where no
    /// code can panic; the slot is consistent either way, so poison is ignored.
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The job side: store the result and wake the awaiting task (outside the lock).
    fn deliver(&self, result: Result<T, JoinError>) {
        let mut slot = self.lock();
        if slot.detached {
            drop(slot);
            drop(result); // nobody will read it; drop it outside the lock
            return;
        }
        slot.result = Some(result);
        let waker = slot.waker.take();
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The handle side: take the result, or leave the waker for `deliver`.
    pub(crate) fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut slot = self.lock();
        if let Some(result) = slot.result.take() {
            return Poll::Ready(result);
        }
        match &slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The handle was dropped: forget the waker, drop any result now and any later one on arrival.
    pub(crate) fn detach(&self) {
        let mut slot = self.lock();
        slot.detached = true;
        let waker = slot.waker.take();
        let result = slot.result.take();
        drop(slot);
        drop((waker, result));
    }

    /// True once a result has been delivered and not yet taken.
    pub(crate) fn is_ready(&self) -> bool {
        self.lock().result.is_some()
    }
}
