//! `RwLock`: many readers or one writer, served first come first served — a semaphore in
//! disguise.
//!
//! Readers only look, so any number may look at once; a writer changes the value, so it must be
//! alone. The trick (tokio's, kept here because it is the clearest way to say it) is to build
//! the lock from a [`Semaphore`] holding `max_readers` permits:
//!
//! ```text
//!   read()  = acquire 1 permit            → up to max_readers readers at once
//!   write() = acquire all max_readers     → only when no reader (and no writer) holds any
//!
//!   queue:  [reader] [reader] [WRITER] [reader]
//!                              ▲ waits for both readers to finish; the last reader, though
//!                                one permit would be free for it, waits behind the writer
//! ```
//!
//! Everything else comes from the semaphore: the queue is FIFO and a waiter at its head holds
//! back everyone behind it, so a writer is never starved by a stream of new readers (readers
//! that arrive after a waiting writer wait for it), and a reader never starved by writers.
//! Tokio calls this fair, write-preferring in practice; std's `RwLock` promises no order at all.
//! Cancellation is the semaphore's too: a `read()` or `write()` dropped while it waits gives up
//! its place, and one dropped after being granted gives the permits back.
//!
//! The guards are the only unsafe-adjacent part: they hand out `&T` (read) or `&mut T` (write)
//! from an `UnsafeCell`, and the permit count is what makes that exclusive (see the `SAFETY`
//! notes).

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::semaphore::{Acquire, Semaphore, TryAcquireError};

/// Most readers a lock admits at once by default (tokio's number).
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock, fair in arrival order; see the module docs.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use evloop::sync::RwLock;
///
/// let config = RwLock::new(String::from("v1"));
/// {
///     let a = config.read().await;
///     let b = config.read().await; // readers share
///     assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
///     assert!(config.try_write().is_err(), "a writer waits for them");
/// }
/// config.write().await.push_str("-patched");
/// assert_eq!(*config.read().await, "v1-patched");
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    /// Permits a writer must hold all of: the most readers at once.
    max_readers: u32,
    /// `max_readers` permits: a reader holds one, a writer all of them.
    semaphore: Semaphore,
    /// The protected value; touched only through guards.
    value: UnsafeCell<T>,
}

// SAFETY: an `RwLock<T>` shared between threads lets several threads read `T` at once through
// read guards (so `T: Sync`) and lets any thread write it, one after the other, through a write
// guard (which moves its ownership between threads in effect, so `T: Send`). Exclusivity comes
// from the semaphore: a write guard exists only while its holder has all `max_readers` permits,
// so no read guard (holding one) or other write guard can exist at the same time; the semaphore's
// std lock orders a writer's writes before the next holder's reads. `Send` needs no impl:
// `UnsafeCell<T>` and `Semaphore` are `Send` when `T: Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock around `value`, admitting up to `u32::MAX >> 3` readers at once.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// Same as [`new`](Self::new), for statics (tokio has both names).
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::new(value)
    }

    /// A lock admitting at most `max_readers` readers at once (more wait, in order).
    ///
    /// # Panics
    /// When `max_readers` is 0 or larger than `u32::MAX >> 3`.
    pub const fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            max_readers > 0 && max_readers <= MAX_READS,
            "max_readers must be between 1 and u32::MAX >> 3"
        );
        RwLock {
            max_readers,
            semaphore: Semaphore::new(max_readers as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value (owning the lock means nobody borrows it).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits to read, behind every reader and writer that asked earlier.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            acquire: self.semaphore.acquire(),
        }
    }

    /// Waits to write, behind everyone that asked earlier; readers that ask later wait for it.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: self,
            acquire: self.semaphore.acquire_many(self.max_readers),
        }
    }

    /// Reads now if no writer holds the lock or waits for it.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let permit = self.semaphore.try_acquire().map_err(TryLockError::from)?;
        permit.forget(); // the guard gives it back
        Ok(RwLockReadGuard::new(self))
    }

    /// Writes now if nobody holds the lock or waits for it.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let permits = self.semaphore.try_acquire_many(self.max_readers);
        permits.map_err(TryLockError::from)?.forget();
        Ok(RwLockWriteGuard::new(self))
    }

    /// The value, through exclusive access to the lock itself: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

/// Shows the lock's state, not the value (reading it would need the lock).
impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock")
            .field("max_readers", &self.max_readers)
            .field("semaphore", &self.semaphore)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`RwLock::read`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Read<'a, T: ?Sized> {
    /// The lock being read.
    lock: &'a RwLock<T>,
    /// The wait for one permit; its drop does the cancellation bookkeeping.
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for Read<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let permit = std::task::ready!(Pin::new(&mut self.acquire).poll(cx));
        permit
            .expect("an RwLock never closes its semaphore")
            .forget();
        Poll::Ready(RwLockReadGuard::new(self.lock))
    }
}

impl<T: ?Sized> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("acquire", &self.acquire)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`RwLock::write`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Write<'a, T: ?Sized> {
    /// The lock being written.
    lock: &'a RwLock<T>,
    /// The wait for every permit; its drop does the cancellation bookkeeping.
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for Write<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let permits = std::task::ready!(Pin::new(&mut self.acquire).poll(cx));
        permits
            .expect("an RwLock never closes its semaphore")
            .forget();
        Poll::Ready(RwLockWriteGuard::new(self.lock))
    }
}

impl<T: ?Sized> fmt::Debug for Write<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("acquire", &self.acquire)
            .finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s value; gives its permit back when dropped.
