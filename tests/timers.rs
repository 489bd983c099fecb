//! Whole-runtime tests of time: sleep, timeout, interval, idle cost and timer cleanup.

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::time::{MissedTickBehavior, interval, sleep, sleep_until, timeout};
use evloop::{spawn, task::yield_now};

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn sleep_waits_at_least_its_duration() {
    let rt = util::runtime();
    let start = Instant::now();
    rt.block_on(sleep(Duration::from_millis(30)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(30), "woke early: {took:?}");
    assert!(took < Duration::from_secs(5), "woke far too late: {took:?}");
}

#[test]
fn timers_with_equal_deadlines_fire_in_creation_order() {
    let rt = util::runtime();
    let order = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_millis(5);
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
    });
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn timeout_gives_up_on_a_slow_future_and_passes_a_fast_one() {
    let rt = util::runtime();
    rt.block_on(async {
        let slow = timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
        assert!(slow.is_err());
        let fast = timeout(Duration::from_secs(60), async { 3 }).await;
        assert_eq!(fast, Ok(3));
    });
    assert_eq!(rt.stats().timers_pending, 0, "no timer left behind");
}

#[test]
fn a_million_dropped_timeouts_leave_the_timers_empty() {
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

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn interval_ticks_on_its_grid_and_skips_missed_ticks() {
    let rt = util::runtime();
    rt.block_on(async {
        let period = Duration::from_millis(10);
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first = iv.tick().await;
        let second = iv.tick().await;
        assert_eq!(second - first, period);
        // Block the loop for 3.5 periods: the next tick is late once, then back on the grid.
        std::thread::sleep(Duration::from_millis(35));
        let late = iv.tick().await;
        assert_eq!(late, second + period, "the missed tick fires once, late");
        let next = iv.tick().await;
        assert_eq!(
            (next - first).as_nanos() % period.as_nanos(),
            0,
            "back on the grid"
        );
        assert!(next - late >= 2 * period, "missed ticks skipped, no burst");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn interval_bursts_missed_ticks_by_default_as_tokio_does() {
    let rt = util::runtime();
    rt.block_on(async {
        let period = Duration::from_millis(10);
        let mut iv = interval(period);
        let first = iv.tick().await;
        // Block the loop for 3.5 periods: the ticks of 10, 20 and 30 ms are owed.
        std::thread::sleep(Duration::from_millis(35));
        for owed in 1..=3 {
            // Skip would give 10 then 40; Delay 10 then 45: only Burst owes 20 and 30.
            assert_eq!(
                iv.tick().await,
                first + period * owed,
                "tick {owed} is not lost"
            );
        }
        let back = iv.tick().await;
        assert_eq!(back, first + period * 4, "then back on the grid");
        assert!(Instant::now() >= back);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // wall-clock timing
fn interval_with_delay_moves_its_grid_after_a_late_tick() {
    let rt = util::runtime();
    rt.block_on(async {
        let period = Duration::from_millis(10);
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let first = iv.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        let late = iv.tick().await;
        assert_eq!(late, first + period, "one late tick");
        let next = iv.tick().await;
        // The late tick ran at 35 ms or later; the next one is a period after that (Skip would
        // say 40 ms, Burst 20 ms).
        assert!(
            next - first >= Duration::from_millis(45),
            "a new grid: {:?}",
            next - first
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // measures real CPU time
fn an_idle_one_second_sleep_costs_almost_no_cpu() {
    let rt = util::runtime();
    let before = util::thread_cpu_time();
    rt.block_on(sleep(Duration::from_secs(1)));
    let used = util::thread_cpu_time() - before;
    assert!(
        used < Duration::from_millis(10),
        "the loop should sleep in epoll_wait, but used {used:?} of CPU"
    );
    assert!(rt.stats().turns < 10, "few turns: {}", rt.stats().turns);
}

#[test]
fn yield_loop_does_not_starve_timers() {
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
        timeout(Duration::from_secs(10), sleep(Duration::from_millis(2)))
            .await
            .expect("the timer fires although three tasks never stop yielding");
        spinners.iter().for_each(|s| s.abort());
    });
}
