//! evloop microbenchmarks: the runtime primitives, row for row like `micro-tokio`.
//!
//! Run with: `cargo bench --bench micro -- WORKLOAD N` (pin it: `taskset -c 0 cargo bench ...`);
//! plain `cargo bench` runs spawn, pingpong and timers with N = 100 000.
//!
//! The rows mirror `../shared/bench/peers/src/bin/micro-tokio.rs`, which runs the same workloads on
//! tokio's current-thread runtime, so that `scripts/bench-compare.sh` can set the two side by side
//! by row name. Every row is `NAME n=N ns_per_op=X total_ms=T vmhwm_kb=K [key=value...]`:
//!
//! ```text
//!   spawn    -> spawn_local, spawn: N trivial tasks spawned from inside block_on, then all N
//!               JoinHandles awaited. evloop has a single `spawn`, which already takes futures
//!               that are not `Send` (tokio's `spawn_local`); both rows therefore run the same
//!               code, one after the other, so each lines up with its tokio counterpart.
//!   pingpong -> pingpong: two spawned tasks bounce a token N times through two
//!               `evloop::sync::mpsc` channels of capacity 1; op = one round trip = 2 wake-ups.
//!               pingpong_join: one task spawns an empty task and awaits its JoinHandle, N times
//!               in sequence.
//!   timers   -> timers: N tasks each sleep a pseudo-random 0..=50 ms (same generator and seed as
//!               micro-tokio); ns_per_op = (wall - 50 ms) / N, plus bytes_per_timer from VmHWM.
//!   offload  -> offload_seq: N sequential `evloop::spawn_blocking(small work).await`;
//!               offload_batch64: N calls, 64 in flight at a time (after a warm-up that grows the
//!               pool to 64 threads); offload_thread_per_call: `std::thread::spawn` + join, N
//!               times (the naive "fresh OS thread per call" worker); offload_inline: the work
//!               called inline (the floor). The last two do not involve the runtime: they are
//!               there so both binaries print the same rows and the machine's state shows.
//!               Not pinned to one CPU: the pool threads need the other core.
//!   room     -> (evloop only) offload_room: N tasks each await one `spawn_blocking` (~10 µs) on
//!               a pool of 4 threads and a queue of 64 (`QueueFull::Wait`): the row counts the
//!               pool's wakes of tasks waiting for room, per job that waited and per job.
//!   costs    -> (evloop only) what the loop's building blocks cost on this machine, N times each:
//!               instant_now (`Instant::now()`, the loop's clock read), coarse_clock
//!               (`CLOCK_MONOTONIC_COARSE`, the kernel's last tick), arc_clone_drop (one
//!               reference count up and down: two atomic read-modify-writes).
//! ```
//!
//! Every measured run is preceded by a warm-up run of min(N, 10 000) on the same runtime, as in
//! micro-tokio, so the slab, the run queue and the allocator have grown before the clock starts.
//!
//! The bench starts `env_logger` as an application would. With `RUST_LOG` unset only errors are
//! enabled, so every `trace!`/`debug!` in the loop costs one load and compare of `log`'s max level
//! (`docs/performance.md` has the measured difference against logging compiled out).
//! `harness = false` in `Cargo.toml`: this file is a plain `main`, no test framework, no
//! dependency beyond evloop's own.
use std::hint::black_box;
use std::time::{Duration, Instant};

use evloop::Runtime;
use evloop::sync::mpsc;
use evloop::worker::{QueueFull, ThreadPool};

fn main() {
    env_logger::init();
    // `cargo bench` appends `--bench` (and would pass any other `--flag`): positional args only.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.is_empty() {
        // Plain `cargo bench`: the three shared workloads at the size the README uses.
        for workload in ["spawn", "pingpong", "timers"] {
            run(workload, 100_000);
        }
        return;
    }
    let (Some(workload), Some(n)) = (
        args.first(),
        args.get(1).and_then(|a| a.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: cargo bench --bench micro -- spawn|pingpong|timers|offload|room|costs N");
        std::process::exit(2)
    };
    if n == 0 || n > 10_000_000 {
        eprintln!("N must be in 1..=10000000");
        std::process::exit(2);
    }
    run(workload, n);
}

/// Runs one workload and prints its rows.
fn run(workload: &str, n: usize) {
    let warm = n.min(10_000);
    match workload {
        "spawn" => bench_spawn(n, warm),
        "pingpong" => bench_pingpong(n, warm),
        "timers" => bench_timers(n),
        "offload" => bench_offload(n),
        "room" => bench_room(n),
        "costs" => bench_costs(n),
        _ => {
            eprintln!("unknown workload {workload}");
            std::process::exit(2)
        }
    }
}

