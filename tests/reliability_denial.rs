//! Thread denial mid-run (issue #9): the blocking pool has threads, then the OS stops granting new
//! ones, and load keeps coming. No job may be lost, none may run twice, every result must be right.
//!
//! The denial is the real one: `evloop::sandbox::deny_thread_creation()` installs a seccomp filter
//! on every thread of the process (the pool's included), after which `clone(CLONE_THREAD)` fails
//! with EAGAIN, as in a container whose pids limit is used up. A filter cannot be removed, so the
//! test re-executes this binary for itself alone, in a child process:
//!
//! ```text
//! parent: <this binary> --exact <test> --nocapture --test-threads=1, EVLOOP_DENIAL_CHILD=1
//! child:  1. four jobs that can only finish together: the pool grows to exactly four threads
//!         2. deny thread creation (seccomp)
//!         3. 40 tasks x 50 jobs, in bursts of 10 per task: far more jobs than threads, so the pool
//!            keeps asking for a fifth thread (refused), queues on its four, fills its queue
//!            (capacity 64) and makes submitters wait for room
//!         4. checks: each job ran exactly once, each result right, all on pool threads; prints
//!            "child: ..." lines with the figures
//! parent: waits (killing the child after a deadline), checks the exit status and the lines
//! ```

mod echo_harness;
mod util;

/// Linux on the targets `deny_thread_creation` supports.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little",
    target_pointer_width = "64"
))]
mod denial {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    use super::echo_harness::within;
    use evloop::worker::{Execution, Fallback, Mode, ThreadPool};
    use evloop::{Runtime, sandbox, spawn, spawn_blocking};

    /// Set in the child: do the real work.
    const CHILD_ENV: &str = "EVLOOP_DENIAL_CHILD";
    /// This test's name as libtest knows it.
    const NAME: &str = "denial::thread_denial_mid_run_loses_no_job_and_runs_none_twice";
    /// Threads the pool has when the denial starts.
    const THREADS: usize = 4;
    /// Tasks submitting jobs after the denial.
    const TASKS: u32 = 40;
    /// Jobs per task, submitted in bursts of `BURST` awaited together.
    const JOBS_PER_TASK: u32 = 50;
    /// Jobs one task has in flight at once.
    const BURST: u32 = 10;
    /// Jobs after the denial.
    const JOBS: u32 = TASKS * JOBS_PER_TASK;

    // Spawns a child process and installs seccomp in it: Miri supports neither.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn thread_denial_mid_run_loses_no_job_and_runs_none_twice() {
        if std::env::var_os(CHILD_ENV).is_some() {
            return child();
        }
        let (ok, stdout, stderr) =
            super::util::run_test_in_child(NAME, CHILD_ENV, Duration::from_secs(120));
        let report = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
        assert!(ok, "child failed\n{report}");
        for marker in [
            "child: pool warmed up: 4 threads",
            "child: thread creation denied: Resource temporarily unavailable (os error 11)",
            "child: 2000 jobs after the denial: each ran exactly once, every result right, all \
             on pool threads",
            "child: still 4 threads, mode LiveThreadsOnly",
        ] {
            assert!(stdout.contains(marker), "no {marker:?}\n{report}");
        }
        print!("{stdout}");
    }

    /// The work of job `id`: cheap, deterministic, different for every id.
    fn work(id: u32) -> u64 {
        let mut x = u64::from(id) | 1 << 40;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x
    }

    /// The child: the real denial and the load.
    fn child() {
        let pool = ThreadPool::builder()
            .max_threads(16)
            .keep_alive(Duration::from_secs(600))
            .queue_capacity(64)
            .build();
        let rt = Runtime::builder()
            .worker(Fallback::new(pool))
            .build()
            .expect("runtime");
        let runs: Arc<Vec<AtomicU32>> = Arc::new((0..JOBS).map(|_| AtomicU32::new(0)).collect());
        within(&rt, 100, async {
            warm_up().await;
            let stats = evloop::worker::stats();
            assert_eq!((stats.threads_spawned, stats.threads_alive), (4, 4));
            println!("child: pool warmed up: {} threads", stats.threads_alive);

            sandbox::deny_thread_creation().expect("the seccomp filter installs");
            let err = thread::Builder::new()
                .spawn(|| ())
                .expect_err("no thread can start now");
            println!("child: thread creation denied: {err}");

            let tasks: Vec<_> = (0..TASKS)
                .map(|t| spawn(submit_and_check(t, runs.clone())))
                .collect();
            for task in tasks {
                task.await.expect("a submitting task does not panic");
            }
        });
        let twice: Vec<_> = (0..JOBS)
            .filter(|&id| runs[id as usize].load(Ordering::SeqCst) != 1)
            .collect();
        assert!(twice.is_empty(), "jobs not run exactly once: {twice:?}");
        println!(
            "child: {JOBS} jobs after the denial: each ran exactly once, every result right, all \
             on pool threads"
        );
        let stats = rt.worker_stats();
        println!(
            "child: worker stats: offloaded {}, inline {}, rejected {}, waited for room {}, \
             threads spawned {}, spawn failures {}",
            stats.offloaded,
            stats.inline.total(),
            stats.rejected,
            stats.waited_for_room,
            stats.threads_spawned,
            stats.spawn_failures
        );
        assert_eq!(stats.offloaded, u64::from(JOBS) + THREADS as u64);
        assert_eq!((stats.inline.total(), stats.rejected), (0, 0));
        assert!(stats.spawn_failures > 0, "the pool asked for more threads");
        assert_eq!(stats.threads_spawned, THREADS as u64);
        assert_eq!(stats.threads_alive, THREADS);
        assert_eq!(stats.mode, Mode::LiveThreadsOnly);
        println!(
            "child: still {} threads, mode {:?}",
            stats.threads_alive, stats.mode
        );
    }

    /// Four jobs that wait for each other: they finish only once four threads run them at once.
    async fn warm_up() {
        let all_four = Arc::new(Barrier::new(THREADS));
        let jobs: Vec<_> = (0..THREADS)
            .map(|_| {
                let all_four = all_four.clone();
                spawn_blocking(move || {
                    all_four.wait();
                })
            })
            .collect();
        for job in jobs {
            job.await.expect("a warm-up job does not panic");
        }
    }

    /// Task `t`: submits its jobs in bursts, awaits each burst, checks every result and where the
    /// job ran.
    async fn submit_and_check(t: u32, runs: Arc<Vec<AtomicU32>>) {
        for burst in 0..JOBS_PER_TASK / BURST {
            let ids: Vec<u32> = (0..BURST)
                .map(|k| t * JOBS_PER_TASK + burst * BURST + k)
                .collect();
            let handles: Vec<_> = ids
                .iter()
                .map(|&id| {
                    let runs = runs.clone();
                    spawn_blocking(move || {
                        runs[id as usize].fetch_add(1, Ordering::SeqCst);
                        work(id)
                    })
                })
                .collect();
            for (id, mut handle) in ids.into_iter().zip(handles) {
                let result = (&mut handle).await.expect("no job is lost or cancelled");
                assert_eq!(result, work(id), "job {id}: wrong result");
                assert_eq!(handle.execution(), Some(Execution::Offloaded), "job {id}");
            }
        }
    }
}
