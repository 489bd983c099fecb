//! `Semaphore`: at most *n* tasks at a time — a counter of permits, handed out first come first
//! served.
//!
//! A mutex lets one task in; a semaphore lets *n* in. "At most 4 requests talk to the database",
//! "at most 64 connections open": each task takes a permit before the work and gives it back
//! (drops its [`SemaphorePermit`]) after. A task that finds no permit free waits, without blocking
//! the loop, and is served in the order it asked.
//!
//! ## Permits, reserved permits, and the head of the queue
//!
//! ```text
//!  acquire(n) ─┬─ nobody queued and n free ─► free -= n ─────────────────────► permit
//!              └─ else ─► push (waker, n) into `acquirers` ─► Pending
//!                               │
//!  permit dropped ─► free += n ─► grant(): while the OLDEST acquirer's n fits in `free`:
//!                                   free -= n, reserved += n, pop it, wake it (after unlocking)
//!  granted acquirer polled ─► ticket gone ─► reserved -= n ─────────────────► permit
//! ```
//!
//! Like the mutex handing its lock over, a release does not free permits for anyone to grab: it
//! *reserves* them for the oldest acquirer, which is why a newcomer (or `try_acquire`) can never
//! overtake a task that waited. And only the oldest is looked at: an `acquire_many(10)` at the
//! head of the queue holds back an `acquire(1)` behind it even while one permit is free.
//! Otherwise a stream of small acquirers could starve the big one forever. This is the fairness
//! that makes [`RwLock`](super::RwLock) (a semaphore whose writer takes every permit) fair too.
//!
//! One difference from tokio, which *partially assigns* free permits to the head acquirer as
//! they come back: here they stay free until the head's whole need fits, so
//! [`available_permits`](Semaphore::available_permits) may report free permits that nobody can
//! take yet. What every acquirer sees — who gets permits, in which order — is the same.
//!
//! ## The cooperative budget
//!
//! A completed acquire spends one unit of the task's budget (`executor/coop.rs`), as in tokio: a
//! task that takes and drops a free permit in a loop would otherwise never give the loop back. The
//! budget is asked for first, before the state is looked at. A refused acquire has taken nothing:
//! not yet queued, it has no place to lose (tokio's acquirer joins the queue only when polled,
//! too); already granted, its permits stay reserved for it, out of everyone's reach, and the poll
//! that comes back with a fresh budget claims them. Dropped instead, it gives them back as below.
//!
//! ## Cancellation and close
//!
//! An `acquire()` future may be dropped while it waits. Still queued: it leaves the queue, and if
//! it was the head, the next acquirer may now fit, so `grant()` runs again. Already granted but
//! never polled: its reserved permits go back to `free` and are granted onwards. No permit is
//! lost, none is counted twice.
//!
//! [`close`](Semaphore::close) makes every waiting and future `acquire` fail with
//! [`AcquireError`]; reserved permits return to `free` (an acquirer granted but not yet polled
//! fails too, as in tokio). Permits already held stay valid and come back when dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use super::waiting::{Ticket, WaitQueue, wake_all};
use crate::executor::coop;

/// A counting semaphore with FIFO-fair, cancel-safe acquires; see the module docs.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use evloop::sync::Semaphore;
///
/// let database = Semaphore::new(2); // at most two queries at a time
/// let first = database.acquire().await.expect("never closed");
/// let _second = database.acquire().await.expect("never closed");
/// assert_eq!(database.available_permits(), 0);
/// assert!(database.try_acquire().is_err());
/// drop(first);
/// assert_eq!(database.available_permits(), 1);
/// # });
/// ```
pub struct Semaphore {
    /// Free and reserved permits, the acquirers waiting, whether closed.
    state: StdMutex<SemaphoreState>,
}

/// The bookkeeping of a [`Semaphore`], always accessed under its std lock.
struct SemaphoreState {
    /// Permits nobody holds or was promised; what `available_permits` reports.
    free: usize,
    /// Permits promised to acquirers that were granted (taken off the queue) but not polled yet.
    reserved: usize,
    /// Set by `close`: every acquire fails from then on.
    closed: bool,
    /// Acquirers waiting, oldest first, each with the number of permits it needs.
    acquirers: WaitQueue<usize>,
}

impl SemaphoreState {
    /// Reserves permits for the oldest acquirers, as long as the oldest one's need fits, and
    /// returns their wakers (to wake after unlocking). Empty when nobody waits: no allocation.
    fn grant(&mut self) -> Vec<Waker> {
        let mut granted = Vec::new();
        while let Some(&need) = self.acquirers.front_need() {
            if need > self.free || self.closed {
                break;
            }
            self.free -= need;
            self.reserved += need;
            granted.push(
                self.acquirers
                    .pop_front()
                    .expect("front_need saw an acquirer"),
            );
        }
        granted
    }
}

