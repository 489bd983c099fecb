//! The service: three routes, the line for the model (`generation.rs`), and the count of open
//! connections.
//!
//! | route | what it does | where it runs |
//! | --- | --- | --- |
//! | `GET /health` | answers `ok` at once | on the loop |
//! | `GET /` | the live page: loop lag, utilization, the line, where each call ran, the threads (`dashboard.rs`) | on the loop |
//! | `GET /stats.json` | what the page draws, as JSON | on the loop |
//! | `GET /stats` | the loop's, the worker's, the lock's and the line's statistics | on the loop |
//! | `POST /generate` | the body is the prompt; waits for a turn, runs the model with `spawn_blocking` | wherever the worker puts it |
//!
//! `HEAD` is served wherever `GET` is (RFC 9110 §9.1: every general-purpose server must); the
//! connection loop then sends the head of the response without its body.
//!
//! `/health` never waits for anything, so how fast it answers *during* a generation measures one
//! thing only: whether the loop is free. Offloaded, the model blocks a pool thread and `/health`
//! answers in well under a millisecond. Inline (the `Inline` worker, or the fallback when the OS
//! refuses threads), the model blocks the loop thread, and `/health` waits until the generation
//! is over — as does every other client. The `X-Blocking` header of each generation says which
//! path ran it.
//!
//! The execution lock (`--lock`, the default) lets one generation run at a time, as a service
//! with one model instance (one GPU) must. Waiting for it is async: a request queued behind the
//! lock costs no thread and does not block the loop. How many may wait, and what happens to those
//! whose client leaves, is `generation.rs`.
//!
//! ## Graceful shutdown
//!
//! [`Service::serve_until`] accepts until its `shutdown` future completes (Ctrl-C in `main.rs`),
//! then: the listener closes (new connects are refused); every connection hears it through a
//! `watch` channel — one idle between requests closes at once, one with a request in flight (being
//! read, waiting for the lock, in the model, being written) answers it with `Connection: close`
//! and closes; after `Settings::grace` the connections still open are aborted.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::watch;
use evloop::task::JoinSet;
use evloop::trace::Trace;

use crate::connection::serve_connection;
use crate::dashboard::Dashboard;
use crate::generation::{Departure, Generations};
use crate::model::Model;
use crate::request::{Limits, Request};
use crate::response::Response;

/// What the service is configured with.
#[derive(Clone)]
pub struct Settings {
    /// Request size limits (head 8 KiB, body 64 KiB by default).
    pub limits: Limits,
    /// Time a client has to send one whole request, or to take one response.
    pub read_timeout: Duration,
    /// Run one generation at a time (the execution lock).
    pub lock: bool,
    /// Most requests that may wait for the lock; more are answered 503 (default 64).
    pub max_waiting: usize,
    /// The `Retry-After` of that 503, in whole seconds (default 1 s).
    pub retry_after: Duration,
    /// The blocking model `POST /generate` calls.
    pub model: Model,
    /// How long a shutdown waits for the requests in flight before it aborts their connections.
    pub grace: Duration,
    /// The runtime's trace, for the live page's strip of the last seconds (`None`: no strip).
    pub trace: Option<Arc<Trace>>,
}

impl Settings {
    /// The defaults around `model`: default limits, a 10 s timeout, the lock on, 64 may wait.
    pub fn new(model: Model) -> Settings {
        Settings {
            limits: Limits::default(),
            read_timeout: Duration::from_secs(10),
            lock: true,
            max_waiting: 64,
            retry_after: Duration::from_secs(1),
            model,
            grace: Duration::from_secs(5),
            trace: None,
        }
    }
}

/// The service's state, shared by the connection tasks of one loop (`Rc`: they all run on it).
pub struct Service {
    /// The configuration.
    settings: Settings,
    /// The model and the line for it.
    generations: Generations,
    /// Connections being served.
    connections: Connections,
    /// `true` once the service is shutting down; each connection watches it.
    shutdown: watch::Sender<bool>,
    /// The live page and its history.
    dashboard: Dashboard,
}

impl Service {
    /// A service with `settings`, serving nobody yet.
    pub fn new(settings: Settings) -> Rc<Service> {
        let generations = Generations::new(
            settings.model.clone(),
            settings.lock,
            settings.max_waiting,
            settings.retry_after,
        );
        Rc::new(Service {
            dashboard: Dashboard::new(settings.trace.clone()),
            settings,
            generations,
            connections: Connections::default(),
            shutdown: watch::Sender::new(false),
        })
    }

    /// The configuration.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Accepts connections forever, one task each. Returns only if the listener breaks (`accept`
    /// itself rides out running out of file descriptors).
    #[allow(dead_code)] // used by tests/llm_server.rs only; the example stops on Ctrl-C
    pub async fn serve(self: Rc<Self>, listener: TcpListener) -> io::Result<()> {
        self.serve_until(listener, std::future::pending()).await
    }

