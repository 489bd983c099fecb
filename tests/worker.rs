//! The worker in a running loop: offloading keeps the loop free, inline blocks it, denied threads
//! fall back (and say so once), panics become `JoinError`s, full queues follow their policy.
//!
//! Thread denial here is mostly `Deny`, the in-process simulation, so these tests run everywhere
//! (Miri included); `real_denial` at the end makes the OS itself refuse, with seccomp, in a child
//! process. This binary installs a logger that records each message with the thread that logged
//! it, so a test counts only what its own loop said.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use evloop::sync::mpsc;
use evloop::time::{sleep, timeout};
use evloop::worker::{
    BlockingError, Deny, Execution, Fallback, Inline, InlineReason, Mode, QueueFull, ThreadPool,
    Worker, try_spawn_blocking,
};
use evloop::{Runtime, spawn, spawn_blocking};

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// One captured log record.
struct Record {
    /// The thread that logged it.
    thread: ThreadId,
    /// Its level.
    level: log::Level,
    /// Its text.
    message: String,
}

/// Keeps every record at info or above in memory.
struct CaptureLogger;

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static LOGGER: CaptureLogger = CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS.lock().expect("log lock").push(Record {
                thread: thread::current().id(),
                level: record.level(),
                message: record.args().to_string(),
            });
        }
    }
    fn flush(&self) {}
}

/// Messages at `level` logged by this thread so far.
fn logged_here(level: log::Level) -> Vec<String> {
    let me = thread::current().id();
    RECORDS
        .lock()
        .expect("log lock")
        .iter()
        .filter(|r| r.thread == me && r.level == level)
        .map(|r| r.message.clone())
        .collect()
}

/// A runtime whose blocking jobs go to `worker`, with the capturing logger installed.
fn runtime_with(worker: impl Worker + 'static) -> Runtime {
    builder_with(worker)
        .build()
        .expect("epoll and eventfd are available")
}

/// The builder of [`runtime_with`], for a test that sets one more knob.
fn builder_with(worker: impl Worker + 'static) -> evloop::runtime::Builder {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    Runtime::builder()
        .worker(worker)
        // These tests count the worker's warnings. The loop's own slow-poll warning (tested in
        // tests/visibility.rs) would add one per long poll — and under Miri every poll is slow.
        .slow_poll_threshold(None)
}

/// EAGAIN as this platform words it: "Resource temporarily unavailable (os error 11)" on Linux.
fn eagain() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::EAGAIN)
}

/// A `Fallback` whose pool creates threads through `deny`.
fn fallback(deny: &Deny) -> Fallback {
    Fallback::new(ThreadPool::builder().spawner(deny.clone()).build())
}

/// Ticks every 10 ms until `stop` is set; returns the latest any tick ran after it was due.
async fn heartbeat(stop: Rc<Cell<bool>>) -> Duration {
    let mut worst = Duration::ZERO;
    while !stop.get() {
        let due = Instant::now() + Duration::from_millis(10);
        sleep(Duration::from_millis(10)).await;
        worst = worst.max(Instant::now().saturating_duration_since(due));
    }
    worst
}

/// Runs three 300 ms blocking calls while a heartbeat ticks; returns (worst heartbeat lateness,
/// time for all three, where each ran).
fn three_slow_calls(rt: &Runtime) -> (Duration, Duration, Vec<Option<Execution>>) {
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let beat = spawn(heartbeat(stop.clone()));
        sleep(Duration::from_millis(20)).await; // the heartbeat is waiting on its timer now
        let start = Instant::now();
        let handles: Vec<_> = (0..3)
            .map(|i| {
                spawn_blocking(move || {
                    thread::sleep(Duration::from_millis(300)); // the slow LLM call
                    i
                })
            })
            .collect();
        let mut paths = Vec::new();
        for (i, mut handle) in handles.into_iter().enumerate() {
            assert_eq!((&mut handle).await.expect("no panic"), i);
            paths.push(handle.execution());
        }
        let took = start.elapsed();
        stop.set(true);
        (beat.await.expect("heartbeat ends"), took, paths)
    })
}

