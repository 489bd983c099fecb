//! `--loops N`: one event loop per core, nothing shared — how to use more than one core with a
//! single-threaded runtime. (Part of the `echo_server` example.)
//!
//! evloop runs one loop on one thread. To use N cores, run N loops, each on its own thread with
//! its own `Runtime`, and give each its *own listening socket* on the same port:
//!
//! ```text
//!                      ┌─► thread evloop-loop-0: Runtime, TcpListener (SO_REUSEPORT), its tasks
//!  clients ─► port P ──┼─► thread evloop-loop-1: Runtime, TcpListener (SO_REUSEPORT), its tasks
//!   (kernel picks a    └─► ...
//!    listener per connection, by a hash of its addresses)
//! ```
//!
//! `SO_REUSEPORT` lets several sockets bind the same address and port; the kernel then spreads
//! incoming connections across them (Linux hashes each connection's addresses and ports, so a
//! given connection always lands on the same listener). A connection then lives on the loop that
//! accepted it for its whole life: its task, its buffer pool (`connection.rs`'s thread-local) and
//! its reactor slot are that loop's. Nothing on the hot path is shared between loops — no lock, no
//! atomic written per message — which is why this scales as far as the kernel and the cores do.
//! (The shutdown counters of `connection.rs` are process-wide atomics, touched once per
//! connection and once per slow message, not per echo.)
//!
//! What it gives up, next to a work-stealing runtime such as tokio's multi-thread one: a loop
//! whose connections are all busy cannot hand work to an idle loop. The kernel balances
//! *connections*, not load; with few, long, uneven connections one core can be saturated while
//! another idles. `docs/09-from-evloop-to-tokio-and-asyncio.md` ("Past one core") compares the two
//! and says when to move.
//!
//! The steps, in [`run`]: bind N sockets to one port before any loop starts (the first picks the
//! port when ADDR's is 0, the others bind that port), start one thread per loop, where the socket
//! becomes a listener of that loop's reactor, and announce `listening on ADDR` only once every
//! loop listens — a connection made earlier would go to the loops already listening.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

use evloop::net::TcpSocket;
use evloop::signal::unix::{SignalKind, signal};

use super::{Args, announce, runtime, serve};

/// Serves on `args.loops` loops, one thread each, until Ctrl-C (every loop hears it).
pub fn run(args: &Args) -> io::Result<()> {
    let sockets = bind_all(args.addr, args.loops)?;
    let addr = sockets[0].local_addr()?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut loops = Vec::with_capacity(sockets.len());
    for (index, socket) in sockets.into_iter().enumerate() {
        let (args, ready) = (args.clone(), ready_tx.clone());
        let spawned = thread::Builder::new()
            .name(format!("evloop-loop-{index}"))
            .spawn(move || run_loop(index, socket, &args, ready))?;
        loops.push(spawned);
    }
    drop(ready_tx);
    // Every loop says when it listens; one that failed first drops its sender instead.
    let all_listening = (0..loops.len()).all(|_| ready_rx.recv().is_ok());
    if all_listening {
        announce(addr)?;
    }
    let mut result = Ok(());
    for handle in loops {
        let ended = handle.join().expect("a loop thread does not panic");
        result = result.and(ended);
    }
    result
}

/// `n` sockets bound to `addr` with `SO_REUSEPORT`, all on the port the first one got.
fn bind_all(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpSocket>> {
    let first = reuseport_socket(addr)?;
    let port = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..n {
        sockets.push(reuseport_socket(port)?);
    }
    Ok(sockets)
}

/// A socket bound to `addr` that other sockets may bind too (`SO_REUSEPORT`).
fn reuseport_socket(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// One loop: its own runtime; the socket becomes its listener; it serves until Ctrl-C.
fn run_loop(
    index: usize,
    socket: TcpSocket,
    args: &Args,
    ready: mpsc::Sender<()>,
) -> io::Result<()> {
    let rt = runtime(args)?;
    rt.block_on(async {
        let listener = socket.listen(1024)?;
        let interrupt = signal(SignalKind::interrupt())?;
        let _ = ready.send(()); // `run` waits for every loop before it announces the address
        serve(listener, interrupt, args, Some(index)).await
    })
}
