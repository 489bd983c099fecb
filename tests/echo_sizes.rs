//! Issue 18: what one idle connection of `examples/echo_server` holds, part by part, so that no
//! part grows back unnoticed. The whole budget — 256 bytes per idle connection in
//! `../shared/bench/run-c10k.sh` — and how it divides is in `docs/performance.md` ("Memory per
//! idle connection"); the runtime's own parts (task cell, slab slots) are checked by unit tests
//! next to them (`src/executor/cell.rs`, `src/executor/scheduler.rs`, `src/reactor.rs`).

#[path = "../examples/echo_server/connection.rs"]
#[allow(dead_code)] // the example's `set_work` and transform path are not used here
mod connection;

use std::mem::size_of_val;

use evloop::Runtime;
use evloop::net::{TcpListener, TcpStream};

/// Most bytes the connection task's future may hold (its state while idle in `readable().await`
/// and at every other `.await`).
const CONNECTION_FUTURE_BUDGET: usize = 56;

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_18_an_idle_echo_connection_future_stays_small() {
    let rt = Runtime::new().expect("runtime");
    let size = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (stream, _) = listener.accept().await.expect("accept");
        let task = connection::connection(stream);
        size_of_val(&task)
    });
    eprintln!("echo_server's connection future: {size} bytes");
    assert!(
        size <= CONNECTION_FUTURE_BUDGET,
        "the connection future grew to {size} bytes (budget {CONNECTION_FUTURE_BUDGET})"
    );
}
