//! Seeing the loop: the blocked-loop warning, loop lag and wake lag, utilization, exact counters.
//!
//! This test binary installs its own logger that records every message with the thread that
//! logged it, so each test looks only at what its own loop said, even with tests in parallel.

use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use evloop::time::sleep;
use evloop::{Runtime, spawn, spawn_named, task::yield_now};

/// One captured log record.
struct Record {
    thread: ThreadId,
    level: log::Level,
    target: String,
    message: String,
}

/// Keeps every record in memory.
struct CaptureLogger;

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static LOGGER: CaptureLogger = CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS.lock().expect("log lock").push(Record {
                thread: std::thread::current().id(),
                level: record.level(),
                target: record.target().to_string(),
                message: record.args().to_string(),
            });
        }
    }
    fn flush(&self) {}
}

fn install_logger() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Warnings logged by the current thread whose message contains `needle`.
fn warnings_here(needle: &str) -> Vec<String> {
    let me = std::thread::current().id();
    RECORDS
        .lock()
        .expect("log lock")
        .iter()
        .filter(|r| r.thread == me && r.level == log::Level::Warn && r.message.contains(needle))
        .map(|r| format!("{}: {}", r.target, r.message))
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn a_200ms_blocking_poll_is_named_in_a_warning() {
    install_logger();
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        spawn_named("handle_request", async {
            std::thread::sleep(Duration::from_millis(200));
        })
        .await
        .expect("completes");
    });
    let warnings = warnings_here("blocked the event loop");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("task 1 (handle_request) blocked the event loop for 0.2"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].starts_with("evloop::executor::blocked_loop"),
        "{warnings:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn a_1ms_poll_stays_quiet() {
    install_logger();
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        spawn(async {
            std::thread::sleep(Duration::from_millis(1));
        })
        .await
        .expect("completes");
    });
    assert_eq!(
        warnings_here("blocked the event loop"),
        Vec::<String>::new()
    );
    assert_eq!(rt.stats().slow_polls, 0);
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn an_unnamed_task_is_named_by_its_spawn_location() {
    install_logger();
    let rt = Runtime::builder()
        .slow_poll_threshold(Some(Duration::from_millis(20)))
        .build()
        .expect("runtime");
    rt.block_on(async {
        spawn(async { std::thread::sleep(Duration::from_millis(30)) })
            .await
            .expect("completes");
    });
    let warnings = warnings_here("blocked the event loop");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("(spawned at tests/visibility.rs:"),
        "{warnings:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn the_detector_can_be_turned_off() {
    install_logger();
    let rt = Runtime::builder()
        .slow_poll_threshold(None)
        .build()
        .expect("runtime");
    rt.block_on(async {
        spawn(async { std::thread::sleep(Duration::from_millis(120)) })
            .await
            .expect("completes");
    });
    assert!(warnings_here("blocked the event loop").is_empty());
    assert!(rt.stats().longest_poll >= Duration::from_millis(120));
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn lag_shows_a_task_starved_by_a_blocking_neighbour() {
    install_logger();
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        // Both tasks are woken in the same turn; the first one blocks for 150 ms, so the second
        // waits 150 ms between its wake and its poll.
        let blocker = spawn(async {
            yield_now().await;
            std::thread::sleep(Duration::from_millis(150));
        });
        let victim = spawn(async {
            yield_now().await;
        });
        blocker.await.expect("blocker");
        victim.await.expect("victim");
    });
    let lag = rt.stats().wake_lag;
    assert!(
        lag.max() >= Duration::from_millis(150),
        "max lag {:?}",
        lag.max()
    );
    assert_eq!(lag.at_least(Duration::from_millis(100)), 1, "{lag:?}");
}

