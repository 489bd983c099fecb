//! The trace (issue 15): the file is Chrome trace-event JSON, each kind of event is where the
//! viewer expects it, a blocking job is on the track of the thread that ran it, and the ring keeps
//! memory bounded.
//!
//! The files are parsed with `serde_json` (a dev-dependency: the runtime writes JSON by hand).

mod util;

use std::path::PathBuf;
use std::time::Duration;

use evloop::time::sleep;
use evloop::worker::{Deny, Fallback, Inline, ThreadPool, Worker};
use evloop::{Runtime, spawn_named};
use serde_json::Value;

/// A fresh path in the temp directory for test `name` (removed first if a run left it).
fn temp_trace(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("evloop-trace-{}-{name}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A little of everything: named tasks, a timer, yields, and one blocking job.
async fn workload() {
    let sleeper = spawn_named("sleeper", sleep(Duration::from_millis(5)));
    let yielder = spawn_named(format!("yielder-{}", 1), async {
        for _ in 0..3 {
            evloop::task::yield_now().await;
        }
    });
    // Awaited by a task, so that an offloaded job's completion is a remote wake of a task.
    let caller = spawn_named("caller", async {
        let job = evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
        job.await.expect("the job runs");
    });
    caller.await.expect("caller");
    sleeper.await.expect("sleeper");
    yielder.await.expect("yielder");
}

/// Runs `workload` on a runtime with `worker` that writes its trace to `path` when dropped, and
/// reads the file back.
fn traced_run(path: &PathBuf, worker: impl Worker + 'static) -> Value {
    util::init_logging();
    let rt = Runtime::builder()
        .worker(worker)
        .trace(path)
        .build()
        .expect("runtime");
    assert!(rt.trace().is_some(), "tracing is on");
    rt.block_on(workload());
    drop(rt); // writes the file
    let text = std::fs::read_to_string(path).expect("the trace file was written at drop");
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).expect("the trace is valid JSON")
}

/// The `traceEvents` array.
fn events(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
}

/// Events whose field `key` is `value`.
fn with<'a>(trace: &'a Value, key: &str, value: &str) -> Vec<&'a Value> {
    events(trace).iter().filter(|e| e[key] == value).collect()
}

/// The loop thread's id: the thread of the poll slices.
fn loop_tid(trace: &Value) -> u64 {
    let polls = with(trace, "cat", "poll");
    let tid = polls[0]["tid"].as_u64().expect("a numeric tid");
    assert!(
        polls.iter().all(|p| p["tid"] == tid),
        "every poll on one thread"
    );
    tid
}

/// The name a `thread_name` metadata event gives `tid`.
fn thread_name(trace: &Value, tid: u64) -> String {
    with(trace, "name", "thread_name")
        .into_iter()
        .find(|m| m["tid"] == tid)
        .and_then(|m| m["args"]["name"].as_str())
        .unwrap_or_else(|| panic!("no thread_name for tid {tid}"))
        .to_string()
}

/// The one `blocking` slice.
fn blocking_slice(trace: &Value) -> &Value {
    let jobs = with(trace, "cat", "blocking");
    assert_eq!(jobs.len(), 1, "one blocking job: {jobs:?}");
    let job = jobs[0];
    assert!(
        job["dur"].as_f64().expect("a duration") >= 19_000.0,
        "{job}"
    );
    job
}

#[test]
#[cfg_attr(miri, ignore)] // writes files, sleeps for real
fn the_trace_file_is_chrome_trace_event_json() {
    let trace = traced_run(&temp_trace("format"), ThreadPool::new());
    let pid = u64::from(std::process::id());
    for event in events(&trace) {
        let phase = event["ph"].as_str().expect("every event has a phase");
        assert!(["X", "i", "C", "M"].contains(&phase), "{event}");
        assert_eq!(event["pid"], pid, "{event}");
        assert!(event["name"].is_string(), "{event}");
        if phase != "M" {
            assert!(event["ts"].as_f64().expect("a timestamp") >= 0.0, "{event}");
            assert!(event["tid"].is_u64(), "{event}");
        }
        if phase == "X" {
            assert!(event["dur"].as_f64().expect("a duration") >= 0.0, "{event}");
            assert!(event["cat"].is_string(), "{event}");
        }
    }
    // Polls carry the task's name and number.
    let polls = with(&trace, "cat", "poll");
    let named = |name: &str| polls.iter().filter(|p| p["name"] == name).count();
    assert!(named("sleeper") >= 2, "polled at spawn and after its timer");
    assert_eq!(named("yielder-1"), 4, "spawn + three yields");
    assert!(named("block_on") >= 1);
    assert!(
        polls
            .iter()
            .all(|p| p["args"]["task"].is_u64() || p["name"] == "block_on")
    );
    // Parks: timeout and events returned.
    let parks = with(&trace, "cat", "park");
    assert!(!parks.is_empty());
    for park in &parks {
        let args = &park["args"];
        assert!(
            args["timeout_ms"].is_f64() || args["timeout_ms"].is_null(),
            "{park}"
        );
        assert!(args["events"].is_u64(), "{park}");
    }
    // Timer firings and wakes are instants on the loop thread.
    let tid = loop_tid(&trace);
    let timers = with(&trace, "cat", "timer");
    assert!(!timers.is_empty(), "the sleeper's timer fired");
    assert!(timers.iter().all(|t| t["ph"] == "i" && t["tid"] == tid));
    assert!(timers[0]["args"]["count"].as_u64() >= Some(1));
    let wakes = with(&trace, "cat", "wake");
    assert!(wakes.len() >= 3, "the yields wake their task");
    assert!(
        wakes
            .iter()
            .any(|w| w["args"]["remote"] == true && w["name"] == "remote wake"),
        "the job's completion woke the caller from a worker thread"
    );
    // Counter tracks.
    for (name, series) in [("run queue", "depth"), ("tasks", "alive")] {
        let counters = with(&trace, "name", name);
        assert!(!counters.is_empty(), "counter {name}");
        assert!(
            counters
                .iter()
                .all(|c| c["ph"] == "C" && c["args"][series].is_f64())
        );
    }
    // Thread names label the tracks.
    assert!(thread_name(&trace, tid).starts_with("evloop loop"));
    assert_eq!(trace["otherData"]["dropped"], 0);
}

