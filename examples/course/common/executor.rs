//! Step 2: many tasks on one thread: `spawn`, a run queue, one waker per task, a `JoinHandle`.
//!
//! ```text
//!  spawn ──► slab[id] = future, push id ──► run queue ──► run_task(id): poll
//!                                             ▲                  │ Pending: the future keeps
//!                                             │                  ▼ the task's waker somewhere
//!            TaskWaker::wake (any thread): push id; from another thread, also wake the loop
//! ```
//!
//! The futures stay in a slab on the loop thread (they need not be `Send`). A waker carries only
//! the task's id and the shared run queue, so it may travel to any thread. How the loop sleeps
//! when nothing is ready, and how a waker wakes it, is not this file's business: `block_on` is
//! handed a `park` function, and the queue a `loop_waker` (step 1's in step 2, epoll from step 3).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use slab::Slab;

use super::oneshot;

/// A spawned future, boxed and pinned (it stays in its box, so it never moves), output erased.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The executor: tasks and the run queue.
pub struct Executor {
    /// Task id → future. `None` while the task is being polled: it is out of the slab then, so it
    /// may spawn (which needs the slab) without a double borrow.
    tasks: RefCell<Slab<Option<Task>>>,
    /// Ids of tasks to poll, in wake order. Shared with every waker, on any thread.
    queue: Arc<RunQueue>,
    /// Polls so far, for the steps' reports.
    pub polls: Cell<u64>,
}

/// The run queue, and how to wake the loop when it gets work.
struct RunQueue {
    /// Task ids, oldest first. A `Mutex`, because a waker may push from another thread.
    ready: Mutex<VecDeque<usize>>,
    /// Called after a push from another thread, so a loop asleep in `park` comes back.
    loop_waker: Waker,
    /// The loop's thread. A push from it needs no wake-up: the loop is awake, running tasks,
    /// and looks at the queue before it parks.
    loop_thread: ThreadId,
}

impl RunQueue {
    /// The queue itself (no task code runs while it is locked, so it is never poisoned).
    fn ready(&self) -> MutexGuard<'_, VecDeque<usize>> {
        self.ready.lock().expect("never poisoned")
    }

    /// Queues task `id`, and wakes the loop if it may be asleep.
    fn push(&self, id: usize) {
        self.ready().push_back(id);
        if thread::current().id() != self.loop_thread {
            self.loop_waker.wake_by_ref();
        }
    }
}

/// The waker of one task: `std::task::Wake` builds the vtable of step 1 around this `Arc` for us.
struct TaskWaker {
    /// The task to queue.
    id: usize,
    /// The queue to put it on.
    queue: Arc<RunQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.queue.push(self.id);
    }
}

impl Executor {
    /// An executor for this thread; `loop_waker` wakes it when another thread queues a task.
    pub fn new(loop_waker: Waker) -> Rc<Executor> {
        let (ready, loop_thread) = (Mutex::default(), thread::current().id());
        let queue = Arc::new(RunQueue {
            ready,
            loop_waker,
            loop_thread,
        });
        Rc::new(Executor {
            tasks: RefCell::default(),
            queue,
            polls: Cell::new(0),
        })
    }

    /// Starts `future` as a task: it will be polled by the loop, not here. The handle is step
    /// 1's oneshot: the task sends its output when done (`None` if it is dropped before).
    pub fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        let (sender, handle) = oneshot::channel();
        let task = async move { sender.send(future.await) };
        let id = self.tasks.borrow_mut().insert(Some(Box::pin(task)));
        self.queue.push(id);
        handle
    }

    /// Polls the tasks that were ready when the call began; tasks woken meanwhile wait for the
    /// next call, so a task that wakes itself cannot keep the loop from parking (and from I/O).
    pub fn run_ready(&self) {
        let batch: Vec<usize> = self.queue.ready().drain(..).collect();
        for id in batch {
            self.run_task(id);
        }
    }

    /// Polls task `id` once, with its own waker.
    fn run_task(&self, id: usize) {
        // A stale id (the task finished) finds an empty or reused slot: skip, or poll once more
        // for nothing (futures must accept spurious polls). Neither harms.
        let Some(mut task) = self.tasks.borrow_mut().get_mut(id).and_then(Option::take) else {
            return;
        };
        // The task's waker, made afresh for each poll to keep this short (evloop makes it once).
        let queue = Arc::clone(&self.queue);
        let waker = Waker::from(Arc::new(TaskWaker { id, queue }));
        self.polls.set(self.polls.get() + 1);
        match task.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(()) => drop(self.tasks.borrow_mut().remove(id)),
            Poll::Pending => self.tasks.borrow_mut()[id] = Some(task),
        }
    }

    /// Runs `main` as a task, and the loop until it is done. `park(max)` is called when a turn is
    /// over: `Some(ZERO)` if tasks are already queued (check for events, do not sleep), `None` if
    /// not (sleep until woken). Tasks still alive when `main` ends are dropped.
    pub fn block_on<T: 'static>(
        &self,
        main: impl Future<Output = T> + 'static,
        mut park: impl FnMut(Option<Duration>),
    ) -> T {
        let mut main = self.spawn(main);
        // The loop looks at `main` after every turn anyway: no waker needed for that.
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            self.run_ready();
            if let Poll::Ready(output) = Pin::new(&mut main).poll(&mut cx) {
                // Drop the tasks left (a server's accept loop...) outside the borrow: their drop
                // may reach the executor again.
                let left = std::mem::take(&mut *self.tasks.borrow_mut());
                drop(left);
                return output.expect("main is never dropped before it finishes");
            }
            let queued = !self.queue.ready().is_empty();
            park(queued.then_some(Duration::ZERO));
        }
    }
}

/// The future of a spawned task's output: `Some(output)`, or `None` if the task was dropped.
pub type JoinHandle<T> = oneshot::Receiver<T>;
