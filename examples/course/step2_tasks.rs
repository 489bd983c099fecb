//! Step 2 of the course: tasks. `spawn`, a run queue, a waker per task, a `JoinHandle`, and a
//! wake that comes from another thread.
//!
//! Run with: `cargo run --example step2_tasks` (chapter: `docs/02-step2-tasks.md`)
//!
//! The new code is `common/executor.rs`. Step 1's waker now wakes the *loop*: when the run queue
//! is empty the loop thread parks (`Signal::wait`), and a task's waker unparks it.

#[path = "common"]
mod common {
    pub mod executor;
    pub mod oneshot;
    #[allow(dead_code)] // this step uses step 1's waker and yield_now, not its block_on
    pub mod waker;
}

use std::time::Duration;

use common::executor::Executor;
use common::{oneshot, waker};

fn main() {
    let (loop_waker, signal) = waker::thread_waker();
    let executor = Executor::new(loop_waker);
    let spawner = std::rc::Rc::clone(&executor);
    let main_task = async move {
        println!("main: spawning a, b and c");
        let a = spawner.spawn(count("a", 3));
        let b = spawner.spawn(count("b", 2));
        let c = spawner.spawn(wait_for_helper());
        println!("main: awaiting their JoinHandles");
        let sum = a.await.expect("a ends") + b.await.expect("b ends") + c.await.expect("c ends");
        println!("main: a, b and c returned; the sum is {sum}");
        sum
    };
    let mut parks = 0;
    let sum = executor.block_on(main_task, |max| {
        if max.is_none() {
            parks += 1;
            println!("loop: run queue empty, the thread parks");
            signal.wait();
        }
    });
    let polls = executor.polls.get();
    println!("\n4 tasks (main, a, b, c), {polls} polls; the loop parked {parks} time(s)");
    println!("step=2 ok tasks=4 polls={polls} parks={parks} sum={sum}");
}

/// Counts to `n`, yielding after each number: its waker puts it at the back of the run queue,
/// so tasks take turns.
async fn count(name: &str, n: u32) -> u32 {
    for i in 1..=n {
        println!("task {name}: {i} of {n}, yielding");
        waker::yield_now().await;
    }
    n
}

/// Waits for a value a helper thread sends after 50 ms: the wake comes from that thread.
async fn wait_for_helper() -> u32 {
    let (sender, receiver) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        println!("helper thread: sending 42; the waker pushes task c and unparks the loop");
        sender.send(42);
    });
    println!("task c: waiting for the helper thread");
    let value = receiver.await.expect("the helper sends");
    println!("task c: got {value}");
    value
}