#[test]
#[cfg_attr(miri, ignore)] // asserts on wall-clock time
fn offloaded_calls_leave_the_heartbeat_on_time_and_overlap() {
    let rt = runtime_with(Fallback::default());
    let (late, took, paths) = three_slow_calls(&rt);
    eprintln!("offloaded: 3 x 300 ms took {took:?}, heartbeat at most {late:?} late");
    assert!(paths.iter().all(|p| *p == Some(Execution::Offloaded)));
    // Bounds that follow from the claim, not from a fast machine: had one call run on the loop,
    // the heartbeat would be at least 300 ms late; had they not overlapped, 900 ms would pass.
    // (The inline test below sees >= 800 ms and >= 900 ms.)
    assert!(late < Duration::from_millis(300), "heartbeat {late:?} late");
    assert!(
        took < Duration::from_millis(900),
        "3 x 300 ms took {took:?}: they did not overlap"
    );
    assert_eq!(rt.worker_stats().offloaded, 3);
}

#[test]
#[cfg_attr(miri, ignore)] // asserts on wall-clock time
fn inline_calls_stop_the_heartbeat_and_run_one_after_another() {
    let rt = runtime_with(Inline::new());
    let (late, took, paths) = three_slow_calls(&rt);
    eprintln!("inline: 3 x 300 ms took {took:?}, heartbeat at most {late:?} late");
    let inline = Some(Execution::Inline(InlineReason::Chosen));
    assert!(paths.iter().all(|p| *p == inline));
    // The three calls ran back to back inside one poll: the heartbeat waited for all of them.
    assert!(
        late >= Duration::from_millis(800),
        "heartbeat only {late:?} late"
    );
    assert!(
        took >= Duration::from_millis(900),
        "3 x 300 ms took {took:?}"
    );
}

#[test]
fn denied_threads_run_jobs_inline_with_one_warning() {
    let deny = Deny::always();
    let rt = runtime_with(fallback(&deny));
    let caller = thread::current().id();
    let results = rt.block_on(async move {
        let mut results = Vec::new();
        for i in 0..5u64 {
            let mut handle = spawn_blocking(move || (i * i, thread::current().id() == caller));
            results.push((&mut handle).await.expect("no panic"));
            assert_eq!(
                handle.execution(),
                Some(Execution::Inline(InlineReason::ThreadsRefused))
            );
        }
        results
    });
    assert_eq!(
        results,
        [(0, true), (1, true), (4, true), (9, true), (16, true)]
    );
    let warnings = logged_here(log::Level::Warn);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let expected = format!(
        "thread creation refused: {}; running blocking work on the event loop thread — the loop is \
         blocked while it runs",
        eagain()
    );
    assert!(warnings[0].starts_with(&expected), "{}", warnings[0]);
    let stats = rt.worker_stats();
    assert_eq!(
        (stats.mode, stats.inline.threads_refused),
        (Mode::Inline, 5)
    );
    assert_eq!(stats.spawn_failures, deny.refused(), "the probe's included");
}

#[test]
fn the_probe_says_where_blocking_work_goes() {
    let rt = runtime_with(fallback(&Deny::always()));
    let probe = rt.worker_stats().probe.expect("probed at build");
    assert_eq!(probe.mode, Mode::Inline);
    let infos = logged_here(log::Level::Info);
    let expected = format!(
        "blocking work: runs inline — thread creation refused: {}",
        eagain()
    );
    assert!(infos.iter().any(|m| m.starts_with(&expected)), "{infos:#?}");
    let rt = runtime_with(Fallback::default());
    assert_eq!(
        rt.worker_stats().probe.map(|p| p.to_string()).as_deref(),
        Some("blocking work: offloaded to threads")
    );
    assert_eq!(
        rt.worker_stats().threads_alive,
        0,
        "no thread before the first job"
    );
}

#[test]
fn without_the_probe_no_thread_is_made_until_a_job_and_a_refusal_is_still_told() {
    let deny = Deny::always();
    let rt = builder_with(fallback(&deny))
        .probe_worker(false)
        .build()
        .expect("runtime");
    let stats = rt.worker_stats();
    assert_eq!(stats.probe, None, "not probed");
    assert_eq!(
        (deny.refused(), stats.threads_spawned),
        (0, 0),
        "no thread asked for"
    );
    assert!(logged_here(log::Level::Warn).is_empty());
    let path = rt.block_on(async {
        let mut handle = spawn_blocking(|| "reply");
        assert_eq!((&mut handle).await.expect("no panic"), "reply");
        handle.execution()
    });
    assert_eq!(path, Some(Execution::Inline(InlineReason::ThreadsRefused)));
    assert_eq!(deny.refused(), 1, "the job asked for the first thread");
    assert_eq!(
        logged_here(log::Level::Warn).len(),
        1,
        "the refusal is told"
    );
    assert_eq!(rt.worker_stats().mode, Mode::Inline);
}

