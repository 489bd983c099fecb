//! The LLM-style service (`examples/llm_server/`): its parser and model (their unit tests come in
//! with the modules), and the whole server over real sockets on 127.0.0.1, port 0.
//!
//! This file holds the routes, the loop, connections and bad input; beside it, in
//! `tests/llm_server/`: `departures.rs` (clients that leave, the cap on the line — issue 13,
//! part 2), `http11.rs` (HEAD, 100-continue, Host, target forms — issue 13, part 4), `fuzz.rs`
//! (mutated requests against the parser and the live server), `live_page.rs` (the page and
//! `/stats.json` — issue 15) and `timeouts.rs` (idle, stalled and slow clients: the connection
//! on a mock stream and paused time, no socket — issue 17).
//!
//! Each socket test starts the service on its own thread, with the worker under test, and talks
//! to it with blocking `std::net` clients (`llm_harness`). Every client read and write has a
//! timeout that fails the test loudly, and every test ends with `TestServer::stop`: wait (bounded)
//! until the service has closed every connection, then check that the reactor holds the listener
//! alone — nothing leaked, whatever the test sent.
#![allow(dead_code)] // the service uses parts of the parser module this test does not

#[path = "../examples/llm_server/connection.rs"]
mod connection;
#[path = "../examples/llm_server/dashboard.rs"]
mod dashboard;
#[path = "../examples/llm_server/generation.rs"]
mod generation;
mod llm_harness;
#[path = "../examples/llm_server/model.rs"]
mod model;
#[path = "../examples/llm_server/request.rs"]
mod request;
#[path = "../examples/llm_server/response.rs"]
mod response;
#[path = "../examples/llm_server/service.rs"]
mod service;
mod util;

#[path = "llm_server/departures.rs"]
mod departures;
#[path = "llm_server/fuzz.rs"]
mod fuzz;
#[path = "llm_server/http11.rs"]
mod http11;
#[path = "llm_server/live_page.rs"]
mod live_page;
#[path = "llm_server/timeouts.rs"]
mod timeouts;

use std::time::{Duration, Instant};

use llm_harness::gated::GatedModel;
use llm_harness::{
    CLIENT_TIMEOUT, Client, Kind, Reply, TestServer, get, post, settings, signalling_model,
};
use service::Settings;

/// The model's duration in the `/health` timing tests.
const WORK: Duration = Duration::from_millis(400);

