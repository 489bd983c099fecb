//! Unit tests of the worker, without a runtime: the test thread plays the loop, submits jobs with
//! `handle::submit` and drives handles with `poll_with`, parking between polls.
//!
//! Jobs that must stay busy wait on a [`Gate`] (a channel the test opens), never on a sleep, and
//! every wait has a generous timeout that fails the test instead of hanging it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::handle::submit;
use super::*;
use crate::JoinError;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// Wakes the parked test thread and counts wakes.
struct ParkWaker {
    /// The test thread.
    thread: Thread,
    /// Wakes so far.
    wakes: AtomicUsize,
}

impl Wake for ParkWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// A waker for the current thread, and its wake counter.
fn park_waker() -> (Arc<ParkWaker>, Waker) {
    let inner = Arc::new(ParkWaker {
        thread: thread::current(),
        wakes: AtomicUsize::new(0),
    });
    (inner.clone(), Waker::from(inner))
}

/// Parks until `waker` has been woken at least once; fails after `PATIENCE`.
fn expect_wake(waker: &ParkWaker) {
    let deadline = Instant::now() + PATIENCE;
    while waker.wakes.load(Ordering::SeqCst) == 0 {
        let now = Instant::now();
        assert!(now < deadline, "not woken in {PATIENCE:?}");
        thread::park_timeout(deadline - now);
    }
}

/// Polls `handle` against `worker` until it is ready, parking between polls.
fn wait<T>(worker: &dyn Worker, handle: &mut BlockingHandle<T>) -> Result<T, JoinError> {
    let (_, waker) = park_waker();
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Poll::Ready(result) = handle.poll_with(worker, &mut cx) {
            return result;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "blocking job did not finish in {PATIENCE:?}"
        );
        thread::park_timeout(deadline - now);
    }
}

/// Submits `f`, expecting the worker to accept it.
fn spawn<T: Send + 'static>(
    worker: &dyn Worker,
    f: impl FnOnce() -> T + Send + 'static,
) -> BlockingHandle<T> {
    let (handle, refused) = submit(worker, f);
    assert!(refused.is_none(), "refused: {refused:?}");
    handle
}

/// A door jobs wait at until the test opens it.
struct Gate {
    /// Opening sends one token per waiting job.
    open: Sender<()>,
    /// Shared by the jobs.
    wait: Arc<Mutex<Receiver<()>>>,
    /// Each job says here that it has started (so it occupies a thread).
    started_tx: Sender<()>,
    /// Where the test hears it.
    started_rx: Receiver<()>,
}

impl Gate {
    fn new() -> Gate {
        let (open, rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        Gate {
            open,
            wait: Arc::new(Mutex::new(rx)),
            started_tx,
            started_rx,
        }
    }

    /// A closure that waits at the gate, then returns the name of the thread it ran on.
    fn job(&self) -> impl FnOnce() -> String + Send + 'static {
        let wait = Arc::clone(&self.wait);
        let started = self.started_tx.clone();
        move || {
            started.send(()).expect("test alive");
            let rx = wait.lock().expect("gate lock");
            rx.recv_timeout(PATIENCE).expect("the test opens the gate");
            thread_name()
        }
    }

    /// Waits until `n` jobs have started, i.e. hold `n` threads.
    fn started(&self, n: usize) {
        for _ in 0..n {
            self.started_rx
                .recv_timeout(PATIENCE)
                .expect("gate job started");
        }
    }

    /// Lets `n` waiting jobs through.
    fn open(&self, n: usize) {
        for _ in 0..n {
            self.open.send(()).expect("gate receiver alive");
        }
    }
}

/// The current thread's name ("?" when unnamed).
fn thread_name() -> String {
    thread::current().name().unwrap_or("?").to_string()
}

/// A spawner that reports each pool thread's exit, so tests can wait for it without sleeping.
struct Tracked {
    /// Decides and creates threads.
    inner: Deny,
    /// Receives a thread's name when it ends.
    exits: Mutex<Sender<String>>,
}

