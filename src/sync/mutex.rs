//! `Mutex`: the execution lock — one task at a time in a critical section, first come first
//! served, without blocking the loop.
//!
//! A `std::sync::Mutex` would block the *thread* while it waits, and on a single-threaded loop
//! that thread is every task at once: the holder, who must run to unlock, would never get to run.
//! An async mutex instead makes the waiting *task* return `Pending`, and wakes it when its turn
//! comes. The guard may then be held across `.await` (that is the point: "one request at a time
//! talks to the model"), while the loop keeps serving everything else.
//!
//! ## FIFO handoff
//!
//! ```text
//!  lock() ─┬─ free ─────────────────────────────────────────────► MutexGuard   (no clock, no queue)
//!          └─ locked ─► push(waker) into `lockers` ─► Pending
//!                              │
//!  guard dropped ─► pop_front ─┘ ─► `locked` stays true ─► wake() ─► poll: ticket gone ─► MutexGuard
//!                   (queue empty: `locked = false`)
//! ```
//!
//! The unlocking guard does not just clear a flag and let everyone race: it *hands* the lock to
//! the oldest locker, so `locked` never turns false while someone waits. Lockers therefore get the
//! lock in the order they asked, and a newcomer (or `try_lock`) cannot overtake a locker that was
//! woken but has not run yet. Tokio's `Mutex` is fair the same way; `std`'s is not.
//!
//! ## Cancellation loses no wake-up
//!
//! A `lock()` future may be dropped while it waits (a `timeout` ran out, the task was aborted).
//! Still queued: it removes its ticket. Already handed the lock, but dropped before it was polled
//! to pick it up: it owns the lock without a guard, so its `Drop` hands the lock on exactly as a
//! guard's drop would. Without that second case the lock would stay taken forever.
//!
//! ## The cooperative budget
//!
//! A completed `lock()` spends one unit of the task's budget (`executor/coop.rs`), as tokio's does:
//! a task that locks a free mutex in a loop never hears "wait" and would otherwise keep the loop to
//! itself. The budget is asked for before anything else, so a refused locker has taken nothing; a
//! locker that was already handed the lock keeps it (nobody else can take it: `locked` is true)
//! until the poll that comes back with a fresh budget picks it up.
//!
//! ## Threads
//!
//! Tasks on one loop are the main users, but a guard or the mutex may be sent to a worker thread,
//! so the bookkeeping sits behind a `std::sync::Mutex` (uncontended, that is one atomic
//! compare-and-swap to lock and one swap to unlock) and every wake happens after it is released.

mod contention;

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Instant;

pub use contention::ContentionStats;

use super::waiting::{Ticket, WaitQueue};
use crate::executor::coop;

/// An async mutex that hands the lock to waiting tasks in the order they asked for it.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use evloop::sync::Mutex;
///
/// let model = Mutex::new(0u32);
/// *model.lock().await += 1;
/// assert_eq!(*model.lock().await, 1);
/// println!("{}", model.contention()); // 2 acquisitions, none waited, 0 gave up
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    /// Whether the lock is taken, who waits for it, and the contention counters.
    state: StdMutex<LockState>,
    /// The protected value; touched only through the one live `MutexGuard`.
    value: UnsafeCell<T>,
}

/// The bookkeeping of a [`Mutex`], always accessed under its std lock.
struct LockState {
    /// True from the moment a locker is given the lock until its guard is dropped, including the
    /// handoff gap in which the next locker was granted the lock but has not been polled yet.
    /// Invariant: `!locked` implies `lockers` is empty.
    locked: bool,
    /// Lockers waiting for the lock, oldest first.
    lockers: WaitQueue,
    /// Counters for [`Mutex::contention`].
    stats: ContentionStats,
}

impl LockState {
    /// Passes the lock from its holder to the oldest waiting locker, or unlocks when nobody
    /// waits. Returns the waker to call once the std lock is released.
    fn hand_over(&mut self) -> Option<Waker> {
        let next = self.lockers.pop_front();
        if next.is_none() {
            self.locked = false;
        }
        next
    }
}

