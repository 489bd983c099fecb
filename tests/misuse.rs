//! Issue 13, part 3: misuse that used to hang silently (or panic from the wrong place).
//!
//! - two tasks awaiting `readable()` on one shared stream (or receiving on one UDP socket): both
//!   must be woken — the reactor once kept one waker per direction and overwrote the first;
//! - a socket, listener or timer registered with one runtime and awaited on another, or outside
//!   any: a panic that names the mistake, not a wait that never ends;
//! - `interval(Duration::MAX)`: saturates like `sleep`, no overflow panic;
//! - dropping a `JoinHandle` whose finished task's output panics in its destructor: contained.
//!
//! Each test that used to hang is bounded by a short `timeout`: before the fixes they failed with
//! "hung", now they pass well inside it.

mod util;

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream, UdpSocket};
use evloop::task::yield_now;
use evloop::time::{interval, sleep, timeout};
use evloop::{Runtime, spawn};

/// How long a wait that should end at once may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(2);

/// Lets every spawned task run until it parks (a few turns of the loop).
async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_two_tasks_awaiting_readable_on_one_stream_are_both_woken() {
    let rt = util::runtime();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let server = Rc::new(server);
        let waiter = |stream: Rc<TcpStream>| async move { stream.readable().await };
        let first = spawn(waiter(server.clone()));
        let second = spawn(waiter(server.clone()));
        settle().await; // both park on "not readable yet"
        client.write_all(b"x").await.expect("write");
        for (name, task) in [("first", first), ("second", second)] {
            timeout(HANG, task)
                .await
                .unwrap_or_else(|_| panic!("the {name} waiter hung: its waker was overwritten"))
                .expect("task")
                .expect("readable");
        }
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_two_tasks_receiving_on_one_udp_socket_both_get_a_datagram() {
    let rt = util::runtime();
    rt.block_on(async {
        let socket = Rc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let receiver = |socket: Rc<UdpSocket>| async move {
            let mut buf = [0u8; 8];
            socket
                .recv_from(&mut buf)
                .await
                .map(|(n, _)| buf[..n].to_vec())
        };
        let first = spawn(receiver(socket.clone()));
        let second = spawn(receiver(socket.clone()));
        settle().await;
        let to = socket.local_addr().expect("addr");
        sender.send_to(b"a", to).expect("send");
        sender.send_to(b"b", to).expect("send");
        let mut got = Vec::new();
        for (name, task) in [("first", first), ("second", second)] {
            let datagram = timeout(HANG, task)
                .await
                .unwrap_or_else(|_| panic!("the {name} receiver hung: its waker was overwritten"));
            got.push(datagram.expect("task").expect("recv"));
        }
        got.sort();
        assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
    });
}

/// Runs `test` on `rt` and returns the message it panicked with; fails if it returned instead
/// (the old behaviour: the wait hung until `HANG`).
fn panic_message<F: Future>(rt: &Runtime, test: F) -> String {
    let result = catch_unwind(AssertUnwindSafe(|| rt.block_on(timeout(HANG, test))));
    match result {
        Ok(Ok(_)) => panic!("the wait ended without the mistake being named"),
        Ok(Err(_)) => panic!("hung: the wait did not end within {HANG:?}"),
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload
                .downcast::<&str>()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        },
    }
}

/// A stream connected on `rt` (registered with its reactor) whose peer never writes.
fn quiet_stream(rt: &Runtime) -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stream = rt.block_on(TcpStream::connect(addr)).expect("connect");
    let (peer, _) = listener.accept().expect("accept");
    (stream, peer)
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_a_stream_awaited_on_another_runtime_panics_and_names_the_mistake() {
    let (a, b) = (util::runtime(), util::runtime());
    let (mut stream, _peer) = quiet_stream(&a);
    // Runtime A is alive but idle: nothing turns its loop.
    let message = panic_message(&b, async {
        let mut buf = [0u8; 16];
        stream.read(&mut buf).await
    });
    assert!(
        message.contains("TcpStream") && message.contains("created on another evloop runtime"),
        "{message}"
    );
    // Runtime A dropped: the same mistake, the same message.
    drop(a);
    let message = panic_message(&b, stream.readable());
    assert!(
        message.contains("created on another evloop runtime"),
        "{message}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_a_stream_polled_outside_any_runtime_panics_and_names_the_mistake() {
    let rt = util::runtime();
    let (stream, _peer) = quiet_stream(&rt);
    let mut readable = pin!(stream.readable());
    let mut cx = Context::from_waker(Waker::noop());
    let result = catch_unwind(AssertUnwindSafe(|| readable.as_mut().poll(&mut cx)));
    let payload = result.expect_err("a wait no loop would ever end");
    let message = payload.downcast::<String>().expect("a formatted message");
    assert!(
        message.contains("outside the evloop runtime that created it"),
        "{message}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue_13_a_listener_awaited_on_another_runtime_panics_and_names_the_mistake() {
    let (a, b) = (util::runtime(), util::runtime());
    let listener = a.block_on(async { TcpListener::bind("127.0.0.1:0").await.expect("bind") });
    let message = panic_message(&b, listener.accept());
    assert!(
        message.contains("TcpListener") && message.contains("created on another evloop runtime"),
        "{message}"
    );
}

#[test]
fn issue_13_a_timer_awaited_on_another_runtime_panics_and_names_the_mistake() {
    let (a, b) = (util::runtime(), util::runtime());
    let mut nap = sleep(Duration::from_secs(3600));
    // First polled on A: registered with A's timers.
    a.block_on(poll_fn(|cx| {
        assert!(Pin::new(&mut nap).poll(cx).is_pending());
        Poll::Ready(())
    }));
    let message = panic_message(&b, &mut nap);
    assert!(
        message.contains("timer") && message.contains("awaited again on another"),
        "{message}"
    );
}

#[test]
fn issue_13_interval_of_duration_max_ticks_once_then_waits() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut ticks = interval(Duration::MAX);
        ticks.tick().await; // the first tick is immediate
        let second = timeout(Duration::from_millis(20), ticks.tick()).await;
        assert!(second.is_err(), "the second tick is practically never");
    });
}

/// A value whose destructor panics.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a destructor that panics");
    }
}

#[test]
fn issue_13_dropping_a_join_handle_whose_output_panics_when_dropped_is_contained() {
    let rt = util::runtime();
    let dropped = Rc::new(Cell::new(false));
    let flag = dropped.clone();
    rt.block_on(async move {
        // The output itself panics when dropped; then a panic payload that does.
        let output = spawn(async { PanicsWhenDropped });
        let payload = spawn(async { std::panic::panic_any(PanicsWhenDropped) });
        while !(output.is_finished() && payload.is_finished()) {
            yield_now().await;
        }
        drop(output);
        drop(payload);
        flag.set(true);
    });
    assert!(dropped.get(), "the handles' drops returned to their caller");
    assert_eq!(rt.stats().tasks_alive, 0);
}