impl ThreadSpawner for Tracked {
    fn spawn(&self, name: String, body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        let exits = self.exits.lock().expect("lock").clone();
        let reported = name.clone();
        self.inner.spawn(
            name,
            Box::new(move || {
                body();
                let _ = exits.send(reported);
            }),
        )
    }
}

/// A tracked spawner allowing `allowed` spawns (then EAGAIN), and where exits are reported.
fn tracked(allowed: u64) -> (Tracked, Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let spawner = Tracked {
        inner: Deny::after(allowed),
        exits: Mutex::new(tx),
    };
    (spawner, rx)
}

#[test]
fn no_thread_exists_before_the_first_job() {
    let deny = Deny::after(u64::MAX);
    let pool = ThreadPool::builder().spawner(deny.clone()).build();
    let stats = pool.stats();
    assert_eq!((stats.threads_alive, stats.threads_spawned), (0, 0));
    assert_eq!(deny.granted(), 0);
    assert_eq!(stats.mode, Mode::Offloading);
}

#[test]
fn an_offloaded_job_runs_on_a_pool_thread_and_returns_its_value() {
    let pool = ThreadPool::new();
    let mut handle = spawn(&pool, || (thread_name(), 6 * 7));
    assert_eq!(handle.execution(), Some(Execution::Offloaded));
    let (name, answer) = wait(&pool, &mut handle).expect("no panic");
    assert_eq!((name.as_str(), answer), ("evloop-blocking-1", 42));
    let stats = pool.stats();
    assert_eq!((stats.offloaded, stats.threads_spawned), (1, 1));
    assert_eq!(stats.inline.total(), 0);
}

#[test]
fn a_panic_reaches_the_caller_and_the_thread_keeps_working() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let mut bad = spawn(&pool, || -> u32 { panic!("model exploded") });
    let err = wait(&pool, &mut bad).expect_err("panicked");
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(err.panic_message(), Some("model exploded"));
    let mut good = spawn(&pool, thread_name);
    assert_eq!(wait(&pool, &mut good).expect("runs"), "evloop-blocking-1");
    assert_eq!(pool.stats().threads_spawned, 1, "the same thread ran both");
}

#[test]
fn a_bare_pool_without_threads_refuses_with_the_os_error() {
    let pool = ThreadPool::builder().spawner(Deny::always()).build();
    let (mut handle, refused) = submit(&pool, || 1);
    let err = refused.expect("refused");
    assert!(matches!(&err, BlockingError::NoThread(e) if e.raw_os_error() == Some(libc::EAGAIN)));
    assert_eq!(handle.execution(), None);
    assert!(
        wait(&pool, &mut handle)
            .expect_err("never ran")
            .is_cancelled()
    );
    let stats = pool.stats();
    assert_eq!(
        (stats.mode, stats.rejected, stats.spawn_failures),
        (Mode::Refusing, 1, 1)
    );
}

#[test]
fn fallback_runs_the_job_on_the_calling_thread_when_threads_are_refused() {
    let worker = Fallback::new(ThreadPool::builder().spawner(Deny::always()).build());
    let caller = thread::current().id();
    let mut handle = spawn(&worker, move || thread::current().id() == caller);
    assert_eq!(
        handle.execution(),
        Some(Execution::Inline(InlineReason::ThreadsRefused))
    );
    assert!(
        handle.is_finished(),
        "an inline job is done when submit returns"
    );
    assert!(
        wait(&worker, &mut handle).expect("ran"),
        "ran on the caller"
    );
    let stats = worker.stats();
    assert_eq!(stats.mode, Mode::Inline);
    assert_eq!((stats.inline.threads_refused, stats.offloaded), (1, 0));
}

