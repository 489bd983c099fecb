//! Whole-runtime tests of `evloop::signal`: deliveries reach every listener, `ctrl_c` completes
//! on SIGINT, and the default disposition comes back when the last listener goes.
//!
//! Signal handlers belong to the whole process, and a signal nobody handles ends it; so every test
//! that installs a handler or sends a signal runs in a child process (this test binary started
//! again with `EVLOOP_SIGNAL_CHILD=1`, as `tests/sandbox.rs` does). The parent checks what the
//! child printed, and for the disposition tests, *which signal ended the child*: the proof that
//! the default action is back is that the signal kills it again.
//!
//! Signals are sent with `raise`, which runs the handler on the calling thread before it returns:
//! once `raise` returns, the byte is in every listener's pipe, so the tests can check what is and
//! is not ready without sleeping.

mod util;

use std::future::poll_fn;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use evloop::signal::unix::{Signal, SignalKind, signal};

/// Set in the child: do the real work.
const CHILD_ENV: &str = "EVLOOP_SIGNAL_CHILD";

/// True in the child process.
fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Runs this binary's test `name` in a child; returns its exit status and stdout.
fn run_child(name: &str) -> (std::process::ExitStatus, String) {
    let (status, stdout, stderr) =
        util::run_test_in_child_status(name, &[(CHILD_ENV, "1")], Duration::from_secs(60));
    eprintln!("--- child stdout\n{stdout}--- child stderr\n{stderr}");
    (status, stdout)
}

/// Sends `signal` to the calling thread; its handler (or default action) runs before this returns.
fn raise(signal: libc::c_int) {
    // SAFETY: `raise` takes an integer and touches no memory of ours. What the signal does is the
    // point of the test.
    let rc = unsafe { libc::raise(signal) };
    assert_eq!(rc, 0, "raise({signal})");
}

/// Prints a line the parent looks for, flushed before anything can end the process.
fn say(line: &str) {
    println!("child: {line}");
    std::io::stdout().flush().expect("stdout");
}

/// True if `sig` has a delivery waiting right now (polls `recv` once, without waiting).
async fn has_delivery(sig: &mut Signal) -> bool {
    poll_fn(|cx| Poll::Ready(sig.poll_recv(cx).is_ready())).await
}

#[test]
#[cfg_attr(miri, ignore)] // asks the C library for SIGRTMAX
fn signals_that_cannot_be_handled_are_refused() {
    let rt = util::runtime();
    rt.block_on(async {
        let kept_by_libc = 32; // between the standard and the real-time signals (glibc's threads)
        for forbidden in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            0,
            -3,
            kept_by_libc,
            10_000,
        ] {
            let err = signal(SignalKind::from_raw(forbidden)).expect_err("refused");
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{forbidden}");
        }
    });
    assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
}

#[test]
#[cfg_attr(miri, ignore)] // signals and child processes
fn every_listener_gets_every_delivery() {
    if in_child() {
        return several_listeners();
    }
    let (status, stdout) = run_child("every_listener_gets_every_delivery");
    assert!(status.success(), "{status:?}");
    assert!(stdout.contains("child: three listeners of SIGUSR1 woke, SIGUSR2's did not"));
    assert!(stdout.contains("child: a delivery before recv waited; three deliveries made one"));
    assert!(stdout.contains("child: two runtimes on two threads both got SIGUSR2"));
}

/// The child of `every_listener_gets_every_delivery`.
fn several_listeners() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut listeners: Vec<Signal> = (0..3)
            .map(|_| signal(SignalKind::user_defined1()).expect("listen"))
            .collect();
        let mut other = signal(SignalKind::user_defined2()).expect("listen");
        raise(libc::SIGUSR1);
        for sig in &mut listeners {
            assert_eq!(sig.recv().await, Some(()));
        }
        assert!(!has_delivery(&mut other).await, "SIGUSR2 was not sent");
        say("three listeners of SIGUSR1 woke, SIGUSR2's did not");

        for _ in 0..3 {
            raise(libc::SIGUSR1);
        }
        let first = &mut listeners[0];
        assert!(
            has_delivery(first).await,
            "the deliveries waited in the pipe"
        );
        assert!(!has_delivery(first).await, "all three were taken at once");
        say("a delivery before recv waited; three deliveries made one");
    });

    // Two runtimes, each on its own thread, each with its own listener; one process-wide signal.
    let listen_on_a_thread = || {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = util::runtime();
            rt.block_on(async {
                let mut sig = signal(SignalKind::user_defined2()).expect("listen");
                ready_tx.send(()).expect("main thread waits");
                sig.recv().await
            })
        });
        ready_rx.recv().expect("the thread is listening");
        thread
    };
    let (a, b) = (listen_on_a_thread(), listen_on_a_thread());
    // SAFETY: `kill` takes two integers; the signal goes to this process, whose listeners
    // handle it.
    let rc = unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
    assert_eq!(rc, 0);
    assert_eq!(a.join().expect("thread a"), Some(()));
    assert_eq!(b.join().expect("thread b"), Some(()));
    say("two runtimes on two threads both got SIGUSR2");
}