#[test]
fn thread_creation_denied_after_start_up_runs_the_first_job_inline() {
    let deny = Deny::after(1); // the probe's thread is allowed, nothing after it
    let rt = runtime_with(fallback(&deny));
    let path = rt.block_on(async {
        let mut handle = spawn_blocking(|| "reply");
        assert_eq!((&mut handle).await.expect("no panic"), "reply");
        handle.execution()
    });
    assert_eq!(path, Some(Execution::Inline(InlineReason::ThreadsRefused)));
    assert_eq!(logged_here(log::Level::Warn).len(), 1);
}

#[test]
fn a_pool_refused_more_threads_queues_jobs_on_the_ones_it_has() {
    let jobs = if cfg!(miri) { 4 } else { 20 };
    let deny = Deny::after(3); // one for the start-up probe, then two pool threads
    let rt = runtime_with(fallback(&deny));
    let runs = Arc::new(Mutex::new(vec![0u32; jobs]));
    let counted = Arc::clone(&runs);
    let threads = rt.block_on(async move {
        let (gate_tx, gate_rx) = std_mpsc::channel::<()>();
        let gate_rx = Arc::new(Mutex::new(gate_rx));
        let (started_tx, mut started_rx) = mpsc::unbounded_channel();
        // Two jobs hold the two threads until the gate opens.
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let (gate, started) = (Arc::clone(&gate_rx), started_tx.clone());
                spawn_blocking(move || {
                    started.send(()).expect("test alive");
                    let gate = gate.lock().expect("gate lock");
                    gate.recv_timeout(PATIENCE).expect("gate opens");
                    thread::current().id()
                })
            })
            .collect();
        for _ in 0..2 {
            timeout(PATIENCE, started_rx.recv())
                .await
                .expect("busy jobs start");
        }
        let queued: Vec<_> = (0..jobs)
            .map(|i| {
                let runs = Arc::clone(&counted);
                spawn_blocking(move || {
                    runs.lock().expect("runs lock")[i] += 1;
                    thread::current().id()
                })
            })
            .collect();
        assert!(
            queued
                .iter()
                .all(|h| h.execution() == Some(Execution::Offloaded))
        );
        assert_eq!(evloop::worker::stats().mode, Mode::LiveThreadsOnly);
        gate_tx
            .send(())
            .and(gate_tx.send(()))
            .expect("busy jobs wait");
        let mut threads = Vec::new();
        for handle in busy.into_iter().chain(queued) {
            threads.push(
                timeout(PATIENCE, handle)
                    .await
                    .expect("in time")
                    .expect("no panic"),
            );
        }
        threads
    });
    let mut distinct = threads.clone();
    distinct.sort_by_key(|id| format!("{id:?}"));
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "all jobs ran on the two live threads");
    assert!(
        runs.lock().expect("runs lock").iter().all(|n| *n == 1),
        "each ran once"
    );
    let warnings = logged_here(log::Level::Warn);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("queueing blocking work on the pool's 2 live thread(s)"));
    let stats = rt.worker_stats();
    assert_eq!((stats.threads_spawned, stats.inline.total()), (2, 0));
}

#[test]
fn recovery_is_logged_at_info() {
    let deny = Deny::always();
    let rt = runtime_with(fallback(&deny));
    let paths = rt.block_on(async {
        let mut first = spawn_blocking(|| ());
        (&mut first).await.expect("ran");
        deny.lift(); // the container's limit was raised
        let mut second = spawn_blocking(|| ());
        (&mut second).await.expect("ran");
        (first.execution(), second.execution())
    });
    assert_eq!(
        paths,
        (
            Some(Execution::Inline(InlineReason::ThreadsRefused)),
            Some(Execution::Offloaded)
        )
    );
    let infos = logged_here(log::Level::Info);
    assert!(
        infos
            .iter()
            .any(|m| m.starts_with("thread creation works again")),
        "{infos:#?}"
    );
    assert_eq!(rt.worker_stats().mode, Mode::Offloading);
}

