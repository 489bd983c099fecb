//! The line of jobs waiting for room in a full queue (`QueueFull::Wait`): one wake per free place.
//!
//! A place frees up when a pool thread comes back from a job: either it takes the next job off
//! the queue (one more job may be queued) or it finds the queue empty and waits (it can take a job
//! itself). One place serves one job, so the pool wakes *one* waiting task for it, the first in
//! line — not every waiting task, which would make all but one of them poll, find the queue full
//! again and go back to sleep (with 100 000 waiting tasks that was 35 wakes per job).
//!
//! ```text
//!  BlockingHandle::poll ─ place(job, waker) ─ full ─► wait(job id, waker)   order: 7 8 9 ...
//!                                                                            wakers: {7, 8, 9}
//!  pool thread back from a job ─► next(): pop 7, take its waker ─► wake ─► task 7 polls, places
//!  a handle dropped while waiting ─► Job::drop ─► RoomLine::leave(8)
//!        8 still in line      → forget it (nothing owed)
//!        8 was already woken  → it took a place with it: wake the next one in line
//! ```
//!
//! That last case is why the job itself reports that it left: a wake spent on a task that no
//! longer waits would otherwise be lost, and if no other thread comes back from a job afterwards
//! (all idle, queue empty), the tasks still in line would wait forever.
//!
//! A woken task is not promised the place: a job submitted for the first time may take it first.
//! The woken one then finds the queue full and joins the line again, at the back, and costs one
//! more wake. tokio's `Semaphore` avoids that by handing permits to waiters in order; the pool
//! keeps the simpler rule because newcomers are rare once a queue is full (they join the line).
//!
//! Everything here runs under the pool's lock; the wakers it hands out are woken after unlock.

use std::collections::{HashMap, VecDeque};
use std::sync::MutexGuard;
use std::task::Waker;

use super::thread::{PoolShared, PoolState};
use crate::worker::stats::WorkerCounters;

/// Jobs waiting for room, first come first served.
#[derive(Default)]
pub(super) struct RoomWaiters {
    /// Job ids in the order they joined. An id whose job left the line (woken, placed, given up)
    /// is skipped when it reaches the front: removing it from the middle would cost a search.
    order: VecDeque<u64>,
    /// The waker of each job in line, by job id. A job is in line exactly when it is here.
    wakers: HashMap<u64, Waker>,
}

impl RoomWaiters {
    /// Job `job` waits for room; `waker` is woken when its turn comes. A job already in line
    /// keeps its place and gets the new waker.
    pub(super) fn wait(&mut self, job: u64, waker: &Waker) {
        match self.wakers.get_mut(&job) {
            Some(known) if known.will_wake(waker) => {}
            Some(known) => known.clone_from(waker),
            None => {
                self.wakers.insert(job, waker.clone());
                // If an earlier id of this job is still in `order`, that one comes first and the
                // job keeps its old place; this one is skipped later.
                self.order.push_back(job);
            }
        }
    }

    /// Takes job `job` out of the line; false if it was not in it (woken already, or never in).
    pub(super) fn forget(&mut self, job: u64) -> bool {
        self.wakers.remove(&job).is_some()
    }

    /// The first job in line leaves it: its waker, to wake after the pool's lock is released.
    pub(super) fn next(&mut self) -> Option<Waker> {
        while let Some(job) = self.order.pop_front() {
            if let Some(waker) = self.wakers.remove(&job) {
                return Some(waker);
            }
        }
        None
    }

    /// True if a job waits in line.
    pub(super) fn is_waiting(&self) -> bool {
        !self.wakers.is_empty()
    }

    /// Empties the line (shutdown): the wakers, to drop outside the lock.
    pub(super) fn take_all(&mut self) -> HashMap<u64, Waker> {
        self.order.clear();
        std::mem::take(&mut self.wakers)
    }
}

/// A line of jobs waiting for room, as a job waiting in it sees it (`Job` holds a `Weak` of it).
pub(crate) trait RoomLine: Send + Sync {
    /// Job `job` was dropped unrun while it waited (its handle was dropped): forget it, or pass on
    /// the free place it was woken for.
    fn leave(&self, job: u64);
}

