//! Step 1: a waker written out by hand, and `block_on`, which parks the thread until it is woken.
//!
//! A `Waker` is a data pointer plus a table of four functions (a `RawWakerVTable`): clone, wake,
//! wake_by_ref, drop. Here the pointer is an `Arc<Signal>` turned into a raw pointer, and the four
//! functions do its reference counting by hand. `std::task::Wake` (step 2) writes this same table
//! for you; this file is what it hides.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread::{self, Thread};

/// What our wakers point at: the thread to unpark, and a flag saying "you were woken".
pub struct Signal {
    /// Set by a wake, cleared by `wait`: `thread::park` may return for no reason, the flag may not.
    woken: AtomicBool,
    /// The thread that waits: the one that made the waker.
    thread: Thread,
}

impl Signal {
    /// Marks the signal and unparks the waiting thread. Any thread may call it.
    fn notify(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }

    /// Parks the calling thread until `notify` was called (returns at once if it already was).
    pub fn wait(&self) {
        while !self.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

// A `Waker` is `Send + Sync`: any thread may clone, wake or drop ours. That is sound only if the
// data behind the pointer may be shared between threads. This line makes the compiler check it.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Signal>();
};

/// How often each vtable function ran, and how many wakers `thread_waker` made (`COUNTED` names
/// the entries), so the step can show which ran and prove that no waker leaked.
pub static CALLS: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];
pub const COUNTED: [&str; 5] = ["made", "clone", "wake", "wake_by_ref", "drop"];
const MADE: usize = 0;
const CLONE: usize = 1;
const WAKE: usize = 2;
const WAKE_BY_REF: usize = 3;
const DROP: usize = 4;

/// Wakers alive now: made and cloned, minus consumed by `wake` and `drop`.
pub fn live_wakers() -> usize {
    let n = |i: usize| CALLS[i].load(Ordering::Relaxed);
    n(MADE) + n(CLONE) - n(WAKE) - n(DROP)
}

/// The four functions, in the order `RawWakerVTable::new` wants them.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

// The invariant every function below relies on: a `RawWaker` with `VTABLE` always holds a pointer
// made by `Arc::into_raw` on an `Arc<Signal>`, and each such waker owns exactly one strong count.

/// Makes a waker that unparks the calling thread, and the `Signal` to wait on.
pub fn thread_waker() -> (Waker, Arc<Signal>) {
    let signal = Arc::new(Signal {
        woken: AtomicBool::new(false),
        thread: thread::current(),
    });
    let data = Arc::into_raw(Arc::clone(&signal)).cast::<()>(); // the waker's own count
    CALLS[MADE].fetch_add(1, Ordering::Relaxed);
    // SAFETY: `Waker::from_raw` asks that the vtable functions honour the `RawWaker` contract for
    // this pointer, and that the waker may be used from any thread. `data` owns one count of a
    // live `Arc<Signal>` (the invariant above); each function keeps the count right (see theirs);
    // and `Signal` is `Send + Sync` (checked at compile time above), so sharing it is sound.
    let waker = unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) };
    (waker, signal)
}

/// `Waker::clone`: one more waker for the same `Signal`.
///
/// # Safety
/// `data` must satisfy the invariant above, and its waker must still be alive.
unsafe fn clone(data: *const ()) -> RawWaker {
    CALLS[CLONE].fetch_add(1, Ordering::Relaxed);
    // SAFETY: by the invariant `data` came from `Arc::into_raw(Arc<Signal>)`, and the waker being
    // cloned is alive, so it still owns its count: the `Arc` cannot have been freed. The count we
    // add here is the one the new `RawWaker` will own.
    unsafe { Arc::increment_strong_count(data.cast::<Signal>()) };
    RawWaker::new(data, &VTABLE)
}

/// `Waker::wake`: wakes and consumes the waker, so its count must go.
///
/// # Safety
/// As for `clone`; the waker is not used again after this call (std guarantees it).
unsafe fn wake(data: *const ()) {
    CALLS[WAKE].fetch_add(1, Ordering::Relaxed);
    // SAFETY: `data` came from `Arc::into_raw` and owns one count (the invariant). `wake` consumes
    // the waker, so taking that count back into an `Arc` is right: it is released when `signal`
    // goes out of scope, after `notify`.
    let signal = unsafe { Arc::from_raw(data.cast::<Signal>()) };
    signal.notify();
}

/// `Waker::wake_by_ref`: wakes through a borrowed waker; the count stays with it.
///
/// # Safety
/// As for `clone`.
unsafe fn wake_by_ref(data: *const ()) {
    CALLS[WAKE_BY_REF].fetch_add(1, Ordering::Relaxed);
    // SAFETY: the borrowed waker is alive for this call and owns its count, so the `Signal` is
    // alive; we only make a shared reference (`Signal` is `Sync`) and leave the count alone.
    let signal = unsafe { &*data.cast::<Signal>() };
    signal.notify();
}

/// `Drop for Waker`: gives back the waker's count, freeing the `Signal` with the last one.
///
/// # Safety
/// As for `clone`; the waker is not used again after this call (std guarantees it).
unsafe fn drop_waker(data: *const ()) {
    CALLS[DROP].fetch_add(1, Ordering::Relaxed);
    // SAFETY: `data` came from `Arc::into_raw` and owns one count (the invariant); the waker is
    // being dropped, so this is the one and only release of that count.
    unsafe { Arc::decrement_strong_count(data.cast::<Signal>()) };
}

/// Runs `future` to completion on this thread: poll; if `Pending`, park until woken; poll again.
pub fn block_on<F: Future>(future: F) -> F::Output {
    // Pinned here, on this stack frame: it never moves again (docs/01: why futures are pinned).
    let mut future = pin!(future);
    let (waker, signal) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        signal.wait(); // sleep in the kernel until some thread calls wake
    }
}

/// The smallest future that uses its waker: `Pending` once, after waking itself, then `Ready`.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref(); // "poll me again": without it nobody ever would
        Poll::Pending
    })
    .await
}