/// A runtime with the defaults, exactly as an application gets it (stats and slow-poll detection
/// on).
fn rt() -> Runtime {
    Runtime::new().expect("epoll and eventfd are available")
}

/// `spawn_local` and `spawn` rows.
fn bench_spawn(n: usize, warm: usize) {
    let rt = rt();
    rt.block_on(spawn_and_join(warm));
    row("spawn_local", n, rt.block_on(spawn_and_join(n)), "");
    rt.block_on(spawn_and_join(warm));
    row("spawn", n, rt.block_on(spawn_and_join(n)), "");
}

/// `pingpong` and `pingpong_join` rows.
fn bench_pingpong(n: usize, warm: usize) {
    let rt = rt();
    rt.block_on(pingpong(warm));
    row("pingpong", n, rt.block_on(pingpong(n)), " hops_per_op=2");
    rt.block_on(pingpong_join(warm));
    row("pingpong_join", n, rt.block_on(pingpong_join(n)), "");
}

/// Spawns `n` trivial tasks, then awaits every handle in spawn order.
async fn spawn_and_join(n: usize) -> Duration {
    let t = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| evloop::spawn(async move { black_box(i) }))
        .collect();
    for handle in handles {
        handle
            .await
            .expect("a trivial task neither panics nor is aborted");
    }
    t.elapsed()
}

/// Two tasks bounce a counter `n` times through two channels of capacity 1.
async fn pingpong(n: usize) -> Duration {
    let (to_pong, mut pong_rx) = mpsc::channel::<usize>(1);
    let (to_ping, mut ping_rx) = mpsc::channel::<usize>(1);
    let pong = evloop::spawn(async move {
        while let Some(v) = pong_rx.recv().await {
            if to_ping.send(v + 1).await.is_err() {
                break;
            }
        }
    });
    let ping = evloop::spawn(async move {
        let t = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            to_pong
                .send(v)
                .await
                .expect("pong receives until ping is done");
            v = ping_rx.recv().await.expect("pong answers every value");
        }
        assert_eq!(v, n);
        t.elapsed()
    });
    let elapsed = ping.await.expect("ping neither panics nor is aborted");
    pong.await.expect("pong ends when ping's sender is dropped");
    elapsed
}

/// One task spawns an empty task and awaits its handle, `n` times in sequence.
async fn pingpong_join(n: usize) -> Duration {
    evloop::spawn(async move {
        let t = Instant::now();
        for i in 0..n {
            black_box(evloop::spawn(async move { i }).await.expect("trivial task"));
        }
        t.elapsed()
    })
    .await
    .expect("the driver task neither panics nor is aborted")
}

/// `timers` row: N tasks each sleep 0..=50 ms; the cost is the wall time beyond the 50 ms the
/// longest sleep needs, per timer.
fn bench_timers(n: usize) {
    let rt = rt();
    let base = kb("VmRSS");
    let mut rng = Rng(0x5EED);
    // 0..=50 ms; task 0 always sleeps the full 50 ms (same sequence as micro-tokio).
    let ms: Vec<u64> = (0..n)
        .map(|i| if i == 0 { 50 } else { rng.next_u64() % 51 })
        .collect();
    let wall = rt.block_on(async move {
        let t = Instant::now();
        let handles: Vec<_> = ms
            .into_iter()
            .map(|m| evloop::spawn(evloop::time::sleep(Duration::from_millis(m))))
            .collect();
        for handle in handles {
            handle
                .await
                .expect("a sleeping task neither panics nor is aborted");
        }
        t.elapsed()
    });
    let over = wall.saturating_sub(Duration::from_millis(50));
    let hwm = kb("VmHWM");
    let per_timer = hwm.saturating_sub(base) as f64 * 1024.0 / n as f64;
    row(
        "timers",
        n,
        over,
        &format!(
            " wall_ms={:.2} rss_base_kb={base} bytes_per_timer={per_timer:.0}",
            wall.as_secs_f64() * 1e3
        ),
    );
}

/// The "small work" an offloaded call does (~100 ns), as in micro-tokio.
fn small_work() -> u64 {
    (0..100u64).fold(0, |a, x| black_box(a.wrapping_mul(31).wrapping_add(x)))
}

/// The work of `offload_room`'s jobs (~10 µs, a hundred times `small_work`): long enough that the
/// pool's queue stays full and nearly every task waits for room.
fn room_work() -> u64 {
    (0..10_000u64).fold(0, |a, x| black_box(a.wrapping_mul(31).wrapping_add(x)))
}

