//! `evloop::sandbox::deny_thread_creation` in a real process: new threads fail with EAGAIN, and
//! nothing else changes.
//!
//! A seccomp filter cannot be undone, so no test installs one in the test runner itself. Each
//! seccomp test re-executes this test binary, asking libtest for that one test only:
//!
//! ```text
//! parent: <this binary> --exact <test name> --nocapture --test-threads=1
//!         with EVLOOP_SANDBOX_CHILD=<test name>
//! child:  sees the variable, denies threads, checks, prints "child: ..." markers, exits 0
//! parent: waits (with a deadline, killing on expiry), asserts exit status and markers
//! ```

/// Linux on little-endian 64-bit x86_64/aarch64: the targets `deny_thread_creation` supports.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little",
    target_pointer_width = "64"
))]
mod seccomp {
    use evloop::sandbox::{deny_thread_creation, is_supported};
    use evloop::worker::diagnosis::{SpawnDiagnosis, SpawnFailure};
    use std::io::{self, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::sync::mpsc;
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};
    use std::{env, fs};

    /// Set in the child to the name of the test it must carry out for real.
    const CHILD_ENV: &str = "EVLOOP_SANDBOX_CHILD";
    /// How long a child may take; it needs well under a second, so hitting this means a hang.
    const CHILD_DEADLINE: Duration = Duration::from_secs(60);
    /// How often the parent asks whether the child has exited.
    const POLL_INTERVAL: Duration = Duration::from_millis(10);

    #[test]
    fn target_is_supported() {
        assert!(is_supported());
    }

