//! Step 4 of the course: timers. A `sleep` future, deadlines in an ordered map, the poll timeout
//! taken from the next deadline, and a heartbeat that measures its own lateness.
//!
//! Run with: `cargo run --example step4_timers` (chapter: `docs/04-step4-timers.md`)
//!
//! The new code is `common/timers.rs` and `common/heartbeat.rs`. The loop now parks with
//! `timers::park`: `epoll_wait` with a timeout, then the timers that are due fire.

#[path = "common"]
mod common {
    pub mod executor;
    pub mod heartbeat;
    pub mod oneshot;
    #[allow(dead_code)] // this step has no sockets: the reactor is only where the loop sleeps
    pub mod reactor;
    pub mod timers;
}

use std::io;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use common::executor::Executor;
use common::heartbeat::Heartbeat;
use common::reactor::Reactor;
use common::timers::{self, Timers, sleep};

/// How long the step runs; the heartbeat's period.
const RUN_FOR: Duration = Duration::from_millis(300);
const PERIOD: Duration = Duration::from_millis(10);

fn main() -> io::Result<()> {
    let reactor = Reactor::new()?;
    let timers = Rc::new(Timers::default());
    let executor = Executor::new(Waker::noop().clone()); // still one thread: no loop waker
    let heartbeat = Rc::new(Heartbeat::default());
    let main_task = sleepers(
        Rc::clone(&executor),
        Rc::clone(&timers),
        Rc::clone(&heartbeat),
    );
    let park = |max| timers::park(&reactor, &timers, max).expect("epoll_wait");
    let order = executor.block_on(main_task, park);

    let (ticks, parks, left) = (
        heartbeat.ticks.borrow().len(),
        reactor.parks.get(),
        timers.len(),
    );
    let lag = heartbeat.worst_lag.get().as_secs_f64() * 1e3;
    println!("heartbeat: {ticks} ticks in {RUN_FOR:?}, the latest {lag:.2} ms after its deadline");
    println!(
        "the loop slept in epoll_wait {parks} times, each time until the next deadline; \
         timers left: {left} (the heartbeat, dropped, removed its own)"
    );
    println!("step=4 ok order={order} ticks={ticks} worst_lag_ms={lag:.2} timers_left={left}");
    Ok(())
}

/// The main task: a heartbeat, and three sleepers spawned in one order and due in another.
/// Returns the order they woke in ("50,100,150"), once `RUN_FOR` has passed.
async fn sleepers(spawner: Rc<Executor>, timers: Rc<Timers>, heartbeat: Rc<Heartbeat>) -> String {
    let start = Instant::now();
    spawner.spawn(heartbeat.run(Rc::clone(&timers), PERIOD));
    let sleepers = [150, 50, 100].map(|ms| spawner.spawn(sleeper(ms, start, Rc::clone(&timers))));
    let mut woke = Vec::new();
    for sleeper in sleepers {
        woke.push(sleeper.await.expect("a sleeper ends"));
    }
    woke.sort(); // by the instant each woke
    sleep(&timers, RUN_FOR.saturating_sub(start.elapsed())).await;
    let order: Vec<String> = woke.iter().map(|(_, ms)| ms.to_string()).collect();
    order.join(",")
}

/// Sleeps `ms` milliseconds and says when it woke.
async fn sleeper(ms: u64, start: Instant, timers: Rc<Timers>) -> (Instant, u64) {
    sleep(&timers, Duration::from_millis(ms)).await;
    println!("sleeper {ms:>3} ms: woke at {:.1?}", start.elapsed());
    (Instant::now(), ms)
}
