//! `POST /generate`: the model behind the execution lock — for clients that are still there, and
//! for no more of them than the line may hold.
//!
//! A generation goes through three steps, and the client may leave during any of them:
//!
//! ```text
//!  request ─► line full? ──yes──► 503 + Retry-After        (nothing waits, nothing runs)
//!               │ no
//!               ▼
//!     wait for a turn (the lock) ─── the client leaves ───► dropped: the model never starts
//!               │ turn                                        ("left before their turn")
//!               ▼
//!     the model runs (spawn_blocking) ── the client leaves ─► counted ("left while it ran"); the
//!               │                                             call runs to its end and the turn
//!               ▼                                             is held until then
//!     200 + text ─► the connection writes it
//! ```
//!
//! **Why watch for departures.** Without it, a client that gives up (a timeout, a closed tab, a
//! load balancer's retry) leaves its request in the line, and the service runs it anyway, under
//! the lock, for nobody: fifty clients that post and leave at once cost fifty generations, one
//! after the other, and the next real client waits behind all of them. So while a request waits,
//! the connection watches its socket ([`Departure`]), and the two are raced with `evloop::select!`:
//! whichever finishes first wins, the other is dropped. Dropping a `lock()` future that waits is safe: it leaves the
//! line, or hands the lock on if it was just granted it (see `evloop::sync::Mutex`).
//!
//! **What cannot be undone.** Once the model runs on a thread, nothing can stop it: a thread
//! cannot be interrupted from outside, and a blocking client library offers no hook. So the
//! departure is counted, the result is thrown away, and the turn is *held until the call ends* —
//! handing it on early would put two generations on a one-generation model. A production service
//! passes a cancellation flag into the model's own loop (an LLM checks it between tokens; vLLM
//! aborts a request whose client disconnected) so the turn comes back sooner.
//!
//! **Why cap the line.** Even clients that stay cost a socket, a task and their request's bytes
//! (up to 72 KiB) while they wait. `max_waiting` bounds that; beyond it the answer is
//! `503 Service Unavailable` with `Retry-After`, at once, which is also the honest answer: the
//! wait would be longer than the client's patience anyway. Without the lock (`--no-lock`) there is
//! no line — every generation starts at once, on its own thread — and no cap.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::time::{Duration, Instant};

use evloop::sync::{ContentionStats, Mutex, MutexGuard};
use evloop::worker::Execution;

use crate::model::Model;
use crate::response::Response;

/// How a client was seen to leave while its request waited or ran.
#[derive(Debug)]
pub enum Departure {
    /// End of stream. A client that only shut down its sending side looks the same, and is taken
    /// as gone too, as nginx does (its status 499); see `connection.rs`.
    Closed,
    /// The socket failed: a reset, mostly.
    Failed(io::Error),
}

impl fmt::Display for Departure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Departure::Closed => f.write_str("the client closed"),
            Departure::Failed(e) => write!(f, "the client's socket failed: {e}"),
        }
    }
}

/// The model, the line for it, and what happened to the requests that joined the line.
pub struct Generations {
    /// The blocking model.
    model: Model,
    /// The execution lock (always there, so that `/stats` can show its contention either way).
    lock: Mutex<()>,
    /// Hold the lock around each generation (`--lock`, the default).
    use_lock: bool,
    /// Most requests that may wait for a turn (not counting the one that has it).
    max_waiting: usize,
    /// The `Retry-After` of a refusal.
    retry_after: Duration,
    /// Requests that have a turn or wait for one, now.
    in_line: Cell<usize>,
    /// Requests whose model call runs now.
    in_model: Cell<usize>,
    /// The counters `/stats` shows.
    counts: Counts,
    /// The last model calls, newest last (at most [`RECENT_CALLS`]), for the live page.
    recent: RefCell<VecDeque<Call>>,
}

/// How many model calls the live page lists.
const RECENT_CALLS: usize = 12;

