//! `BiasedLock`: a lock that is nearly free for the thread that created it, until another thread
//! uses it.
//!
//! A channel between two tasks of one loop is used by one thread only, but its handles are `Send`:
//! any of them may be moved to a worker thread at any time, and the channel cannot see a move,
//! only a use. So its state needs a lock. An uncontended `std::sync::Mutex` costs two atomic
//! read-modify-writes (lock and unlock, ~8 ns each on the machine of `docs/performance.md`); a
//! `pingpong` round trip takes six of them, about half of its time.
//!
//! A biased lock belongs to the first thread that uses it — the *owner* — and the owner enters it
//! without taking the std lock. (The first *use* counts, not the creation: a channel made on the
//! main thread and moved into a runtime thread belongs to the runtime thread.) The first time any
//! other thread uses it, that thread *revokes* the bias, for good: from then on everybody takes
//! the std lock, as before.
//!
//! ```text
//!  first use:                owner = this thread (a compare-and-swap, once)
//!  owner thread, biased:     inside = true ──► owner still set? ── yes ──► use the value,
//!                              (one atomic store)       │                  inside = false
//!                                                       no (revoked) ──► inside = false, lock
//!  any thread, otherwise:    lock ──► owner set? ── yes ──► owner = none; wait while inside
//!                                        │                  (once: the bias is gone for good)
//!                                        no ──► use the value ──► unlock
//! ```
//!
//! Why this is exclusive: the owner *writes* `inside` and then *reads* `owner`; a revoking thread
//! writes `owner` and then reads `inside`. With sequentially consistent accesses, at least one of
//! them sees the other's write (Dekker's algorithm): either the owner sees the bias gone and takes
//! the std lock, or the revoker sees the owner inside and waits until it leaves. That costs the
//! owner one atomic store (on x86 an `xchg`, the price of one read-modify-write) instead of two.
//! An asymmetric fence (`membarrier(2)`, as in Java's biased locking, or Linux's RCU) would make
//! the owner's side a plain store, at the price of a system call on revocation and code Miri
//! cannot check; this lock stays inside the Rust memory model.
//!
//! Java made biased locking the default for objects in 2006 and removed it in 2020: revocation is
//! expensive and most contended objects paid it. Here revocation happens at most once per lock,
//! costs a std lock and a short wait, and only channels whose handles really cross threads pay it.
//!
//! Not re-entrant: `with` on the same lock from inside its closure panics on the owner's path
//! (two `&mut` to the value would be undefined behaviour) and may deadlock on the locked path, as
//! a std `Mutex` does. Callers run no foreign code inside (see the rules in `sync/mod.rs`).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The `owner` of a lock whose bias was revoked: no thread has this key.
const NOBODY: u64 = 0;
/// The `owner` of a lock nobody has used yet: the first user claims it. No thread has this key.
const UNCLAIMED: u64 = u64::MAX;

/// A value behind a lock that is nearly free for the thread that created it. See the module docs.
pub(crate) struct BiasedLock<T> {
    /// The key ([`thread_key`]) of the thread the lock is biased to; `UNCLAIMED` before the first
    /// use, `NOBODY` once revoked. It only ever moves from `UNCLAIMED` to a key, and to `NOBODY`.
    owner: AtomicU64,
    /// True while the owner uses the value without the std lock. Written by the owner only.
    inside: AtomicBool,
    /// The lock everybody takes once the bias is revoked, and other threads always.
    lock: Mutex<()>,
    /// The protected value.
    value: UnsafeCell<T>,
}

