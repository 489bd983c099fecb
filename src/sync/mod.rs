//! Synchronisation between tasks (and threads): locks, channels, and a doorbell.
//!
//! | module | what it gives |
//! | --- | --- |
//! | [`Mutex`] (`sync/mutex.rs`) | the *execution lock*: one task at a time in a critical section, FIFO, with contention stats |
//! | [`Semaphore`] (`sync/semaphore.rs`) | at most *n* tasks at a time: permits handed out FIFO, `close`, owned permits |
//! | [`RwLock`] (`sync/rwlock.rs`) | many readers or one writer, FIFO (a waiting writer holds back later readers); built on `Semaphore` |
//! | [`Notify`] (`sync/notify.rs`) | a doorbell without a value: `notify_one` (kept as one permit if nobody waits), `notify_waiters` |
//! | [`oneshot`] (`sync/oneshot.rs`) | one value, once: a worker thread's reply to a waiting task |
//! | [`mpsc`] (`sync/mpsc.rs`) | a stream of values from many senders, bounded (back-pressure) or unbounded |
//! | [`watch`] (`sync/watch.rs`) | one value that changes; receivers wait for the *latest*, never a backlog |
//! | [`broadcast`] (`sync/broadcast.rs`) | every value to every receiver, from a bounded ring; a slow receiver is told what it missed |
//! | `sync/waiting.rs` | how all of them keep the wakers of the tasks that wait on them |
//! | `sync/biased.rs` | the lock of `mpsc`: nearly free while one thread uses the channel |
//!
//! Read `Mutex` first: the others repeat its pattern. The names and signatures follow tokio's
//! `tokio::sync`, so code moves between the two by changing the import; where behaviour differs,
//! the module says so.
//!
//! ## One pattern, eight times
//!
//! Each primitive is a small state behind a `std::sync::Mutex`, plus the wakers of the tasks that
//! found the state unfavourable:
//!
//! ```text
//!  poll ─► lock state ─► can proceed? ──yes──► change state ─► unlock ─► wake whoever it freed
//!                              │                                           (after unlocking!)
//!                              no
//!                              ▼
//!                  leave cx.waker() in the state ─► unlock ─► Pending
//!                  (will_wake: keep the stored one if it wakes the same task)
//! ```
//!
//! Three rules keep this correct:
//!
//! 1. **Wake after unlocking.** The woken task may run at once on another thread, and the first
//!    thing it does is take the same lock; waking under the lock would make it block on us.
//!    (`mpsc` wakes its receiver in place while its lock is biased to the one thread that has
//!    ever used the channel: nobody else can be blocked on it then. `mpsc/chan.rs` says why.)
//! 2. **Run no foreign code under the lock.** Values are dropped after unlocking (a value's drop
//!    may touch the same channel, and a std lock taken twice on one thread deadlocks). The one
//!    documented exception is `watch`'s `send_modify`, whose closure runs under the value's
//!    write lock (as in tokio).
//! 3. **A dropped future passes on what it was given.** A waiting future may be dropped at any
//!    time (timeout, abort, a `select!` that took another branch). If it was already granted the
//!    lock, a permit, a buffer slot or a `notify_one`, its `Drop` hands that on to the next
//!    waiter, so no wake-up is lost.
//!
//! ## Why a std lock in a single-threaded runtime
//!
//! Tasks on one loop never race, so a `RefCell` would do for them. But a worker thread completes
//! a `oneshot`, a guard may be sent to a worker thread, and a `Sender` may be cloned into a
//! callback on another thread. An uncontended `std::sync::Mutex` costs one atomic
//! compare-and-swap to lock and one swap to unlock, and no system call. Tokio instead uses
//! lock-free atomics and intrusive lists for its hottest paths; that is faster under heavy
//! cross-thread contention and much harder to read.
//!
//! `mpsc` goes one step further, because a channel between two tasks is the loop's hottest
//! primitive (a `pingpong` round trip takes six lock operations): its lock is a `BiasedLock`
//! (`sync/biased.rs`), which the first thread to use it enters with one atomic store instead of
//! a lock and an unlock, until another thread uses the channel; from then on it is a std lock.

mod biased;
pub mod broadcast;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod waiting;
pub mod watch;

#[cfg(test)]
mod test_waker;

pub use mutex::{ContentionStats, Lock, Mutex, MutexGuard};
pub use notify::{Notified, Notify};
pub use rwlock::{Read, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, Write};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
