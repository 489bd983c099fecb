//! Steps 5 and 6: three requests, each making one blocking call, next to a heartbeat. How long
//! they took together, how late the heartbeat got, and a timeline to look at.
//!
//! The loop is the whole of steps 2 to 5: executor, reactor (with its `mio::Waker`), timers.

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::executor::Executor;
use super::heartbeat::Heartbeat;
use super::offload::loop_waker;
use super::reactor::Reactor;
use super::timers::{self, Timers};

/// The heartbeat's period, and one column of the timeline.
const PERIOD: Duration = Duration::from_millis(10);
/// Time between two requests' arrivals (the first arrives at once).
const ARRIVE_EVERY: Duration = Duration::from_millis(10);

/// When one blocking call started and ended.
pub type Span = (Instant, Instant);

/// The slow synchronous function of the story (think: an LLM client's `generate`). It blocks
/// its thread for `work` and reports when it ran.
pub fn blocking_call(work: Duration) -> Span {
    let start = Instant::now();
    std::thread::sleep(work);
    (start, Instant::now())
}

/// What a run measured, in milliseconds.
pub struct Report {
    /// From the start of the run to the last reply.
    pub total_ms: f64,
    /// The latest a heartbeat tick ran after its deadline.
    pub worst_lag_ms: f64,
}

/// Runs the `requests` futures on a fresh loop, next to a heartbeat; prints the timeline.
/// Request `i` arrives `i * ARRIVE_EVERY` after it is first polled; it resolves to its call's span.
pub fn run<R: Future<Output = Span> + 'static>(requests: Vec<R>) -> io::Result<Report> {
    let reactor = Reactor::new()?;
    let timers = Rc::new(Timers::default());
    let executor = Executor::new(loop_waker(&reactor)?);
    let heartbeat = Rc::new(Heartbeat::default());
    let start = Instant::now();
    let main_task = {
        let (spawner, timers) = (Rc::clone(&executor), Rc::clone(&timers));
        let heartbeat = Rc::clone(&heartbeat);
        async move {
            spawner.spawn(heartbeat.run(Rc::clone(&timers), PERIOD));
            let arrivals = requests.into_iter().zip(0..).map(|(request, i)| {
                let timers = Rc::clone(&timers);
                async move {
                    timers::sleep(&timers, ARRIVE_EVERY * i).await;
                    request.await
                }
            });
            let handles: Vec<_> = arrivals.map(|r| spawner.spawn(r)).collect();
            let mut spans = Vec::new();
            for handle in handles {
                spans.push(handle.await.expect("a request ends"));
            }
            spans
        }
    };
    let park = |max| timers::park(&reactor, &timers, max).expect("epoll_wait");
    let spans = executor.block_on(main_task, park);
    let total_ms = start.elapsed().as_secs_f64() * 1e3;
    let worst_lag_ms = heartbeat.worst_lag.get().as_secs_f64() * 1e3;
    draw(start, &heartbeat.ticks.borrow(), &spans);
    println!("total {total_ms:.0} ms, worst heartbeat lateness {worst_lag_ms:.1} ms");
    Ok(Report {
        total_ms,
        worst_lag_ms,
    })
}

/// One row per heartbeat and call, one column per heartbeat period.
fn draw(start: Instant, ticks: &[Instant], spans: &[Span]) {
    let column =
        |t: Instant| (t.saturating_duration_since(start).as_millis() / PERIOD.as_millis()) as usize;
    let width = spans.iter().map(|s| column(s.1) + 1).max().unwrap_or(0);
    let mut row = vec![' '; width];
    for &tick in ticks {
        row[column(tick).min(width - 1)] = '|';
    }
    println!("\nheartbeat {}", row.iter().collect::<String>());
    for (i, &(from, to)) in spans.iter().enumerate() {
        let mut row = vec![' '; width];
        row[column(from)..column(to)].fill('=');
        println!("call {}    {}", i + 1, row.iter().collect::<String>());
    }
    println!("          one column = {PERIOD:?}; '|' the heartbeat ran, '=' a call was running");
}