#[test]
#[cfg_attr(miri, ignore)] // threads, files, real sleeps
fn an_offloaded_job_is_on_a_worker_track() {
    let trace = traced_run(&temp_trace("offload"), ThreadPool::new());
    let job = blocking_slice(&trace);
    let tid = job["tid"].as_u64().expect("tid");
    assert_ne!(tid, loop_tid(&trace), "not on the loop thread");
    assert!(thread_name(&trace, tid).starts_with("evloop-blocking-"));
    assert_eq!(job["args"]["ran"], "on a worker thread");
    assert!(job["args"]["why"].is_null());
}

#[test]
#[cfg_attr(miri, ignore)] // files, real sleeps
fn an_inline_job_is_on_the_loop_track_and_says_why() {
    let cases: [(Box<dyn Worker>, &str); 2] = [
        (Box::new(Inline::new()), "the Inline worker was chosen"),
        (
            Box::new(Fallback::new(
                ThreadPool::builder().spawner(Deny::always()).build(),
            )),
            "thread creation refused",
        ),
    ];
    for (i, (worker, why)) in cases.into_iter().enumerate() {
        let trace = traced_run(&temp_trace(&format!("inline-{i}")), worker);
        let job = blocking_slice(&trace);
        assert_eq!(job["tid"], loop_tid(&trace), "on the loop thread's track");
        assert_eq!(job["args"]["ran"], "inline on the loop thread");
        assert_eq!(job["args"]["why"], why);
        // The job ran inside the poll that called spawn_blocking: the poll's slice contains it.
        let (start, end) = (job["ts"].as_f64().unwrap(), {
            job["ts"].as_f64().unwrap() + job["dur"].as_f64().unwrap()
        });
        let around = with(&trace, "cat", "poll").into_iter().any(|p| {
            let ts = p["ts"].as_f64().unwrap();
            ts <= start && ts + p["dur"].as_f64().unwrap() >= end
        });
        assert!(around, "a poll slice contains the inline job");
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real time
fn the_ring_keeps_only_the_most_recent_events() {
    util::init_logging();
    let rt = Runtime::builder()
        .trace_capacity(50)
        .build()
        .expect("runtime");
    let trace = rt.trace().expect("trace_capacity turns tracing on");
    assert!(trace.path().is_none(), "in memory only");
    rt.block_on(async {
        for _ in 0..500 {
            evloop::task::yield_now().await;
        }
    });
    let (kept, capacity, dropped) = trace.fill();
    assert_eq!((kept, capacity), (50, 50));
    assert!(dropped >= 450, "dropped {dropped}");
    let parsed: Value = serde_json::from_str(&trace.to_json()).expect("valid JSON");
    let recorded = events(&parsed).iter().filter(|e| e["ph"] != "M").count();
    assert_eq!(recorded, 50);
    assert_eq!(parsed["otherData"]["dropped"], dropped);
    // Written on demand, too.
    let path = temp_trace("on-demand");
    trace.write_to(&path).expect("writable");
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("JSON");
    let _ = std::fs::remove_file(&path);
    assert!(events(&again).len() >= 50);
}

#[test]
fn tracing_is_off_unless_asked_for() {
    if std::env::var_os(evloop::trace::ENV_VAR).is_some() {
        return; // someone runs the tests with EVLOOP_TRACE set: then it is on, as documented
    }
    let rt = Runtime::new().expect("runtime");
    assert!(rt.trace().is_none());
}

/// Set in the child of `evloop_trace_turns_tracing_on_for_any_program`.
const CHILD_ENV: &str = "EVLOOP_TEST_TRACE_CHILD";

#[test]
#[cfg_attr(miri, ignore)] // starts a child process
fn evloop_trace_turns_tracing_on_for_any_program() {
    const NAME: &str = "evloop_trace_turns_tracing_on_for_any_program";
    if std::env::var_os(CHILD_ENV).is_some() {
        // The child: a runtime built without any trace setting.
        let rt = Runtime::new().expect("runtime");
        rt.block_on(sleep(Duration::from_millis(1)));
        return; // dropping it writes the file named by EVLOOP_TRACE
    }
    let path = temp_trace("env");
    let path_text = path.to_str().expect("a UTF-8 temp path");
    let (ok, out, err) = util::run_test_in_child_with(
        NAME,
        &[(CHILD_ENV, "1"), (evloop::trace::ENV_VAR, path_text)],
        Duration::from_secs(60),
    );
    assert!(ok, "child failed:\n{out}\n{err}");
    let text = std::fs::read_to_string(&path).expect("EVLOOP_TRACE made the runtime write");
    let _ = std::fs::remove_file(&path);
    let trace: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(!with(&trace, "cat", "poll").is_empty());
}
