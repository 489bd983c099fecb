//! The course (`examples/course`, `docs/01-*.md` to `docs/06-*.md`), run as a learner runs it:
//! each step must end with its `step=N ok` line, and its figures must tell the story.
//!
//! The steps are examples, built by `cargo build --examples` (`.ci/run` does, and so does a plain
//! `cargo test`); this file runs the built binaries from `target/<profile>/examples/`.
//!
//! The bounds are generous on purpose: a loaded machine makes everything slower, but it cannot
//! make a blocked loop look free, nor three serialised calls take less than three calls' time.
//! Every child runs in its own process group and is killed, with its children, after a deadline.
#![cfg(unix)]

mod example_process;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

/// Each step takes a few seconds; a minute means it hangs.
const DEADLINE: Duration = Duration::from_secs(60);
/// The steps time things: run them one at a time, so they do not slow each other down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the example `name` to completion, or kills it (and its children) after `DEADLINE`.
/// Returns its stdout; fails on a non-zero exit.
fn run_step(name: &str) -> String {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let child = Command::new(example_process::example(name))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0) // its own group: step 6's re-executed child is killed with it
        .spawn()
        .expect("the example starts");
    let group = child.id() as libc::pid_t;
    let (done, output) = mpsc::channel::<std::io::Result<Output>>();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let output = match output.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("the example's output is readable"),
        Err(_) => {
            // SAFETY: `kill` has no memory-safety preconditions. The group is the one this test
            // created for its still unreaped child (the thread waiting on it has not returned),
            // so the id cannot have been reused by an unrelated process group.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            panic!("{name} still running after {DEADLINE:?}: killed");
        }
    };
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The `key=value` fields of the last line, which must start with `step=<n> ok`.
fn last_line_fields(step: u32, stdout: &str) -> HashMap<String, String> {
    let last = stdout.lines().last().unwrap_or_default();
    let prefix = format!("step={step} ok");
    assert!(
        last.starts_with(&prefix),
        "last line should start with {prefix:?}:\n{stdout}"
    );
    last.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A numeric field of the last line.
fn number(fields: &HashMap<String, String>, key: &str) -> f64 {
    let value = fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key}= in {fields:?}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a number"))
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn step1_polls_by_hand_blocks_on_a_thread_and_leaks_no_waker() {
    let fields = last_line_fields(1, &run_step("step1_block_on"));
    assert_eq!(fields["value"], "42", "the helper thread's value came back");
    assert_eq!(
        fields["self_ref"], "inside",
        "the future's reference points into itself"
    );
    assert_eq!(
        fields["live_wakers"], "0",
        "every waker was woken or dropped once"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn step2_runs_tasks_and_a_wake_from_another_thread_reaches_the_loop() {
    let fields = last_line_fields(2, &run_step("step2_tasks"));
    // 42 came from the helper thread, so its wake reached the loop. (Whether the loop had parked
    // by then depends on timing, so `parks` is reported, not checked.)
    assert_eq!(
        fields["sum"], "47",
        "3 + 2 + 42: every JoinHandle delivered its output"
    );
    assert!(
        number(&fields, "polls") >= 4.0,
        "each of the 4 tasks was polled: {fields:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn step3_echoes_every_byte_to_concurrent_clients_on_one_thread() {
    let fields = last_line_fields(3, &run_step("step3_reactor"));
    assert!(number(&fields, "expected") > 0.0);
    assert_eq!(
        fields["bytes"], fields["expected"],
        "every byte echoed and checked"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn step4_fires_timers_in_deadline_order_and_the_heartbeat_keeps_time() {
    let fields = last_line_fields(4, &run_step("step4_timers"));
    assert_eq!(
        fields["order"], "50,100,150",
        "sleepers spawned 150, 50, 100 wake by deadline"
    );
    assert_eq!(
        fields["timers_left"], "0",
        "dropped sleeps removed their entries"
    );
    // 300 ms of 10 ms ticks is 30; even a slow machine gets a third of them.
    assert!(number(&fields, "ticks") >= 10.0, "{fields:?}");
    // Nothing blocks this loop: a late tick means a stalled machine, not a 100 ms poll.
    assert!(number(&fields, "worst_lag_ms") < 100.0, "{fields:?}");
}

#[test]
#[cfg_attr(miri, ignore)] // threads and wall-clock timing
fn step5_offloaded_calls_overlap_and_the_heartbeat_stays_on_time() {
    let fields = last_line_fields(5, &run_step("step5_offload"));
    let work = number(&fields, "work_ms");
    let total = number(&fields, "total_ms");
    // Three calls of W on three threads: at least W, and far from the 3 W of running them in turn.
    assert!(
        total >= work && total < 2.0 * work,
        "total {total} ms for W = {work} ms"
    );
    // The loop was never blocked: a tick can be late by scheduling noise, not by a call (W).
    let lag = number(&fields, "worst_lag_ms");
    assert!(
        lag < work / 2.0,
        "heartbeat late by {lag} ms for W = {work} ms"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // seccomp in a child process, wall-clock timing
fn step6_fallback_takes_as_long_as_threads_under_the_lock_but_blocks_the_loop_per_call() {
    let fields = last_line_fields(6, &run_step("step6_fallback"));
    let work = number(&fields, "work_ms");
    // Under the lock, with threads: the calls run one at a time (>= 3 W), the loop stays free.
    let threads_total = number(&fields, "threads_total_ms");
    let threads_lag = number(&fields, "threads_worst_lag_ms");
    assert!(
        threads_total > 2.5 * work,
        "the lock serialises: {threads_total} ms"
    );
    assert!(
        threads_lag < work / 2.0,
        "with threads the loop is free: {threads_lag} ms"
    );
    // Threads refused: the same serialised time, and the loop blocked by each call. A tick due
    // during a call runs when the call returns, at least W - 10 ms late; requests arrive 10 ms
    // apart, so the heartbeat gets a turn between calls and is late by one call, not three.
    let total = number(&fields, "total_ms");
    let lag = number(&fields, "worst_lag_ms");
    assert!(
        total > 2.5 * work,
        "three calls on the loop thread: {total} ms"
    );
    assert!(lag > 0.6 * work, "the loop was blocked by a call: {lag} ms");
    assert!(
        lag < 2.0 * work,
        "blocked by one call at a time, not all: {lag} ms"
    );
}
