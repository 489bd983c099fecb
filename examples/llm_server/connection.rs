//! One client connection: read a request within the limits and a deadline, answer it, repeat
//! while the client keeps the connection alive, then close it cleanly.
//!
//! ```text
//!  ┌─► read a head ──► read its body ──► service.respond ──► write the response ─┐ keep-alive
//!  │   (≤ max_head)    (Content-Length,  (routes, model;     (bounded by the      │
//!  │                    ≤ max_body;       meanwhile, watch    same timeout; no    │
//!  │                    100 Continue      the socket for      body after HEAD)    │
//!  │                    first if asked)   the client leaving)                     │
//!  └──────────────────────────────────────────────────────────────────────────────┘
//!        │ the whole request must arrive within `read_timeout`:
//!        │   nothing came  → close quietly (an idle keep-alive connection)
//!        │   part of it    → 408, close (a stalled or slowloris client)
//!        │ the parser refuses it → 400/411/413/414/417/431/501, close
//!        │ the client closed → done
//!        │ the client left while its request waited → close, nothing written
//! ```
//!
//! Everything a client can make the server hold is bounded. The bytes of the request being read
//! live in one buffer that never grows past `max_head + max_body`; bytes that arrive after a
//! request (a pipelined next request) stay in it and are parsed next. Reading has a deadline, and
//! so has writing: a client that never reads its responses is closed too.
//!
//! While the service works on a request, the connection keeps reading ([`Connection::departure`]):
//! bytes that come are kept (a pipelined next request), and the end of the stream or an error
//! means the client has left, so `generation.rs` can drop a request nobody waits for. A client
//! that only shut down its sending side (`shutdown(SHUT_WR)`) and still waits for its answer
//! looks exactly the same from here, and is taken as gone too. That is nginx's choice (a client
//! "prematurely closed connection", status 499): browsers, curl and HTTP libraries do not
//! half-close, and the alternative — serving every closed connection — is the bug this fixes.
//!
//! During a shutdown (`service.rs`), a connection idle between requests closes at once, and the
//! request in flight, if any, is answered with `Connection: close` before the connection closes.
//!
//! Closing is a *lingering* close, as nginx and Apache do it: shut down our sending side (the
//! client reads the response, then the end of the stream), then read and discard whatever the
//! client still sends, for a bounded time, until it closes. Closing with unread bytes in the
//! receive buffer would make the kernel answer with a reset instead, and a reset can destroy the
//! response before the client has read it — exactly the 413 or 431 it needs to see.
//!
//! The connection is written against evloop's `io` traits, not against `TcpStream`: any
//! `S: AsyncRead + AsyncWrite + Unpin` will do. The server hands it the accepted `TcpStream`
//! (`service.rs`, which also sets `TCP_NODELAY`, a socket option a trait cannot know); the tests
//! of its timeouts hand it an `evloop::test::mock::Mock` on paused time, and check a 30 s
//! timeout to the nanosecond without a socket or a wait (`tests/llm_server/timeouts.rs`).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use evloop::sync::watch;
use evloop::time::timeout;

use crate::generation::Departure;
use crate::request::{self, HttpError, Limits, Request};
use crate::response::{self, Response};
use crate::service::Service;

/// How many bytes one read asks for at most.
const READ_CHUNK: usize = 4096;

/// How a connection ended, for the debug log.
#[derive(Debug)]
pub enum Ending {
    /// The client closed between requests, after `served` of them.
    ClientClosed {
        /// Requests answered on this connection.
        served: u64,
    },
    /// The client closed in the middle of a request.
    ClosedMidRequest,
    /// The client asked for it (`Connection: close`, or HTTP/1.0).
    CloseRequested,
    /// Keep-alive connection idle for the whole read timeout.
    Idle,
    /// Part of a request came, the rest not in time: answered 408.
    Stalled,
    /// The parser refused the request: answered with its status.
    Refused(HttpError),
    /// The client did not take a response in time.
    WriteTimedOut,
    /// The client left while its request waited or ran: nothing was written.
    Left(Departure),
    /// The server is shutting down: closed between requests, or after answering the last one.
    ShuttingDown {
        /// Requests answered on this connection.
        served: u64,
    },
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::ClientClosed { served } => {
                write!(f, "closed by the client after {served} requests")
            }
            Ending::ClosedMidRequest => {
                f.write_str("closed by the client in the middle of a request")
            }
            Ending::CloseRequested => f.write_str("closed as the client asked (Connection: close)"),
            Ending::Idle => f.write_str("closed after the idle timeout"),
            Ending::Stalled => f.write_str("request not complete in time: 408, closed"),
            Ending::Refused(e) => {
                write!(f, "request refused with {} ({e:?}), closed", e.status().0)
            }
            Ending::WriteTimedOut => {
                f.write_str("client did not read its response in time, closed")
            }
            Ending::Left(departure) => write!(f, "{departure} while its request was served"),
            Ending::ShuttingDown { served } => {
                write!(f, "closed for the shutdown after {served} requests")
            }
        }
    }
}