#[test]
fn fallback_queues_on_live_threads_when_new_ones_are_refused() {
    let jobs = if cfg!(miri) { 4 } else { 12 };
    let deny = Deny::after(2);
    let worker = Fallback::new(ThreadPool::builder().spawner(deny.clone()).build());
    let gate = Gate::new();
    // Two busy threads, then more jobs than threads: creation is refused, so they queue.
    let mut busy: Vec<_> = (0..2).map(|_| spawn(&worker, gate.job())).collect();
    gate.started(2); // a thread may take its time to start; until then the other could take both
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..jobs).map(|_| AtomicUsize::new(0)).collect());
    let mut queued: Vec<_> = (0..jobs)
        .map(|i| {
            let runs = Arc::clone(&runs);
            spawn(&worker, move || {
                runs[i].fetch_add(1, Ordering::SeqCst);
                thread_name()
            })
        })
        .collect();
    assert!(
        queued
            .iter()
            .all(|h| h.execution() == Some(Execution::Offloaded))
    );
    assert_eq!(worker.stats().mode, Mode::LiveThreadsOnly);
    gate.open(2);
    let mut names: Vec<String> = busy
        .iter_mut()
        .chain(queued.iter_mut())
        .map(|h| wait(&worker, h).expect("no panic"))
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names, ["evloop-blocking-1", "evloop-blocking-2"]);
    assert!(
        runs.iter().all(|r| r.load(Ordering::SeqCst) == 1),
        "each job ran exactly once"
    );
    let stats = worker.stats();
    assert_eq!(stats.offloaded, 2 + jobs as u64);
    assert_eq!((stats.threads_spawned, stats.inline.total()), (2, 0));
    assert_eq!(stats.spawn_failures, deny.refused());
}

#[test]
fn fallback_offloads_again_once_thread_creation_works() {
    let deny = Deny::always();
    let worker = Fallback::new(ThreadPool::builder().spawner(deny.clone()).build());
    let mut first = spawn(&worker, thread_name);
    assert_eq!(
        first.execution(),
        Some(Execution::Inline(InlineReason::ThreadsRefused))
    );
    wait(&worker, &mut first).expect("ran");
    deny.lift();
    let mut second = spawn(&worker, thread_name);
    assert_eq!(second.execution(), Some(Execution::Offloaded));
    assert_eq!(
        wait(&worker, &mut second).expect("ran"),
        "evloop-blocking-1"
    );
    assert_eq!(worker.stats().mode, Mode::Offloading);
}

/// A pool with one thread held busy at a gate and one job queued behind it.
fn full_pool(policy: QueueFull) -> (ThreadPool, Gate, Vec<BlockingHandle<String>>) {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .queue_capacity(1)
        .when_full(policy)
        .build();
    let gate = Gate::new();
    let busy = spawn(&pool, gate.job());
    gate.started(1);
    let handles = vec![busy, spawn(&pool, thread_name)];
    assert_eq!(pool.stats().queue_len, 1);
    (pool, gate, handles)
}

#[test]
fn a_full_queue_rejects_under_reject() {
    let (pool, gate, mut handles) = full_pool(QueueFull::Reject);
    let (_, refused) = submit(&pool, || 3);
    assert!(matches!(
        refused,
        Some(BlockingError::QueueFull { capacity: 1 })
    ));
    gate.open(1);
    for h in &mut handles {
        wait(&pool, h).expect("the accepted jobs still run");
    }
    assert_eq!(pool.stats().rejected, 1);
}

#[test]
fn a_full_queue_runs_the_job_here_under_run_inline() {
    let (pool, gate, mut handles) = full_pool(QueueFull::RunInline);
    let caller = thread::current().id();
    let mut h = spawn(&pool, move || thread::current().id() == caller);
    assert_eq!(
        h.execution(),
        Some(Execution::Inline(InlineReason::QueueFull))
    );
    assert!(wait(&pool, &mut h).expect("ran"));
    gate.open(1);
    for h in &mut handles {
        wait(&pool, h).expect("ran");
    }
    assert_eq!(pool.stats().inline.queue_full, 1);
}