#[must_use = "the read lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    /// The lock this guard reads.
    lock: &'a RwLock<T>,
    /// Makes the guard `Send`/`Sync` only when `&T` is (it hands out `&T`).
    _value: PhantomData<&'a T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Wraps a read permit the caller just took (and forgot, so this guard returns it).
    fn new(lock: &'a RwLock<T>) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            lock,
            _value: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds one of the lock's permits, so no write guard (which needs all
        // of them) exists, and no `&mut T` either; other read guards hand out only `&T`. The
        // borrow is tied to `&self` and ends before the guard returns its permit.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; gives all its permits back when dropped.
#[must_use = "the write lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    /// The lock this guard writes.
    lock: &'a RwLock<T>,
    /// Makes the guard `Send` only when `T: Send` and `Sync` only when `T: Sync`, like a
    /// `&mut T`.
    _value: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Wraps the write permits the caller just took (and forgot, so this guard returns them).
    fn new(lock: &'a RwLock<T>) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            lock,
            _value: PhantomData,
        }
    }

    /// Turns the write guard into a read guard without letting anyone write in between: gives
    /// back all permits but one. Readers queued behind may then enter; writers still wait.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        mem::forget(self); // its drop would give back every permit
        lock.semaphore.release(lock.max_readers as usize - 1);
        RwLockReadGuard::new(lock)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds all of the lock's permits, so no other guard exists; the
        // borrow is tied to `&self` and ends before the guard returns its permits.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out any other borrow through this guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// `try_read`/`try_write` could not take the lock without waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl From<TryAcquireError> for TryLockError {
    fn from(_: TryAcquireError) -> TryLockError {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::sync::test_waker::{counting_waker, poll_once};

    /// Polls a lock future that must be ready.
    fn ready<F: Future + Unpin>(future: &mut F, waker: &Waker) -> F::Output {
        match poll_once(future, waker) {
            Poll::Ready(guard) => guard,
            Poll::Pending => panic!("expected the lock"),
        }
    }

    #[test]
    fn readers_share_and_a_writer_is_alone() {
        let (_, waker) = counting_waker();
        let lock = RwLock::new(1);
        let a = ready(&mut lock.read(), &waker);
        let b = lock.try_read().expect("readers share");
        assert_eq!(*a + *b, 2);
        assert!(lock.try_write().is_err());
        drop((a, b));
        let mut w = ready(&mut lock.write(), &waker);
        *w = 5;
        assert!(lock.try_read().is_err());
        drop(w);
        assert_eq!(*lock.try_read().expect("free"), 5);
    }

    #[test]
    fn a_waiting_writer_holds_back_later_readers_which_then_enter_together() {
        let lock = RwLock::new(Vec::new());
        let early_reader = lock.try_read().expect("free");
        let (writer_count, writer_waker) = counting_waker();
        let mut writer = lock.write();
        assert!(poll_once(&mut writer, &writer_waker).is_pending());
        assert!(
            lock.try_read().is_err(),
            "a reader may not overtake the writer"
        );
        let readers: Vec<_> = (0..2).map(|_| counting_waker()).collect();
        let mut late: Vec<_> = (0..2).map(|_| lock.read()).collect();
        for (read, (_, waker)) in late.iter_mut().zip(&readers) {
            assert!(poll_once(read, waker).is_pending());
        }
        drop(early_reader);
        assert_eq!(writer_count.wakes(), 1);
        assert!(readers.iter().all(|(c, _)| c.wakes() == 0));
        ready(&mut writer, &writer_waker).push("written");
        assert!(
            readers.iter().all(|(c, _)| c.wakes() == 1),
            "both readers enter"
        );
        let guards: Vec<_> = late
            .iter_mut()
            .zip(&readers)
            .map(|(read, (_, waker))| ready(read, waker))
            .collect();
        assert!(guards.iter().all(|g| **g == ["written"]));
    }

    #[test]
    fn a_writer_that_gives_up_lets_the_readers_behind_it_in() {
        let lock = RwLock::new(());
        let reader = lock.try_read().expect("free");
        let (_, waker) = counting_waker();
        let (late_count, late_waker) = counting_waker();
        let mut writer = lock.write();
        let mut late = lock.read();
        assert!(poll_once(&mut writer, &waker).is_pending());
        assert!(poll_once(&mut late, &late_waker).is_pending());
        drop(writer); // e.g. a timeout ran out
        assert_eq!(late_count.wakes(), 1);
        drop((ready(&mut late, &late_waker), reader));
        assert!(lock.try_write().is_ok());
    }

    #[test]
    fn downgrade_lets_readers_in_but_not_writers() {
        let (_, waker) = counting_waker();
        let lock = RwLock::new(7);
        let writer = lock.try_write().expect("free");
        let mut reader = lock.read();
        assert!(poll_once(&mut reader, &waker).is_pending());
        let downgraded = writer.downgrade();
        assert_eq!(*ready(&mut reader, &waker), 7);
        assert!(lock.try_write().is_err());
        drop(downgraded);
        assert!(lock.try_write().is_ok());
    }

    #[test]
    fn with_max_readers_queues_the_extra_reader() {
        let (counter, waker) = counting_waker();
        let lock = RwLock::with_max_readers((), 2);
        let first = lock.try_read().expect("free");
        let _second = lock.try_read().expect("two allowed");
        let mut third = lock.read();
        assert!(poll_once(&mut third, &waker).is_pending());
        drop(first);
        assert_eq!(counter.wakes(), 1);
        let _third = ready(&mut third, &waker);
    }
}