/// The pool's side of the line: which place a thread frees, and who is woken for it.
impl PoolShared {
    /// The first job waiting for room, if a place was freed.
    pub(super) fn next_room_waiter(&self, state: &mut PoolState, freed: bool) -> Option<Waker> {
        if freed { state.room.next() } else { None }
    }

    /// A thread going idle, with jobs waiting for room: one of them can have it. The thread is
    /// counted idle first, so that the woken task's `place` sees a ready thread and queues its job
    /// for it; the task is woken outside the lock, which is taken again and returned.
    pub(super) fn offer_idle_thread<'a>(
        &'a self,
        mut state: MutexGuard<'a, PoolState>,
    ) -> MutexGuard<'a, PoolState> {
        let waiter = state.room.next();
        state.idle += 1;
        drop(state);
        self.wake_for_room(waiter);
        let mut state = self.lock();
        state.idle -= 1;
        state
    }

    /// Wakes a task whose job waited for room (after the lock is released: waking runs the
    /// runtime's code), and counts the wake.
    pub(super) fn wake_for_room(&self, waiter: Option<Waker>) {
        if let Some(waker) = waiter {
            WorkerCounters::bump(&self.counters.room_wakes);
            waker.wake();
        }
    }

    /// True if a job submitted now would be placed: a ready thread not yet claimed, room for a new
    /// thread, or room in the queue (steps 1-3 of `ThreadPool::place`).
    pub(super) fn has_room(&self, state: &PoolState) -> bool {
        state.ready() > state.queue.len()
            || state.alive < self.config.max_threads
            || state.waiting() < self.config.queue_capacity
    }
}

impl RoomLine for PoolShared {
    fn leave(&self, job: u64) {
        let mut state = self.lock();
        if state.room.forget(job) {
            return; // still in line: no wake was spent on it
        }
        // It had been woken for a free place and gives up: pass the place on, or it is lost.
        let waiter = if self.has_room(&state) {
            state.room.next()
        } else {
            None
        };
        drop(state);
        self.wake_for_room(waiter);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    #[test]
    fn jobs_leave_the_line_in_the_order_they_joined() {
        let mut line = RoomWaiters::default();
        let wakers: Vec<_> = (0..3).map(|_| counting()).collect();
        for (job, (_, waker)) in wakers.iter().enumerate() {
            line.wait(job as u64, waker);
        }
        for (count, _) in &wakers {
            line.next().expect("a job in line").wake();
            assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken in turn");
        }
        assert!(line.next().is_none());
    }

    #[test]
    fn waiting_again_keeps_the_place_and_takes_the_new_waker() {
        let mut line = RoomWaiters::default();
        let ((first_old, old), (_, other), (first_new, new)) = (counting(), counting(), counting());
        line.wait(1, &old);
        line.wait(2, &other);
        line.wait(1, &new);
        line.next().expect("job 1 first").wake();
        assert_eq!(first_new.0.load(Ordering::SeqCst), 1);
        assert_eq!(first_old.0.load(Ordering::SeqCst), 0);
        assert!(line.next().is_some(), "job 2");
        assert!(line.next().is_none(), "job 1 is not in line twice");
    }

    #[test]
    fn a_forgotten_job_is_skipped_and_forget_says_whether_it_waited() {
        let mut line = RoomWaiters::default();
        let ((_, one), (two_count, two)) = (counting(), counting());
        line.wait(1, &one);
        line.wait(2, &two);
        assert!(line.forget(1), "job 1 was in line");
        assert!(!line.forget(1), "not any more");
        line.next().expect("job 2").wake();
        assert_eq!(two_count.0.load(Ordering::SeqCst), 1);
        assert!(!line.forget(2), "woken: no longer in line");
        // Forgotten, then back: it joins at the place its first id still holds.
        line.wait(3, &one);
        assert!(line.forget(3));
        line.wait(3, &one);
        assert!(line.next().is_some());
        assert!(line.next().is_none());
    }
}