/// Serves requests on `stream` until the client closes, asks to close, stalls or misbehaves, or
/// `shutting_down` turns true. `Err` only for I/O errors (a reset, a broken pipe); every other way
/// out is an [`Ending`].
pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    service: &Service,
    mut shutting_down: watch::Receiver<bool>,
) -> io::Result<Ending> {
    let settings = service.settings();
    let mut conn = Connection {
        stream,
        buf: Vec::new(),
        searched: 0,
        limits: settings.limits,
        timeout: settings.read_timeout,
    };
    let mut served = 0;
    loop {
        // 0. Idle between requests: a shutdown closes the connection here, and so does the idle
        //    timeout, and the client's close. Once a byte of the next request is in (this read's,
        //    or one pipelined behind the last request), the request is in flight. (The wait is a
        //    read, so an idle connection keeps its buffer's room meanwhile: at most `READ_CHUNK`,
        //    as `read_request` shrinks it back after each request.)
        if conn.buf.is_empty() {
            evloop::select! {
                biased;
                _ = shutting_down.changed() => {
                    return conn.close(Ending::ShuttingDown { served }).await;
                }
                first = timeout(conn.timeout, conn.fill()) => match first {
                    Ok(Ok(0)) => return Ok(Ending::ClientClosed { served }),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_elapsed) => return conn.close(Ending::Idle).await,
                },
            }
        }
        // 1. The rest of the request, head and body, within the deadline. (A client that sent
        //    nothing was closed as idle in step 0; one that sent part of a request gets a 408.)
        let (request, body) = match timeout(conn.timeout, conn.read_request()).await {
            Ok(Ok(read)) => read,
            Ok(Err(ReadError::ClosedMidRequest)) => return Ok(Ending::ClosedMidRequest),
            Ok(Err(ReadError::Io(e))) => return Err(e),
            Ok(Err(ReadError::Http(e))) => {
                let method = if request::asks_for_head(&conn.buf) {
                    "HEAD"
                } else {
                    ""
                };
                let refusal = Response::from(e).bytes_for(method, false);
                return conn.answer_and_close(&refusal, Ending::Refused(e)).await;
            }
            Err(_elapsed) => {
                let late = Response::text(408, "Request Timeout", "408 Request Timeout\n");
                return conn
                    .answer_and_close(&late.to_bytes(false), Ending::Stalled)
                    .await;
            }
        };
        log::debug!(
            "{} {} ({} body bytes)",
            request.method,
            request.path,
            body.len()
        );
        // 2. The answer: this may wait for the execution lock and the model, unless the client
        //    leaves meanwhile.
        let response = match service.respond(&request, body, conn.departure()).await {
            Ok(response) => response,
            Err(departure) => return Ok(Ending::Left(departure)),
        };
        // 3. Write it, then keep going or close as the client asked (or the shutdown does).
        let closing = *shutting_down.borrow();
        let bytes = response.bytes_for(&request.method, request.keep_alive && !closing);
        if closing {
            served += 1;
            return conn
                .answer_and_close(&bytes, Ending::ShuttingDown { served })
                .await;
        }
        if !request.keep_alive {
            return conn.answer_and_close(&bytes, Ending::CloseRequested).await;
        }
        if !conn.write(&bytes).await? {
            return Ok(Ending::WriteTimedOut);
        }
        served += 1;
    }
}

/// A connection's stream and the bytes read from it that no request has used yet.
struct Connection<S> {
    /// The client: a `TcpStream`, or a test's mock.
    stream: S,
    /// Bytes received and not yet consumed: the request being read, then any pipelined bytes
    /// after it. Never longer than `limits.max_head + limits.max_body`.
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no end of head (`\r\n\r\n`).
    searched: usize,
    /// The parser's limits.
    limits: Limits,
    /// Deadline for one request to arrive, or one response to be written.
    timeout: Duration,
}

/// Why reading a request stopped short.
enum ReadError {
    /// The parser refused the request.
    Http(HttpError),
    /// The client closed after sending part of a request.
    ClosedMidRequest,
    /// The socket failed.
    Io(io::Error),
}

