//! The connection's deadlines on paused time (issue 17): `serve_connection` on a mock stream
//! instead of a socket, so a 30 s read timeout is checked to the nanosecond, at once.
//!
//! A client thread on a real socket cannot be paused: the loop cannot know that bytes are on
//! their way, so auto-advance would jump past them. A [`Mock`] plays the client on the loop
//! itself: its script says what the client sends, what the server must write, and how long the
//! client stays silent (`wait`, a sleep on the loop's clock). Wrapped in [`Watched`], it also
//! writes down *when* the server wrote and when it shut its side down (the FIN of the lingering
//! close), so each test states the whole exchange on the virtual clock:
//!
//! ```text
//!  t = 0     GET /health  ──►  200 (keep-alive)
//!  t = 30 s  (silence)         FIN: idle for exactly READ_TIMEOUT
//!  t = 60 s                    gone: the lingering close waited READ_TIMEOUT for the client
//! ```
//!
//! The expected bytes come from the service and `response.rs` themselves, not from copies; the
//! mock compares them byte for byte. Every test runs under `util::paused`, which fails it after
//! 10 s of *real* time: proof that the 30 s timeouts cost none. One real-socket test of the idle
//! close stays in `tests/llm_server.rs`, to show the same code on a `TcpStream`.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::io::{AsyncRead, AsyncWrite, ReadBuf};
use evloop::sync::watch;
use evloop::test::mock::{Builder, Mock};
use evloop::time::{Instant, sleep};

use crate::connection::{Ending, serve_connection};
use crate::llm_harness::{get, post, settings};
use crate::request::{self, Limits};
use crate::response::Response;
use crate::service::Service;
use crate::util;

/// The read (and write) timeout of these tests: long, since paused time makes it free.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A client that is silent for good (longer than any deadline here).
const FOREVER: Duration = Duration::from_secs(24 * 3600);

/// What the server did to the stream, and when: virtual time since the connection began.
type Timeline = Vec<(Duration, &'static str)>;

/// A mock stream that notes when the server wrote to it (`"wrote"`, once per instant) and when it
/// shut down its sending side (`"FIN"`).
struct Watched {
    /// The scripted client.
    mock: Mock,
    /// When the connection began.
    start: Instant,
    /// What happened so far.
    timeline: Rc<RefCell<Timeline>>,
}

impl Watched {
    /// Notes `event` now, unless it is a write right after a write at the same instant.
    fn note(&self, event: &'static str) {
        let now = self.start.elapsed();
        let mut timeline = self.timeline.borrow_mut();
        if timeline.last() != Some(&(now, event)) || event != "wrote" {
            timeline.push((now, event));
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.mock).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.mock).poll_write(cx, buf);
        if let Poll::Ready(Ok(1..)) = written {
            self.note("wrote");
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.mock).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.note("FIN");
        Pin::new(&mut self.mock).poll_shutdown(cx)
    }
}

/// How one connection went.
struct Served {
    /// How it ended.
    ending: Ending,
    /// When `serve_connection` returned (the socket was dropped), since it began.
    took: Duration,
    /// What the server did to the stream, and when.
    timeline: Timeline,
}

/// A service with `READ_TIMEOUT`, and a model that takes no time.
fn service() -> Rc<Service> {
    let mut settings = settings(Duration::ZERO);
    settings.read_timeout = READ_TIMEOUT;
    Service::new(settings)
}

/// The bytes the service answers to the request `raw`, in the form the connection writes them
/// (`keep_alive`: whether the connection stays open after it).
async fn answer(service: &Service, raw: &[u8], keep_alive: bool) -> Vec<u8> {
    let (request, head_len) = request::parse_head(raw, Limits::default())
        .expect("a valid request")
        .expect("a whole head");
    let body = raw[head_len..].to_vec();
    let response = service
        .respond(&request, body, std::future::pending())
        .await
        .expect("the client is there");
    response.bytes_for(&request.method, keep_alive)
}

/// Serves one connection whose client plays `script` (no shutdown comes). The mock is built at
/// once, so the script may be a temporary.
fn serve<'a>(service: &'a Service, script: &mut Builder) -> impl Future<Output = Served> + 'a {
    let mock = script.build();
    async move {
        let (_no_shutdown, shutting_down) = watch::channel(false);
        serve_until(service, mock, shutting_down).await
    }
}

