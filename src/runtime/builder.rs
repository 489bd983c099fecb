//! `Builder`: the few knobs of a runtime, named as in tokio where tokio has the same knob.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::Runtime;
use crate::executor::coop::DEFAULT_BUDGET;
use crate::worker::Worker;

/// Settings a runtime keeps for its lifetime.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Capacity of the reactor's event buffer: the most readiness events handled per turn.
    pub(crate) event_capacity: usize,
    /// A poll at least this long is logged as blocking the loop (`None`: never).
    pub(crate) slow_poll_threshold: Option<Duration>,
    /// Operations one poll may complete before it must yield (`None`: no limit).
    pub(crate) coop_budget: Option<u32>,
    /// The clock starts paused (tests; `time::pause`).
    pub(crate) start_paused: bool,
    /// Record a trace (`trace/`): in memory, or also to a file.
    pub(crate) trace: Option<TraceConfig>,
}

/// How the runtime records its trace.
#[derive(Clone, Debug)]
pub(crate) struct TraceConfig {
    /// The file written when the runtime is dropped (`None`: the trace stays in memory).
    pub(crate) path: Option<PathBuf>,
    /// Most events kept (the ring's size).
    pub(crate) capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            event_capacity: 1024,
            slow_poll_threshold: Some(Duration::from_millis(100)),
            coop_budget: Some(DEFAULT_BUDGET),
            start_paused: false,
            trace: None,
        }
    }
}

/// Configures and creates a [`Runtime`]: `Runtime::builder().slow_poll_threshold(None).build()`.
#[derive(Debug, Default)]
pub struct Builder {
    /// What the runtime will be built with.
    config: Config,
    /// Where blocking jobs will run (`None`: `worker::default_worker()`).
    worker: Option<Box<dyn Worker>>,
    /// Skip the worker's start-up probe (see [`Builder::probe_worker`]).
    skip_probe: bool,
}

impl Builder {
    /// A builder with the defaults: 1024 events per turn, slow polls logged from 100 ms, a budget
    /// of 128 operations per poll.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// How many readiness events one turn takes from the kernel at most (default 1024). More wait
    /// for the next turn; none is lost.
    pub fn event_capacity(mut self, capacity: usize) -> Builder {
        self.config.event_capacity = capacity.max(1);
        self
    }

    /// A task poll (or inline blocking job) that holds the loop at least this long is logged at
    /// warn, naming the task and the duration — like asyncio's `slow_callback_duration`, but on by
    /// default (100 ms). `None` turns the warning off (the longest poll is still in the stats).
    pub fn slow_poll_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.config.slow_poll_threshold = threshold;
        self
    }

    /// How many resource operations one poll of a task may complete before the task must yield:
    /// socket reads, writes, accepts and readiness waits; channel receives and `watch` changes;
    /// `Mutex` locks, `RwLock` reads and writes, `Semaphore` acquires, `Notify` wake-ups; `sleep`s,
    /// `interval` ticks and `timeout`s that end; `JoinHandle` and `JoinSet::join_next` results.
    /// The next one wakes the task and returns `Pending` (having taken nothing), so that other
    /// tasks and the reactor get their turn (default 128, tokio's value; `0` counts as 1). This is
    /// what keeps a connection that always has data, or a loop on a free lock or a deadline
    /// already past, from holding the loop with no blocking call at all
    /// (`docs/07-what-blocking-means.md`; the list is in `executor/coop.rs`).
    ///
    /// `None` turns the budget off: a task then runs until something it awaits says "wait",
    /// which may be never. Only for comparisons (`examples/starvation.rs`) and tests.
    pub fn coop_budget(mut self, budget: Option<u32>) -> Builder {
        self.config.coop_budget = budget;
        self
    }

    /// Starts the runtime with its clock paused, as if `evloop::time::pause()` were its first
    /// call (tokio's `start_paused`): time stands still, moved only by `time::advance` and by
    /// auto-advance when the loop is idle. For tests; `docs/testing.md` tells the whole story.
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.config.start_paused = paused;
        self
    }

    /// Where `spawn_blocking` runs blocking jobs (default: [`Fallback`](crate::worker::Fallback),
    /// a thread pool that runs a job inline when the OS refuses threads). E.g.
    /// `.worker(Inline::new())` to see the loop blocked, or
    /// `.worker(Fallback::new(ThreadPool::builder().spawner(Deny::always()).build()))`.
    pub fn worker(mut self, worker: impl Worker + 'static) -> Builder {
        self.worker = Some(Box::new(worker));
        self
    }

    /// Whether `build` asks the worker, once, where blocking work will go (default `true`): the
    /// thread pool tries to create a thread, which exits at once, and the answer is logged at info
    /// ("blocking work: offloaded to threads", or "runs inline — thread creation refused …") and
    /// kept in `Runtime::worker_stats().probe`.
    ///
    /// The probe has a price a program that never blocks need not pay: once a process has
    /// created one thread, glibc treats it as multi-threaded for good, and every system call
    /// wrapper (`recv`, `send`, `epoll_wait`, …) then takes its thread-cancellation path — about
    /// 45 more instructions per call, 145 per echo round trip (`docs/performance.md`). A server
    /// with no blocking work (`examples/echo_server` without `--work-ms`) turns it off. Without the
    /// probe nothing is lost but the early word: a refusal is still met, and warned about, by
    /// the first `spawn_blocking` that asks for a thread.
    pub fn probe_worker(mut self, probe: bool) -> Builder {
        self.skip_probe = !probe;
        self
    }

    /// Records a trace of every poll, reactor wait and blocking job, and writes it to `path` as a
    /// Chrome trace-event JSON file when the runtime is dropped (open it in Perfetto; `trace/`
    /// says what is in it). Memory stays bounded: the last
    /// [`trace_capacity`](Builder::trace_capacity) events are kept.
    ///
    /// Without this call, the environment variable `EVLOOP_TRACE=path` does the same for any
    /// program (each runtime of the program writes the file when dropped: the last one wins).
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace_config().path = Some(path.into());
        self
    }

    /// Keeps the last `events` trace events (default 100 000, about 80 bytes each), and turns
    /// tracing on even without a file: read it live with `Runtime::trace()` (as
    /// `examples/llm_server`'s page does), or write it with `Trace::write_to`.
    pub fn trace_capacity(mut self, events: usize) -> Builder {
        self.trace_config().capacity = events.max(1);
        self
    }

    /// The trace settings, turned on with the defaults if they were off.
    fn trace_config(&mut self) -> &mut TraceConfig {
        self.config.trace.get_or_insert(TraceConfig {
            path: None,
            capacity: crate::trace::DEFAULT_CAPACITY,
        })
    }

    /// Creates the runtime: the epoll instance, its interrupt eventfd and empty queues. Then the
    /// worker's probe says, once, where blocking work will go ("blocking work: offloaded to
    /// threads"), logged at info and kept in `Runtime::worker_stats()` (unless
    /// [`probe_worker(false)`](Builder::probe_worker)).
    pub fn build(mut self) -> io::Result<Runtime> {
        if self.config.trace.is_none()
            && let Some(path) = std::env::var_os(crate::trace::ENV_VAR).filter(|p| !p.is_empty())
        {
            self = self.trace(path);
        }
        let worker = self.worker.unwrap_or_else(crate::worker::default_worker);
        if !self.skip_probe {
            worker.probe();
        }
        Runtime::from_config(self.config, worker)
    }
}