#[test]
#[cfg_attr(miri, ignore)] // signals and child processes
fn the_default_action_returns_with_the_last_listener() {
    if in_child() {
        return last_listener_restores();
    }
    let (status, stdout) = run_child("the_default_action_returns_with_the_last_listener");
    assert!(stdout.contains("child: with one of two listeners left, SIGUSR1 is still handled"));
    assert!(stdout.contains("child: both dropped; raising SIGUSR1 again"));
    assert!(
        !stdout.contains("child: still alive"),
        "the signal should have ended it"
    );
    assert_eq!(
        status.signal(),
        Some(libc::SIGUSR1),
        "the default action of SIGUSR1 (terminate) is back: {status:?}"
    );
}

/// The child of `the_default_action_returns_with_the_last_listener`.
fn last_listener_restores() {
    let rt = util::runtime();
    rt.block_on(async {
        let first = signal(SignalKind::user_defined1()).expect("listen");
        let mut second = signal(SignalKind::user_defined1()).expect("listen");
        drop(first);
        raise(libc::SIGUSR1); // would end the process if the first drop had restored the default
        assert_eq!(second.recv().await, Some(()));
        say("with one of two listeners left, SIGUSR1 is still handled");
        drop(second);
    });
    say("both dropped; raising SIGUSR1 again");
    raise(libc::SIGUSR1);
    say("still alive");
}

#[test]
#[cfg_attr(miri, ignore)] // signals and child processes
fn ctrl_c_completes_on_sigint_and_then_sigint_ends_the_process() {
    if in_child() {
        return ctrl_c_then_default();
    }
    let (status, stdout) = run_child("ctrl_c_completes_on_sigint_and_then_sigint_ends_the_process");
    assert!(stdout.contains("child: ctrl_c completed"));
    assert!(!stdout.contains("child: still alive"));
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}

/// The child of `ctrl_c_completes_on_sigint_and_then_sigint_ends_the_process`.
fn ctrl_c_then_default() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut ctrl_c = pin!(evloop::signal::ctrl_c());
        // The first poll creates the listener (the future is lazy, as tokio's).
        let first = poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx).is_ready())).await;
        assert!(!first, "no SIGINT yet");
        raise(libc::SIGINT);
        ctrl_c.await.expect("ctrl_c");
        say("ctrl_c completed");
    });
    raise(libc::SIGINT); // the listener went with the future: the default action is back
    say("still alive");
}

#[test]
#[cfg_attr(miri, ignore)] // signals and child processes
fn at_most_64_listeners_and_a_freed_slot_is_reused() {
    if in_child() {
        return listener_limit();
    }
    let (status, stdout) = run_child("at_most_64_listeners_and_a_freed_slot_is_reused");
    assert!(status.success(), "{status:?}");
    assert!(stdout.contains("child: the 65th listener was refused; a freed slot was reused"));
}

/// The child of `at_most_64_listeners_and_a_freed_slot_is_reused`.
fn listener_limit() {
    let rt = util::runtime();
    rt.block_on(async {
        let mut listeners: Vec<Signal> = (0..64)
            .map(|_| signal(SignalKind::hangup()).expect("listen"))
            .collect();
        signal(SignalKind::hangup()).expect_err("65th");
        listeners.pop();
        let mut again = signal(SignalKind::hangup()).expect("the freed slot");
        raise(libc::SIGHUP);
        assert_eq!(again.recv().await, Some(()));
        assert_eq!(listeners[63 - 1].recv().await, Some(()));
        say("the 65th listener was refused; a freed slot was reused");
    });
}