/// Serves one connection whose client is `mock`, until `shutting_down` says otherwise.
async fn serve_until(
    service: &Service,
    mock: Mock,
    shutting_down: watch::Receiver<bool>,
) -> Served {
    let timeline = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    let stream = Watched {
        mock,
        start,
        timeline: Rc::clone(&timeline),
    };
    let ending = serve_connection(stream, service, shutting_down)
        .await
        .expect("no I/O error");
    Served {
        ending,
        took: start.elapsed(),
        timeline: timeline.take(),
    }
}

#[test]
fn an_idle_keep_alive_connection_closes_after_exactly_the_read_timeout() {
    util::paused(|| async {
        let service = service();
        let health = get("/health");
        let ok = answer(&service, &health, true).await;
        assert!(ok.starts_with(b"HTTP/1.1 200 OK\r\n"));
        let served = serve(
            &service,
            Builder::new().read(&health).write(&ok).wait(FOREVER),
        )
        .await;
        assert!(matches!(served.ending, Ending::Idle), "{}", served.ending);
        // Answered at once; then nothing written, only the FIN, at exactly the timeout.
        assert_eq!(
            served.timeline,
            [(Duration::ZERO, "wrote"), (READ_TIMEOUT, "FIN")]
        );
        // The client never closes: the lingering close gives up after one more timeout.
        assert_eq!(served.took, READ_TIMEOUT * 2);
    });
}

#[test]
fn the_idle_deadline_starts_again_after_each_response() {
    util::paused(|| async {
        let service = service();
        let health = get("/health");
        let ok = answer(&service, &health, true).await;
        let just_in_time = READ_TIMEOUT - Duration::from_millis(1);
        let served = serve(
            &service,
            Builder::new()
                .read(&health)
                .write(&ok)
                .wait(just_in_time) // 1 ms before the deadline: still served
                .read(&health)
                .write(&ok)
                .wait(FOREVER),
        )
        .await;
        assert!(matches!(served.ending, Ending::Idle), "{}", served.ending);
        assert_eq!(
            served.timeline,
            [
                (Duration::ZERO, "wrote"),
                (just_in_time, "wrote"),
                (just_in_time + READ_TIMEOUT, "FIN"),
            ]
        );
    });
}

#[test]
fn a_client_that_never_sends_anything_is_closed_at_the_read_timeout() {
    util::paused(|| async {
        let service = service();
        // Silent; it sees the FIN at 30 s, and closes 2 s later.
        let closes_at = READ_TIMEOUT + Duration::from_secs(2);
        let served = serve(&service, Builder::new().wait(closes_at)).await;
        assert!(matches!(served.ending, Ending::Idle), "{}", served.ending);
        assert_eq!(served.timeline, [(READ_TIMEOUT, "FIN")]); // no 408: nothing to answer
        // The lingering close ends as soon as the client closes.
        assert_eq!(served.took, closes_at);
    });
}

#[test]
fn a_stalled_request_gets_408_at_exactly_the_read_timeout_while_others_are_served() {
    util::paused(|| async {
        let service = service();
        let late = Response::text(408, "Request Timeout", "408 Request Timeout\n").to_bytes(false);
        let health_and_close = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
        let ok_and_close = answer(&service, health_and_close, false).await;
        for partial in [
            &b"GET /health HTTP/1.1\r\nHo"[..],
            b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc",
        ] {
            // The stalled client, and another one on the same service meanwhile.
            let (stalled, other) = evloop::join!(
                serve(
                    &service,
                    Builder::new().read(partial).write(&late).wait(FOREVER),
                ),
                serve(
                    &service,
                    Builder::new().read(health_and_close).write(&ok_and_close),
                ),
            );
            let shown = String::from_utf8_lossy(partial);
            assert!(
                matches!(stalled.ending, Ending::Stalled),
                "{shown:?}: {}",
                stalled.ending
            );
            assert_eq!(
                stalled.timeline,
                [(READ_TIMEOUT, "wrote"), (READ_TIMEOUT, "FIN")],
                "{shown:?}: the 408 and the FIN at exactly the timeout"
            );
            assert_eq!(stalled.took, READ_TIMEOUT * 2, "{shown:?}");
            // Served at once, not behind the stalled client.
            assert!(
                matches!(other.ending, Ending::CloseRequested),
                "{}",
                other.ending
            );
            assert_eq!(
                other.timeline,
                [(Duration::ZERO, "wrote"), (Duration::ZERO, "FIN")]
            );
            assert_eq!(other.took, Duration::ZERO);
        }
    });
}