/// `offload_*` rows: blocking calls through the worker pool, a fresh thread each, or inline.
fn bench_offload(n: usize) {
    let rt = rt();
    rt.block_on(offload_batch(64)); // grows the pool to 64 threads, as micro-tokio does
    let seq = rt.block_on(async move {
        let t = Instant::now();
        for _ in 0..n {
            black_box(
                evloop::spawn_blocking(small_work)
                    .await
                    .expect("small_work does not panic"),
            );
        }
        t.elapsed()
    });
    row("offload_seq", n, seq, "");
    row("offload_batch64", n, rt.block_on(offload_batch(n)), "");
    let t = Instant::now();
    for _ in 0..n {
        black_box(
            std::thread::spawn(small_work)
                .join()
                .expect("small_work does not panic"),
        );
    }
    row("offload_thread_per_call", n, t.elapsed(), "");
    let t = Instant::now();
    for _ in 0..n {
        black_box(small_work());
    }
    row("offload_inline", n, t.elapsed(), "");
}

/// `k` blocking calls, 64 in flight at a time; each batch is awaited before the next starts.
async fn offload_batch(k: usize) -> Duration {
    let t = Instant::now();
    let mut left = k;
    while left > 0 {
        let m = left.min(64);
        let handles: Vec<_> = (0..m).map(|_| evloop::spawn_blocking(small_work)).collect();
        for handle in handles {
            black_box(handle.await.expect("small_work does not panic"));
        }
        left -= m;
    }
    t.elapsed()
}

/// `offload_room` row (evloop only: tokio's blocking queue has no bound): `n` tasks, each
/// awaiting one `spawn_blocking(room_work)`, on a pool of 4 threads whose queue holds 64 jobs
/// (`QueueFull::Wait`). Nearly all of them find the queue full and wait for room; the row
/// reports how often the pool woke a waiting task per job that waited (`room_wakes_per_wait`).
fn bench_room(n: usize) {
    let pool = ThreadPool::builder()
        .max_threads(4)
        .queue_capacity(64)
        .when_full(QueueFull::Wait)
        .build();
    let rt = Runtime::builder()
        .worker(pool)
        .build()
        .expect("epoll and eventfd are available");
    let elapsed = rt.block_on(async move {
        let t = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| evloop::spawn(async { evloop::spawn_blocking(room_work).await }))
            .collect();
        for task in tasks {
            black_box(
                task.await
                    .expect("the task is not aborted")
                    .expect("small_work does not panic"),
            );
        }
        t.elapsed()
    });
    let stats = rt.worker_stats();
    let per_wait = stats.room_wakes as f64 / stats.waited_for_room.max(1) as f64;
    row(
        "offload_room",
        n,
        elapsed,
        &format!(
            " waited_for_room={} room_wakes={} room_wakes_per_wait={per_wait:.2} \
             room_wakes_per_job={:.2}",
            stats.waited_for_room,
            stats.room_wakes,
            stats.room_wakes as f64 / n as f64
        ),
    );
}

/// `costs` rows: the price of the loop's building blocks, each in a tight loop.
fn bench_costs(n: usize) {
    let t = Instant::now();
    for _ in 0..n {
        black_box(Instant::now());
    }
    row("instant_now", n, t.elapsed(), "");

    let t = Instant::now();
    for _ in 0..n {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec and CLOCK_MONOTONIC_COARSE exists on every
        // Linux since 2.6.32; the call writes only into `ts`.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        black_box((rc, ts.tv_nsec));
    }
    row("coarse_clock", n, t.elapsed(), "");

    let shared = std::sync::Arc::new(0u64);
    let t = Instant::now();
    for _ in 0..n {
        drop(black_box(std::sync::Arc::clone(&shared)));
    }
    row("arc_clone_drop", n, t.elapsed(), "");
}

/// Prints one row in micro-tokio's format.
fn row(name: &str, n: usize, d: Duration, extra: &str) {
    let ns = d.as_nanos() as f64 / n as f64;
    println!(
        "{name} n={n} ns_per_op={ns:.1} total_ms={:.2} vmhwm_kb={}{extra}",
        d.as_secs_f64() * 1e3,
        kb("VmHWM")
    );
}

/// A `kB` field (`VmRSS`, `VmHWM`) of /proc/self/status, 0 if unreadable.
fn kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// xorshift64*, the generator of micro-tokio (`peers::Rng`), so both draw the same sleeps.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
