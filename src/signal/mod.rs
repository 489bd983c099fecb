//! Signals: `ctrl_c().await`, and `unix::signal(kind)` for the others — on the reactor.
//!
//! A Unix signal interrupts the process at any instruction, on any thread. Whatever a handler does
//! happens in the middle of someone else's code: it may not take a lock (the interrupted code may
//! hold it), allocate (it may be inside `malloc`) or print. What it may do is set an atomic and
//! call a few system calls, `write(2)` among them. So evloop uses the **self-pipe trick**, the
//! classic way to bring a signal into an event loop:
//!
//! ```text
//!  kernel ─► handler (any thread): write one byte to each listener's pipe      (registry.rs)
//!                                        │
//!  loop thread: epoll says the pipe is readable ─► the task in recv() wakes    (unix.rs)
//!               ─► it reads the bytes and goes on, in ordinary code: print, shut down, reload
//! ```
//!
//! From the loop's side a signal is then just another readable descriptor, like a socket.
//!
//! ## Why not `signalfd`?
//!
//! Linux has a descriptor made for this: `signalfd` becomes readable when a signal is *pending*.
//! But a signal is only left pending if it is *blocked* — and blocked in **every** thread of the
//! process, since the kernel delivers a process signal to any thread that does not block it (and
//! then the default action, such as ending the process, happens instead of the descriptor becoming
//! readable). The signal mask is per thread and only inherited at thread creation, so the runtime
//! would have to block the signal before any other thread exists: the test harness's threads,
//! the worker pool, a library's threads. It also leaks into child processes, which start with the
//! signal still blocked. The self-pipe needs none of that: whichever thread the kernel picks runs
//! the handler, which writes a byte.
//!
//! ## Rules
//!
//! - Each `Signal` gets every delivery of its signal: several tasks (or runtimes) may listen to
//!   the same one. Deliveries that pile up before a `recv` count as one (the kernel merges them
//!   too: a standard signal is pending or not).
//! - While a `Signal` for a signal exists, that signal's default action is replaced; when the last
//!   one is dropped the previous disposition is put back, so Ctrl-C ends the program again.
//! - At most 64 `Signal`s at once in the process (`registry::MAX_LISTENERS`).

mod registry;
pub mod unix;

use std::io;

/// Waits for Ctrl-C (SIGINT), as `tokio::signal::ctrl_c`.
///
/// The listener is created at the first poll, and dropped when the future completes or is
/// dropped: until then, Ctrl-C no longer ends the process — it completes this future. Use it for
/// a graceful shutdown:
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// evloop::signal::ctrl_c().await?;
/// println!("Ctrl-C: finishing the requests in flight, then exiting");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
///
/// # Panics
/// Outside a runtime.
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupts = unix::signal(unix::SignalKind::interrupt())?;
    interrupts.recv().await;
    Ok(())
}