#[test]
fn a_panicking_job_gives_a_join_error_and_the_next_job_runs() {
    let rt = runtime_with(Fallback::new(ThreadPool::builder().max_threads(1).build()));
    rt.block_on(async {
        let err = spawn_blocking(|| -> u32 { panic!("client crashed") })
            .await
            .expect_err("panicked");
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("client crashed"));
        assert_eq!(spawn_blocking(|| 7).await.expect("runs"), 7);
    });
    let stats = rt.worker_stats();
    assert_eq!((stats.offloaded, stats.threads_spawned), (2, 1));
}

/// Runs `body` in a runtime whose one pool thread is held at a gate with one job queued behind
/// it, so the next job finds the queue full; then opens the gate and checks those two finish.
fn with_full_queue(policy: QueueFull, body: impl AsyncFnOnce()) -> Runtime {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .queue_capacity(1)
        .when_full(policy);
    let rt = runtime_with(Fallback::new(pool.build()));
    rt.block_on(async {
        let (gate_tx, gate_rx) = std_mpsc::channel::<()>();
        let (started_tx, mut started_rx) = mpsc::unbounded_channel();
        let busy = spawn_blocking(move || {
            started_tx.send(()).expect("test alive");
            gate_rx.recv_timeout(PATIENCE).expect("gate opens");
        });
        timeout(PATIENCE, started_rx.recv())
            .await
            .expect("busy job starts");
        let queued = spawn_blocking(|| ());
        body().await;
        gate_tx.send(()).expect("busy job waits");
        busy.await.expect("busy job ends");
        queued.await.expect("queued job ends");
    });
    rt
}

#[test]
fn a_full_queue_under_reject_refuses_the_job() {
    let rt = with_full_queue(QueueFull::Reject, async || {
        let err = try_spawn_blocking(|| ()).expect_err("queue full");
        assert!(matches!(err, BlockingError::QueueFull { capacity: 1 }));
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::ResourceBusy);
        // The plain form gives a handle that resolves to "cancelled": the job never ran.
        let err = spawn_blocking(|| ()).await.expect_err("refused");
        assert!(err.is_cancelled());
    });
    assert_eq!(rt.worker_stats().rejected, 2);
}

#[test]
fn a_full_queue_under_run_inline_runs_the_job_on_the_loop() {
    let rt = with_full_queue(QueueFull::RunInline, async || {
        let loop_thread = thread::current().id();
        let mut handle = spawn_blocking(move || thread::current().id() == loop_thread);
        assert!((&mut handle).await.expect("ran"), "ran on the loop thread");
        assert_eq!(
            handle.execution(),
            Some(Execution::Inline(InlineReason::QueueFull))
        );
    });
    assert_eq!(rt.worker_stats().inline.queue_full, 1);
}

#[test]
fn a_full_queue_under_wait_holds_the_caller_until_there_is_room() {
    let waiting = Rc::new(Cell::new(None));
    let hold = waiting.clone();
    let rt = with_full_queue(QueueFull::Wait, async move || {
        let handle = spawn_blocking(|| "finally");
        assert_eq!(handle.execution(), None, "no room yet: not placed");
        // Await it after the gate opens (the helper opens it after this body returns).
        hold.set(Some(spawn(async move {
            let mut handle = handle;
            let value = (&mut handle).await.expect("ran");
            (value, handle.execution())
        })));
    });
    let task = waiting.take().expect("spawned");
    let (value, path) = rt.block_on(task).expect("task ends");
    assert_eq!((value, path), ("finally", Some(Execution::Offloaded)));
    assert!(rt.worker_stats().waited_for_room >= 1);
}

