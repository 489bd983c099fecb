//! Whole-runtime tests of time: sleep, timeout, interval, paused time, idle cost and timer cleanup.
//!
//! Most tests check timer *logic* (order, grids, timeouts), and run on paused time
//! (`util::paused`: a fresh `start_paused` runtime, under a deadline of real time): there they
//! take no time and their numbers are exact. A few check what real time does — the loop really
//! sleeps in `epoll_wait`, a real sleep is never early, a busy loop still fires timers — and keep
//! the real clock, with lower bounds and generous upper ones.

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::time::{Instant, MissedTickBehavior, advance, interval, sleep, sleep_until, timeout};
use evloop::{spawn, spawn_blocking, task::yield_now};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---- real time -------------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn sleep_waits_at_least_its_duration() {
    util::within_real(Duration::from_secs(10), || {
        let rt = util::runtime();
        let start = std::time::Instant::now();
        rt.block_on(sleep(ms(30)));
        let took = start.elapsed();
        assert!(took >= ms(30), "woke early: {took:?}");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // measures real CPU time
fn an_idle_one_second_sleep_costs_almost_no_cpu() {
    util::within_real(Duration::from_secs(20), || {
        let rt = util::runtime();
        let before = util::thread_cpu_time();
        rt.block_on(sleep(Duration::from_secs(1)));
        let used = util::thread_cpu_time() - before;
        // CPU time, not wall-clock time: other processes on the machine do not add to it.
        assert!(
            used < ms(10),
            "the loop should sleep in epoll_wait, but used {used:?} of CPU"
        );
        assert!(rt.stats().turns < 10, "few turns: {}", rt.stats().turns);
    });
}

/// Real time on purpose: paused time never moves while a task is always ready (auto-advance waits
/// for an idle loop), so this is a test of the real clock read on a busy loop.
#[test]
fn yield_loop_does_not_starve_timers() {
    util::within_real(Duration::from_secs(20), yield_loop_with_a_timer);
}

/// Three tasks that never stop yielding, and a 2 ms sleep that must still end.
fn yield_loop_with_a_timer() {
    let rt = util::runtime();
    rt.block_on(async {
        let spinners: Vec<_> = (0..3)
            .map(|_| {
                spawn(async {
                    loop {
                        yield_now().await;
                    }
                })
            })
            .collect();
        timeout(Duration::from_secs(10), sleep(ms(2)))
            .await
            .expect("the timer fires although three tasks never stop yielding");
        spinners.iter().for_each(|s| s.abort());
    });
}

#[test]
fn a_million_dropped_timeouts_leave_the_timers_empty() {
    util::within_real(Duration::from_secs(120), a_million_dropped_timeouts);
}

/// Creates and drops a million timeouts (200 under Miri), checking the timers stay empty.
fn a_million_dropped_timeouts() {
    let rt = util::runtime();
    let n = if cfg!(miri) { 200 } else { 1_000_000 };
    rt.block_on(async {
        for i in 0..n {
            // Each timeout registers its timer (the inner future is pending once) and is dropped.
            let mut ready = false;
            let fut = std::future::poll_fn(|cx| {
                if ready {
                    std::task::Poll::Ready(i)
                } else {
                    ready = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            });
            let out = timeout(Duration::from_secs(3600), fut).await;
            assert_eq!(out, Ok(i));
            if i % 100_000 == 0 {
                assert_eq!(evloop::stats().timers_pending, 0);
            }
        }
    });
    let stats = rt.stats();
    assert_eq!(stats.timers_pending, 0, "the timer structure stays empty");
    assert_eq!(stats.timers_fired, 0);
}

// ---- paused time: timer logic ----------------------------------------------------------------

#[test]
fn a_paused_hour_long_sleep_returns_at_once_with_an_hour_elapsed() {
    let real_start = std::time::Instant::now();
    let (elapsed, turns) = util::paused(|| async {
        let start = Instant::now();
        sleep(Duration::from_secs(3600)).await;
        (start.elapsed(), evloop::stats().turns)
    });
    assert_eq!(elapsed, Duration::from_secs(3600), "exactly an hour");
    assert!(turns < 10, "one jump, not an hour of turns: {turns}");
    assert!(real_start.elapsed() < Duration::from_secs(5));
}

#[test]
fn timers_with_equal_deadlines_fire_in_creation_order() {
    let order = util::paused(|| async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let deadline = Instant::now() + ms(5);
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let order = order.clone();
                spawn(async move {
                    sleep_until(deadline).await;
                    order.borrow_mut().push(i);
                })
            })
            .collect();
        for h in handles {
            h.await.expect("sleeper completes");
        }
        order.take()
    });
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn paused_timers_fire_in_deadline_order_at_their_exact_instants() {
    let woke = util::paused(|| async {
        let start = Instant::now();
        let woke = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = [30, 10, 20, 10, 50, 1]
            .into_iter()
            .map(|after| {
                let woke = woke.clone();
                spawn(async move {
                    sleep(ms(after)).await;
                    woke.borrow_mut().push((after, start.elapsed()));
                })
            })
            .collect();
        for h in handles {
            h.await.expect("sleeper completes");
        }
        woke.take()
    });
    let expected: Vec<_> = [1, 10, 10, 20, 30, 50].map(|n| (n, ms(n))).to_vec();
    assert_eq!(woke, expected, "each woke at its own deadline, in order");
}

#[test]
fn timeout_gives_up_on_a_slow_future_and_passes_a_fast_one() {
    let (elapsed, pending) = util::paused(|| async {
        let start = Instant::now();
        let slow = timeout(ms(5), std::future::pending::<()>()).await;
        assert!(slow.is_err());
        let gave_up_after = start.elapsed();
        let fast = timeout(Duration::from_secs(60), async { 3 }).await;
        assert_eq!(fast, Ok(3));
        (gave_up_after, evloop::stats().timers_pending)
    });
    assert_eq!(elapsed, ms(5), "gave up exactly at the deadline");
    assert_eq!(pending, 0, "no timer left behind");
}

#[test]
fn interval_bursts_missed_ticks_by_default_as_tokio_does() {
    util::paused(|| async {
        let period = ms(10);
        let mut iv = interval(period);
        let first = iv.tick().await;
        // Block the loop for 3.5 periods: the ticks of 10, 20 and 30 ms are owed.
        evloop::test::block_for(ms(35));
        for owed in 1..=3 {
            // Skip would give 10 then 40; Delay 10 then 45: only Burst owes 20 and 30.
            assert_eq!(
                iv.tick().await,
                first + period * owed,
                "tick {owed} is not lost"
            );
        }
        assert_eq!(
            Instant::now(),
            first + ms(35),
            "the owed ticks came at once"
        );
        let back = iv.tick().await;
        assert_eq!(back, first + period * 4, "then back on the grid");
        assert_eq!(Instant::now(), back, "and on time");
    });
}

#[test]
fn interval_with_delay_starts_a_new_grid_after_a_late_tick() {
    util::paused(|| async {
        let period = ms(10);
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let first = iv.tick().await;
        evloop::test::block_for(ms(35));
        assert_eq!(iv.tick().await, first + period, "one late tick, at 35 ms");
        let next = iv.tick().await;
        assert_eq!(next, first + ms(45), "a period after the late tick ran");
    });
}

#[test]
fn interval_ticks_on_its_grid_and_skips_missed_ticks() {
    util::paused(|| async {
        let period = ms(10);
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first = iv.tick().await;
        let second = iv.tick().await;
        assert_eq!(second - first, period);
        // Block the loop for 3.5 periods: the next tick is late once, then back on the grid.
        evloop::test::block_for(ms(35));
        let late = iv.tick().await;
        assert_eq!(late, second + period, "the missed tick fires once, late");
        assert_eq!(Instant::now() - late, ms(25), "and it is 25 ms late");
        let next = iv.tick().await;
        assert_eq!(
            next,
            first + 5 * period,
            "back on the grid, missed ticks skipped"
        );
        assert_eq!(Instant::now(), next, "on time again");
    });
}

#[test]
fn a_paused_interval_ticks_exactly_once_per_period() {
    let ticks = util::paused(|| async {
        let start = Instant::now();
        let mut iv = interval(ms(10));
        let mut ticks = Vec::new();
        for _ in 0..1000 {
            let scheduled = iv.tick().await;
            assert_eq!(Instant::now(), scheduled, "never late on an idle loop");
            ticks.push(scheduled - start);
        }
        ticks
    });
    let grid: Vec<_> = (0..1000).map(|k| ms(10 * k)).collect();
    assert_eq!(ticks, grid);
}

#[test]
fn advance_fires_each_timer_at_its_own_instant_and_lets_its_task_run() {
    util::paused(|| async {
        let start = Instant::now();
        let woke = Rc::new(RefCell::new(Vec::new()));
        for after in [10, 20, 30] {
            let woke = woke.clone();
            spawn(async move {
                sleep(ms(after)).await;
                woke.borrow_mut().push(start.elapsed());
            });
        }
        yield_now().await; // the sleepers register their timers
        advance(ms(25)).await;
        assert_eq!(*woke.borrow(), [ms(10), ms(20)], "each at its own instant");
        assert_eq!(start.elapsed(), ms(25));
        advance(ms(5)).await;
        assert_eq!(
            *woke.borrow(),
            [ms(10), ms(20), ms(30)],
            "a deadline at the end fires"
        );
    });
}

#[test]
fn advance_over_an_interval_ticks_once_per_period() {
    let ticks = util::paused(|| async {
        let start = Instant::now();
        let ticks = Rc::new(RefCell::new(Vec::new()));
        let record = ticks.clone();
        let ticker = spawn(async move {
            let mut iv = interval(ms(10));
            loop {
                iv.tick().await;
                record.borrow_mut().push(start.elapsed());
            }
        });
        yield_now().await; // the first tick is immediate
        advance(ms(100)).await;
        ticker.abort();
        ticks.take()
    });
    let grid: Vec<_> = (0..=10).map(|k| ms(10 * k)).collect();
    assert_eq!(
        ticks, grid,
        "0, 10, ..., 100 ms: one tick per period, none late"
    );
}

#[test]
fn a_busy_paused_loop_keeps_time_still() {
    util::paused(|| async {
        let spinner = spawn(async {
            loop {
                yield_now().await;
            }
        });
        let start = Instant::now();
        for _ in 0..1000 {
            yield_now().await;
        }
        assert_eq!(
            Instant::now(),
            start,
            "no auto-advance while tasks are ready"
        );
        spinner.abort();
    });
}

#[test]
fn pause_and_resume_inside_a_running_runtime() {
    util::within_real(Duration::from_secs(10), || {
        let rt = util::runtime();
        let (before_resume, paused_at) = rt.block_on(async {
            evloop::time::pause();
            let paused_at = Instant::now();
            std::thread::sleep(ms(5)); // real time passes; paused time does not
            assert_eq!(Instant::now(), paused_at);
            advance(ms(100)).await;
            let before_resume = Instant::now();
            evloop::time::resume();
            (before_resume, paused_at)
        });
        assert_eq!(before_resume - paused_at, ms(100));
        let clock = Instant::from_std(rt.clock());
        assert!(clock >= before_resume, "resumed from where it stood");
    });
}

#[test]
fn runtime_clock_and_stats_follow_paused_time() {
    util::within_real(Duration::from_secs(10), || {
        let rt = evloop::Runtime::builder()
            .start_paused(true)
            .build()
            .expect("runtime");
        let before = rt.clock();
        rt.block_on(async {
            let heartbeat = spawn(sleep(ms(10)));
            yield_now().await; // the heartbeat registers its timer
            evloop::test::block_for(ms(250)); // the loop is blocked past its deadline
            heartbeat.await.expect("heartbeat");
        });
        assert_eq!(rt.clock() - before, ms(250));
        let stats = rt.stats();
        assert_eq!(stats.worst_timer_lateness, ms(240), "{stats}");
        assert_eq!(stats.longest_poll, ms(250), "{stats}");
    });
}

#[test]
#[should_panic(expected = "evloop::time::pause: time is already paused")]
fn pausing_twice_is_a_bug() {
    util::paused(|| async { evloop::time::pause() });
}

#[test]
#[should_panic(expected = "evloop::time::advance: time is not paused")]
fn advancing_running_time_is_a_bug() {
    util::within_real(Duration::from_secs(10), || {
        util::runtime().block_on(advance(ms(1)))
    });
}

#[test]
#[should_panic(expected = "evloop::time::pause must be used inside an evloop runtime")]
fn pausing_outside_a_runtime_is_a_bug() {
    evloop::time::pause();
}

#[test]
fn outside_a_runtime_instant_is_the_real_clock() {
    let real = std::time::Instant::now();
    let ours = Instant::now().into_std();
    assert!(ours >= real && ours <= std::time::Instant::now());
}

// ---- paused time: what the loop waits for ----------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // a real thread sleeps
fn paused_time_waits_for_an_awaited_blocking_job() {
    let (result, paused_elapsed) = util::paused(|| async {
        let start = Instant::now();
        // Auto-advance must not jump to the hour-long timeout while the job runs on a thread.
        let result = timeout(
            Duration::from_secs(3600),
            spawn_blocking(|| {
                std::thread::sleep(ms(50));
                7
            }),
        )
        .await;
        (
            result.map(|joined| joined.expect("no panic")),
            start.elapsed(),
        )
    });
    assert_eq!(
        result,
        Ok(7),
        "the timeout did not fire before the job was done"
    );
    assert_eq!(
        paused_elapsed,
        Duration::ZERO,
        "time stood still while the job ran"
    );
}

#[test]
#[cfg_attr(miri, ignore)] // a real thread sleeps
fn paused_time_waits_for_a_detached_blocking_job_then_jumps() {
    let real_start = std::time::Instant::now();
    let paused_elapsed = util::paused(|| async {
        let start = Instant::now();
        drop(spawn_blocking(|| std::thread::sleep(ms(50)))); // nobody will be woken by its end
        sleep(Duration::from_secs(1)).await;
        start.elapsed()
    });
    assert_eq!(paused_elapsed, Duration::from_secs(1));
    assert!(
        real_start.elapsed() >= ms(50),
        "the jump waited for the job to end: {:?}",
        real_start.elapsed()
    );
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn sockets_keep_working_while_paused() {
    use evloop::net::{TcpListener, TcpStream};

    let echoed = util::paused(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).await.expect("read");
            conn.write_all(&buf).await.expect("write");
        });
        // No timer is pending: the paused loop waits in epoll_wait for the sockets, as usual.
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.write_all(b"hello").await.expect("write");
        let mut echo = [0u8; 5];
        client.read_exact(&mut echo).await.expect("read");
        server.await.expect("server");
        echo
    });
    assert_eq!(&echoed, b"hello");
}
