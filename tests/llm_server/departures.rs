//! Issue 13, part 2: clients that leave are not served, and the line for the model is capped.
//!
//! Each test holds the model with a gate (`llm_harness::gated`): one generation runs and blocks,
//! the others wait in the line for the lock, and the test decides when anything moves on. Where a
//! test must know that the server has noticed something — a client gone, a request in the line —
//! it asks `/stats` until it says so (`TestServer::wait_for_stats`): no sleep, no timing.

use std::time::Duration;

use crate::llm_harness::gated::GatedModel;
use crate::llm_harness::{Client, Kind, TestServer, get, post};
use crate::service::Settings;

/// A server whose model is `gated`, with the lock on and the default line.
fn gated_server(gated: &GatedModel, settings: impl FnOnce(&mut Settings)) -> TestServer {
    let mut chosen = Settings::new(gated.model.clone());
    settings(&mut chosen);
    TestServer::start(Kind::Threads, chosen)
}

/// A client whose `POST /generate` is sent (its answer not read).
fn posting(server: &TestServer, prompt: &str) -> Client {
    let mut client = server.client();
    client.send(&post("/generate", prompt));
    client
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_clients_gone_before_their_turn_never_reach_the_model() {
    let gated = GatedModel::new();
    let server = gated_server(&gated, |_| {});
    let mut running = posting(&server, "first");
    gated.wait_for_a_start();
    // Five clients post and leave while the first generation holds the lock.
    for i in 0..5 {
        drop(posting(&server, &format!("gone {i}")));
    }
    server.wait_for_stats("clients gone: 5 before their turn (never started)");
    let mut fresh = posting(&server, "fresh");
    server.wait_for_stats("1 waiting now");
    gated.open();
    assert_eq!(running.response().status, 200);
    assert!(fresh.response().body.ends_with("completion: fresh\n"));
    // The model ran twice: the first and the fresh one (its start is the one left unread).
    assert_eq!(gated.started.try_iter().count(), 1);
    let stats = server.wait_for_stats("generations: 2 started");
    assert!(stats.contains("0 while the model ran"), "{stats}");
    drop((running, fresh));
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_a_client_gone_while_the_model_runs_is_counted_and_its_turn_held() {
    let gated = GatedModel::new();
    let server = gated_server(&gated, |_| {});
    let abandoning = posting(&server, "abandoned");
    gated.wait_for_a_start();
    drop(abandoning);
    server.wait_for_stats("0 before their turn (never started), 1 while the model ran");
    // The call cannot be interrupted: the next one must wait for it, not run beside it.
    let mut next = posting(&server, "next");
    server.wait_for_stats("1 waiting now");
    gated.open();
    assert!(next.response().body.ends_with("completion: next\n"));
    assert_eq!(gated.most_at_once(), 1, "two generations ran at once");
    server.wait_for_stats("generations: 2 started");
    drop(next);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_beyond_max_waiting_requests_get_503_with_retry_after() {
    let gated = GatedModel::new();
    let server = gated_server(&gated, |settings| {
        settings.max_waiting = 2;
        settings.retry_after = Duration::from_secs(7);
    });
    let mut running = posting(&server, "running");
    gated.wait_for_a_start();
    let mut first = posting(&server, "first in line");
    server.wait_for_stats("1 waiting now");
    let mut second = posting(&server, "second in line");
    server.wait_for_stats("2 waiting now (at most 2)");
    // The line is full: the answer comes at once, while the model is still held.
    let mut third = server.client();
    let refused = third.request(&post("/generate", "one too many"));
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("7"));
    assert_eq!(refused.header("connection"), Some("keep-alive"));
    assert_eq!(third.request(&get("/health")).status, 200);
    gated.open();
    for client in [&mut running, &mut first, &mut second] {
        assert_eq!(client.response().status, 200);
    }
    let stats = server.wait_for_stats("generations: 3 started; 0 waiting now (at most 2)");
    assert!(stats.contains("1 refused with 503"), "{stats}");
    drop((running, first, second, third));
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn bytes_pipelined_while_a_request_waits_are_kept_not_taken_for_a_departure() {
    let gated = GatedModel::new();
    let server = gated_server(&gated, |_| {});
    let mut running = posting(&server, "running");
    gated.wait_for_a_start();
    let mut waiting = posting(&server, "waiting");
    server.wait_for_stats("1 waiting now");
    // The next request arrives while the first waits: the departure watch reads it, and keeps it.
    waiting.send(&get("/health"));
    gated.open();
    assert_eq!(running.response().status, 200);
    assert!(waiting.response().body.ends_with("completion: waiting\n"));
    assert_eq!(waiting.response().body, "ok\n");
    server.wait_for_stats("0 before their turn (never started), 0 while the model ran");
    drop((running, waiting));
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_client_that_half_closes_while_waiting_is_taken_as_gone() {
    // The choice `connection.rs` explains: from the server's side, the end of the stream after a
    // request looks the same whether the client closed or only shut down its sending side.
    let gated = GatedModel::new();
    let server = gated_server(&gated, |_| {});
    let mut running = posting(&server, "running");
    gated.wait_for_a_start();
    let half_closed = posting(&server, "half-closed");
    half_closed.half_close();
    server.wait_for_stats("1 before their turn (never started)");
    gated.open();
    assert_eq!(running.response().status, 200);
    assert!(
        half_closed.finish().is_empty(),
        "no answer for a departed client"
    );
    drop(running);
    server.stop();
}
