//! Wakers that outlive what they point at (issue #9).
//!
//! A `Waker` is `Send`: a worker thread, a callback, a timer in another library may keep one for as
//! long as it likes and call it whenever it likes — after its task finished, after the task's slab
//! slot went to another task, after the whole runtime was dropped. Each of those must be harmless:
//! no crash, no poll of the wrong task, no leak, no undefined behaviour. What makes it so is in
//! `src/task/cell.rs` (a waker holds an `Arc` to the task cell and touches only its thread-safe
//! header) and `src/task/id.rs` (stale ids are skipped).
//!
//! No sockets and no clocks: these tests are meant for Miri, which checks every one of them for
//! data races, use-after-free and leaks (`scripts/miri.sh --test reliability_wakers`).

mod echo_harness;
mod util;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};

use echo_harness::within;
use evloop::spawn;
use evloop::task::yield_now;

/// Where a task leaves its waker for another thread, as a worker pool's job slot does.
#[derive(Default)]
struct Mailbox {
    /// The latest waker left here.
    waker: Mutex<Option<Waker>>,
    /// Set by the other thread before it wakes: "your answer is there".
    ready: AtomicBool,
}

impl Mailbox {
    /// Waits until another thread sets `ready` and wakes us (leaving our waker here meanwhile).
    async fn wait(&self) {
        poll_fn(|cx| {
            *self.waker.lock().expect("mailbox lock") = Some(cx.waker().clone());
            if self.ready.swap(false, Ordering::AcqRel) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// From any thread: sets `ready` and wakes the waker left here (keeping it for later).
    fn deliver(&self) {
        self.ready.store(true, Ordering::Release);
        let waker = self.waker.lock().expect("mailbox lock").clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A clone of the waker left here.
    fn waker(&self) -> Waker {
        self.waker
            .lock()
            .expect("mailbox lock")
            .clone()
            .expect("a task left its waker")
    }
}

/// Records on which thread it was dropped.
struct DropProbe(Arc<Mutex<Option<ThreadId>>>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        *self.0.lock().expect("probe lock") = Some(thread::current().id());
    }
}

/// Yields until `done()` holds, failing loudly after a generous number of loop turns.
async fn turns_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        yield_now().await;
    }
    panic!("{what}: not after 1000 loop turns");
}

#[test]
fn a_wake_after_the_task_finished_does_not_poll_the_task_now_in_its_slot() {
    let rt = util::runtime();
    let mailbox = Arc::new(Mailbox::default());
    let successor_polls = Rc::new(Cell::new(0u32));
    // 1. A task leaves its waker in the mailbox and finishes; a new task takes its slab slot.
    rt.block_on(async {
        let m = mailbox.clone();
        let first = spawn(async move {
            poll_fn(|cx| {
                *m.waker.lock().expect("mailbox lock") = Some(cx.waker().clone());
                Poll::Ready(())
            })
            .await
        });
        let first_id = first.id();
        first.await.expect("the first task finishes");
        let polls = successor_polls.clone();
        let successor = spawn(poll_fn(move |_| {
            polls.set(polls.get() + 1);
            Poll::<()>::Pending // parked for good, and no waker kept: only a stray wake polls it
        }));
        assert_ne!(successor.id(), first_id, "a new task gets a new id");
        turns_until("the successor's first poll", || successor_polls.get() == 1).await;
        drop(successor); // detached, still alive
    });
    assert_eq!(rt.stats().tasks_alive, 1, "the successor");
    // 2. Outside the loop: another thread wakes the finished task, twice.
    let waker = mailbox.waker();
    thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .expect("waking a finished task does not panic");
    // 3. The loop takes the stale id from its remote queue and polls nobody.
    let remote_before = rt.stats().remote_wakes;
    rt.block_on(async {
        turns_until("the remote wake reaching the loop", || {
            evloop::stats().remote_wakes == remote_before + 1
        })
        .await;
        for _ in 0..3 {
            yield_now().await; // and a few turns in which a wrong poll would happen
        }
    });
    assert_eq!(
        successor_polls.get(),
        1,
        "the stale wake polled no other task"
    );
    assert_eq!(
        rt.stats().remote_wakes,
        remote_before + 1,
        "two wakes of a queued task queue it once"
    );
}

#[test]
fn a_wake_after_the_runtime_was_dropped_is_harmless_and_frees_the_task() {
    let dropped_on = Arc::new(Mutex::new(None));
    let mailbox = Arc::new(Mailbox::default());
    let rt = util::runtime();
    let main_waker = rt.block_on(async {
        let (m, probe) = (mailbox.clone(), DropProbe(dropped_on.clone()));
        drop(spawn(async move {
            let _probe = probe; // owned by the future: dropped with it
            m.wait().await; // parks, its waker left in the mailbox
            unreachable!("nobody delivers before the runtime is gone");
        }));
        turns_until("the task parking", || {
            mailbox.waker.lock().expect("lock").is_some()
        })
        .await;
        // The block_on future's own waker (a different kind: `MainWake`) outlives the runtime too.
        poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
    });
    drop(rt);
    assert_eq!(
        *dropped_on.lock().expect("probe lock"),
        Some(thread::current().id()),
        "the runtime's drop dropped the future, on the loop thread"
    );
    // The mailbox still holds a waker of the dropped task; the last `Arc` to the task cell now
    // belongs to it. Another thread delivers, wakes both wakers, clones and drops them.
    let m = mailbox.clone();
    thread::spawn(move || {
        m.deliver();
        let clone = m.waker();
        clone.wake_by_ref();
        drop(clone);
        main_waker.wake_by_ref();
        main_waker.wake();
        drop(m.waker.lock().expect("lock").take()); // the last reference to the task's cell
    })
    .join()
    .expect("waking a dropped runtime's tasks does not panic");
}

#[test]
fn a_join_handle_outliving_its_runtime_still_gives_the_output_or_cancelled() {
    let rt = util::runtime();
    #[allow(clippy::async_yields_async)] // the handles leave the runtime on purpose
    let (finished, parked) = rt.block_on(async {
        let finished = spawn(async { String::from("done before the drop") });
        let parked = spawn(pending::<String>());
        yield_now().await;
        (finished, parked)
    });
    drop(rt);
    let other = util::runtime();
    let output = other.block_on(finished).expect("it had finished");
    assert_eq!(output, "done before the drop");
    let err = other
        .block_on(parked)
        .expect_err("dropped with its runtime");
    assert!(err.is_cancelled());
}

#[test]
fn wakes_from_another_thread_racing_the_task_and_the_runtime_drop() {
    // A thread wakes the task as fast as it can while the task runs to its end and the runtime is
    // dropped under it. Miri checks the interleavings it tries for data races and use-after-free.
    let rounds: usize = if cfg!(miri) { 20 } else { 2000 };
    let mailbox = Arc::new(Mailbox::default());
    let stop = Arc::new(AtomicBool::new(false));
    let wakes = Arc::new(AtomicUsize::new(0));
    let rt = util::runtime();
    let hammer = {
        let (m, stop, wakes) = (mailbox.clone(), stop.clone(), wakes.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let waker = m.waker.lock().expect("lock").clone();
                if let Some(waker) = waker {
                    waker.wake();
                    wakes.fetch_add(1, Ordering::Relaxed);
                }
                thread::yield_now();
            }
        })
    };
    let polls = rt.block_on(async {
        let m = mailbox.clone();
        let task = spawn(async move {
            let mut polls = 0;
            // Leave a fresh waker each poll; finish after `rounds` polls, woken or not.
            poll_fn(|cx| {
                polls += 1;
                *m.waker.lock().expect("lock") = Some(cx.waker().clone());
                if polls == rounds {
                    Poll::Ready(polls)
                } else {
                    cx.waker().wake_by_ref(); // do not depend on the hammer to make progress
                    Poll::Pending
                }
            })
            .await
        });
        task.await.expect("the task finishes")
    });
    assert_eq!(polls, rounds);
    drop(rt); // the hammer may still be waking
    stop.store(true, Ordering::Release);
    hammer.join().expect("the hammer does not panic");
    drop(mailbox.waker.lock().expect("lock").take());
    println!(
        "{} wakes from the other thread",
        wakes.load(Ordering::Relaxed)
    );
}