    /// Accepts connections, one task each, until `shutdown` completes; then shuts down gracefully
    /// (module docs) and returns. `Err` only if the listener breaks.
    pub async fn serve_until(
        self: Rc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let mut shutdown = pin!(shutdown);
        let mut connections = JoinSet::new();
        loop {
            evloop::select! {
                biased;
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = accepted?;
                    connections.spawn(self.clone().connection(stream, peer));
                }
                // Reap the connections that ended, so the set holds only live ones.
                Some(_) = connections.join_next() => {}
            }
        }
        drop(listener); // new connects are refused from here on
        self.finish(connections).await;
        Ok(())
    }

    /// One connection's task.
    async fn connection(self: Rc<Self>, stream: TcpStream, peer: SocketAddr) {
        // Counted until the socket is closed: `stream` is dropped inside the call.
        let _open = self.connections.open();
        // Responses are small and each one is complete: send it now, not after the last ACK
        // (Nagle). A socket option, so here, where the stream is still a `TcpStream`.
        if let Err(e) = stream.set_nodelay(true) {
            log::debug!("{peer}: connection ended with an error: {e}");
            return;
        }
        match serve_connection(stream, &self, self.shutdown.subscribe()).await {
            Ok(ending) => log::debug!("{peer}: {ending}"),
            Err(e) => log::debug!("{peer}: connection ended with an error: {e}"),
        }
    }

    /// Tells every connection to finish, waits for them at most `grace`, aborts the rest.
    async fn finish(&self, mut connections: JoinSet<()>) {
        let grace = self.settings.grace;
        println!(
            "shutting down: {} connection(s) open; waiting up to {} ms for the requests in flight",
            connections.len(),
            grace.as_millis()
        );
        self.shutdown.send_replace(true);
        let all_done = async { while connections.join_next().await.is_some() {} };
        if evloop::time::timeout(grace, all_done).await.is_err() {
            log::warn!(
                "shutdown: {} connection(s) still busy after {} ms, aborting them",
                connections.len(),
                grace.as_millis()
            );
            connections.shutdown().await;
        }
    }

    /// The response to one request; `Err` when the client left before it was ready (only
    /// `/generate` waits, and only it watches `departure`, which resolves when the client leaves).
    pub async fn respond(
        &self,
        request: &Request,
        body: Vec<u8>,
        departure: impl Future<Output = Departure>,
    ) -> Result<Response, Departure> {
        // Route on the path alone: a query string does not change the resource.
        let path = request.path.split('?').next().unwrap_or_default();
        let response = match (request.method.as_str(), path) {
            ("GET" | "HEAD", "/health") => Response::text(200, "OK", "ok\n"),
            ("GET" | "HEAD", "/") => self.dashboard.page(),
            ("GET" | "HEAD", "/stats.json") => self.stats_json(),
            ("GET" | "HEAD", "/stats") => Response::text(200, "OK", self.stats()),
            ("POST", "/generate") => return self.generations.generate(body, departure).await,
            (_, "/" | "/health" | "/stats" | "/stats.json") => method_not_allowed("GET, HEAD"),
            (_, "/generate") => method_not_allowed("POST"),
            _ => Response::text(
                404,
                "Not Found",
                "404 Not Found: try GET /, GET /health, GET /stats, GET /stats.json or POST /generate\n",
            ),
        };
        Ok(response)
    }

    /// `GET /stats`: the loop, the worker, the lock, the line and the connections, as text (also
    /// the example's last words after a shutdown).
    pub fn stats(&self) -> String {
        format!(
            "{}\n{}\n{}connections: {} open, {} accepted\n",
            evloop::stats(),
            evloop::worker::stats(),
            self.generations.stats(),
            self.connections.open.get(),
            self.connections.accepted.get()
        )
    }

    /// `GET /stats.json`: what the live page draws (`dashboard.rs`).
    fn stats_json(&self) -> Response {
        let connections = crate::dashboard::Connections {
            open: self.connections.open.get(),
            accepted: self.connections.accepted.get(),
        };
        self.dashboard.stats_json(
            &evloop::stats(),
            &evloop::worker::stats(),
            &self.generations.figures(),
            &self.generations.recent_calls(),
            connections,
        )
    }

    /// Waits until no connection is open (every socket closed). For a graceful stop; the example
    /// serves until killed, the tests stop with it and then check that the reactor holds the
    /// listener alone.
    #[allow(dead_code)] // used by tests/llm_server.rs only
    pub async fn idle(&self) {
        poll_fn(|cx| {
            if self.connections.open.get() == 0 {
                return Poll::Ready(());
            }
            let mut waiters = self.connections.idle_waiters.borrow_mut();
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// 405 with the one method the path allows.
fn method_not_allowed(allow: &'static str) -> Response {
    Response::text(
        405,
        "Method Not Allowed",
        format!("405 Method Not Allowed: use {allow}\n"),
    )
    .header("Allow", allow)
}

/// The count of open connections, and the tasks waiting for it to reach zero.
#[derive(Default)]
struct Connections {
    /// Connections being served now.
    open: Cell<usize>,
    /// Connections accepted since the start.
    accepted: Cell<u64>,
    /// Wakers of `Service::idle` callers.
    idle_waiters: RefCell<Vec<Waker>>,
}

impl Connections {
    /// Counts a new connection until the returned guard is dropped.
    fn open(&self) -> OpenConnection<'_> {
        self.open.set(self.open.get() + 1);
        self.accepted.set(self.accepted.get() + 1);
        OpenConnection { connections: self }
    }
}

/// One open connection in the count; dropping it (also when the task is dropped) uncounts it.
struct OpenConnection<'a> {
    /// The count it belongs to.
    connections: &'a Connections,
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        let open = &self.connections.open;
        open.set(open.get() - 1);
        if open.get() == 0 {
            // Take the wakers out before waking: a woken task may call `idle` again.
            let waiters = self.connections.idle_waiters.take();
            waiters.into_iter().for_each(Waker::wake);
        }
    }
}