#[test]
fn a_full_queue_makes_the_caller_wait_for_room_under_wait() {
    let (pool, gate, mut handles) = full_pool(QueueFull::Wait);
    let mut waiting = spawn(&pool, thread_name);
    assert_eq!(waiting.execution(), None, "not placed: it waits for room");
    let (wakes, waker) = park_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(waiting.poll_with(&pool, &mut cx).is_pending());
    assert_eq!(wakes.wakes.load(Ordering::SeqCst), 0);
    gate.open(1); // the thread finishes, takes the queued job: room, and our waker is woken
    expect_wake(&wakes);
    assert_eq!(wait(&pool, &mut waiting).expect("ran"), "evloop-blocking-1");
    assert_eq!(waiting.execution(), Some(Execution::Offloaded));
    for h in &mut handles {
        wait(&pool, h).expect("ran");
    }
    assert!(pool.stats().waited_for_room >= 1);
}

#[test]
fn a_queue_full_of_jobs_for_live_threads_wakes_the_waiter_too() {
    // One thread, no more allowed: the queue fills while creation is refused (step 2), not at
    // max_threads (step 4), and the waiter must still hear about room.
    let worker = Fallback::new(
        ThreadPool::builder()
            .queue_capacity(1)
            .spawner(Deny::after(1))
            .build(),
    );
    let gate = Gate::new();
    let mut busy = spawn(&worker, gate.job());
    gate.started(1);
    let mut queued = spawn(&worker, thread_name);
    let mut waiting = spawn(&worker, thread_name);
    assert_eq!(waiting.execution(), None, "queue full: waits for room");
    let (wakes, waker) = park_waker();
    assert!(
        waiting
            .poll_with(&worker, &mut Context::from_waker(&waker))
            .is_pending()
    );
    gate.open(1);
    expect_wake(&wakes);
    for h in [&mut busy, &mut queued, &mut waiting] {
        assert_eq!(wait(&worker, h).expect("ran"), "evloop-blocking-1");
    }
    assert_eq!(waiting.execution(), Some(Execution::Offloaded));
}

