//! Seeing the loop: the blocked-loop warning, loop lag and wake lag, utilization, exact counters.
//!
//! This test binary installs its own logger that records every message with the thread that
//! logged it, so each test looks only at what its own loop said, even with tests in parallel.
//!
//! The detector, the lag and the timer lateness are measured on the loop's clock, so most tests
//! run on paused time and "block the loop" with `evloop::test::block_for`: exact numbers, no
//! real waiting, no warning from a machine that happens to be loaded. One test keeps a real
//! blocking call, with a lower bound only.

mod captured_log;
mod util;

use std::time::Duration;

use evloop::time::sleep;
use evloop::{Runtime, spawn, spawn_named, task::yield_now};

/// A runtime whose clock starts paused, warning from `threshold` (default 100 ms).
fn paused_runtime(threshold: Option<Duration>) -> Runtime {
    captured_log::install();
    Runtime::builder()
        .start_paused(true)
        .slow_poll_threshold(threshold)
        .build()
        .expect("runtime")
}

/// Runs `test` on a thread of its own, failing it after 10 s of real time instead of hanging.
/// (The logger tells threads apart, so the test reads its warnings inside `test`.)
fn within_10s(test: impl FnOnce() + Send + 'static) {
    util::within_real(Duration::from_secs(10), test);
}

// The detector's logic runs on paused time: `evloop::test::block_for(d)` makes a poll that
// "blocks the loop" for exactly `d`, instantly, so thresholds and durations are exact and no
// loaded machine can add a warning. One test below keeps a real blocking call.