impl Semaphore {
    /// The most permits a semaphore may hold (tokio's value: room left for flag bits there).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` free permits. Allocates nothing.
    ///
    /// # Panics
    /// When `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    pub const fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "a semaphore holds at most MAX_PERMITS"
        );
        Semaphore {
            state: StdMutex::new(SemaphoreState {
                free: permits,
                reserved: 0,
                closed: false,
                acquirers: WaitQueue::new(),
            }),
        }
    }

    /// Same as [`new`](Self::new), for statics (tokio has both names).
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore::new(permits)
    }

    /// Permits free right now (see the module docs for how this differs from tokio while a large
    /// acquirer waits).
    pub fn available_permits(&self) -> usize {
        self.state().free
    }

    /// Adds `n` permits, granting them to waiting acquirers in order.
    ///
    /// # Panics
    /// When the free permits would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        let mut state = self.state();
        assert!(
            state
                .free
                .checked_add(n)
                .is_some_and(|total| total <= Semaphore::MAX_PERMITS),
            "adding {n} permits would exceed Semaphore::MAX_PERMITS"
        );
        state.free += n;
        let granted = state.grant();
        drop(state);
        wake_all(granted);
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.state();
        let forgotten = n.min(state.free);
        state.free -= forgotten;
        forgotten
    }

    /// Waits for one permit, behind every acquirer that asked earlier.
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once, behind every acquirer that asked earlier (and holding back
    /// those that ask later until it is served).
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            need: n,
            stage: AcquireStage::Start,
        }
    }

    /// Like [`acquire`](Self::acquire), with a permit that owns an `Arc` of the semaphore
    /// instead of borrowing it (to move into a spawned task).
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Like [`acquire_many`](Self::acquire_many), with an owned permit.
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: self,
            need: n,
            stage: AcquireStage::Start,
        }
    }

    /// Takes a permit if one is free and nobody waits; never waits.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits; never waits.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n).map(|()| SemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Like [`try_acquire`](Self::try_acquire), with an owned permit.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Self::try_acquire_many), with an owned permit.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n).map(|()| OwnedSemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Closes the semaphore: waiting and later acquires fail; held permits stay valid.
    pub fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        // Granted acquirers not yet polled will fail; their permits are free again.
        state.free += state.reserved;
        state.reserved = 0;
        let waiting = state.acquirers.take_all();
        drop(state);
        log::debug!(
            "semaphore closed; {} waiting acquirers woken",
            waiting.len()
        );
        wake_all(waiting);
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// The bookkeeping, under its std lock. Poisoning is ignored: the only code that can panic
    /// inside is a waker's `clone` or an allocation, and both come before the state changes.
    fn state(&self) -> StdMutexGuard<'_, SemaphoreState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `try_acquire*` decision: take `n` free permits unless closed or someone waits.
    fn try_take(&self, n: u32) -> Result<(), TryAcquireError> {
        let mut state = self.state();
        let need = n as usize;
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if !state.acquirers.is_empty() || state.free < need {
            return Err(TryAcquireError::NoPermits);
        }
        state.free -= need;
        Ok(())
    }

    /// Returns `n` permits (a dropped permit) and grants them onwards.
    pub(crate) fn release(&self, n: usize) {
        let mut state = self.state();
        state.free += n;
        let granted = state.grant();
        drop(state);
        wake_all(granted);
    }

    /// One poll of an acquire that needs `n` permits; `stage` is where it stands.
    fn poll_acquire(
        &self,
        stage: &mut AcquireStage,
        n: u32,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        // An acquire spends budget (`executor/coop.rs`), asked for before the state is touched:
        // refused, it has taken nothing, and if `grant` already reserved permits for it, they stay
        // reserved (its ticket is gone, so nobody else can have them) until it comes back.
        let coop = ready!(coop::poll_proceed(cx));
        let waker = cx.waker();
        let need = n as usize;
        let mut state = self.state();
        let outcome = match *stage {
            AcquireStage::Start if state.closed => Err(AcquireError(())),
            AcquireStage::Start if state.acquirers.is_empty() && state.free >= need => {
                state.free -= need;
                Ok(())
            }
            AcquireStage::Start => {
                *stage = AcquireStage::Queued(state.acquirers.push_with(waker, need));
                return Poll::Pending;
            }
            // `close` emptied the queue and freed what it had reserved for us.
            AcquireStage::Queued(_) if state.closed => Err(AcquireError(())),
            AcquireStage::Queued(ticket) if state.acquirers.update(ticket, waker) => {
                return Poll::Pending; // woken for another reason; still queued
            }
            AcquireStage::Queued(_) => {
                // The ticket is gone: `grant` reserved our permits. Claim them.
                state.reserved -= need;
                Ok(())
            }
            AcquireStage::Done => panic!("`Acquire` polled after it completed"),
        };
        *stage = AcquireStage::Done;
        drop(state);
        coop.made_progress();
        Poll::Ready(outcome)
    }

    /// An acquire future needing `n` permits was dropped at `stage`: leave the queue, or give
    /// back what was reserved for it, and grant onwards.
    fn cancel_acquire(&self, stage: AcquireStage, n: u32) {
        let AcquireStage::Queued(ticket) = stage else {
            return; // never queued, or already holds its permits
        };
        let mut state = self.state();
        if state.closed {
            return; // `close` already emptied the queue and freed the reservation
        }
        if !state.acquirers.remove(ticket) {
            // Granted but never polled: its reserved permits are free again.
            state.reserved -= n as usize;
            state.free += n as usize;
        }
        // Either way the head may have changed, and the new head may fit.
        let granted = state.grant();
        drop(state);
        wake_all(granted);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Semaphore")
            .field("free", &state.free)
            .field("reserved", &state.reserved)
            .field("queued", &state.acquirers.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The life of one acquire future.
#[derive(Debug, Clone, Copy)]
enum AcquireStage {
    /// Not polled yet.
    Start,
    /// Waiting in the queue under this ticket.
    Queued(Ticket),
    /// Returned its result; nothing to undo on drop.
    Done,
}

/// Future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Acquire<'a> {
    /// The semaphore it acquires from.
    semaphore: &'a Semaphore,
    /// How many permits it needs.
    need: u32,
    /// Where it stands: not asked, queued, or done.
    stage: AcquireStage,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.semaphore
            .poll_acquire(&mut this.stage, this.need, cx)
            .map_ok(|()| SemaphorePermit {
                semaphore: this.semaphore,
                permits: this.need,
            })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.semaphore.cancel_acquire(self.stage, self.need);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("need", &self.need)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct AcquireOwned {
    /// The semaphore it acquires from; the permit gets a clone of this `Arc`.
    semaphore: Arc<Semaphore>,
    /// How many permits it needs.
    need: u32,
    /// Where it stands: not asked, queued, or done.
    stage: AcquireStage,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.semaphore
            .poll_acquire(&mut this.stage, this.need, cx)
            .map_ok(|()| OwnedSemaphorePermit {
                semaphore: this.semaphore.clone(),
                permits: this.need,
            })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.semaphore.cancel_acquire(self.stage, self.need);
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("need", &self.need)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back.
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    /// Where the permits go back to.
    semaphore: &'a Semaphore,
    /// How many permits this holds.
    permits: u32,
}

/// Permits from an `Arc<Semaphore>`; dropping it gives them back.
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    /// Where the permits go back to.
    semaphore: Arc<Semaphore>,
    /// How many permits this holds.
    permits: u32,
}

/// The methods both permit types share, written once.
macro_rules! permit_methods {
    ($permit:ty) => {
        impl $permit {
            /// Keeps the permits out of the semaphore for good (the count shrinks by them).
            pub fn forget(mut self) {
                self.permits = 0;
            }

            /// How many permits this holds.
            pub fn num_permits(&self) -> usize {
                self.permits as usize
            }

            /// Takes over `other`'s permits.
            ///
            /// # Panics
            /// When `other` comes from a different semaphore.
            pub fn merge(&mut self, mut other: Self) {
                assert!(
                    std::ptr::eq(&*self.semaphore, &*other.semaphore),
                    "merging permits from different semaphores"
                );
                self.permits += std::mem::take(&mut other.permits);
            }

            /// Moves `n` of the permits into a new permit; `None` if this holds fewer than `n`.
            pub fn split(&mut self, n: usize) -> Option<Self> {
                let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
                self.permits -= n;
                Some(Self {
                    semaphore: self.semaphore.clone(),
                    permits: n,
                })
            }
        }

        impl Drop for $permit {
            fn drop(&mut self) {
                if self.permits > 0 {
                    self.semaphore.release(self.permits as usize);
                }
            }
        }

        impl fmt::Debug for $permit {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($permit))
                    .field("permits", &self.permits)
                    .finish_non_exhaustive()
            }
        }
    };
}

permit_methods!(SemaphorePermit<'_>);
permit_methods!(OwnedSemaphorePermit);

impl OwnedSemaphorePermit {
    /// The semaphore the permits come from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

/// The semaphore was closed: no permit will be handed out any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire*` got no permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits free right now, or earlier acquirers wait for them.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "semaphore closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl std::error::Error for TryAcquireError {}

#[cfg(test)]
mod tests;
