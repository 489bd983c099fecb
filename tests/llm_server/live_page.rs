//! Issue 15: the live page (`GET /`) and what feeds it (`GET /stats.json`): the page is
//! self-contained, the JSON parses and its numbers are the runtime's, and a model call shows
//! where it ran — a blocked loop inline, a free one with threads. (The page in a real browser:
//! `scripts/browser-check.sh`.)

use std::time::Duration;

use serde_json::Value;

use evloop::Runtime;
use evloop::worker::ThreadPool;

use crate::llm_harness::{Kind, TestServer, get, post, settings};
use crate::request::Request;
use crate::service::Service;

/// The model's duration in these tests.
const WORK: Duration = Duration::from_millis(400);

/// `GET /stats.json` over `server`, parsed.
fn stats_json(server: &TestServer) -> Value {
    let reply = server.client().request(&get("/stats.json"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    serde_json::from_str(&reply.body).expect("/stats.json is JSON")
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue15_the_page_is_self_contained_and_names_the_lag_figure() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let reply = server.client().request(&get("/"));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = &reply.body;
    for part in [
        "<style>",
        "<script>",
        r#"id="lag-max-ms""#,
        r#"fetch("/stats.json""#,
    ] {
        assert!(page.contains(part), "the page has {part}");
    }
    // Nothing loaded from anywhere else: no external script, style, image or font.
    for outside in ["src=", "href=", "://", "@import", "url("] {
        assert!(
            !page.contains(outside),
            "the page refers outside: {outside}"
        );
    }
    server.stop();
}

/// `GET /stats.json`, asked from inside the server's loop in one poll, so that nothing can run
/// between it and the two `evloop::stats()` around it.
#[test]
#[cfg_attr(miri, ignore)] // threads, real time
fn issue15_stats_json_parses_and_its_numbers_are_the_runtimes() {
    crate::util::init_logging();
    let rt = Runtime::builder()
        .worker(ThreadPool::new())
        .trace_capacity(10_000)
        .build()
        .expect("runtime");
    let mut s = settings(Duration::from_millis(5));
    s.trace = rt.trace();
    let service = Service::new(s);
    let (json, before, after, worker) = rt.block_on(async move {
        // Some work first: tasks, a timer, a blocking job.
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                evloop::spawn(async move {
                    evloop::task::yield_now().await;
                    i
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        evloop::time::sleep(Duration::from_millis(20)).await;
        evloop::spawn_blocking(|| 1).await.expect("job");
        let request = Request {
            method: "GET".into(),
            path: "/stats.json".into(),
            content_length: 0,
            keep_alive: true,
            expect_continue: false,
        };
        let before = evloop::stats();
        let response = service
            .respond(&request, Vec::new(), std::future::pending())
            .await
            .expect("answered at once");
        let after = evloop::stats();
        let worker = evloop::worker::stats();
        (response.body, before, after, worker)
    });
    assert_eq!(before.polls, after.polls, "answered within one poll");
    let json: Value = serde_json::from_slice(&json).expect("JSON");
    let runtime = &json["runtime"];
    for (key, value) in [
        ("polls", before.polls),
        ("turns", before.turns),
        ("spawned", before.spawned),
        ("completed", before.completed),
        ("local_wakes", before.local_wakes),
        ("remote_wakes", before.remote_wakes),
        ("timers_fired", before.timers_fired),
        ("tasks_alive", before.tasks_alive as u64),
        ("io_events", before.io_events),
    ] {
        assert_eq!(runtime[key], value, "runtime.{key}");
    }
    assert_eq!(runtime["loop_lag"]["samples"], before.loop_lag.count());
    assert_eq!(runtime["wake_lag"]["samples"], before.wake_lag.count());
    let uptime = runtime["uptime_ms"].as_f64().expect("uptime_ms");
    assert!(
        uptime >= before.uptime.as_secs_f64() * 1e3 && uptime <= after.uptime.as_secs_f64() * 1e3
    );
    assert_eq!(json["worker"]["offloaded"], worker.offloaded);
    assert_eq!(json["worker"]["offloaded"], 1);
    assert_eq!(json["worker"]["mode"], worker.mode.to_string());
    // The history's first entry closes a second after the start: the sleep made it.
    assert!(json["history"].is_array());
    assert!(json["figures"]["lag_max_ms"].is_f64());
    assert!(json["strip"]["tracing"] == true && json["strip"]["spans"].is_array());
    assert!(json["lock"]["enabled"] == true && json["service"]["in_flight"] == 0);
}

/// Posts one generation to a traced server of `kind`, then reads `/stats.json`.
fn one_generation(kind: Kind) -> Value {
    let server = TestServer::start_traced(kind, settings(WORK));
    let reply = server.client().request(&post("/generate", "hello world"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = stats_json(&server);
    server.stop();
    json
}

/// The spans of kind `kind` in the strip: `(on the loop thread, duration in ms)`.
fn strip_spans(json: &Value, kind: &str) -> Vec<(bool, f64)> {
    let loop_tid = json["strip"]["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .find(|t| t["loop"] == true)
        .map(|t| t["tid"].clone())
        .expect("the loop thread is listed");
    json["strip"]["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| s[3] == kind)
        .map(|s| (s[0] == loop_tid, s[2].as_f64().expect("a duration")))
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets, real blocking
fn issue15_an_inline_call_shows_a_blocked_loop() {
    let json = one_generation(Kind::DeniedFallback);
    let work_ms = WORK.as_secs_f64() * 1e3;
    let lag = json["figures"]["lag_max_ms"].as_f64().expect("lag_max_ms");
    assert!(lag >= work_ms * 0.75, "lag {lag} ms");
    assert_eq!(json["calls"][0]["ran"], "inline");
    assert_eq!(json["calls"][0]["why"], "thread creation refused");
    assert_eq!(json["worker"]["inline"]["threads_refused"], 1);
    let inline = strip_spans(&json, "inline");
    assert!(
        inline
            .iter()
            .any(|&(on_loop, ms)| on_loop && ms >= work_ms * 0.9),
        "a solid bar on the loop thread: {inline:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets, real threads
fn issue15_an_offloaded_call_leaves_the_loop_free() {
    let json = one_generation(Kind::Threads);
    let work_ms = WORK.as_secs_f64() * 1e3;
    let lag = json["figures"]["lag_max_ms"].as_f64().expect("lag_max_ms");
    assert!(lag < work_ms / 2.0, "lag {lag} ms: the loop was free");
    assert_eq!(json["calls"][0]["ran"], "offloaded");
    assert!(json["calls"][0]["why"].is_null());
    let offloaded = strip_spans(&json, "offloaded");
    assert!(
        offloaded
            .iter()
            .any(|&(on_loop, ms)| !on_loop && ms >= work_ms * 0.9),
        "a bar on a worker thread: {offloaded:?}"
    );
    assert!(strip_spans(&json, "inline").is_empty());
}
