//! Step 5: offload. A blocking call runs on a thread of its own; its result comes back through a
//! oneshot (step 1), and the wake reaches the sleeping loop through a `mio::Waker`.
//!
//! ```text
//!  job thread:  job() ─► Sender::send ─► drop: waker.wake() ─► TaskWaker: push id on the queue
//!                                                                   │ (not the loop thread)
//!  loop thread: epoll_wait ◄── eventfd readable ◄── mio::Waker::wake ◄┘
//!               returns ─► run_ready ─► the task polls its Receiver: Ready(result)
//! ```
//!
//! Without the `mio::Waker` the id would sit in the queue while the loop sleeps in `epoll_wait`
//! until some unrelated event or timer: a wake from another thread must interrupt the wait.

use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread;

use super::oneshot;
use super::reactor::Reactor;

/// The loop waker for `Executor::new`: a `mio::Waker` (an eventfd registered with epoll), under
/// a token no socket gets (slab indexes start at 0 and stay small), so `Reactor::park` skips it.
pub fn loop_waker(reactor: &Reactor) -> io::Result<Waker> {
    let eventfd = mio::Waker::new(&reactor.registry(), mio::Token(usize::MAX))?;
    Ok(Waker::from(Arc::new(EpollWaker(eventfd))))
}

/// `std::task::Wake` around a `mio::Waker`.
struct EpollWaker(mio::Waker);

impl Wake for EpollWaker {
    fn wake(self: Arc<Self>) {
        self.0.wake().expect("an eventfd write does not fail");
    }
}

/// Runs `job` on a new thread and returns the future of its result. When the OS refuses the
/// thread, returns the error *and the job*, so the caller can still run it (step 6).
pub fn spawn_blocking<T, F>(job: F) -> Result<oneshot::Receiver<T>, (io::Error, F)>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    // The job waits in a shared slot: if the thread never starts, we take it back from there.
    let slot = Arc::new(Mutex::new(Some(job)));
    let theirs = Arc::clone(&slot);
    let started = thread::Builder::new()
        .name("blocking".into())
        .spawn(move || {
            let job = theirs
                .lock()
                .expect("not poisoned")
                .take()
                .expect("the job is taken once");
            sender.send(job());
        });
    match started {
        Ok(_detached) => Ok(receiver),
        Err(error) => Err((
            error,
            slot.lock().expect("not poisoned").take().expect("not run"),
        )),
    }
}