impl From<HttpError> for ReadError {
    fn from(e: HttpError) -> ReadError {
        ReadError::Http(e)
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Reads the request whose first bytes are in `buf`, and its body.
    async fn read_request(&mut self) -> Result<(Request, Vec<u8>), ReadError> {
        let (request, head_len) = loop {
            if let Some(parsed) = self.parse_head()? {
                break parsed;
            }
            if self.fill().await? == 0 {
                return Err(ReadError::ClosedMidRequest);
            }
        };
        // The parser bounded the length, so this stays within the buffer's limit.
        let end = head_len + request.content_length;
        if request.expect_continue && self.buf.len() < end {
            // The client holds its body back until it hears this (RFC 9110 §10.1.1); a refusal
            // would have come from the parser already. 25 bytes into an idle socket: the write
            // finishes at once, so the read deadline around us never cuts it in half.
            self.stream.write_all(response::CONTINUE).await?;
        }
        while self.buf.len() < end {
            if self.fill().await? == 0 {
                return Err(ReadError::ClosedMidRequest);
            }
        }
        let body = self.buf[head_len..end].to_vec();
        self.buf.drain(..end);
        // Growing to a 64 KiB body doubled the buffer to 128 KiB; the request may now wait a long
        // time for the model, and the body has its own copy: give the room back meanwhile.
        self.buf.shrink_to(READ_CHUNK);
        self.searched = 0;
        Ok((request, body))
    }

    /// Runs the parser once the head may be complete (or too long). A client that trickles its
    /// head byte by byte thus costs a scan of each new byte, not a re-parse of the whole head.
    fn parse_head(&mut self) -> Result<Option<(Request, usize)>, HttpError> {
        // The end of head may straddle the old and the new bytes: look 3 bytes back.
        let from = self.searched.saturating_sub(3);
        let ended = self.buf[from..].windows(4).any(|w| w == b"\r\n\r\n");
        self.searched = self.buf.len();
        if !ended && self.buf.len() < self.limits.max_head {
            return Ok(None);
        }
        request::parse_head(&self.buf, self.limits)
    }

    /// Reads what has arrived onto the end of `buf`; `Ok(0)` is the end of the stream.
    ///
    /// Cancel-safe, which matters because the deadline may drop it at its `await`: the only
    /// `await` is on [`Connection::poll_fill`], which grows the buffer, reads into it and trims
    /// it back within one poll, with no `await` in between; so `buf` never holds bytes that did
    /// not come from the client.
    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// One read attempt onto the end of `buf`: at most `READ_CHUNK` bytes, and never past the
    /// buffer's limit. `Pending` leaves `buf` as it was (the stream wakes the task when it may
    /// be read).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let room = (self.limits.max_head + self.limits.max_body).saturating_sub(self.buf.len());
        if room == 0 {
            // Cannot happen (the parser refuses first), but a zero-length read would look like
            // the end of the stream: say what it is instead.
            return Poll::Ready(Err(io::Error::other("request buffer full")));
        }
        let len = self.buf.len();
        self.buf.resize(len + room.min(READ_CHUNK), 0);
        let mut tail = ReadBuf::new(&mut self.buf[len..]);
        let polled = Pin::new(&mut self.stream).poll_read(cx, &mut tail);
        let read = match polled {
            Poll::Ready(Ok(())) => tail.filled().len(),
            Poll::Ready(Err(_)) | Poll::Pending => 0,
        };
        self.buf.truncate(len + read);
        polled.map_ok(|()| read)
    }

    /// Resolves when the client has left: end of stream, or an error on the socket. Meant to be
    /// raced against the work on a request (`generation.rs`), and cancel-safe for it: bytes that
    /// arrive meanwhile are a pipelined next request, kept in `buf` by [`Connection::fill`].
    ///
    /// Once `buf` is full nothing more can be read, so nothing more can be told: it then waits
    /// forever, and the request is served as if the client were there (it may well be).
    async fn departure(&mut self) -> Departure {
        while self.buf.len() < self.limits.max_head + self.limits.max_body {
            match self.fill().await {
                Ok(0) => return Departure::Closed,
                Ok(_) => continue,
                Err(e) => return Departure::Failed(e),
            }
        }
        std::future::pending().await
    }

    /// Writes `bytes` within the timeout; `false` when the client did not take them in time.
    async fn write(&mut self, bytes: &[u8]) -> io::Result<bool> {
        match timeout(self.timeout, self.stream.write_all(bytes)).await {
            Ok(written) => written.map(|()| true),
            Err(_elapsed) => Ok(false),
        }
    }

    /// Writes a last response (written with `Connection: close`) and closes.
    async fn answer_and_close(mut self, response: &[u8], ending: Ending) -> io::Result<Ending> {
        if !self.write(response).await? {
            return Ok(Ending::WriteTimedOut);
        }
        self.close(ending).await
    }

    /// The lingering close of the module docs: FIN first, then discard what the client still
    /// sends — at most one buffer's worth, for at most one timeout — so no reset eats the answer.
    async fn close(self, ending: Ending) -> io::Result<Ending> {
        let Connection {
            mut stream,
            buf: mut scratch,
            limits,
            timeout: linger,
            ..
        } = self;
        // On a `TcpStream`, `shutdown(SHUT_WR)`: the FIN, at once (`AsyncWrite::poll_shutdown`).
        stream.shutdown().await?;
        scratch.resize(READ_CHUNK, 0);
        let mut budget = limits.max_head + limits.max_body;
        let drain = async {
            while budget > 0 {
                match stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => budget = budget.saturating_sub(n),
                }
            }
        };
        // Out of time or budget: the socket is dropped as it is; the client had its chance.
        let _ = timeout(linger, drain).await;
        Ok(ending)
    }
}
