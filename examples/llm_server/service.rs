//! The service: three routes, the execution lock around the model, and the count of open
//! connections.
//!
//! | route | what it does | where it runs |
//! | --- | --- | --- |
//! | `GET /health` | answers `ok` at once | on the loop |
//! | `GET /stats` | the loop's, the worker's and the lock's statistics | on the loop |
//! | `POST /generate` | the body is the prompt; takes the execution lock, runs the model with `spawn_blocking` | wherever the worker puts it |
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
//! lock costs no thread and does not block the loop.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::spawn;
use evloop::sync::Mutex;
use evloop::worker::Execution;

use crate::connection::serve_connection;
use crate::http::{Limits, Request, Response};
use crate::model::Model;

/// What the service is configured with.
#[derive(Clone)]
pub struct Settings {
    /// Request size limits (head 8 KiB, body 64 KiB by default).
    pub limits: Limits,
    /// Time a client has to send one whole request, or to take one response.
    pub read_timeout: Duration,
    /// Run one generation at a time (the execution lock).
    pub lock: bool,
    /// The blocking model `POST /generate` calls.
    pub model: Model,
}

impl Settings {
    /// The defaults around `model`: default limits, a 10 s timeout, the lock on.
    pub fn new(model: Model) -> Settings {
        Settings {
            limits: Limits::default(),
            read_timeout: Duration::from_secs(10),
            lock: true,
            model,
        }
    }
}

/// The service's state, shared by the connection tasks of one loop (`Rc`: they all run on it).
pub struct Service {
    /// The configuration.
    settings: Settings,
    /// The execution lock, held around each generation when `settings.lock` is on (always there,
    /// so that `/stats` can show its contention either way).
    lock: Mutex<()>,
    /// Connections being served.
    connections: Connections,
}

impl Service {
    /// A service with `settings`, serving nobody yet.
    pub fn new(settings: Settings) -> Rc<Service> {
        Rc::new(Service {
            settings,
            lock: Mutex::new(()),
            connections: Connections::default(),
        })
    }

    /// The configuration.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Accepts connections forever, one task each. Returns only if the listener breaks (`accept`
    /// itself rides out running out of file descriptors).
    pub async fn serve(self: Rc<Self>, listener: TcpListener) -> io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let service = self.clone();
            spawn(async move {
                // Counted until the socket is closed: `stream` is dropped inside the call.
                let _open = service.connections.open();
                match serve_connection(stream, &service).await {
                    Ok(ending) => log::debug!("{peer}: {ending}"),
                    Err(e) => log::debug!("{peer}: connection ended with an error: {e}"),
                }
            });
        }
    }

    /// The response to one request. Only `/generate` ever waits (for the lock and the model).
    pub async fn respond(&self, request: &Request, body: Vec<u8>) -> Response {
        // Route on the path alone: a query string does not change the resource.
        let path = request.path.split('?').next().unwrap_or_default();
        match (request.method.as_str(), path) {
            ("GET", "/health") => Response::text(200, "OK", "ok\n"),
            ("GET", "/stats") => Response::text(200, "OK", self.stats()),
            ("POST", "/generate") => self.generate(body).await,
            (_, "/health" | "/stats") => method_not_allowed("GET"),
            (_, "/generate") => method_not_allowed("POST"),
            _ => Response::text(
                404,
                "Not Found",
                "404 Not Found: try GET /health, GET /stats or POST /generate\n",
            ),
        }
    }

    /// `POST /generate`: the model, under the execution lock, through `spawn_blocking`.
    async fn generate(&self, prompt: Vec<u8>) -> Response {
        let _turn = match self.settings.lock {
            true => Some(self.lock.lock().await),
            false => None,
        };
        let model = self.settings.model.clone();
        // `try_`: a worker that refuses the job (a bare pool that cannot create a thread) is a
        // 503 for this request, not a warning and a cancelled job.
        let mut job = match evloop::worker::try_spawn_blocking(move || model(&prompt)) {
            Ok(job) => job,
            Err(e) => return unavailable(format!("the model could not be started: {e}")),
        };
        let result = (&mut job).await;
        let blocking = blocking_label(job.execution());
        match result {
            Ok(text) => Response::text(200, "OK", text).header("X-Blocking", blocking),
            Err(e) if e.is_panic() => {
                log::warn!("the model panicked: {e}");
                Response::text(500, "Internal Server Error", "500 the model failed\n")
            }
            Err(e) => unavailable(format!("the model did not run: {e}")),
        }
    }

    /// `GET /stats`: the loop, the worker, the lock and the connections, as text.
    fn stats(&self) -> String {
        format!(
            "{}\n{}\nexecution lock ({}): {}\nconnections: {} open, {} accepted\n",
            evloop::stats(),
            evloop::worker::stats(),
            if self.settings.lock { "on" } else { "off" },
            self.lock.contention(),
            self.connections.open.get(),
            self.connections.accepted.get()
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

/// The `X-Blocking` header: where the model ran.
fn blocking_label(execution: Option<Execution>) -> String {
    match execution {
        Some(Execution::Offloaded) => "offloaded".into(),
        Some(Execution::Inline(reason)) => format!("inline ({reason})"),
        // A job that ran has an execution; kept total anyway.
        None => "unknown".into(),
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

/// 503 with the reason.
fn unavailable(why: String) -> Response {
    log::debug!("503: {why}");
    Response::text(503, "Service Unavailable", format!("503 {why}\n"))
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
