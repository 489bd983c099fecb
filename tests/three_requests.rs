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

use evloop::worker::{Deny, Fallback, ThreadPool, Worker};
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
        trace: None,
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

/// Runs scenario `name` with `worker`, tracing to a temp file; returns the parsed trace.
fn traced(name: &str, lock: bool, worker: Box<dyn Worker>) -> serde_json::Value {
    let path = std::env::temp_dir().join(format!(
        "evloop-three-requests-{}-{name}.json",
        std::process::id()
    ));
    let mut config = config(name, lock);
    config.trace = Some(path.clone());
    scenario::run(&config, worker).unwrap();
    let text = std::fs::read_to_string(&path).expect("--trace writes DIR/NAME.json");
    let _ = std::fs::remove_file(&path);
    serde_json::from_str(&text).expect("valid JSON")
}

/// `(tid, duration in µs)` of every `blocking` slice, and the loop thread's id.
fn blocking_slices(trace: &serde_json::Value) -> (Vec<(u64, f64)>, u64) {
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let loop_tid = events
        .iter()
        .find(|e| e["cat"] == "poll")
        .and_then(|e| e["tid"].as_u64())
        .expect("a poll on the loop thread");
    let jobs = events
        .iter()
        .filter(|e| e["cat"] == "blocking")
        .map(|e| (e["tid"].as_u64().unwrap(), e["dur"].as_f64().unwrap()))
        .collect();
    (jobs, loop_tid)
}

#[test]
fn the_traces_show_the_calls_on_worker_threads_or_on_the_loop_thread() {
    let (offloaded, loop_tid) =
        blocking_slices(&traced("offload", false, Box::new(ThreadPool::new())));
    assert_eq!(offloaded.len(), 3);
    assert!(
        offloaded.iter().all(|&(tid, _)| tid != loop_tid),
        "{offloaded:?}"
    );
    let denied = Fallback::new(ThreadPool::builder().spawner(Deny::always()).build());
    let (inline, loop_tid) = blocking_slices(&traced("fallback", true, Box::new(denied)));
    assert_eq!(inline.len(), 3);
    let work_us = WORK.as_secs_f64() * 1e6;
    assert!(
        inline
            .iter()
            .all(|&(tid, dur)| tid == loop_tid && dur >= work_us * 0.9),
        "each call a long slice on the loop thread: {inline:?}"
    );
}