// SAFETY: `value` is reached only inside `with`, and two `with`s never overlap:
// - two on the std-lock path are serialised by `lock`, which also orders one's writes before the
//   next one's reads;
// - the owner's path is entered only after the owner stored `inside = true` (SeqCst) and then
//   read its key from `owner` (SeqCst). A revoking thread, holding `lock`, stores `NOBODY`
//   (SeqCst) and then reads `inside` (SeqCst) until it is false. Every write to `owner` is
//   SeqCst (the claim's compare-and-swap too: with a Relaxed claim, Miri found the owner could
//   still read its own key after the revocation). In the single order of SeqCst accesses, either
//   the owner's read of `owner` comes after the revoking store (it reads `NOBODY` and takes
//   `lock` instead), or the owner's store of `inside` comes before the revoker's read (the
//   revoker waits until it reads the owner's `Release` store of false, with a SeqCst, hence
//   Acquire, load: the owner's accesses happen before everything the revoker does next);
// - a nested owner-path `with` on the same thread is refused (a panic) before any access;
// - the owner's path is taken by one thread only: `owner` holds at most one key in its lifetime
//   (claimed once from `UNCLAIMED`), and keys are never reused.
// `T: Send` because the value is used from whichever thread holds the lock.
unsafe impl<T: Send> Sync for BiasedLock<T> {}