// SAFETY: `Mutex<T>` hands out `&mut T` (through `MutexGuard`) to one holder at a time, possibly
// on different threads one after the other — which moves `T` between threads, hence `T: Send`,
// and never shares it, hence no `T: Sync`. Exclusivity: a guard is created only by the locker
// that switched `locked` from false to true, or that was handed the lock by `hand_over`, both
// under `state`'s std lock, and `locked` turns false only when the guard (or a granted locker
// that never made one) is dropped. The std lock also orders the previous holder's writes before
// the next holder's reads. `Send` needs no impl: `UnsafeCell<T>` is `Send` when `T: Send`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex around `value`. Allocates nothing.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: StdMutex::new(LockState {
                locked: false,
                lockers: WaitQueue::new(),
                stats: ContentionStats::ZERO,
            }),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value. No lock is needed: owning the mutex means no
    /// guard and no `lock()` future borrows it.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock, behind every locker that asked earlier, and returns its guard.
    ///
    /// Dropping the future gives up the place in the queue (and passes the lock on if it had
    /// already been handed over).
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            stage: LockStage::Start,
        }
    }

    /// Takes the lock if it is free right now and nobody waits for it; `None` otherwise.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let mut state = self.state();
        if state.locked {
            return None;
        }
        state.locked = true;
        state.stats.acquisitions += 1;
        Some(MutexGuard::new(self))
    }

    /// The value, through exclusive access to the mutex itself: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// A snapshot of the contention counters: acquisitions, waits, cancellations.
    pub fn contention(&self) -> ContentionStats {
        self.state().stats
    }

    /// The bookkeeping, under its std lock.
    ///
    /// Poisoning is ignored: a thread panics under this lock only if a waker's `clone` panics,
    /// and every critical section clones before it changes anything, so the state is consistent.
    fn state(&self) -> StdMutexGuard<'_, LockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the lock on (from a dropped guard, or a granted locker that never took it) and
    /// wakes the next locker.
    fn unlock(&self) {
        let next = self.state().hand_over();
        // The std lock was released at the end of the line above. Wake only now: the woken task
        // may run at once on another thread and its first act is to take that same lock.
        if let Some(next) = next {
            log::trace!("lock handed to the next locker");
            next.wake();
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

/// Shows the lock's state, not the value (reading it would need the lock).
impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Mutex")
            .field("locked", &state.locked)
            .field("queued", &state.lockers.len())
            .field("contention", &state.stats)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Mutex::lock`]; resolves to the guard.
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Lock<'a, T: ?Sized> {
    /// The mutex being locked.
    mutex: &'a Mutex<T>,
    /// Where this locker is: not asked yet, queued, or done.
    stage: LockStage,
}

/// The life of one [`Lock`] future.
#[derive(Debug)]
enum LockStage {
    /// Not polled yet.
    Start,
    /// In the queue under `ticket` since `since` (read once, when it had to wait).
    Queued {
        /// Its place in `lockers`.
        ticket: Ticket,
        /// When it started waiting, for the contention stats.
        since: Instant,
    },
    /// Returned its guard; nothing to undo on drop.
    Done,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        // Taking the lock spends budget (`executor/coop.rs`), asked for before the state is
        // touched: refused, the locker has taken nothing, and a lock already handed to it stays
        // its own (`locked` stays true, its ticket is gone) until it comes back with a new budget.
        let coop = ready!(coop::poll_proceed(cx));
        let mutex = self.mutex;
        let mut state = mutex.state();
        match self.stage {
            LockStage::Start if !state.locked => {
                debug_assert!(state.lockers.is_empty(), "unlocked with lockers queued");
                state.locked = true;
                state.stats.acquisitions += 1;
            }
            LockStage::Start => {
                let ticket = state.lockers.push(cx.waker());
                let queued = state.lockers.len();
                state.stats.record_queued(queued);
                drop(state);
                // The clock is read only here, by a locker that is about to sleep anyway.
                let since = Instant::now();
                self.stage = LockStage::Queued { ticket, since };
                return Poll::Pending;
            }
            LockStage::Queued { ticket, since } => {
                if state.lockers.update(ticket, cx.waker()) {
                    return Poll::Pending; // woken for another reason; still queued
                }
                // The ticket is gone: the previous holder handed us the lock (`locked` stayed
                // true for us). The wait includes the time from its wake to this poll.
                state.stats.record_wait(since.elapsed());
            }
            LockStage::Done => panic!("`Lock` polled after it returned its guard"),
        }
        drop(state);
        self.stage = LockStage::Done;
        coop.made_progress();
        Poll::Ready(MutexGuard::new(mutex))
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        let LockStage::Queued { ticket, .. } = self.stage else {
            return; // never queued, or already holds its guard
        };
        let mut state = self.mutex.state();
        state.stats.cancelled += 1;
        if state.lockers.remove(ticket) {
            return; // gave up its place; nothing else changes
        }
        // Handed the lock but dropped before picking it up: pass it on, as a guard would.
        drop(state);
        log::debug!("lock handed to a dropped locker; passing it on");
        self.mutex.unlock();
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// Proof of holding a [`Mutex`]: gives access to the value, and unlocks (hands the lock to the
/// next locker) when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The mutex this guard holds.
    mutex: &'a Mutex<T>,
    /// Makes the guard `Sync` only when `T: Sync` (a shared `&MutexGuard` hands out `&T` to
    /// several threads) and `Send` only when `T: Send`. A bare `&Mutex<T>` would be `Sync` for
    /// every `T: Send`, which would let two threads read a `Cell` at once.
    _value: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Wraps a lock the caller just took (it set `locked` or was handed the lock).
    fn new(mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            _value: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one of its mutex (see `unsafe impl Sync for Mutex`), so
        // no `&mut T` exists elsewhere; the borrow is tied to `&self` and ends before the guard
        // drops and unlocks.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out any other borrow through this guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests;
