//! Helpers shared by the whole-runtime tests: one env_logger init, a runtime, CPU-time readings.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Starts env_logger once per test binary (`RUST_LOG=evloop=debug cargo test` to see the loop).
pub fn init_logging() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// A fresh runtime with logging on.
pub fn runtime() -> evloop::Runtime {
    init_logging();
    evloop::Runtime::new().expect("epoll and eventfd are available")
}

/// CPU time (user + system) consumed so far by the calling thread.
pub fn thread_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time (user + system) consumed so far by the whole process.
pub fn process_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Reads one of the CPU-time clocks.
fn cpu_clock(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and the thread and process CPU-time clocks exist
    // on every Linux kernel mio supports; the call writes only into `ts`.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Makes closing `socket` send a reset (RST) instead of a FIN: `SO_LINGER` on, zero timeout.
pub fn reset_on_close(socket: &impl std::os::fd::AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is a live TCP socket owned by `socket`; `linger` is a valid
    // `struct linger` that outlives the call, and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER): {}",
        std::io::Error::last_os_error()
    );
}

/// Runs the test `name` of this test binary alone in a child process, with `env_var=1` set so the
/// child does the real work (what a parent must not do to itself: install seccomp, lower limits).
/// Returns (success, stdout, stderr); kills the child and fails loudly after `deadline`.
pub fn run_test_in_child(name: &str, env_var: &str, deadline: Duration) -> (bool, String, String) {
    let (status, stdout, stderr) = run_test_in_child_status(name, &[(env_var, "1")], deadline);
    (status.success(), stdout, stderr)
}

/// [`run_test_in_child`], with any environment variables (`EVLOOP_TRACE=path`, say).
pub fn run_test_in_child_with(
    name: &str,
    env: &[(&str, &str)],
    deadline: Duration,
) -> (bool, String, String) {
    let (status, stdout, stderr) = run_test_in_child_status(name, env, deadline);
    (status.success(), stdout, stderr)
}

/// Like [`run_test_in_child_with`], with the child's whole exit status (to see which signal ended
/// it).
pub fn run_test_in_child_status(
    name: &str,
    env: &[(&str, &str)],
    deadline: Duration,
) -> (std::process::ExitStatus, String, String) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let exe = std::env::current_exe().expect("the test binary knows its path");
    let mut child = Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary can start itself");
    // Read both pipes on threads, so a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).expect("UTF-8 output");
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status readable") {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("child still running after {deadline:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10)); // polling the child's exit, not syncing
    };
    let out = stdout.join().expect("reader ends");
    let err = stderr.join().expect("reader ends");
    (status, out, err)
}

/// Runs `test` on a thread of its own and fails if it has not finished after `deadline` of *real*
/// time: a deadline that paused time cannot move (an `evloop::time::timeout` in a paused runtime
/// would jump to it as soon as the loop is idle). A hung thread is left behind, named in the panic.
/// A panic of `test` is passed on as it is, so `#[should_panic(expected = …)]` still works.
pub fn within_real<T: Send + 'static>(
    deadline: Duration,
    test: impl FnOnce() -> T + Send + 'static,
) -> T {
    // Miri interprets every instruction, some hundred times slower than native code: a deadline
    // meant to catch a hang must not catch Miri's pace.
    let deadline = if cfg!(miri) { deadline * 60 } else { deadline };
    let (done, finished) = std::sync::mpsc::channel();
    let name = std::thread::current().name().unwrap_or("test").to_string();
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _ = done.send(test());
        })
        .expect("a test thread");
    match finished.recv_timeout(deadline) {
        Ok(output) => {
            thread.join().expect("finished");
            output
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread ends by sending or by panicking"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name} did not finish within {deadline:?} of real time (left running)")
        }
    }
}

/// `within_real(10 s)` around `evloop::test::run_paused`: a paused-time test that cannot hang.
/// `make` builds the test's future on the test's thread (it may hold `Rc`s).
pub fn paused<T, F>(make: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    init_logging();
    within_real(Duration::from_secs(10), move || {
        evloop::test::run_paused(make())
    })
}

/// The observer of the cooperative-budget tests (`coop_budget.rs`, `coop_sync.rs`): polls itself
/// again and again, yielding in between, until `progress` reaches `done`, and records `progress`
/// at every poll. What a busy task did between two records is how long the observer waited,
/// counted in operations rather than time.
pub async fn observe(progress: Rc<Cell<usize>>, done: usize) -> Vec<usize> {
    let mut seen = Vec::new();
    loop {
        seen.push(progress.get());
        if progress.get() >= done {
            return seen;
        }
        evloop::task::yield_now().await;
    }
}

/// The largest number of operations done between two polls of the observer.
pub fn largest_step(seen: &[usize]) -> usize {
    seen.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}