/// One model call, for the live page: when it ended, where it ran, how long it took.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// When it returned.
    pub ended: Instant,
    /// Where it ran (`None`: it could not run).
    pub execution: Option<Execution>,
    /// From `spawn_blocking` to the result.
    pub took: Duration,
}

/// The line's figures now, for `/stats.json`.
#[derive(Clone, Debug)]
pub struct LineFigures {
    /// The execution lock is on.
    pub lock: bool,
    /// Most requests that may wait for a turn.
    pub max_waiting: usize,
    /// Requests in flight: waiting for a turn, or in the model.
    pub in_flight: usize,
    /// Requests in the model now.
    pub in_model: usize,
    /// Model calls started.
    pub started: u64,
    /// Refused with 503 (the line was full).
    pub refused: u64,
    /// Clients that left before their turn.
    pub left_waiting: u64,
    /// Clients that left while the model ran.
    pub left_running: u64,
    /// The execution lock's contention.
    pub contention: ContentionStats,
}

/// What happened to the requests for a generation, since the start.
#[derive(Default)]
struct Counts {
    /// The model was called.
    started: Cell<u64>,
    /// Refused with 503: the line was full.
    refused: Cell<u64>,
    /// The client left while waiting for a turn: the model was never called.
    left_waiting: Cell<u64>,
    /// The client left while the model ran: the call ran to its end for nobody.
    left_running: Cell<u64>,
}

impl Generations {
    /// No request yet. `max_waiting` and `retry_after` matter only with `use_lock`.
    pub fn new(model: Model, use_lock: bool, max_waiting: usize, retry_after: Duration) -> Self {
        Generations {
            model,
            lock: Mutex::new(()),
            use_lock,
            max_waiting,
            retry_after,
            in_line: Cell::new(0),
            in_model: Cell::new(0),
            counts: Counts::default(),
            recent: RefCell::new(VecDeque::new()),
        }
    }

    /// Runs the model on `prompt`, unless the line is full (503) or `departure` resolves first.
    /// `Err`: the client left, there is nobody to answer.
    pub async fn generate(
        &self,
        prompt: Vec<u8>,
        departure: impl Future<Output = Departure>,
    ) -> Result<Response, Departure> {
        let mut departure = pin!(departure);
        // 1. Room in the line? Counted from here until the turn is over.
        if self.use_lock && self.in_line.get() > self.max_waiting {
            bump(&self.counts.refused);
            return Ok(self.busy());
        }
        let _in_line = InLine::join(&self.in_line);
        // 2. A turn, unless the client leaves first. `biased`: the departure is polled first, so
        //    a client already known to be gone is not started even when the lock is free.
        let _turn = evloop::select! {
            biased;
            gone = departure.as_mut() => {
                bump(&self.counts.left_waiting);
                log::debug!("generation dropped before its turn: {gone}");
                return Err(gone);
            }
            turn = self.take_turn() => turn,
        };
        // 3. The model.
        bump(&self.counts.started);
        self.run_model(prompt, departure).await
    }

