//! The test harness of `tests/llm_server.rs`: the service on a thread of its own, and a
//! blocking HTTP client with a timeout on everything.
//!
//! The server runs on its own thread and runtime (with the worker under test) so that the
//! clients, on the test thread, keep their own clock while the server's loop is blocked — which
//! is what the `/health` tests measure. [`TestServer::stop`] waits (bounded) until the service
//! has closed every connection, then checks that the reactor holds the listener alone.
//!
//! It uses the example's modules, which the including test file mounts at its crate root with
//! `#[path]`.
#![allow(dead_code)] // each test uses a different subset

pub mod fuzz;
pub mod gated;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use evloop::Runtime;
use evloop::net::TcpListener;
use evloop::sync::oneshot;
use evloop::worker::{Deny, Fallback, Inline, ThreadPool, Worker, WorkerStats};

use crate::model::{self, Model};
use crate::service::{Service, Settings};
use crate::util;

/// How long any single client read or write, or the final stop, may take before the test fails.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The service running on a thread of its own.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Tells the server thread to stop (once idle).
    stop: Option<oneshot::Sender<()>>,
    /// What the server thread saw when it stopped.
    report: mpsc::Receiver<Report>,
}

/// The server's state when it stopped.
pub struct Report {
    /// Sockets registered with the reactor once every connection was closed.
    pub io_sources: usize,
    /// The worker's counters.
    pub worker: WorkerStats,
}

/// Which worker a server runs with (built on the server's thread: workers are not `Send`).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A bare `ThreadPool`: offloads.
    Threads,
    /// `Inline`: every job on the loop thread.
    Inline,
    /// `Fallback` whose threads are refused (`Deny::always`): the container story.
    DeniedFallback,
    /// A bare `ThreadPool` whose threads are refused: jobs cannot run at all.
    DeniedThreads,
}

impl Kind {
    /// The worker itself.
    pub fn worker(self) -> Box<dyn Worker> {
        let denied = || ThreadPool::builder().spawner(Deny::always()).build();
        match self {
            Kind::Threads => Box::new(ThreadPool::new()),
            Kind::Inline => Box::new(Inline::new()),
            Kind::DeniedFallback => Box::new(Fallback::new(denied())),
            Kind::DeniedThreads => Box::new(denied()),
        }
    }
}

impl TestServer {
    /// Starts the service with `settings` on a runtime with `kind`'s worker.
    pub fn start(kind: Kind, settings: Settings) -> TestServer {
        TestServer::start_with(kind, settings, false)
    }

    /// [`TestServer::start`], with the runtime recording a trace in memory, handed to the
    /// service for the live page's strip (as `main.rs` does).
    pub fn start_traced(kind: Kind, settings: Settings) -> TestServer {
        TestServer::start_with(kind, settings, true)
    }

