//! Step 3 of the course: a reactor. An echo server and its clients, all on one thread, all at
//! once; every byte that comes back is checked.
//!
//! Run with: `cargo run --example step3_reactor` (chapter: `docs/03-step3-reactor.md`)
//!
//! The new code is `common/reactor.rs`; this file adds `Registered` (a socket plus its token)
//! and the echo server on top. The loop now parks in `epoll_wait`.

#[path = "common"]
mod common {
    pub mod executor;
    pub mod oneshot;
    #[allow(dead_code)] // `registry` is for step 5
    pub mod reactor;
}

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Waker;

use common::executor::Executor;
use common::reactor::{Direction, Reactor};
use mio::net::{TcpListener, TcpStream};

/// Clients, messages per client, bytes per message.
const CLIENTS: usize = 8;
const MESSAGES: usize = 50;
const SIZE: usize = 1024;

fn main() -> io::Result<()> {
    let reactor = Rc::new(Reactor::new()?);
    // Every wake happens on this thread (events come from `park`), so the loop needs no waker.
    let executor = Executor::new(Waker::noop().clone());
    let main_task = echo_and_check(Rc::clone(&executor), Rc::clone(&reactor));
    let bytes = executor.block_on(main_task, |max| reactor.park(max).expect("epoll_wait"))?;
    let (polls, parks) = (executor.polls.get(), reactor.parks.get());
    println!(
        "{CLIENTS} clients x {MESSAGES} messages x {SIZE} bytes: {bytes} bytes echoed, checked"
    );
    println!("all on one thread: {polls} polls, and {parks} waits in epoll_wait");
    println!(
        "step=3 ok clients={CLIENTS} bytes={bytes} expected={} polls={polls}",
        CLIENTS * MESSAGES * SIZE
    );
    Ok(())
}

/// Starts the server, runs the clients concurrently, returns the bytes they checked.
async fn echo_and_check(executor: Rc<Executor>, reactor: Rc<Reactor>) -> io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
    let addr = listener.local_addr()?;
    println!("echo server on {addr}, {CLIENTS} clients connecting");
    let listener = Registered::new(listener, &reactor)?;
    executor.spawn(serve(listener, Rc::clone(&executor)));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| executor.spawn(client(id, addr, Rc::clone(&reactor))))
        .collect();
    let mut bytes = 0;
    for client in clients {
        bytes += client.await.expect("a client task ends")?;
    }
    Ok(bytes)
}

/// Accepts connections forever, one task each.
async fn serve(listener: Registered<TcpListener>, executor: Rc<Executor>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.io(Direction::Read, |l| l.accept()).await?;
        executor.spawn(echo(Registered::new(stream, &listener.reactor)?));
    }
}

/// Sends back what it reads, until the client closes.
async fn echo(stream: Registered<TcpStream>) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.io(Direction::Read, |mut s| s.read(&mut buf)).await?;
        if n == 0 {
            return Ok(()); // the client closed its side
        }
        write_all(&stream, &buf[..n]).await?;
    }
}

/// Sends `MESSAGES` messages of a pattern unique to (client, message) and checks each echo.
async fn client(id: usize, addr: SocketAddr, reactor: Rc<Reactor>) -> io::Result<usize> {
    // A non-blocking connect: the first write waits for "writable", which means "connected".
    let stream = Registered::new(TcpStream::connect(addr)?, &reactor)?;
    let mut echo = vec![0u8; SIZE];
    for m in 0..MESSAGES {
        let message: Vec<u8> = (0..SIZE).map(|i| (id * 31 + m * 7 + i) as u8).collect();
        write_all(&stream, &message).await?;
        let mut got = 0;
        while got < SIZE {
            let n = stream
                .io(Direction::Read, |mut s| s.read(&mut echo[got..]))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        if echo != message {
            let wrong = format!("client {id}: message {m} came back wrong");
            return Err(io::Error::other(wrong));
        }
    }
    Ok(MESSAGES * SIZE)
}

/// Writes all of `buf`, waiting for room as often as needed.
async fn write_all(stream: &Registered<TcpStream>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = stream.io(Direction::Write, |mut s| s.write(buf)).await?;
        buf = &buf[n..];
    }
    Ok(())
}

/// A mio socket registered with the reactor: every operation on it goes through `poll_io`.
struct Registered<S: mio::event::Source> {
    /// The non-blocking socket.
    socket: S,
    /// Its token in the reactor.
    token: usize,
    /// The reactor it is registered with.
    reactor: Rc<Reactor>,
}

impl<S: mio::event::Source> Registered<S> {
    /// Registers `socket` with `reactor`.
    fn new(mut socket: S, reactor: &Rc<Reactor>) -> io::Result<Registered<S>> {
        let token = reactor.register(&mut socket)?;
        Ok(Registered {
            socket,
            token,
            reactor: Rc::clone(reactor),
        })
    }

    /// Runs the non-blocking `op` until it does not say `WouldBlock`, waiting for events between.
    async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| {
            self.reactor
                .poll_io(self.token, dir, cx, || op(&self.socket))
        })
        .await
    }
}

impl<S: mio::event::Source> Drop for Registered<S> {
    fn drop(&mut self) {
        self.reactor.deregister(&mut self.socket, self.token);
    }
}