#[test]
fn a_200ms_blocking_poll_is_named_in_a_warning() {
    within_10s(|| {
        let rt = paused_runtime(Some(Duration::from_millis(100)));
        rt.block_on(async {
            spawn_named("handle_request", async {
                evloop::test::block_for(Duration::from_millis(200));
            })
            .await
            .expect("completes");
        });
        let warnings = captured_log::warnings_here("blocked the event loop");
        assert_eq!(
            warnings,
            [
                "evloop::executor::blocked_loop: task 1 (handle_request) blocked the event loop for \
              0.200 s"
            ]
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn a_real_blocking_call_is_named_too() {
    within_10s(|| {
        captured_log::install();
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            spawn_named("handle_request", async {
                std::thread::sleep(Duration::from_millis(200));
            })
            .await
            .expect("completes");
        });
        // The task polls once, so it is named once; a loaded machine may only make it longer.
        let warnings =
            captured_log::warnings_here("task 1 (handle_request) blocked the event loop for ");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let seconds: f64 = warnings[0]
            .rsplit("for ")
            .next()
            .and_then(|s| s.trim_end_matches(" s").parse().ok())
            .expect("a duration in seconds");
        assert!(seconds >= 0.2, "{warnings:?}");
        assert!(rt.stats().longest_poll >= Duration::from_millis(200));
    });
}

#[test]
fn the_threshold_is_exact_a_99ms_poll_stays_quiet_and_100ms_warns() {
    within_10s(|| {
        let rt = paused_runtime(Some(Duration::from_millis(100)));
        rt.block_on(async {
            spawn(async { evloop::test::block_for(Duration::from_millis(99)) })
                .await
                .expect("completes");
        });
        assert_eq!(
            captured_log::warnings_here("blocked the event loop"),
            Vec::<String>::new()
        );
        assert_eq!(rt.stats().slow_polls, 0);
        assert_eq!(rt.stats().longest_poll, Duration::from_millis(99));
        rt.block_on(async {
            spawn(async { evloop::test::block_for(Duration::from_millis(100)) })
                .await
                .expect("completes");
        });
        assert_eq!(
            captured_log::warnings_here("blocked the event loop").len(),
            1
        );
        assert_eq!(rt.stats().slow_polls, 1);
    });
}

#[test]
fn an_unnamed_task_is_named_by_its_spawn_location() {
    within_10s(|| {
        let rt = paused_runtime(Some(Duration::from_millis(20)));
        rt.block_on(async {
            spawn(async { evloop::test::block_for(Duration::from_millis(30)) })
                .await
                .expect("completes");
        });
        let warnings = captured_log::warnings_here("blocked the event loop");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("(spawned at tests/visibility.rs:")
                && warnings[0].ends_with("blocked the event loop for 0.030 s"),
            "{warnings:?}"
        );
    });
}

#[test]
fn the_detector_can_be_turned_off() {
    within_10s(|| {
        let rt = paused_runtime(None);
        rt.block_on(async {
            spawn(async { evloop::test::block_for(Duration::from_millis(120)) })
                .await
                .expect("completes");
        });
        assert!(captured_log::warnings_here("blocked the event loop").is_empty());
        assert_eq!(rt.stats().longest_poll, Duration::from_millis(120));
    });
}

#[test]
fn lag_shows_a_task_starved_by_a_blocking_neighbour() {
    within_10s(|| {
        let rt = paused_runtime(Some(Duration::from_millis(100)));
        rt.block_on(async {
            // Both tasks are woken in the same turn; the first one blocks for 150 ms, so the
            // second waits 150 ms between its wake and its poll.
            let blocker = spawn(async {
                yield_now().await;
                evloop::test::block_for(Duration::from_millis(150));
            });
            let victim = spawn(async {
                yield_now().await;
            });
            blocker.await.expect("blocker");
            victim.await.expect("victim");
        });
        let lag = rt.stats().wake_lag;
        assert_eq!(lag.max(), Duration::from_millis(150), "{lag:?}");
        assert_eq!(lag.at_least(Duration::from_millis(100)), 1, "{lag:?}");
    });
}

/// Issue 15: `cargo run --example tour` blocked the loop for 250 ms and reported a wake-to-poll
/// lag of 0.013 ms, because the timers it delayed were only woken after the blocking poll. The
/// sampled loop lag (a virtual 10 ms timer) sees the block.
#[test]
fn issue_15_loop_lag_sees_a_blocking_poll_that_wake_lag_misses() {
    within_10s(|| {
        let rt = paused_runtime(None);
        rt.block_on(async {
            let heartbeat = spawn(sleep(Duration::from_millis(50)));
            let blocker = spawn(async {
                sleep(Duration::from_millis(10)).await;
                evloop::test::block_for(Duration::from_millis(200)); // holds the loop
            });
            blocker.await.expect("blocker");
            heartbeat.await.expect("heartbeat");
        });
        let s = rt.stats();
        // The tick due at 10 ms fired on time (the loop was parked); the next, due at 20 ms,
        // could run only when the poll ended, at 210 ms.
        assert_eq!(s.loop_lag.max(), Duration::from_millis(190), "{s}");
        assert_eq!(
            s.wake_lag.max(),
            Duration::ZERO,
            "the heartbeat was woken after the block, and polled at once: {s}"
        );
        assert!(s.to_string().contains("loop lag (sampled"), "{s}");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // blocks for real time
fn issue_15_a_real_blocking_call_shows_as_loop_lag() {
    within_10s(|| {
        captured_log::install();
        let rt = Runtime::builder()
            .slow_poll_threshold(None)
            .build()
            .expect("runtime");
        rt.block_on(async {
            let heartbeat = spawn(sleep(Duration::from_millis(50)));
            let blocker = spawn(async {
                sleep(Duration::from_millis(10)).await;
                std::thread::sleep(Duration::from_millis(200));
            });
            blocker.await.expect("blocker");
            heartbeat.await.expect("heartbeat");
        });
        let s = rt.stats();
        // A loaded machine can only make the block longer.
        assert!(s.loop_lag.max() >= Duration::from_millis(150), "{s}");
        assert!(s.wake_lag.max() < s.loop_lag.max() / 2, "{s}");
    });
}

#[test]
fn an_idle_loop_has_no_loop_lag_is_not_woken_by_the_sampler_and_is_not_utilized() {
    within_10s(|| {
        let rt = paused_runtime(None);
        let before = rt.stats();
        rt.block_on(sleep(Duration::from_millis(300)));
        let delta = rt.stats().since(&before);
        // 300 ms of virtual 10 ms ticks, every one inside the park: on time.
        assert_eq!(delta.loop_lag.count(), 30, "{delta:?}");
        assert_eq!(delta.loop_lag.max(), Duration::ZERO, "{delta:?}");
        assert!(
            delta.turns < 5,
            "the sampler never wakes the loop: {delta:?}"
        );
        assert!(delta.parked >= Duration::from_millis(300), "{delta:?}");
        assert!(delta.utilization() < 0.01, "{delta:?}");
    });
}

#[test]
fn a_blocked_loop_is_fully_utilized() {
    within_10s(|| {
        let rt = paused_runtime(None);
        let before = rt.stats();
        rt.block_on(async {
            for _ in 0..3 {
                evloop::test::block_for(Duration::from_millis(100));
                yield_now().await;
            }
        });
        let delta = rt.stats().since(&before);
        assert!(delta.elapsed >= Duration::from_millis(300), "{delta:?}");
        assert!(delta.utilization() > 0.99, "{delta:?}");
        assert!(
            delta.loop_lag.max() >= Duration::from_millis(90),
            "{delta:?}"
        );
    });
}

#[test]
fn timer_lateness_shows_a_blocked_heartbeat() {
    within_10s(|| {
        let rt = paused_runtime(Some(Duration::from_millis(100)));
        rt.block_on(async {
            let heartbeat = spawn(sleep(Duration::from_millis(10)));
            yield_now().await; // the heartbeat registers its timer
            evloop::test::block_for(Duration::from_millis(120)); // the block_on future blocks
            heartbeat.await.expect("heartbeat");
        });
        let stats = rt.stats();
        assert_eq!(
            stats.worst_timer_lateness,
            Duration::from_millis(110),
            "{stats}"
        );
        assert_eq!(
            stats.longest_poll_task, None,
            "the block_on future made the longest poll"
        );
        assert_eq!(
            captured_log::warnings_here("the block_on future blocked").len(),
            1
        );
    });
}

#[test]
fn counters_match_spawns_and_wakes_exactly() {
    captured_log::install();
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

#[test]
#[cfg_attr(miri, ignore)] // a real socket and real time: the loop's sleep in epoll is the subject
fn issue_18_a_task_woken_by_a_socket_is_not_charged_the_loops_sleep() {
    // The loop sleeps in `epoll_wait` until the client writes, 200 ms later, and then polls the
    // reading task at once. Its wake-to-poll lag is that "at once", not the sleep: the reactor
    // used to wake tasks before the loop read its clock, so the wake carried the reading from
    // before the sleep and every I/O wake of an idle loop looked 200 ms late.
    const CLIENT_PAUSE: Duration = Duration::from_millis(200);
    use std::io::Write;
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            std::thread::sleep(CLIENT_PAUSE);
            stream.write_all(b"x").expect("write");
            stream // kept open until joined
        });
        let (stream, _) = listener.accept().await.expect("accept");
        // A task, not the `block_on` future: only tasks have a wake-to-poll lag.
        spawn(async move { stream.readable().await.expect("readable") })
            .await
            .expect("the reader completes");
        drop(client.join().expect("client thread"));
    });
    let lag = rt.stats().wake_lag;
    assert!(
        lag.max() < CLIENT_PAUSE / 2,
        "a wake after the loop slept {CLIENT_PAUSE:?} was charged {:?}",
        lag.max()
    );
}