impl<T> BiasedLock<T> {
    /// A lock around `value`, to be biased to the first thread that uses it.
    pub(crate) fn new(value: T) -> BiasedLock<T> {
        BiasedLock {
            owner: AtomicU64::new(UNCLAIMED),
            inside: AtomicBool::new(false),
            lock: Mutex::new(()),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access to the value: without the std lock on the owner thread while
    /// the bias holds, under the std lock otherwise (revoking the bias first if needed).
    ///
    /// # Panics
    /// When called again from inside `f` on the owner's path (not re-entrant).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.with_path(|value, _| f(value))
    }

    /// Like [`with`](BiasedLock::with), and tells `f` which path it runs on. On
    /// [`Path::Owner`] no other thread holds or waits for the lock, and the caller knows that the
    /// lock has only ever been used from this thread.
    ///
    /// # Panics
    /// When called again from inside `f` on the owner's path (not re-entrant).
    pub(crate) fn with_path<R>(&self, f: impl FnOnce(&mut T, Path) -> R) -> R {
        if self.is_owner() && self.enter_as_owner() {
            let _leave = Leave(&self.inside);
            // SAFETY: `enter_as_owner` returned true: we are the owner, `inside` is set and the
            // bias was still in place after setting it, so no other `with` runs until `_leave`
            // clears `inside` (see `unsafe impl Sync`). The borrow ends before that.
            return f(unsafe { &mut *self.value.get() }, Path::Owner);
        }
        let _locked = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.revoke();
        // SAFETY: we hold `lock`, and after `revoke` no owner is or can get inside (see
        // `unsafe impl Sync`); the borrow ends before `_locked` unlocks.
        f(unsafe { &mut *self.value.get() }, Path::Locked)
    }

    /// True if the calling thread owns the bias, or has just claimed it (the first use).
    fn is_owner(&self) -> bool {
        let me = thread_key();
        match self.owner.load(Ordering::Relaxed) {
            owner if owner == me => true,
            UNCLAIMED => self
                .owner
                .compare_exchange(UNCLAIMED, me, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok(),
            _ => false,
        }
    }

    /// The owner announces itself inside, then checks the bias still holds; if not, it leaves.
    fn enter_as_owner(&self) -> bool {
        // Only the owner writes `inside`, so this thread reads its own last write: true means a
        // `with` of this lock is running further up this very stack.
        assert!(
            !self.inside.load(Ordering::Relaxed),
            "BiasedLock::with called from inside its own closure"
        );
        self.inside.store(true, Ordering::SeqCst);
        if self.owner.load(Ordering::SeqCst) != NOBODY {
            return true;
        }
        self.inside.store(false, Ordering::Release);
        false
    }

    /// Called with `lock` held: ends the bias if it still holds, and waits until the owner is out.
    fn revoke(&self) {
        if self.owner.load(Ordering::Relaxed) == NOBODY {
            return; // revoked before, under this same lock
        }
        self.owner.store(NOBODY, Ordering::SeqCst);
        log::debug!("biased lock used by a second thread: every thread takes the lock from now on");
        // The owner's time inside is a few dozen instructions; a yield covers its preemption.
        while self.inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    /// True until a second thread used the lock.
    #[cfg(test)]
    pub(crate) fn is_biased(&self) -> bool {
        self.owner.load(Ordering::SeqCst) != NOBODY
    }
}

/// Which way a `with` entered the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The owner thread, without the std lock: only this thread has ever used the lock.
    Owner,
    /// Under the std lock: the bias is gone (or this is not the owner thread).
    Locked,
}

/// Clears the owner's `inside` flag when its `with` ends, also by a panic in the closure (a flag
/// left set would make the next revoking thread wait forever).
struct Leave<'a>(&'a AtomicBool);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// This thread's key: a number no other thread of the process has, now or later (a thread id
/// from `std::thread::current()` would clone an `Arc` on every call; the address of a
/// thread-local may be reused by a later thread).
fn thread_key() -> u64 {
    /// The next key to hand out; 0 is `NOBODY`.
    static NEXT: AtomicU64 = AtomicU64::new(NOBODY + 1);
    thread_local! {
        /// This thread's key, taken on first use.
        static KEY: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    KEY.with(|key| *key)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    #[test]
    fn the_first_user_owns_the_bias_not_the_creator() {
        let lock = Arc::new(BiasedLock::new(0));
        let user = Arc::clone(&lock);
        thread::spawn(move || {
            user.with(|n| *n += 1);
            user.with(|n| *n += 1);
            assert!(user.is_biased(), "one thread so far");
        })
        .join()
        .expect("no panic");
        assert!(lock.is_biased());
        lock.with(|n| *n += 1); // the creating thread is a second thread
        assert!(!lock.is_biased());
        assert_eq!(lock.with(|n| *n), 3);
    }

    #[test]
    fn one_thread_keeps_the_bias() {
        let lock = BiasedLock::new(0);
        for _ in 0..3 {
            lock.with(|n| *n += 1);
        }
        assert!(lock.is_biased());
        assert_eq!(lock.with(|n| *n), 3);
    }

    #[test]
    fn another_thread_revokes_the_bias_for_good() {
        let lock = Arc::new(BiasedLock::new(Vec::new()));
        lock.with(|v| v.push("owner"));
        let other = Arc::clone(&lock);
        thread::spawn(move || other.with(|v| v.push("other")))
            .join()
            .expect("no panic");
        assert!(!lock.is_biased());
        lock.with(|v| v.push("owner again"));
        assert_eq!(lock.with(|v| v.clone()), ["owner", "other", "owner again"]);
    }

    #[test]
    fn owner_and_other_threads_never_overlap() {
        // Non-atomic read-modify-writes from the owner and two other threads at once: a lost
        // update would show in the total (and Miri would report the data race).
        const EACH: usize = if cfg!(miri) { 30 } else { 20_000 };
        let lock = Arc::new(BiasedLock::new(0usize));
        let others: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    for _ in 0..EACH {
                        lock.with(|n| *n += 1);
                    }
                })
            })
            .collect();
        for _ in 0..EACH {
            lock.with(|n| *n += 1);
        }
        for other in others {
            other.join().expect("no panic");
        }
        assert_eq!(lock.with(|n| *n), 3 * EACH);
    }

    #[test]
    fn a_panic_inside_leaves_the_lock_usable_by_other_threads() {
        let lock = Arc::new(BiasedLock::new(1));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.with(|_| panic!("inside"));
        }));
        assert!(caught.is_err());
        let other = Arc::clone(&lock);
        let seen = thread::spawn(move || other.with(|n| *n))
            .join()
            .expect("revoking does not wait for a flag the panic left set");
        assert_eq!(seen, 1);
    }

    #[test]
    #[should_panic(expected = "from inside its own closure")]
    fn re_entering_on_the_owner_path_panics() {
        let lock = BiasedLock::new(0);
        lock.with(|_| lock.with(|_| ()));
    }
}