    /// The execution lock's guard, or nothing when the lock is off.
    async fn take_turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self.use_lock {
            true => Some(self.lock.lock().await),
            false => None,
        }
    }

    /// Calls the model through `spawn_blocking` and waits for it; a departure meanwhile is
    /// counted, and the wait goes on (see the module docs).
    async fn run_model(
        &self,
        prompt: Vec<u8>,
        departure: Pin<&mut impl Future<Output = Departure>>,
    ) -> Result<Response, Departure> {
        let model = self.model.clone();
        let _in_model = InLine::join(&self.in_model);
        let began = Instant::now();
        // `try_`: a worker that refuses the job (a bare pool that cannot create a thread) is a
        // 503 for this request, not a warning and a cancelled job.
        let mut job = match evloop::worker::try_spawn_blocking(move || model(&prompt)) {
            Ok(job) => job,
            Err(e) => return Ok(unavailable(format!("the model could not be started: {e}"))),
        };
        // `biased`: a result and a departure seen in the same poll is an answer, not a loss.
        let result = evloop::select! {
            biased;
            result = &mut job => result,
            gone = departure => {
                bump(&self.counts.left_running);
                log::debug!("{gone} while its generation ran: the call cannot be interrupted");
                // Hold the turn until the thread is done: the model is still busy.
                let _ = (&mut job).await;
                self.record_call(began, job.execution());
                return Err(gone);
            }
        };
        self.record_call(began, job.execution());
        let blocking = blocking_label(job.execution());
        Ok(match result {
            Ok(text) => Response::text(200, "OK", text).header("X-Blocking", blocking),
            Err(e) if e.is_panic() => {
                log::warn!("the model panicked: {e}");
                Response::text(500, "Internal Server Error", "500 the model failed\n")
            }
            Err(e) => unavailable(format!("the model did not run: {e}")),
        })
    }

    /// Remembers a finished model call for the live page.
    fn record_call(&self, began: Instant, execution: Option<Execution>) {
        let mut recent = self.recent.borrow_mut();
        if recent.len() == RECENT_CALLS {
            recent.pop_front();
        }
        let ended = Instant::now();
        let took = ended - began;
        recent.push_back(Call {
            ended,
            execution,
            took,
        });
    }

    /// The last model calls, oldest first.
    pub fn recent_calls(&self) -> Vec<Call> {
        self.recent.borrow().iter().copied().collect()
    }

    /// The line's figures now.
    pub fn figures(&self) -> LineFigures {
        let c = &self.counts;
        LineFigures {
            lock: self.use_lock,
            max_waiting: self.max_waiting,
            in_flight: self.in_line.get(),
            in_model: self.in_model.get(),
            started: c.started.get(),
            refused: c.refused.get(),
            left_waiting: c.left_waiting.get(),
            left_running: c.left_running.get(),
            contention: self.lock.contention(),
        }
    }

    /// The 503 for a full line.
    fn busy(&self) -> Response {
        log::debug!("503: {} requests wait already", self.max_waiting);
        let seconds = self.retry_after.as_secs().max(1);
        Response::text(
            503,
            "Service Unavailable",
            format!(
                "503 busy: {} requests wait for the model already; retry in {seconds} s\n",
                self.max_waiting
            ),
        )
        .header("Retry-After", seconds.to_string())
    }

    /// The lock's contention and the line's counters, for `/stats`.
    pub fn stats(&self) -> String {
        let c = &self.counts;
        let line = match self.use_lock {
            true => format!(
                "{} waiting now (at most {}), {} refused with 503",
                self.in_line.get().saturating_sub(1),
                self.max_waiting,
                c.refused.get()
            ),
            false => "no line (lock off)".into(),
        };
        format!(
            "execution lock ({}): {}\n\
             generations: {} started; {line}\n\
             clients gone: {} before their turn (never started), {} while the model ran \
             (a call on a thread cannot be interrupted: it ran to its end)\n",
            if self.use_lock { "on" } else { "off" },
            self.lock.contention(),
            c.started.get(),
            c.left_waiting.get(),
            c.left_running.get(),
        )
    }
}

/// One request in the line (or in the model); leaving (also by being dropped) takes it out.
struct InLine<'a> {
    /// The count it is in.
    in_line: &'a Cell<usize>,
}

impl<'a> InLine<'a> {
    /// Counts one more request in the line.
    fn join(in_line: &'a Cell<usize>) -> InLine<'a> {
        in_line.set(in_line.get() + 1);
        InLine { in_line }
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.in_line.set(self.in_line.get() - 1);
    }
}

/// Adds one to a counter.
fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

/// The `X-Blocking` header: where the model ran.
fn blocking_label(execution: Option<Execution>) -> String {
    match execution {
        Some(Execution::Offloaded) => "offloaded".into(),
        Some(Execution::Inline(reason)) => format!("inline ({reason})"),
        // A job that ran has an execution; kept total anyway.
        None => "unknown".into(),
    }
}

/// 503 with the reason.
fn unavailable(why: String) -> Response {
    log::debug!("503: {why}");
    Response::text(503, "Service Unavailable", format!("503 {why}\n"))
}