/// Issue 15: `cargo run --example tour` blocked the loop for 250 ms and reported a wake-to-poll
/// lag of 0.013 ms, because the timers it delayed were only woken after the blocking poll. The
/// sampled loop lag (a virtual 10 ms timer) sees the block.
#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn issue_15_loop_lag_sees_a_blocking_poll_that_wake_lag_misses() {
    install_logger();
    let rt = Runtime::builder()
        .slow_poll_threshold(None)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let heartbeat = spawn(sleep(Duration::from_millis(50)));
        let blocker = spawn(async {
            sleep(Duration::from_millis(10)).await;
            std::thread::sleep(Duration::from_millis(200)); // holds the loop
        });
        blocker.await.expect("blocker");
        heartbeat.await.expect("heartbeat");
    });
    let s = rt.stats();
    assert!(s.loop_lag.max() >= Duration::from_millis(150), "{s}");
    assert!(s.loop_lag.count() >= 2, "{s}");
    assert!(
        s.wake_lag.max() < s.loop_lag.max() / 2,
        "the timer's task was woken after the block, so its wake lag is short: {s}"
    );
    assert!(s.to_string().contains("loop lag (sampled"), "{s}");
}

#[test]
#[cfg_attr(miri, ignore)] // sleeps for real time
fn an_idle_loop_has_no_loop_lag_is_not_woken_by_the_sampler_and_is_not_utilized() {
    let rt = Runtime::new().expect("runtime");
    let before = rt.stats();
    rt.block_on(sleep(Duration::from_millis(300)));
    let delta = rt.stats().since(&before);
    assert!(delta.elapsed >= Duration::from_millis(300), "{delta:?}");
    // 300 ms of virtual 10 ms ticks, all inside the park: on time.
    assert!(delta.loop_lag.count() >= 20, "{delta:?}");
    assert!(
        delta.loop_lag.max() < Duration::from_millis(20),
        "{delta:?}"
    );
    assert!(
        delta.turns < 10,
        "the sampler never wakes the loop: {delta:?}"
    );
    assert!(delta.utilization() < 0.5, "{}", delta.utilization());
    assert!(delta.parked >= Duration::from_millis(250), "{delta:?}");
}

#[test]
#[cfg_attr(miri, ignore)] // spins for real time
fn a_loop_that_never_parks_is_fully_utilized() {
    let rt = Runtime::new().expect("runtime");
    let before = rt.stats();
    rt.block_on(async {
        let end = Instant::now() + Duration::from_millis(100);
        while Instant::now() < end {
            yield_now().await;
        }
    });
    let delta = rt.stats().since(&before);
    assert!(delta.utilization() > 0.5, "{delta:?}");
    assert!(delta.polls > 100, "{delta:?}");
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn timer_lateness_shows_a_blocked_heartbeat() {
    install_logger();
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let heartbeat = spawn(sleep(Duration::from_millis(10)));
        yield_now().await; // the heartbeat registers its timer
        std::thread::sleep(Duration::from_millis(120)); // the block_on future blocks the loop
        heartbeat.await.expect("heartbeat");
    });
    let stats = rt.stats();
    assert!(
        stats.worst_timer_lateness >= Duration::from_millis(100),
        "{stats}"
    );
    assert_eq!(
        stats.longest_poll_task, None,
        "the block_on future made the longest poll"
    );
    assert_eq!(warnings_here("the block_on future blocked").len(), 1);
}

#[test]
fn counters_match_spawns_and_wakes_exactly() {
    install_logger();
    let rt = Runtime::new().expect("runtime");
    const N: u64 = 20;
    const M: u64 = 3;
    rt.block_on(async {
        let handles: Vec<_> = (0..N)
            .map(|_| {
                spawn(async {
                    for _ in 0..M {
                        yield_now().await; // one local wake each
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.expect("completes");
        }
    });
    let s = rt.stats();
    assert_eq!(s.spawned, N);
    assert_eq!(s.completed, N);
    assert_eq!(s.tasks_alive, 0);
    assert_eq!(s.remote_wakes, 0);
    assert_eq!(s.timers_fired, 0);
    assert_eq!(s.io_events, 0);
    // Each task: polled M + 1 times (spawn, then once per yield).
    let task_polls = N * (M + 1);
    assert_eq!(s.wake_lag.count(), task_polls);
    // Wakes: each yield wakes its task (N * M); each finishing task wakes the block_on future
    // through its JoinHandle only while block_on waits on that handle — which is not a task wake.
    assert_eq!(s.local_wakes, N * M);
    let text = s.to_string();
    assert!(
        text.contains("spawned") && text.contains("wake -> poll"),
        "{text}"
    );
}