#[test]
fn every_wake_from_another_thread_reaches_its_task() {
    // A ping-pong with a thread: the task parks, the thread delivers, the task must wake — whether
    // the loop was asleep in epoll_wait (the eventfd interrupts it) or still busy. A lost wake
    // hangs, and `within` turns the hang into a failure.
    let rounds: u32 = if cfg!(miri) { 20 } else { 1000 };
    let mailbox = Arc::new(Mailbox::default());
    let (ask, asked) = mpsc::channel::<()>();
    let rt = util::runtime();
    let thread = {
        let m = mailbox.clone();
        thread::spawn(move || {
            for () in asked {
                m.deliver();
            }
        })
    };
    let served = within(&rt, 60, async {
        let task = {
            let m = mailbox.clone();
            spawn(async move {
                for _ in 0..rounds {
                    // Park first (leave the waker), then ask: the delivery may come at any time.
                    let wait = m.wait();
                    let mut wait = std::pin::pin!(wait);
                    let first = poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
                    ask.send(()).expect("the thread is listening");
                    if first.is_pending() {
                        wait.await;
                    }
                }
                rounds
            })
        };
        task.await.expect("the task finishes")
    });
    assert_eq!(served, rounds);
    thread
        .join()
        .expect("the thread ends when the task's sender is gone");
    // Fewer remote wakes than rounds is fine: a delivery that lands while the task is already
    // queued (or still in its poll) needs no second wake.
    assert!(
        rt.stats().remote_wakes > 0,
        "the thread's wakes came the remote way"
    );
}

#[test]
fn clones_dropped_on_many_threads_leave_no_count_behind() {
    // Reference counting of the waker (`Arc` through `std::task::Wake`) under concurrent clone and
    // drop; Miri's leak check fails the test if one count is off.
    let rt = util::runtime();
    let mailbox = Arc::new(Mailbox::default());
    rt.block_on(async {
        let m = mailbox.clone();
        let task = spawn(async move { m.wait().await });
        turns_until("the task parking", || {
            mailbox.waker.lock().expect("lock").is_some()
        })
        .await;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let waker = mailbox.waker();
                thread::spawn(move || {
                    let clones: Vec<Waker> = (0..25).map(|_| waker.clone()).collect();
                    for (i, clone) in clones.into_iter().enumerate() {
                        if i % 5 == 0 {
                            clone.wake();
                        } else {
                            drop(clone);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("clone-and-drop threads do not panic");
        }
        mailbox.deliver();
        task.await.expect("the task finishes");
    });
    assert_eq!(rt.stats().tasks_alive, 0);
    drop(rt);
    drop(mailbox.waker.lock().expect("lock").take());
}