    /// Starts the service; `traced`: the runtime keeps a trace ring for the live page.
    fn start_with(kind: Kind, mut settings: Settings, traced: bool) -> TestServer {
        util::init_logging();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let (stop, stopped) = oneshot::channel();
        let (report_tx, report) = mpsc::channel();
        std::thread::spawn(move || {
            let mut builder = Runtime::builder().worker(kind.worker());
            if traced {
                builder = builder.trace_capacity(evloop::trace::DEFAULT_CAPACITY);
            }
            let rt = builder.build().expect("runtime");
            settings.trace = rt.trace();
            let outcome = rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("register the listener");
                let service = Service::new(settings);
                let server = evloop::spawn(service.clone().serve(listener));
                let _ = stopped.await;
                service.idle().await;
                let report = Report {
                    io_sources: evloop::stats().io_sources,
                    worker: evloop::worker::stats(),
                };
                server.abort();
                report
            });
            let _ = report_tx.send(outcome);
        });
        TestServer {
            addr,
            stop: Some(stop),
            report,
        }
    }

    /// A new client.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Asks `/stats` until its text contains `part`, and returns that text; fails loudly after
    /// `CLIENT_TIMEOUT`. For the moments a test must know that the server has seen something (a
    /// client leave, a request join the line) before it goes on. Each ask is a round trip through
    /// the server's loop, on one kept-alive connection: no sleep.
    pub fn wait_for_stats(&self, part: &str) -> String {
        let mut client = self.client();
        let deadline = Instant::now() + CLIENT_TIMEOUT;
        loop {
            let stats = client.request(&get("/stats")).body;
            if stats.contains(part) {
                return stats;
            }
            assert!(
                Instant::now() < deadline,
                "/stats never showed {part:?}; last:\n{stats}"
            );
        }
    }

    /// Stops the server once every connection is closed; fails loudly if that does not happen in
    /// time (a leaked connection) or if anything but the listener is left in the reactor.
    pub fn stop(mut self) -> Report {
        let _ = self.stop.take().expect("stop once").send(());
        let report = self
            .report
            .recv_timeout(CLIENT_TIMEOUT)
            .unwrap_or_else(|e| {
                panic!("the server did not close every connection within {CLIENT_TIMEOUT:?}: {e}")
            });
        assert_eq!(report.io_sources, 1, "only the listener is left");
        report
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A test that failed before `stop`: let the server thread wind down if it can.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Settings with the real model of duration `work`.
pub fn settings(work: Duration) -> Settings {
    Settings::new(model::with_work(work))
}

/// The real model of duration `work`, which first tells `started` that a generation began.
pub fn signalling_model(work: Duration) -> (Model, mpsc::Receiver<()>) {
    let (started, receiver) = mpsc::channel();
    let model: Model = Arc::new(move |prompt: &[u8]| {
        let _ = started.send(());
        model::generate(prompt, work)
    });
    (model, receiver)
}

/// One client connection.
pub struct Client {
    /// The socket, buffered for reading responses line by line.
    reader: BufReader<TcpStream>,
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    /// Connects, with `CLIENT_TIMEOUT` on every read and write.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(CLIENT_TIMEOUT))
            .expect("timeout");
        stream
            .set_write_timeout(Some(CLIENT_TIMEOUT))
            .expect("timeout");
        Client {
            reader: BufReader::new(stream),
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("send");
    }

    /// Sends raw bytes and reads one response.
    pub fn request(&mut self, bytes: &[u8]) -> Reply {
        self.send(bytes);
        self.response()
    }

    /// Reads one response (status line, headers, `Content-Length` body).
    pub fn response(&mut self) -> Reply {
        let mut reply = self.head_response();
        let length: usize = reply
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .expect("every response has a Content-Length");
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("response body");
        reply.body = String::from_utf8(body).expect("UTF-8 body");
        reply
    }

    /// Reads the status line and headers of one response, and no body: the answer to `HEAD`.
    pub fn head_response(&mut self) -> Reply {
        let status_line = self.line();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header with a colon");
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        Reply {
            status,
            headers,
            body: String::new(),
        }
    }

    /// One CRLF-terminated line, without the CRLF.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("the server closed the connection instead of answering"),
            Ok(_) => {}
            Err(e) => panic!("reading a response failed (timeout after {CLIENT_TIMEOUT:?}?): {e}"),
        }
        line.strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("line not ended by CRLF: {line:?}"))
            .to_string()
    }

    /// Asserts that the server closes the connection now: end of stream (or a reset), no bytes.
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => {
                panic!("the connection was not closed (timeout after {CLIENT_TIMEOUT:?}?): {e}")
            }
        }
        assert!(
            rest.is_empty(),
            "bytes after the last response: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Shuts down the sending side (the server reads the end of the stream).
    pub fn half_close(&self) {
        let _ = self.reader.get_ref().shutdown(Shutdown::Write);
    }

    /// Half-closes, then reads everything until the server closes.
    pub fn finish(mut self) -> Vec<u8> {
        self.half_close();
        let mut all = Vec::new();
        match self.reader.read_to_end(&mut all) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server did not close (timeout after {CLIENT_TIMEOUT:?}?): {e}"),
        }
        all
    }
}

/// `GET path` on a keep-alive connection.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// `POST path` with `body`.
pub fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
