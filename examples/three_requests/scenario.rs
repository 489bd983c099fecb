//! One scenario of the story: N requests call a slow synchronous function (the "LLM call") while
//! a heartbeat task ticks every 10 ms and records how late each tick ran.
//!
//! Each request is an ordinary task, written the way a service would write it:
//!
//! ```text
//! arrive (requests come in 10 ms apart) → [lock the execution lock] → spawn_blocking(llm_call)
//!       → await the reply → [unlock]
//! ```
//!
//! Where `llm_call` runs is up to the runtime's worker: a pool thread (the loop stays free) or,
//! when no thread can be had, the loop thread itself (the loop is blocked while it runs). The code
//! of the request is the same either way; only the heartbeat tells the difference.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use evloop::sync::{ContentionStats, Mutex};
use evloop::time::{Instant, MissedTickBehavior, interval, sleep};
use evloop::worker::{Execution, Worker};
use evloop::{Runtime, spawn_named};

use super::timeline::{RequestSpan, Tick};

/// What one scenario does.
#[derive(Clone, Debug)]
pub struct Config {
    /// The scenario's name in the output (`offload`, `offload-lock`, `fallback`).
    pub name: String,
    /// Hold the execution lock around each call.
    pub lock: bool,
    /// How many requests.
    pub requests: usize,
    /// How long one call blocks.
    pub work: Duration,
    /// Time between two requests' arrivals.
    pub arrive_every: Duration,
    /// The heartbeat's period.
    pub heartbeat: Duration,
    /// Write a Chrome trace-event file of the run here (`--trace DIR`: `DIR/NAME.json`).
    pub trace: Option<PathBuf>,
}

/// What one scenario measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Each request's life.
    pub requests: Vec<RequestSpan>,
    /// Each heartbeat tick.
    pub ticks: Vec<Tick>,
    /// From the first arrival to the last reply.
    pub total: Duration,
    /// The latest a heartbeat tick ran after it was due.
    pub worst_lag: Duration,
    /// Calls that ran on a worker thread.
    pub offloaded: usize,
    /// Calls that ran on the loop thread.
    pub inline: usize,
    /// Requests whose call could not run at all (a bare thread pool with thread creation denied).
    pub failed: usize,
    /// The worker's start-up probe ("blocking work: offloaded to threads" or why not).
    pub probe: String,
    /// The runtime's and the worker's statistics, for `--stats`.
    pub stats: String,
}

/// The "LLM call": a slow synchronous function. It blocks its thread for `work` and returns a
/// reply derived from its input, as a real client library would.
pub fn llm_call(prompt: usize, work: Duration) -> String {
    std::thread::sleep(work);
    format!("reply to request {prompt}")
}

/// Runs the scenario on a fresh runtime that uses `worker`.
pub fn run(config: &Config, worker: Box<dyn Worker>) -> std::io::Result<Outcome> {
    let mut builder = Runtime::builder().worker(worker);
    if let Some(path) = &config.trace {
        builder = builder.trace(path); // written when `rt` is dropped, at the end of this function
    }
    let rt = builder.build()?;
    let probe = rt
        .worker_stats()
        .probe
        .map_or_else(|| "not probed".to_string(), |p| p.to_string());
    let (requests, ticks, total, contention) = rt.block_on(drive(config.clone()));
    let worst_lag = ticks
        .iter()
        .map(|t| t.ran.saturating_sub(t.due))
        .max()
        .unwrap_or_default();
    let inline = requests.iter().filter(|r| r.inline).count();
    let failed = requests.iter().filter(|r| r.failed).count();
    Ok(Outcome {
        offloaded: requests.len() - inline - failed,
        inline,
        failed,
        requests,
        ticks,
        total,
        worst_lag,
        probe,
        stats: format!(
            "{}\n{}\nexecution lock: {contention}",
            rt.stats(),
            rt.worker_stats()
        ),
    })
}

/// The scenario itself, on the loop: the heartbeat plus the requests. Returns the spans, the
/// ticks, the total time and the execution lock's contention.
async fn drive(config: Config) -> (Vec<RequestSpan>, Vec<Tick>, Duration, ContentionStats) {
    let start = Instant::now();
    let ticks = Rc::new(RefCell::new(Vec::new()));
    let done = Rc::new(Cell::new(false));
    let heartbeat = spawn_named(
        "heartbeat",
        heartbeat(start, config.heartbeat, ticks.clone(), done.clone()),
    );
    let lock = Rc::new(Mutex::new(()));
    let handles: Vec<_> = (0..config.requests)
        .map(|i| {
            let arrival = config.arrive_every * i as u32;
            let lock = config.lock.then(|| lock.clone());
            spawn_named(
                format!("request-{}", i + 1),
                request(i + 1, start, arrival, lock, config.work),
            )
        })
        .collect();
    let mut spans = Vec::new();
    for handle in handles {
        spans.push(handle.await.expect("a request task does not panic"));
    }
    let total = start.elapsed();
    done.set(true);
    heartbeat.await.expect("the heartbeat does not panic");
    let ticks = ticks.take();
    (spans, ticks, total, lock.contention())
}