#[test]
#[cfg_attr(miri, ignore)] // 20 000 tasks and real threads: minutes under Miri
fn issue_18_one_wake_per_blocking_job() {
    // Many tasks, each awaiting one blocking job, on 4 threads and a queue of 16: nearly all of
    // them wait for room. Each place a thread frees serves one job, so the pool should wake one
    // waiting task per job at most. It used to wake every waiting task each time it took a job
    // off the queue: 35 wakes per job with 100 000 tasks (`cargo bench --bench micro -- room`).
    const TASKS: usize = 20_000;
    let pool = ThreadPool::builder()
        .max_threads(4)
        .queue_capacity(16)
        .when_full(QueueFull::Wait)
        .build();
    let rt = runtime_with(pool);
    let done = rt.block_on(timeout(PATIENCE, async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                spawn(async move {
                    // Slow enough, next to a poll, that the queue stays full while tasks pile up.
                    spawn_blocking(move || {
                        thread::sleep(Duration::from_micros(20));
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.expect("not aborted").expect("the job ran");
        }
        sum
    }));
    assert_eq!(done, Ok((0..TASKS).sum::<usize>()), "every job ran once");
    let stats = rt.worker_stats();
    assert!(stats.waited_for_room > 0, "the queue was full: {stats}");
    assert!(
        stats.room_wakes <= TASKS as u64,
        "{} wakes of waiting tasks for {TASKS} jobs: {stats}",
        stats.room_wakes
    );
}

#[test]
fn inline_runs_a_producer_submitted_before_its_consumer() {
    // The safe order of the deadlock trap: producer first. The other order would block the loop
    // in `recv` forever (here: until the timeout, which the test would report as a failure).
    let rt = runtime_with(Inline::new());
    let got = rt.block_on(async {
        let (tx, rx) = std_mpsc::channel();
        let producer = spawn_blocking(move || tx.send("token").expect("receiver alive"));
        let consumer = spawn_blocking(move || rx.recv_timeout(PATIENCE));
        producer.await.expect("sent");
        consumer.await.expect("no panic")
    });
    assert_eq!(got, Ok("token"));
}

#[test]
#[should_panic(expected = "evloop::spawn_blocking must be used inside an evloop runtime")]
fn spawn_blocking_outside_a_runtime_panics_with_a_hint() {
    drop(spawn_blocking(|| ()));
}

/// The real thing: the OS itself refuses threads (seccomp, `evloop::sandbox`). A filter cannot be
/// removed, so the test re-executes this binary to run itself alone in a child process:
///
/// ```text
/// parent: <this binary> --exact <test> --nocapture --test-threads=1, EVLOOP_WORKER_CHILD=1
/// child:  builds a runtime (probe: offloaded), denies threads, runs jobs, prints "child: ..."
/// parent: waits (killing the child after a deadline), checks exit status and markers
/// ```
#[cfg(target_os = "linux")]
mod real_denial {
    use std::time::Duration;

    use evloop::worker::{Execution, InlineReason, Mode};
    use evloop::{sandbox, spawn_blocking};

    /// Set in the child: do the real work.
    const CHILD_ENV: &str = "EVLOOP_WORKER_CHILD";
    /// This test's name as libtest knows it.
    const NAME: &str = "real_denial::denied_by_the_os_the_default_worker_runs_inline_and_says_so";

    // Spawns a child process and installs seccomp in it: Miri supports neither.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn denied_by_the_os_the_default_worker_runs_inline_and_says_so() {
        if !sandbox::is_supported() {
            return; // seccomp thread denial exists for Linux x86_64/aarch64 only
        }
        if std::env::var_os(CHILD_ENV).is_some() {
            return child();
        }
        let (ok, stdout, stderr) =
            super::util::run_test_in_child(NAME, CHILD_ENV, Duration::from_secs(60));
        let report = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
        assert!(ok, "child failed\n{report}");
        for marker in [
            "child: probe before denial: blocking work: offloaded to threads",
            "child: job ran Inline(ThreadsRefused), result 42",
            "child: 1 warning: thread creation refused: Resource temporarily unavailable (os error \
             11); running blocking work on the event loop thread",
            "child: probe after denial: blocking work: runs inline — thread creation refused",
        ] {
            assert!(stdout.contains(marker), "no {marker:?}\n{report}");
        }
    }

    /// The child: a runtime built while threads are allowed, then denied before its first job.
    fn child() {
        let rt = super::runtime_with(evloop::worker::Fallback::default());
        let probe = rt.worker_stats().probe.expect("probed");
        println!("child: probe before denial: {probe}");
        sandbox::deny_thread_creation().expect("seccomp filter installs");
        let (value, path) = rt.block_on(async {
            let mut handle = spawn_blocking(|| 6 * 7);
            ((&mut handle).await.expect("no panic"), handle.execution())
        });
        assert_eq!(path, Some(Execution::Inline(InlineReason::ThreadsRefused)));
        println!("child: job ran Inline(ThreadsRefused), result {value}");
        let warnings = super::logged_here(log::Level::Warn);
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        println!("child: 1 warning: {}", warnings[0]);
        let rt = super::runtime_with(evloop::worker::Fallback::default());
        let probe = rt.worker_stats().probe.expect("probed");
        assert_eq!(probe.mode, Mode::Inline);
        println!("child: probe after denial: {probe}");
    }
}