/// The read timeout of the real-socket idle test (the others are on paused time: `timeouts.rs`).
const READ_TIMEOUT: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// The routes.

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn generate_returns_the_models_text_and_says_where_it_ran() {
    let expected = "prompt: 11 bytes, 2 words, fnv1a 779a65e7023cd2e7\ncompletion: world hello\n";
    for (kind, blocking) in [
        (Kind::Threads, "offloaded"),
        (Kind::Inline, "inline (the Inline worker was chosen)"),
        (Kind::DeniedFallback, "inline (thread creation refused)"),
    ] {
        let server = TestServer::start(kind, settings(Duration::from_millis(20)));
        let mut client = server.client();
        let reply = client.request(&post("/generate", "hello world"));
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, expected),
            "{kind:?}"
        );
        assert_eq!(reply.header("x-blocking"), Some(blocking), "{kind:?}");
        assert_eq!(reply.header("connection"), Some("keep-alive"));
        drop(client);
        let report = server.stop();
        let (offloaded, inline) = (report.worker.offloaded, report.worker.inline.total());
        let expect = if blocking == "offloaded" {
            (1, 0)
        } else {
            (0, 1)
        };
        assert_eq!((offloaded, inline), expect, "{kind:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_model_that_cannot_run_is_a_503_and_the_server_goes_on() {
    let server = TestServer::start(Kind::DeniedThreads, settings(Duration::ZERO));
    let mut client = server.client();
    let reply = client.request(&post("/generate", "hello"));
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        reply.body.contains("could not be started"),
        "{}",
        reply.body
    );
    assert_eq!(client.request(&get("/health")).status, 200);
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn unknown_paths_are_404_and_wrong_methods_405() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let mut client = server.client();
    assert_eq!(client.request(&get("/nope")).status, 404);
    let reply = client.request(&get("/generate"));
    assert_eq!((reply.status, reply.header("allow")), (405, Some("POST")));
    let reply = client.request(&post("/health", ""));
    assert_eq!(
        (reply.status, reply.header("allow")),
        (405, Some("GET, HEAD"))
    );
    let reply = client.request(b"DELETE /stats HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(
        (reply.status, reply.header("allow")),
        (405, Some("GET, HEAD"))
    );
    // Not parser errors: the connection stays usable.
    let reply = client.request(&get("/health?verbose=1"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn stats_show_the_loop_the_worker_the_lock_and_the_connections() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let mut client = server.client();
    client.request(&post("/generate", "x"));
    let stats = client.request(&get("/stats")).body;
    for part in [
        "evloop runtime stats",
        "evloop worker stats",
        "execution lock (on): 1 acquisitions, none waited, 0 gave up",
        "generations: 1 started; 0 waiting now (at most 64), 0 refused with 503",
        "clients gone: 0 before their turn (never started), 0 while the model ran",
        "connections: 1 open, 1 accepted",
    ] {
        assert!(stats.contains(part), "{part:?} missing from:\n{stats}");
    }
    // The listener and this connection; the one generation, on a thread.
    assert_eq!(number_after(&stats, "io sources"), Some(2), "{stats}");
    assert_eq!(number_after(&stats, "jobs: offloaded"), Some(1), "{stats}");
    drop(client);
    server.stop();
}

/// The number printed after `label` in the stats text (columns are padded, so not a fixed string).
fn number_after(stats: &str, label: &str) -> Option<u64> {
    let (_, after) = stats.split_once(label)?;
    after.split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The loop: free while the model runs on a thread, blocked while it runs inline.

/// Starts a generation, waits until the model runs, then times a `/health` on a second connection.
/// Returns that time and the generation's reply.
fn health_during_a_generation(kind: Kind) -> (Duration, Reply) {
    let (model, started) = signalling_model(WORK);
    let server = TestServer::start(kind, Settings::new(model));
    let mut generating = server.client();
    generating.send(&post("/generate", "hello world"));
    started
        .recv_timeout(CLIENT_TIMEOUT)
        .expect("the generation did not start");
    let asked = Instant::now();
    let mut health = server.client();
    let reply = health.request(&get("/health"));
    let waited = asked.elapsed();
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    let generated = generating.response();
    assert_eq!(generated.status, 200);
    drop((generating, health));
    server.stop();
    (waited, generated)
}

/// No clock here: the model holds its call until the test opens its gate, so a `/health` answered
/// before that was answered while the model ran — the loop was free. (Were it blocked, `/health`
/// would wait for the gate, which opens by itself only after `CLIENT_TIMEOUT`: the model would no
/// longer be running, and the test fails.)
#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn health_answers_at_once_while_an_offloaded_generation_runs() {
    let gated = GatedModel::new();
    let server = TestServer::start(Kind::Threads, Settings::new(gated.model.clone()));
    let mut generating = server.client();
    generating.send(&post("/generate", "hello world"));
    gated.wait_for_a_start();
    let reply = server.client().request(&get("/health"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    assert_eq!(
        gated.running(),
        1,
        "/health was answered while the model ran"
    );
    gated.open();
    let generated = generating.response();
    assert_eq!(generated.status, 200);
    assert_eq!(generated.header("x-blocking"), Some("offloaded"));
    drop(generating);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets and wall-clock timing
fn health_waits_for_a_generation_that_runs_on_the_loop() {
    for kind in [Kind::Inline, Kind::DeniedFallback] {
        let (waited, generated) = health_during_a_generation(kind);
        let blocking = generated.header("x-blocking").expect("X-Blocking");
        assert!(blocking.starts_with("inline ("), "{kind:?}: {blocking}");
        assert!(
            waited >= WORK / 2,
            "{kind:?}: the loop should be blocked: /health took only {waited:?} during a {WORK:?} \
             generation"
        );
    }
}

/// With the lock, two generations run one after the other: together they take at least twice as
/// long as one. A lower bound, which a busy machine cannot break.
#[test]
#[cfg_attr(miri, ignore)] // real sockets and wall-clock timing
fn the_lock_runs_one_generation_at_a_time() {
    const SHORT: Duration = Duration::from_millis(200);
    let server = TestServer::start(Kind::Threads, settings(SHORT));
    let (mut first, mut second) = (server.client(), server.client());
    let start = Instant::now();
    first.send(&post("/generate", "one"));
    second.send(&post("/generate", "two"));
    assert_eq!(
        (first.response().status, second.response().status),
        (200, 200)
    );
    let took = start.elapsed();
    assert!(took >= 2 * SHORT, "serialised: {took:?}");
    let stats = server.client().request(&get("/stats")).body;
    assert!(stats.contains("2 acquisitions, 1 waited"), "{stats}");
    drop((first, second));
    server.stop();
}

/// Without the lock, two generations run at once. No clock: the model holds each call until the
/// test opens its gate, so the second call can only start while the first is still running.
#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn without_the_lock_generations_run_at_once() {
    let gated = GatedModel::new();
    let mut settings = Settings::new(gated.model.clone());
    settings.lock = false;
    let server = TestServer::start(Kind::Threads, settings);
    let (mut first, mut second) = (server.client(), server.client());
    first.send(&post("/generate", "one"));
    second.send(&post("/generate", "two"));
    gated.wait_for_a_start();
    gated.wait_for_a_start();
    assert_eq!(gated.most_at_once(), 2, "both calls ran at the same time");
    gated.open();
    assert_eq!(
        (first.response().status, second.response().status),
        (200, 200)
    );
    let stats = server.client().request(&get("/stats")).body;
    assert!(
        stats.contains("execution lock (off): 0 acquisitions"),
        "{stats}"
    );
    drop((first, second));
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Connections: keep-alive, close, pipelining.

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let mut client = server.client();
    for _ in 0..3 {
        let reply = client.request(&get("/health"));
        assert_eq!(
            (reply.status, reply.header("connection")),
            (200, Some("keep-alive"))
        );
    }
    let reply = client.request(&post("/generate", "a b c"));
    assert!(
        reply.body.ends_with("completion: c b a\n"),
        "{}",
        reply.body
    );
    assert_eq!(client.request(&get("/health")).status, 200);
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn connection_close_and_http10_end_the_connection_after_the_response() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    for request in [
        &b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"[..],
        b"GET /health HTTP/1.0\r\n\r\n",
    ] {
        let mut client = server.client();
        let reply = client.request(request);
        assert_eq!(
            (reply.status, reply.header("connection")),
            (200, Some("close"))
        );
        client.expect_closed();
    }
    // HTTP/1.0 asking for keep-alive gets it.
    let mut client = server.client();
    let reply = client.request(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(reply.header("connection"), Some("keep-alive"));
    assert_eq!(client.request(&get("/health")).status, 200);
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let mut client = server.client();
    // Three requests in one write; the server reads them into one buffer.
    let mut burst = get("/health");
    burst.extend(post("/generate", "pipelined words"));
    burst.extend(get("/nope"));
    client.send(&burst);
    assert_eq!(client.response().body, "ok\n");
    assert!(
        client
            .response()
            .body
            .ends_with("completion: words pipelined\n")
    );
    assert_eq!(client.response().status, 404);
    // One byte at a time works too.
    for byte in post("/generate", "slow") {
        client.send(&[byte]);
    }
    assert!(client.response().body.ends_with("completion: slow\n"));
    // A close in the middle of a burst: what follows it is never answered.
    let mut burst = get("/health");
    burst.extend(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    burst.extend(get("/health"));
    client.send(&burst);
    assert_eq!(client.response().header("connection"), Some("keep-alive"));
    assert_eq!(client.response().header("connection"), Some("close"));
    client.expect_closed();
    drop(client);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Bad input: each refusal over the wire, then the connection closed; the server goes on.

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn each_refused_request_gets_its_status_and_the_connection_closes() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let long_header = |size: usize| {
        let mut raw = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Long: ".to_vec();
        raw.resize(size, b'a');
        raw.extend(b"\r\n\r\n");
        raw
    };
    let mut never_ending_head = b"GET /health HTTP/1.1\r\nHost: test\r\nX: ".to_vec();
    never_ending_head.resize(9000, b'a');
    let mut too_large_body =
        b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 65537\r\n\r\n".to_vec();
    too_large_body.resize(too_large_body.len() + 65537, b'x');
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_header(9000), 431),
        (long_header(40_000), 431), // far past the limit: the server stops reading at 8 KiB
        (never_ending_head, 431),   // no blank line ever comes
        (
            b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n".to_vec(),
            413,
        ),
        (too_large_body, 413),
        (b"HELLO\r\n\r\n".to_vec(), 400),
        (b"GET /health HTTP/1.1\nHost: x\r\n\r\n".to_vec(), 400),
        (b"GET /health HTTP/3\r\nHost: test\r\n\r\n".to_vec(), 400),
        (
            b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 3x\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            400,
        ), // TLS to HTTP
        (b"POST /generate HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 411),
        (
            b"POST /generate HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
            501,
        ),
    ];
    for (raw, status) in cases {
        let mut client = server.client();
        let reply = client.request(&raw);
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(60)]).into_owned();
        assert_eq!(reply.status, status, "{shown:?}: {reply:?}");
        assert_eq!(reply.header("connection"), Some("close"), "{shown:?}");
        assert!(
            reply.body.starts_with(&status.to_string()),
            "{shown:?}: {}",
            reply.body
        );
        client.expect_closed();
        // The server is still there for everybody else.
        assert_eq!(server.client().request(&get("/health")).status, 200);
    }
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Clients that stall or vanish.

/// A smoke test of the idle close on a real `TcpStream`: the connection code is generic over the
/// stream, and its deadlines are tested exactly, on a mock and paused time, in `timeouts.rs`.
/// Here only a lower bound is real-time safe; `CLIENT_TIMEOUT` fails the test loudly if the
/// connection is never closed.
#[test]
#[cfg_attr(miri, ignore)] // real sockets and wall-clock timing
fn an_idle_keep_alive_connection_is_closed_quietly_after_the_timeout() {
    let mut settings = settings(Duration::ZERO);
    settings.read_timeout = READ_TIMEOUT;
    let server = TestServer::start(Kind::Threads, settings);
    // A client that connects and never says anything, and one that goes idle after a request.
    let connected = Instant::now();
    let mut silent = server.client();
    let mut client = server.client();
    let asked = Instant::now();
    assert_eq!(client.request(&get("/health")).status, 200);
    client.expect_closed(); // no 408: there was no request to answer
    // The server's idle time began after `asked` (after it wrote the answer), so at least the
    // timeout has passed since then, however slowly this thread ran.
    let idle = asked.elapsed();
    assert!(idle >= READ_TIMEOUT, "closed before the timeout: {idle:?}");
    silent.expect_closed();
    let silent_for = connected.elapsed();
    assert!(
        silent_for >= READ_TIMEOUT,
        "closed before the timeout: {silent_for:?}"
    );
    drop((client, silent));
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn clients_that_vanish_leave_nothing_behind() {
    let server = TestServer::start(Kind::Threads, settings(Duration::from_millis(50)));
    // Gone mid-head, mid-body, mid-generation, right after connecting, and between requests.
    for raw in [
        &b"GET /health HT"[..],
        b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nsome",
        b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello",
        b"",
    ] {
        let mut client = server.client();
        client.send(raw);
        drop(client);
    }
    let mut clients: Vec<Client> = (0..10).map(|_| server.client()).collect();
    for client in &mut clients {
        assert_eq!(client.request(&get("/health")).status, 200);
    }
    drop(clients);
    // `stop` waits until the service closed all of them, then checks the reactor.
    server.stop();
}