/// One request: arrive, take the lock (if any), call the model through `spawn_blocking`.
async fn request(
    id: usize,
    start: Instant,
    arrival: Duration,
    lock: Option<Rc<Mutex<()>>>,
    work: Duration,
) -> RequestSpan {
    sleep(arrival).await;
    let arrived = start.elapsed();
    let _guard = match &lock {
        Some(lock) => Some(lock.lock().await),
        None => None,
    };
    let mut call = evloop::spawn_blocking(move || {
        let began = Instant::now();
        let reply = llm_call(id, work);
        (began, Instant::now(), reply)
    });
    match (&mut call).await {
        Ok((began, ended, reply)) => {
            let path = call
                .execution()
                .map_or_else(|| "?".into(), |e| e.to_string());
            log::debug!("request {id}: {reply} ({path})");
            RequestSpan {
                start: arrived,
                work_start: began.duration_since(start),
                work_end: ended.duration_since(start),
                inline: matches!(call.execution(), Some(Execution::Inline(_))),
                failed: false,
            }
        }
        // With a bare thread pool and thread creation denied the call never runs: what asyncio's
        // "can't start new thread" looks like when the service has no fallback.
        Err(e) => {
            println!("request {id} failed: {e}");
            let now = start.elapsed();
            RequestSpan {
                start: arrived,
                work_start: now,
                work_end: now,
                inline: false,
                failed: true,
            }
        }
    }
}

/// Ticks every `period` until `done`, recording when each tick was due and when it ran.
async fn heartbeat(
    start: Instant,
    period: Duration,
    ticks: Rc<RefCell<Vec<Tick>>>,
    done: Rc<Cell<bool>>,
) {
    let mut iv = interval(period);
    // A stalled loop shows as one late tick, then the rhythm resumes (no catch-up burst).
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    while !done.get() {
        let due = iv.tick().await;
        ticks.borrow_mut().push(Tick {
            due: due.saturating_duration_since(start),
            ran: start.elapsed(),
        });
    }
}

/// Two or three sentences on what happened, from what was measured (not from the scenario name).
pub fn explain(config: &Config, outcome: &Outcome) -> String {
    let (total, lag) = (ms(outcome.total), ms(outcome.worst_lag));
    let n = config.requests;
    let work = ms(config.work);
    if outcome.failed > 0 {
        return format!(
            "{} of {n} requests failed: the worker could not create a thread and has no fallback. \
             This is the service that dies with \"can't start new thread\".",
            outcome.failed
        );
    }
    match (outcome.inline > 0, config.lock) {
        (false, false) => format!(
            "All {n} calls ran on worker threads at the same time, so the batch took about one call \
             ({total} ms for {n} × {work} ms). The loop stayed free: the heartbeat was at most {lag} ms late."
        ),
        (false, true) => format!(
            "The execution lock let one call run at a time, so the batch took {n} calls ({total} ms) — \
             but every call ran on a worker thread and the loop kept turning: the heartbeat was at most \
             {lag} ms late. Requests waited for the lock, never for the loop."
        ),
        (true, _) => format!(
            "{} of {n} calls ran on the loop thread. The work took as long as it does under the lock \
             ({total} ms), but while each call ran nothing else on the loop could: the heartbeat was \
             {lag} ms late, and even the next request's arrival waited. Health checks, timeouts and \
             every other client wait exactly like this heartbeat.",
            outcome.inline
        ),
    }
}

/// The machine-readable last line of a scenario.
pub fn summary_line(config: &Config, worker: &str, outcome: &Outcome) -> String {
    format!(
        "scenario={} worker={worker} lock={} requests={} work_ms={} total_ms={:.1} worst_lag_ms={:.1} offloaded={} inline={} failed={}",
        config.name,
        config.lock,
        config.requests,
        config.work.as_millis(),
        outcome.total.as_secs_f64() * 1e3,
        outcome.worst_lag.as_secs_f64() * 1e3,
        outcome.offloaded,
        outcome.inline,
        outcome.failed
    )
}

/// Whole milliseconds, for sentences.
fn ms(d: Duration) -> u128 {
    d.as_millis()
}
