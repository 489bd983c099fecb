//! Shutdown (issue #9): dropping a runtime whose tasks are parked — on timers, on sockets, on a
//! reply from another thread — returns promptly, drops every task's future on the dropping thread,
//! and closes every socket.
//!
//! A runtime's drop cannot be bounded by `evloop::time::timeout` (it runs outside any loop), so
//! each test builds, runs and drops its runtime on a helper thread that must report back within a
//! deadline; a drop that waits for something that never comes fails the test instead of hanging
//! it.

mod reliability_support;
mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use evloop::io::AsyncReadExt;
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::oneshot;
use evloop::task::yield_now;
use evloop::time::sleep;
use evloop::{spawn, spawn_blocking};
use reliability_support::{Gate, on_thread_within, runtime_with_pool};

/// Deadline for a whole build-run-drop; a drop that hangs trips it.
const LIMIT: Duration = Duration::from_secs(30);
/// What "promptly" means for the drop itself (it takes microseconds to milliseconds).
const PROMPT: Duration = Duration::from_secs(2);

/// Counts destructor runs of the futures it is moved into.
struct Dropped(Rc<Cell<u32>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Drops `rt`, returning how long that took.
fn timed_drop(rt: evloop::Runtime) -> Duration {
    let start = Instant::now();
    drop(rt);
    start.elapsed()
}

#[test]
fn dropping_a_runtime_with_tasks_parked_on_timers_and_replies_drops_them_all() {
    const SLEEPERS: u32 = if cfg!(miri) { 50 } else { 1000 };
    // The senders of replies that never come, held by this thread beyond the runtime's life.
    let (keep, kept) = mpsc::channel::<oneshot::Sender<u32>>();
    let took = on_thread_within(LIMIT, "build, park and drop", move || {
        let dropped = Rc::new(Cell::new(0));
        let rt = util::runtime();
        rt.block_on(async {
            for i in 0..SLEEPERS {
                let flag = Dropped(dropped.clone());
                drop(spawn(async move {
                    let _flag = flag;
                    sleep(Duration::from_secs(3600 + u64::from(i))).await;
                }));
            }
            for _ in 0..10 {
                let (tx, rx) = oneshot::channel::<u32>();
                keep.send(tx).expect("the test thread holds the senders");
                let flag = Dropped(dropped.clone());
                drop(spawn(async move {
                    let _flag = flag;
                    let _ = rx.await; // a worker's reply that will never come
                }));
            }
            yield_now().await; // everyone parks
        });
        let stats = rt.stats();
        assert_eq!(stats.timers_pending, SLEEPERS as usize);
        assert_eq!(stats.tasks_alive, SLEEPERS as usize + 10);
        let took = timed_drop(rt);
        assert_eq!(
            dropped.get(),
            SLEEPERS + 10,
            "every parked future was dropped"
        );
        took
    });
    if !cfg!(miri) {
        assert!(took < PROMPT, "dropping took {took:?}");
    }
    // The replies can still be sent; they find their receivers gone.
    for tx in kept.try_iter() {
        assert!(tx.is_closed(), "the receiver went with its task");
        assert_eq!(tx.send(7), Err(7));
    }
}

/// Sends on its channel when dropped.
struct SignalOnDrop(mpsc::Sender<()>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Sets its flag when dropped.
struct FlagOnDrop(Arc<AtomicBool>);

impl Drop for FlagOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_runtime_does_not_wait_for_a_blocking_job_still_running() {
    // One pool thread, held inside a job by a gate that opens only after the runtime's drop has
    // returned: a drop that waited for the job would deadlock, and trip the deadline. A second job
    // waits in the queue behind it, and a task awaits the first one's handle.
    let (release, gate) = mpsc::channel::<()>();
    let (result_dropped_tx, result_dropped) = mpsc::channel::<()>();
    let (queued_dropped, queued_ran) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (probe, ran) = (FlagOnDrop(queued_dropped.clone()), queued_ran.clone());
    let (took, queued) = on_thread_within(LIMIT, "build, park and drop", move || {
        let rt = runtime_with_pool(1);
        #[allow(clippy::async_yields_async)] // the handle leaves the runtime on purpose
        let queued = rt.block_on(async {
            let (started, running) = oneshot::channel();
            let job = spawn_blocking(move || {
                started.send(()).expect("the runtime waits for the start");
                gate.recv().expect("the test opens the gate");
                SignalOnDrop(result_dropped_tx) // the result, dropped by whoever holds it last
            });
            drop(spawn(async move {
                let _ = job.await; // a task parked on the pool
            }));
            running.await.expect("the job runs");
            spawn_blocking(move || {
                let _probe = probe;
                ran.store(true, Ordering::SeqCst);
            })
        });
        let stats = rt.worker_stats();
        assert_eq!((stats.threads_alive, stats.queue_len), (1, 1));
        (timed_drop(rt), queued)
    });
    if !cfg!(miri) {
        assert!(took < PROMPT, "dropping took {took:?}");
    }
    // The queued job was cancelled: dropped unrun, its handle resolves to "cancelled".
    assert!(queued_dropped.load(Ordering::SeqCst) && !queued_ran.load(Ordering::SeqCst));
    let err = util::runtime().block_on(queued).expect_err("it never ran");
    assert!(err.is_cancelled());
    // The running job is still running, detached; opening the gate lets it finish, and the pool
    // thread drops its result (nobody awaits it any more).
    assert!(
        result_dropped.try_recv().is_err(),
        "the job has not finished yet"
    );
    release.send(()).expect("the job still waits at the gate");
    result_dropped
        .recv_timeout(LIMIT)
        .expect("the job finished and its result was dropped");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn dropping_a_runtime_with_tasks_parked_on_sockets_closes_every_socket() {
    // Two peers outside the runtime: a silent client (its server side waits to read) and a client
    // that never reads (its server side waits to write). The acceptor waits for a third.
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let runtime_thread = std::thread::spawn(move || {
        on_thread_within(LIMIT, "build, park and drop", move || {
            parked_on_sockets(addr_tx)
        })
    });
    let addr = addr_rx
        .recv_timeout(LIMIT)
        .expect("the runtime is listening");
    let silent = std::net::TcpStream::connect(addr).expect("connect");
    let deaf = std::net::TcpStream::connect(addr).expect("connect");
    let (took, dropped) = runtime_thread
        .join()
        .expect("the runtime thread does not panic");
    assert!(took < PROMPT, "dropping took {took:?}");
    assert_eq!(
        dropped, 3,
        "acceptor, reader and writer futures were dropped"
    );

    // The reader's socket closed: its silent peer reads the end of the stream.
    silent.set_read_timeout(Some(LIMIT)).expect("read timeout");
    assert_eq!((&silent).read(&mut [0u8; 16]).expect("read EOF"), 0);
    // The writer's socket closed: its peer drains what was sent, then reads the end.
    drain_to_end(&deaf);
    // The listener closed: nobody accepts there any more.
    let err = std::net::TcpStream::connect(addr).expect_err("the listener is gone");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

/// The runtime thread's side: accept two peers, park a reader and a writer on them and the
/// acceptor on a third accept, then drop the runtime. Returns how long the drop took and how many
/// task futures it dropped.
fn parked_on_sockets(addr: mpsc::Sender<SocketAddr>) -> (Duration, u32) {
    let dropped = Rc::new(Cell::new(0));
    let rt = util::runtime();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        addr.send(listener.local_addr().expect("addr"))
            .expect("the test waits for the address");
        let parked = Rc::new(Gate::default());
        let (flag, p, d) = (Dropped(dropped.clone()), parked.clone(), dropped.clone());
        drop(spawn(async move {
            let _flag = flag;
            let (reader, _) = listener.accept().await.expect("accept the silent peer");
            drop(spawn(read_forever(reader, Dropped(d.clone()))));
            let (writer, _) = listener.accept().await.expect("accept the deaf peer");
            drop(spawn(write_forever(writer, Dropped(d), p)));
            let _ = listener.accept().await; // parks: nobody else connects
        }));
        parked.reach(1).await; // the writer's send buffer is full
        yield_now().await; // and the acceptor is back in accept
    });
    assert_eq!(
        rt.io_sources(),
        3,
        "the listener, the reader and the writer"
    );
    assert_eq!(rt.stats().tasks_alive, 3);
    let took = timed_drop(rt);
    (took, dropped.get())
}

/// Waits for bytes that never come.
async fn read_forever(mut reader: TcpStream, _flag: Dropped) {
    let _ = reader.read(&mut [0u8; 64]).await;
}

/// Writes until the peer's buffers are full and a write parks (then tells `parked`); a parked
/// write is woken only when the peer reads, which it never does. (A write can also park before
/// the first one: a new socket is not known to be writable until the reactor's first event.)
async fn write_forever(mut writer: TcpStream, _flag: Dropped, parked: Rc<Gate>) {
    let chunk = vec![b'x'; 64 * 1024];
    let (mut written, mut told) = (0, false);
    loop {
        let wrote = poll_fn(|cx| {
            let poll = writer.poll_write(cx, &chunk);
            if poll.is_pending() && written > 0 && !told {
                told = true;
                parked.arrive();
            }
            poll
        })
        .await;
        match wrote {
            Ok(n) => written += n,
            Err(_) => return,
        }
    }
}

/// Reads `stream` until the end of the stream, within `LIMIT`.
fn drain_to_end(stream: &std::net::TcpStream) {
    stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("draining the writer's socket after {total} bytes: {e}"),
        }
    }
    assert!(total > 0, "the writer had sent something");
}
