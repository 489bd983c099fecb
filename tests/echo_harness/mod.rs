//! An instrumented echo server for the `net` tests, and the small tools they share.
//!
//! The server is what `examples/echo_server/` does (one task per connection, a fixed 4 KiB
//! buffer, read then write back), plus a record per connection that tests can watch: bytes moved,
//! how many times its task was polled, whether it is waiting to write, and how it ended. Waiting
//! for those records uses wakers ([`Counter::reach`]), never sleeps.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// The server's per-connection buffer: fixed, whatever the client does.
pub const BUF: usize = 4096;

/// Runs `test` on `rt`, failing loudly if it takes longer than `secs` seconds (60 times that
/// under Miri, whose clock moves with the instructions it interprets, some hundred times slower
/// than native code: the deadline is there to catch a hang, not Miri's pace).
pub fn within<F: Future>(rt: &evloop::Runtime, secs: u64, test: F) -> F::Output {
    let secs = if cfg!(miri) { secs * 60 } else { secs };
    rt.block_on(async {
        match evloop::time::timeout(Duration::from_secs(secs), test).await {
            Ok(output) => output,
            Err(_) => panic!("test did not finish within {secs} s"),
        }
    })
}

/// A count that tasks can wait on.
#[derive(Default)]
pub struct Counter {
    /// The count.
    value: Cell<usize>,
    /// The task waiting in `reach`, if any.
    waiter: RefCell<Option<Waker>>,
}

impl Counter {
    /// Adds one and wakes the waiter.
    pub fn bump(&self) {
        self.value.set(self.value.get() + 1);
        if let Some(waker) = self.waiter.borrow_mut().take() {
            waker.wake();
        }
    }

    /// The count now.
    pub fn get(&self) -> usize {
        self.value.get()
    }

    /// Waits until the count is at least `n`.
    pub async fn reach(&self, n: usize) {
        poll_fn(|cx| {
            if self.value.get() >= n {
                Poll::Ready(())
            } else {
                *self.waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// What the server knows about one connection.
#[derive(Default)]
pub struct Conn {
    /// Bytes read from the client.
    pub read: Cell<u64>,
    /// Bytes written back.
    pub written: Cell<u64>,
    /// Times the connection's task was polled.
    pub polls: Cell<u64>,
    /// True while a write returned `Pending` and has not completed yet.
    pub waiting_to_write: Cell<bool>,
    /// Becomes true (and `Server::parked_in_write` counts it) the first time a write waits.
    pub ever_waited_to_write: Cell<bool>,
    /// How the connection ended: bytes echoed, or the error.
    pub outcome: RefCell<Option<io::Result<u64>>>,
}

/// A running instrumented echo server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every connection accepted, in accept order.
    pub conns: Rc<RefCell<Vec<Rc<Conn>>>>,
    /// Connections accepted.
    pub accepted: Rc<Counter>,
    /// Connection tasks that ended.
    pub ended: Rc<Counter>,
    /// Connections whose task waited to write at least once.
    pub parked_in_write: Rc<Counter>,
}

impl Server {
    /// Binds 127.0.0.1:0 and serves in a spawned task.
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Server::serve(listener)
    }

    /// Serves `listener` in a spawned task.
    pub fn serve(listener: TcpListener) -> Server {
        let server = Server {
            addr: listener
                .local_addr()
                .expect("bound listener has an address"),
            conns: Rc::default(),
            accepted: Rc::default(),
            ended: Rc::default(),
            parked_in_write: Rc::default(),
        };
        let (conns, accepted) = (server.conns.clone(), server.accepted.clone());
        let (ended, parked) = (server.ended.clone(), server.parked_in_write.clone());
        evloop::spawn(async move {
            loop {
                let (stream, peer) = listener.accept().await.expect("the listener works");
                let conn = Rc::new(Conn::default());
                conns.borrow_mut().push(conn.clone());
                accepted.bump();
                let (ended, parked) = (ended.clone(), parked.clone());
                evloop::spawn(async move {
                    let outcome = counting_polls(&conn.polls, echo(stream, &conn, &parked)).await;
                    match &outcome {
                        Ok(bytes) => log::debug!("{peer}: closed after {bytes} bytes"),
                        Err(e) => log::debug!("{peer}: ended with an error: {e}"),
                    }
                    *conn.outcome.borrow_mut() = Some(outcome);
                    ended.bump();
                });
            }
        });
        server
    }

    /// Connection number `i` in accept order.
    pub fn conn(&self, i: usize) -> Rc<Conn> {
        self.conns.borrow()[i].clone()
    }
}

/// Echoes until end of stream, through a fixed buffer, recording progress in `conn`.
async fn echo(mut stream: TcpStream, conn: &Conn, parked: &Counter) -> io::Result<u64> {
    // Without it, the second part of an echo longer than BUF waits for the client's delayed ACK
    // of the first (Nagle): 40 ms per message.
    stream.set_nodelay(true)?;
    let mut buf = [0u8; BUF];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(conn.written.get());
        }
        conn.read.set(conn.read.get() + n as u64);
        let mut sent = 0;
        while sent < n {
            let wrote = poll_fn(|cx| {
                let poll = stream.poll_write(cx, &buf[sent..n]);
                if poll.is_pending() {
                    conn.waiting_to_write.set(true);
                    if !conn.ever_waited_to_write.replace(true) {
                        parked.bump();
                    }
                }
                poll
            })
            .await?;
            conn.waiting_to_write.set(false);
            sent += wrote;
            conn.written.set(conn.written.get() + wrote as u64);
        }
    }
}

/// Runs `future`, counting its polls in `polls`.
pub async fn counting_polls<F: Future>(polls: &Cell<u64>, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        polls.set(polls.get() + 1);
        future.as_mut().poll(cx)
    })
    .await
}

/// A run of bytes 0, 1, 2, ... 255, 0, 1, ... long enough for messages of `size` bytes.
pub fn pattern(size: usize) -> Vec<u8> {
    (0..size + 256).map(|i| i as u8).collect()
}

/// Message `message` of client `client`: a window of `pattern` whose start depends on both, so an
/// echo delivered to the wrong connection or out of order is (almost always) caught. Slicing
/// instead of generating keeps debug-build tests fast.
pub fn message(pattern: &[u8], size: usize, client: u64, message: u64) -> &[u8] {
    let start = (client
        .wrapping_mul(131)
        .wrapping_add(message.wrapping_mul(31))
        % 256) as usize;
    &pattern[start..start + size]
}

/// Sends `count` messages of `size` bytes and checks every echoed byte; returns round trips done.
pub async fn round_trips(
    addr: SocketAddr,
    client: u64,
    count: u64,
    size: usize,
) -> io::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let pattern = pattern(size);
    let mut echoed = vec![0u8; size];
    for m in 0..count {
        let sent = message(&pattern, size, client, m);
        stream.write_all(sent).await?;
        stream.read_exact(&mut echoed).await?;
        assert!(sent == echoed, "client {client} message {m}: echo differs");
    }
    Ok(count)
}