#[test]
fn dropping_a_waiting_handle_drops_its_job_unrun() {
    let (pool, gate, mut handles) = full_pool(QueueFull::Wait);
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&ran);
    drop(spawn(&pool, move || counted.fetch_add(1, Ordering::SeqCst)));
    gate.open(1);
    for h in &mut handles {
        wait(&pool, h).expect("ran");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// A pool with one thread, no queue, the thread held at a gate, and two jobs waiting for room
/// whose tasks have polled (so both are in the pool's line, first then second).
fn two_waiting_for_one_thread() -> (ThreadPool, Gate, BlockingHandle<String>, Waiting, Waiting) {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .queue_capacity(0)
        .when_full(QueueFull::Wait)
        .build();
    let gate = Gate::new();
    let busy = spawn(&pool, gate.job());
    gate.started(1);
    let first = Waiting::new(&pool);
    let second = Waiting::new(&pool);
    (pool, gate, busy, first, second)
}

/// A job waiting for room, and the waker its task left with the pool.
struct Waiting {
    /// The handle holding the job.
    handle: BlockingHandle<String>,
    /// Counts the pool's wakes of this one.
    wakes: Arc<ParkWaker>,
}

impl Waiting {
    /// Submits a job to a full `pool` and polls it once, as its task would.
    fn new(pool: &ThreadPool) -> Waiting {
        let mut handle = spawn(pool, thread_name);
        assert_eq!(handle.execution(), None, "no room: it waits");
        let (wakes, waker) = park_waker();
        let polled = handle.poll_with(pool, &mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "still no room");
        Waiting { handle, wakes }
    }

    /// Wakes so far.
    fn wakes(&self) -> usize {
        self.wakes.wakes.load(Ordering::SeqCst)
    }
}

#[test]
fn issue_18_a_thread_back_from_a_job_wakes_one_waiter_even_without_a_queue() {
    // No queue: the free place is the thread itself, going idle. The pool used to wake waiters
    // only when it took a job off the queue, so here they waited forever.
    let (pool, gate, mut busy, mut first, second) = two_waiting_for_one_thread();
    gate.open(1);
    expect_wake(&first.wakes);
    assert_eq!(second.wakes(), 0, "one free thread, one wake");
    assert_eq!(
        wait(&pool, &mut first.handle).expect("ran"),
        "evloop-blocking-1"
    );
    expect_wake(&second.wakes); // the thread is back from the first one's job
    let mut second = second;
    wait(&pool, &mut second.handle).expect("ran");
    wait(&pool, &mut busy).expect("ran");
    assert_eq!(pool.stats().room_wakes, 2);
}

#[test]
fn issue_18_a_woken_waiter_that_gives_up_passes_its_place_on() {
    let (pool, gate, mut busy, first, second) = two_waiting_for_one_thread();
    gate.open(1);
    expect_wake(&first.wakes);
    assert_eq!(second.wakes(), 0);
    // Its task is gone (a timeout dropped the handle, say) before it used the place it was woken
    // for. Without passing it on, nothing would ever wake the second: the thread stays idle.
    drop(first);
    expect_wake(&second.wakes);
    let mut second = second;
    wait(&pool, &mut second.handle).expect("ran");
    wait(&pool, &mut busy).expect("ran");
    assert_eq!(pool.stats().room_wakes, 2);
}

#[test]
fn issue_18_a_waiter_that_gives_up_before_its_turn_costs_no_wake() {
    let (pool, gate, mut busy, first, second) = two_waiting_for_one_thread();
    let first_wakes = Arc::clone(&first.wakes);
    drop(first);
    gate.open(1);
    expect_wake(&second.wakes);
    let mut second = second;
    wait(&pool, &mut second.handle).expect("ran");
    wait(&pool, &mut busy).expect("ran");
    assert_eq!(first_wakes.wakes.load(Ordering::SeqCst), 0);
    assert_eq!(pool.stats().room_wakes, 1);
}

#[test]
fn a_detached_job_still_runs() {
    let pool = ThreadPool::new();
    let (tx, rx) = mpsc::channel();
    drop(spawn(&pool, move || tx.send("done").expect("receiver")));
    assert_eq!(rx.recv_timeout(PATIENCE), Ok("done"));
}

#[test]
fn dropping_the_pool_cancels_queued_jobs_and_does_not_wait_for_running_ones() {
    let (pool, gate, mut handles) = full_pool(QueueFull::Wait);
    let (dropped_tx, dropped_rx) = mpsc::channel();
    thread::spawn(move || {
        drop(pool);
        dropped_tx.send(()).expect("test alive");
    });
    // The gate is still closed, so a drop that waited for the running job would never finish.
    dropped_rx
        .recv_timeout(PATIENCE)
        .expect("the pool drop returned without waiting");
    let inline = Inline::new(); // only for `poll_with`; placed handles never call it
    assert!(
        wait(&inline, &mut handles[1])
            .expect_err("queued")
            .is_cancelled()
    );
    gate.open(1);
    let name = wait(&inline, &mut handles[0]).expect("the running job completed");
    assert_eq!(name, "evloop-blocking-1");
}

#[test]
fn an_idle_thread_exits_after_keep_alive() {
    let (spawner, exits) = tracked(u64::MAX);
    let pool = ThreadPool::builder()
        .keep_alive(Duration::ZERO)
        .spawner(spawner)
        .build();
    let mut h = spawn(&pool, thread_name);
    wait(&pool, &mut h).expect("ran");
    assert_eq!(
        exits.recv_timeout(PATIENCE).as_deref(),
        Ok("evloop-blocking-1")
    );
    assert_eq!(pool.stats().threads_alive, 0);
    // The next job gets a new thread.
    let mut h = spawn(&pool, thread_name);
    assert_eq!(wait(&pool, &mut h).expect("ran"), "evloop-blocking-2");
}

#[test]
fn while_creation_is_refused_idle_threads_stay() {
    let (spawner, _exits) = tracked(1);
    let worker = Fallback::new(
        ThreadPool::builder()
            .keep_alive(Duration::ZERO)
            .spawner(spawner)
            .build(),
    );
    let gate = Gate::new();
    let mut first = spawn(&worker, gate.job());
    let mut second = spawn(&worker, thread_name); // refused a thread: queued behind `first`
    gate.open(1);
    wait(&worker, &mut first).expect("ran");
    wait(&worker, &mut second).expect("ran");
    // With keep_alive 0 the thread would exit now, and this job would run inline.
    let mut third = spawn(&worker, thread_name);
    assert_eq!(third.execution(), Some(Execution::Offloaded));
    assert_eq!(wait(&worker, &mut third).expect("ran"), "evloop-blocking-1");
}

#[test]
fn a_job_dropped_unrun_resolves_to_cancelled() {
    let (job, completion) = Job::new(|| 1);
    drop(job);
    let (_, waker) = park_waker();
    let result = completion.poll_result(&mut Context::from_waker(&waker));
    assert!(matches!(result, Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn the_probe_keeps_no_thread_and_names_the_refusal() {
    let deny = Deny::after(u64::MAX);
    let pool = ThreadPool::builder().spawner(deny.clone()).build();
    assert_eq!(
        pool.probe().to_string(),
        "blocking work: offloaded to threads"
    );
    let stats = pool.stats();
    assert_eq!(
        (deny.granted(), stats.threads_spawned, stats.threads_alive),
        (1, 0, 0)
    );
    assert_eq!(stats.probe.map(|p| p.mode), Some(Mode::Offloading));

    let fallback = Fallback::new(ThreadPool::builder().spawner(Deny::always()).build());
    let probe = fallback.probe();
    assert_eq!(probe.mode, Mode::Inline);
    let eagain = std::io::Error::from_raw_os_error(libc::EAGAIN); // "Resource temporarily ..."
    let expected = format!("runs inline — thread creation refused: {eagain}");
    assert!(probe.to_string().contains(&expected), "{probe}");
    assert_eq!(fallback.stats().spawn_failures, 1);

    let bare = ThreadPool::builder().spawner(Deny::always()).build();
    assert_eq!(bare.probe().mode, Mode::Refusing);
    assert_eq!(Inline::new().probe().mode, Mode::Inline);
}

#[test]
fn the_inline_worker_runs_every_job_here_and_counts_it() {
    let worker = Inline::new();
    let caller = thread::current().id();
    let mut h = spawn(&worker, move || thread::current().id() == caller);
    assert_eq!(h.execution(), Some(Execution::Inline(InlineReason::Chosen)));
    assert!(wait(&worker, &mut h).expect("ran"));
    let mut bad = spawn(&worker, || -> () { panic!("inline boom") });
    assert_eq!(
        wait(&worker, &mut bad)
            .expect_err("panicked")
            .panic_message(),
        Some("inline boom")
    );
    let stats = worker.stats();
    assert_eq!((stats.inline.chosen, stats.mode), (2, Mode::Inline));
}

#[test]
fn stats_print_as_a_small_table() {
    let worker = Fallback::new(ThreadPool::builder().spawner(Deny::always()).build());
    worker.probe();
    let mut h = spawn(&worker, || ());
    wait(&worker, &mut h).expect("ran");
    let text = worker.stats().to_string();
    assert!(
        text.starts_with("evloop worker stats: running inline on the loop thread"),
        "{text}"
    );
    assert!(
        text.contains("inline     1 (chosen 0, threads refused 1, queue full 0)"),
        "{text}"
    );
    assert!(text.contains("spawn failures 2"), "{text}");
}
