//! `JoinSet`: many tasks, joined in the order they finish.
//!
//! A server that spawns a task per request, or a crawler that fetches a hundred pages, wants "the
//! next one that is done", not "the first one I spawned". Awaiting the handles one by one would
//! wait on a slow first task while later ones sit finished; polling every handle on each wake would
//! cost O(tasks) per finished task. `JoinSet` gives each task's handle its own small waker that,
//! when the task finishes, writes the task's key into a shared *notified list* and wakes whoever
//! waits in `join_next`:
//!
//! ```text
//!  task 3 finishes ──► its JoinHandle's waker = EntryWaker { key: 3 }
//!                          └─► notified.keys.push(3); wake the join_next waiter
//!  join_next ──► pop 3 ──► poll handle 3 (Ready) ──► remove it, return its result
//! ```
//!
//! So `join_next` only ever polls handles whose task said something: O(1) per finished task. The
//! executor needed nothing new for it — a `JoinHandle` already wakes the waker it was last polled
//! with — so the whole mechanism lives here. (tokio does the same with its `IdleNotifiedSet`.)
//!
//! A new entry starts on the notified list, so the first `join_next` polls it once and leaves its
//! waker with the task. A key may be listed twice, or after its entry is gone: polling a handle
//! that is not finished, or skipping a missing key, is harmless.
//!
//! Each result `join_next` returns spends one unit of the task's cooperative budget
//! (`executor/coop.rs`), as joining one `JoinHandle` does, so a set full of finished tasks is
//! drained at most a budget per poll. The unit is asked for before a key is popped, so a refused
//! `join_next` leaves the notified list as it was. The handles inside are polled without a budget:
//! the unit is spent once, by `join_next`, and [`try_join_next`](JoinSet::try_join_next), which
//! cannot yield, must see a finished task as finished.
//!
//! **Dropping a `JoinSet` aborts every task still in it**, as in tokio: the set owns its tasks.
//! [`JoinSet::detach_all`] lets them go on instead.
//!
//! The list sits behind a `Mutex` only because a `Waker` must be `Send + Sync`; in practice it is
//! touched on the loop thread alone (a task finishes on the loop, which wakes its `JoinHandle`'s
//! waker there), so the lock is never contended.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker, ready};

use slab::Slab;

use crate::executor::{AbortHandle, JoinError, JoinHandle, coop, spawn};

/// A set of tasks with the same output type, joined as they finish.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let mut set = evloop::task::JoinSet::new();
/// for i in 0..3u64 {
///     set.spawn(async move {
///         evloop::time::sleep(std::time::Duration::from_millis(30 - 10 * i)).await;
///         i
///     });
/// }
/// let mut order = Vec::new();
/// while let Some(result) = set.join_next().await {
///     order.push(result.expect("no task panicked"));
/// }
/// assert_eq!(order, [2, 1, 0]); // the shortest sleep finished first
/// # });
/// ```
pub struct JoinSet<T> {
    /// The tasks still in the set, each with the waker its handle is polled with.
    entries: Slab<Entry<T>>,
    /// Keys of entries whose task may have finished, and the `join_next` waiter.
    notified: Arc<Notified>,
}

/// One task of the set.
struct Entry<T> {
    /// The task's handle; its output comes out here.
    handle: JoinHandle<T>,
    /// An `EntryWaker` for this entry's key, lent to every poll of `handle`.
    waker: Waker,
}

/// What the entry wakers share with the set.
#[derive(Default)]
struct Notified {
    /// The notified list and the waiter, under one lock.
    state: Mutex<NotifiedState>,
}

/// The inside of [`Notified`].
#[derive(Default)]
struct NotifiedState {
    /// Keys to poll, in the order their tasks woke them.
    keys: VecDeque<usize>,
    /// The task waiting in `join_next`, if any.
    waiter: Option<Waker>,
}

