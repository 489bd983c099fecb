//! Step 1 of the course: a future polled by hand, then by `block_on`; a hand-written waker.
//!
//! Run with: `cargo run --example step1_block_on` (chapter: `docs/01-step1-block-on.md`)
//!
//! The new code is in `common/waker.rs` (the vtable, `block_on`) and `common/oneshot.rs` (a
//! future another thread completes). This file drives them and reports what happened.

#[path = "common"]
mod common {
    pub mod oneshot;
    pub mod waker;
}

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{oneshot, waker};
use waker::{CALLS, COUNTED};

fn main() {
    println!("-- 1. a future polled by hand --");
    let self_ref = poll_by_hand();
    println!("\n-- 2. block_on, and a second thread that completes the future --");
    let value = block_on_a_reply();

    let live = waker::live_wakers();
    let calls: Vec<String> = (COUNTED.iter().zip(&CALLS))
        .map(|(name, n)| format!("{name} {}", n.load(Ordering::Relaxed)))
        .collect();
    println!(
        "\nwakers and vtable calls: {}; alive: {live}",
        calls.join(", ")
    );
    assert_eq!(
        live, 0,
        "each waker made or cloned ends in one wake or drop"
    );
    println!("step=1 ok value={value} self_ref={self_ref} live_wakers={live}");
}

/// An `async fn` that borrows its own local across an `.await`: the future holds `numbers` *and*
/// a pointer into `numbers`, so it points into itself. It returns that pointer's address.
async fn borrow_across_await() -> usize {
    let numbers = [1u64, 2, 3];
    let view = &numbers; // lives across the await below, so it is stored in the future
    waker::yield_now().await; // Pending once: suspended while `view` points into the future
    view.as_ptr().addr()
}

/// Polls `borrow_across_await` by hand with our waker; says where its reference pointed.
fn poll_by_hand() -> &'static str {
    let (waker, _signal) = waker::thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(borrow_across_await()); // pinned: it may never move again
    let start = (&*future as *const _ as *const u8).addr();
    let end = start + size_of_val(&*future);
    println!("the future occupies {start:#x}..{end:#x}");
    let first = future.as_mut().poll(&mut cx);
    println!("poll 1: {first:?} (it called wake_by_ref first: 'poll me again')");
    let Poll::Ready(addr) = future.as_mut().poll(&mut cx) else {
        unreachable!("yield_now is Pending only once")
    };
    let place = if (start..end).contains(&addr) {
        "inside"
    } else {
        "outside"
    };
    println!(
        "poll 2: Ready({addr:#x}): the reference it kept pointed {place} the future itself, \
         which is why a future is pinned before its first poll"
    );
    place
}

/// `block_on` a `oneshot::Receiver` that a second thread completes after 50 ms.
fn block_on_a_reply() -> u32 {
    let (sender, mut receiver) = oneshot::channel();
    let started = Instant::now();
    let helper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        println!("helper thread: sending 42 (the Sender's drop calls wake, from this thread)");
        sender.send(42);
    });
    let mut polls = 0;
    // poll_fn turns a closure into a future: here, the receiver with a poll counter around it.
    let counted = std::future::poll_fn(|cx| {
        polls += 1;
        Pin::new(&mut receiver).poll(cx)
    });
    let value = waker::block_on(counted).expect("the helper sends");
    let ms = started.elapsed().as_millis();
    helper.join().expect("the helper does not panic");
    println!(
        "block_on returned {value} after {polls} polls and {ms} ms: poll 1 found nothing and \
         kept the waker, the thread parked, the helper's wake unparked it, poll 2 found the value"
    );
    value
}