#[test]
fn a_request_trickling_in_must_be_whole_within_the_read_timeout() {
    util::paused(|| async {
        let service = service();
        let late = Response::text(408, "Request Timeout", "408 Request Timeout\n").to_bytes(false);
        // A byte every 7 s, each well within the timeout of the one before; then nothing until
        // it hears from the server. The deadline runs from the first byte, not from the last.
        let mut script = Builder::new();
        script.read(b"G");
        for byte in b"ET /" {
            script.wait(Duration::from_secs(7)).read(&[*byte]);
        }
        let served = serve(&service, script.write(&late).wait(FOREVER)).await;
        assert!(
            matches!(served.ending, Ending::Stalled),
            "{}",
            served.ending
        );
        assert_eq!(
            served.timeline,
            [(READ_TIMEOUT, "wrote"), (READ_TIMEOUT, "FIN")]
        );
    });
}

#[test]
fn a_client_that_does_not_read_its_response_is_dropped_at_the_write_timeout() {
    util::paused(|| async {
        let service = service();
        let health = get("/health");
        let ok = answer(&service, &health, true).await;
        // The client's receive window takes 10 bytes, then stays full: the rest of the write
        // waits on the silence, and the silence outlasts the timeout.
        let served = serve(
            &service,
            Builder::new().read(&health).write(&ok[..10]).wait(FOREVER),
        )
        .await;
        assert!(
            matches!(served.ending, Ending::WriteTimedOut),
            "{}",
            served.ending
        );
        // No FIN, no lingering: a client that does not read gets no more chances.
        assert_eq!(served.timeline, [(Duration::ZERO, "wrote")]);
        assert_eq!(served.took, READ_TIMEOUT);
    });
}

#[test]
fn a_shutdown_closes_an_idle_connection_at_once() {
    util::paused(|| async {
        let service = service();
        let health = get("/health");
        let ok = answer(&service, &health, true).await;
        let (shutdown, shutting_down) = watch::channel(false);
        let in_5_s = async {
            sleep(Duration::from_secs(5)).await;
            shutdown.send_replace(true);
        };
        let (served, ()) = evloop::join!(
            serve_until(
                &service,
                Builder::new()
                    .read(&health)
                    .write(&ok)
                    .wait(FOREVER)
                    .build(),
                shutting_down,
            ),
            in_5_s,
        );
        assert!(
            matches!(served.ending, Ending::ShuttingDown { served: 1 }),
            "{}",
            served.ending
        );
        let at_5_s = Duration::from_secs(5);
        assert_eq!(
            served.timeline,
            [(Duration::ZERO, "wrote"), (at_5_s, "FIN")]
        );
        assert_eq!(served.took, at_5_s + READ_TIMEOUT);
    });
}

/// `POST /generate` runs the model through the worker, and while it runs the connection keeps
/// reading, to notice a client that leaves (`Connection::departure`): a read where the script
/// expects the response. The mock lets that read wait until the response is written.
#[test]
fn a_generation_is_answered_while_the_connection_watches_for_the_client_leaving() {
    util::paused(|| async {
        let service = service();
        let generate = post("/generate", "hello paused world");
        let text = answer(&service, &generate, true).await;
        assert!(text.ends_with(b"completion: world paused hello\n"));
        let served = serve(
            &service,
            Builder::new().read(&generate).write(&text).wait(FOREVER),
        )
        .await;
        assert!(matches!(served.ending, Ending::Idle), "{}", served.ending);
        // The blocking job holds paused time still while it runs: answered at 0 s, on the dot.
        assert_eq!(
            served.timeline,
            [(Duration::ZERO, "wrote"), (READ_TIMEOUT, "FIN")]
        );
    });
}