/// The waker of one entry's `JoinHandle`: "the task with this key has something to say".
struct EntryWaker {
    /// The entry's key in the slab.
    key: usize,
    /// Where to write it.
    notified: Arc<Notified>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut state = self.notified.lock();
            state.keys.push_back(self.key);
            state.waiter.take()
        };
        // Wake after the lock is released: the waiter may run `join_next` at once.
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl Notified {
    /// The state; a poisoned lock (a panic while holding it, which cannot happen in these few
    /// lines) is used as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, NotifiedState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks `key` to be polled.
    fn push(&self, key: usize) {
        self.lock().keys.push_back(key);
    }

    /// The next key to poll, if any.
    fn pop(&self) -> Option<usize> {
        self.lock().keys.pop_front()
    }

    /// Remembers the `join_next` waiter (keeping the old waker when it is the same task).
    fn set_waiter(&self, waker: &Waker) {
        let mut state = self.lock();
        if !state.waiter.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.waiter = Some(waker.clone());
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            notified: Arc::default(),
        }
    }

    /// Spawns `future` on the current runtime as a task of this set; returns a handle that can
    /// cancel it (its output comes out of [`join_next`](JoinSet::join_next)).
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(spawn(future))
    }

    /// The same as [`spawn`](JoinSet::spawn): every evloop task is local to its loop thread.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(spawn(future))
    }

    /// Adds a spawned task's handle to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let key = entry.key();
        let waker = Waker::from(Arc::new(EntryWaker {
            key,
            notified: Arc::clone(&self.notified),
        }));
        entry.insert(Entry { handle, waker });
        self.notified.push(key); // polled once by the next join, which leaves the waker
        abort
    }

    /// Waits for the next task to finish and returns its result; `None` when the set is empty.
    /// A task that panicked or was aborted gives `Err(JoinError)`.
    ///
    /// Cancel-safe: dropping the future loses no result (the task stays in the set).
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The poll form of [`join_next`](JoinSet::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        // One unit of budget per result (see the module docs), asked for before a key is popped.
        let coop = ready!(coop::poll_proceed(cx));
        // Waiter first, then the list: a task finishing in between still finds the waiter.
        self.notified.set_waiter(cx.waker());
        match self.try_join_next() {
            Some(result) => {
                coop.made_progress();
                Poll::Ready(Some(result))
            }
            None => Poll::Pending,
        }
    }

    /// The result of a task that has already finished, if any; never waits (and spends no budget).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        while let Some(key) = self.notified.pop() {
            let Some(entry) = self.entries.get_mut(key) else {
                continue; // already joined: a stale key
            };
            let mut cx = Context::from_waker(&entry.waker);
            // Unconstrained: a handle refused for budget would make a finished task look
            // unfinished, and this function has no `Pending` to yield with (tokio does the same).
            let poll = coop::with_unconstrained(|| Pin::new(&mut entry.handle).poll(&mut cx));
            if let Poll::Ready(result) = poll {
                self.entries.remove(key);
                return Some(result);
            }
        }
        None
    }

    /// Cancels every task in the set. They stay in it: `join_next` returns their cancelled
    /// `JoinError`s (or the output of those that finished first).
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.entries {
            entry.handle.abort();
        }
    }

    /// Cancels every task and waits until all have ended; the set is empty afterwards.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Empties the set without cancelling: the tasks run on, their outputs are dropped.
    pub fn detach_all(&mut self) {
        self.entries.clear(); // dropping a JoinHandle detaches its task
        self.notified.lock().keys.clear();
    }

    /// Waits for every task and returns their outputs in the order they finished.
    ///
    /// # Panics
    /// If a task panicked (its panic is resumed here) or was cancelled; the other tasks are then
    /// aborted, as the set is dropped.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(e) if e.is_panic() => resume_unwind(e.into_panic()),
                Err(e) => panic!("a task of the JoinSet was cancelled: {e}"),
            }
        }
        outputs
    }

    /// Tasks in the set (running, or finished and not yet joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

/// The set owns its tasks: those still in it are cancelled.
impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, entry) in &self.entries {
            entry.handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.entries.len())
            .finish()
    }
}