    // Spawns a child process and installs seccomp in it: Miri supports neither.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn spawn_fails_with_eagain_after_denial() {
        const NAME: &str = "seccomp::spawn_fails_with_eagain_after_denial";
        if is_child_for(NAME) {
            return child_spawn_fails_with_eagain();
        }
        let out = run_in_child(NAME);
        out.expect_marker("child: spawn refused: Resource temporarily unavailable (os error 11)");
        out.expect_marker("child: diagnosis ResourceLimit: Resource temporarily unavailable");
        out.expect_marker("child: clone3 refused: Function not implemented (os error 38)");
        out.expect_marker("child: second denial ok, spawn still refused with os error 11");
    }

    // Spawns a child process and installs seccomp in it: Miri supports neither.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn thread_started_before_denial_keeps_running() {
        const NAME: &str = "seccomp::thread_started_before_denial_keeps_running";
        if is_child_for(NAME) {
            return child_old_thread_keeps_running();
        }
        let out = run_in_child(NAME);
        out.expect_marker("child: old thread answered 42 after denial");
        out.expect_marker("child: old thread's own spawn refused with os error 11");
        out.expect_marker("child: old thread joined");
    }

    // Spawns a child process and installs seccomp in it: Miri supports neither.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn processes_and_io_still_work_after_denial() {
        const NAME: &str = "seccomp::processes_and_io_still_work_after_denial";
        if is_child_for(NAME) {
            return child_processes_and_io_work();
        }
        let out = run_in_child(NAME);
        out.expect_marker("child: `true` exited with exit status: 0");
        out.expect_marker("child: file round trip ok");
        out.expect_marker("child: tcp round trip ok");
    }

    /// Child of `spawn_fails_with_eagain_after_denial`.
    fn child_spawn_fails_with_eagain() {
        deny_thread_creation().expect("first denial installs the filter");

        let err = try_spawn().expect_err("no thread can start after denial");
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");
        println!("child: spawn refused: {err}");

        let diagnosis = SpawnDiagnosis::from_error(&err);
        assert_eq!(diagnosis.failure, SpawnFailure::ResourceLimit);
        println!("child: diagnosis {:?}: {diagnosis}", diagnosis.failure);

        let err = raw_clone3_without_args();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSYS), "{err}");
        println!("child: clone3 refused: {err}");

        deny_thread_creation().expect("a second filter stacks on the first");
        let err = try_spawn().expect_err("still no thread after the second denial");
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");
        println!("child: second denial ok, spawn still refused with os error 11");
    }

    /// Child of `thread_started_before_denial_keeps_running`.
    fn child_old_thread_keeps_running() {
        let (to_old, from_main) = mpsc::channel::<u32>();
        let (to_main, from_old) = mpsc::channel::<u32>();
        let old: JoinHandle<Option<i32>> = thread::spawn(move || {
            let question = from_main.recv().expect("main sends a number after denial");
            to_main
                .send(question * 2)
                .expect("main waits for the answer");
            // TSYNC gave this thread the filter too, though it was running already.
            try_spawn().err().and_then(|err| err.raw_os_error())
        });

        deny_thread_creation().expect("denial installs the filter on both threads");
        to_old.send(21).expect("the old thread is waiting for it");
        let answer = from_old
            .recv()
            .expect("the old thread still runs and answers");
        println!("child: old thread answered {answer} after denial");
        assert_eq!(answer, 42);

        let own_spawn = old.join().expect("the old thread does not panic");
        assert_eq!(own_spawn, Some(libc::EAGAIN));
        println!("child: old thread's own spawn refused with os error 11");
        println!("child: old thread joined");
    }

    /// Child of `processes_and_io_still_work_after_denial`.
    fn child_processes_and_io_work() {
        deny_thread_creation().expect("denial installs the filter");
        assert!(try_spawn().is_err(), "the filter is really in place");

        let status = Command::new("true")
            .status()
            .expect("processes can still be spawned");
        assert!(status.success());
        println!("child: `true` exited with {status}");

        file_round_trip().expect("file I/O still works");
        println!("child: file round trip ok");

        tcp_round_trip().expect("socket I/O still works");
        println!("child: tcp round trip ok");
    }

    /// Tries to start a thread that does nothing, and joins it if it started.
    fn try_spawn() -> io::Result<()> {
        let handle = thread::Builder::new().spawn(|| ())?;
        handle.join().expect("an empty thread does not panic");
        Ok(())
    }

    /// Calls `clone3(NULL, 0)` directly and returns its error.
    fn raw_clone3_without_args() -> io::Error {
        // SAFETY: with size 0 the kernel rejects clone3 with EINVAL before it reads the (null)
        // argument struct, and under our filter the call never reaches the kernel at all; either
        // way no process or thread is created and no memory is read or written.
        let ret = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null_mut::<u8>(), 0usize) };
        assert_eq!(ret, -1, "clone3 without arguments cannot succeed");
        io::Error::last_os_error()
    }

    /// Writes a file in the temp dir, reads it back, removes it.
    fn file_round_trip() -> io::Result<()> {
        let path = env::temp_dir().join(format!("evloop-sandbox-{}.txt", std::process::id()));
        fs::write(&path, b"still here")?;
        let read = fs::read(&path);
        fs::remove_file(&path)?;
        assert_eq!(read?, b"still here");
        Ok(())
    }

    /// Connects to a listener on 127.0.0.1, sends a line through, reads it on the other side.
    fn tcp_round_trip() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut client = TcpStream::connect(listener.local_addr()?)?;
        let (mut server, _) = listener.accept()?;
        client.write_all(b"ping")?;
        let mut buf = [0; 4];
        server.read_exact(&mut buf)?;
        assert_eq!(&buf, b"ping");
        Ok(())
    }

    /// True in the child process started for `test_name`.
    fn is_child_for(test_name: &str) -> bool {
        let _ = env_logger::builder().is_test(true).try_init();
        env::var(CHILD_ENV).is_ok_and(|name| name == test_name)
    }

    /// What the child left behind.
    struct ChildOutput {
        /// The test whose child this was.
        test_name: String,
        /// How it exited.
        status: ExitStatus,
        /// Everything it printed on stdout, markers included.
        stdout: String,
        /// Everything it printed on stderr.
        stderr: String,
    }

    impl ChildOutput {
        /// Fails the test, with the child's whole output, unless it passed and printed `marker`.
        fn expect_marker(&self, marker: &str) {
            let ok = self.status.success() && self.stdout.contains(marker);
            assert!(
                ok,
                "child {} ({}) lacks {marker:?}\n{}",
                self.test_name, self.status, self
            );
        }
    }

    impl std::fmt::Display for ChildOutput {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
        }
    }

    /// Re-executes this test binary to run `test_name` alone, with the child variable set.
    fn run_in_child(test_name: &str) -> ChildOutput {
        let exe = env::current_exe().expect("the test binary knows its path");
        let mut child = Command::new(exe)
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, test_name)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test binary can start itself");
        // Drain both pipes on threads (the parent is not sandboxed), so a chatty child can never
        // block on a full pipe while we wait for it.
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        let status = wait_or_kill(&mut child, test_name);
        ChildOutput {
            test_name: test_name.to_string(),
            status,
            stdout: stdout.join().expect("the stdout reader does not panic"),
            stderr: stderr.join().expect("the stderr reader does not panic"),
        }
    }

    /// Reads `pipe` to its end on a thread.
    fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text)
                .expect("the child writes UTF-8");
            text
        })
    }

    /// Waits for the child's exit; past `CHILD_DEADLINE` kills it and fails the test.
    fn wait_or_kill(child: &mut Child, test_name: &str) -> ExitStatus {
        let deadline = Instant::now() + CHILD_DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("waitpid on our own child works") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child {test_name} still running after {CHILD_DEADLINE:?}; killed it");
            }
            // A poll interval, not synchronisation: the exit itself is observed by try_wait.
            thread::sleep(POLL_INTERVAL);
        }
    }
}

/// Everywhere else `deny_thread_creation` must say Unsupported and change nothing.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little",
    target_pointer_width = "64"
)))]
#[test]
fn deny_thread_creation_is_unsupported_here() {
    assert!(!evloop::sandbox::is_supported());
    let err = evloop::sandbox::deny_thread_creation().expect_err("no seccomp on this target");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    // Nothing changed: threads still start wherever the target has them at all.
    if cfg!(not(target_family = "wasm")) {
        let two = std::thread::spawn(|| 1 + 1).join();
        assert_eq!(two.expect("the thread does not panic"), 2);
    }
}
