//! The three-requests demo: its timeline drawing, and its scenarios end to end (with short calls).
//!
//! The fallback scenario here uses the portable in-process denial (`worker::Deny`): the real
//! seccomp denial cannot be undone and would leave this test binary unable to start threads. The
//! seccomp path is covered in a child process by `tests/worker.rs` and `tests/sandbox.rs`.
#![cfg(not(miri))] // wall-clock timing: a blocked loop is the point of these tests

#[path = "../examples/three_requests/scenario.rs"]
#[allow(dead_code)] // the demo's summary helpers are exercised by the example itself
mod scenario;
#[path = "../examples/three_requests/timeline.rs"]
mod timeline;

use std::time::Duration;

use evloop::worker::{Deny, Fallback, ThreadPool};
use scenario::Config;

const WORK: Duration = Duration::from_millis(200);

fn config(name: &str, lock: bool) -> Config {
    Config {
        name: name.into(),
        lock,
        requests: 3,
        work: WORK,
        arrive_every: Duration::from_millis(10),
        heartbeat: Duration::from_millis(10),
    }
}

#[test]
fn offload_overlaps_the_calls_and_keeps_the_heartbeat_on_time() {
    let out = scenario::run(&config("offload", false), Box::new(ThreadPool::new())).unwrap();
    assert_eq!((out.offloaded, out.inline, out.failed), (3, 0, 0));
    // Bounds from the claims, not from an idle machine: three calls back to back take 3 x WORK,
    // and a call on the loop makes the heartbeat a whole WORK late (the fallback test). Beside
    // CPU hogs (scripts/stress-test.sh) a free loop's heartbeat was seen 100 ms late.
    assert!(
        out.total < 3 * WORK,
        "calls should overlap: {:?}",
        out.total
    );
    assert!(out.worst_lag < WORK, "heartbeat late: {:?}", out.worst_lag);
}

#[test]
fn offload_under_the_lock_serialises_but_keeps_the_loop_free() {
    let out = scenario::run(&config("offload-lock", true), Box::new(ThreadPool::new())).unwrap();
    assert_eq!((out.offloaded, out.inline), (3, 0));
    assert!(
        out.total >= 3 * WORK,
        "the lock serialises: {:?}",
        out.total
    );
    assert!(out.worst_lag < WORK, "heartbeat late: {:?}", out.worst_lag);
    let spans = &out.requests;
    for pair in spans.windows(2) {
        assert!(
            pair[1].work_start >= pair[0].work_end,
            "one call at a time: {spans:?}"
        );
    }
}

#[test]
fn fallback_under_the_lock_takes_as_long_but_blocks_the_heartbeat() {
    let denied = Fallback::new(ThreadPool::builder().spawner(Deny::always()).build());
    let out = scenario::run(&config("fallback", true), Box::new(denied)).unwrap();
    assert_eq!((out.offloaded, out.inline), (0, 3));
    assert!(
        out.total >= 3 * WORK,
        "same serialised work: {:?}",
        out.total
    );
    assert!(
        out.worst_lag >= WORK * 4 / 5,
        "the loop was blocked for each call: {:?}",
        out.worst_lag
    );
    assert!(out.probe.contains("runs inline"), "{}", out.probe);
    let line = scenario::summary_line(&config("fallback", true), "fallback", &out);
    assert!(
        line.starts_with("scenario=fallback worker=fallback lock=true requests=3 work_ms=200 ")
    );
    assert!(line.ends_with("offloaded=0 inline=3 failed=0"), "{line}");
}

#[test]
fn a_bare_pool_without_threads_fails_the_requests() {
    let denied = ThreadPool::builder().spawner(Deny::always()).build();
    let out = scenario::run(&config("offload", false), Box::new(denied)).unwrap();
    assert_eq!(out.failed, 3);
    assert!(scenario::explain(&config("offload", false), &out).contains("can't start new thread"));
}
