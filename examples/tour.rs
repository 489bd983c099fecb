//! A first look at the loop: tasks, timers, a blocking poll, and the stats that saw it all.
//!
//! Run with: `cargo run --example tour`
//! Watch the loop narrate itself with: `RUST_LOG=evloop=debug cargo run --example tour`
//! (or `RUST_LOG=evloop=trace` to see every turn).

use std::time::Duration;

use evloop::time::{Instant, MissedTickBehavior, interval, sleep};
use evloop::{Runtime, spawn_named};

fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("evloop=warn"))
        .init();
    let rt = Runtime::new()?;
    let start = Instant::now();
    rt.block_on(async move {
        // A heartbeat: ticks every 50 ms and reports how late each tick was.
        let heartbeat = spawn_named("heartbeat", async move {
            let mut iv = interval(Duration::from_millis(50));
            // One late tick after the blocker, then back on the grid (the default would fire
            // the missed ticks in a burst).
            iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let mut worst = Duration::ZERO;
            for _ in 0..12 {
                let scheduled = iv.tick().await;
                worst = worst.max(Instant::now() - scheduled);
            }
            worst
        });
        // Three well-behaved tasks that wait without blocking.
        let sleepers: Vec<_> = (1..=3u64)
            .map(|i| {
                spawn_named(format!("sleeper-{i}"), async move {
                    sleep(Duration::from_millis(100 * i)).await;
                    println!("[{:>4} ms] sleeper-{i} woke", start.elapsed().as_millis());
                })
            })
            .collect();
        // One badly-behaved task: it calls a blocking function inside its poll.
        let blocker = spawn_named("blocker", async move {
            sleep(Duration::from_millis(150)).await;
            println!(
                "[{:>4} ms] blocker: calling std::thread::sleep(250 ms) on the loop thread",
                start.elapsed().as_millis()
            );
            std::thread::sleep(Duration::from_millis(250));
        });
        for s in sleepers {
            s.await.expect("sleeper finishes");
        }
        blocker.await.expect("blocker finishes");
        let worst = heartbeat.await.expect("heartbeat finishes");
        println!(
            "[{:>4} ms] heartbeat done; its worst tick was {} ms late (the blocker held the loop)",
            start.elapsed().as_millis(),
            worst.as_millis()
        );
    });
    println!("\n{}", rt.stats());
    Ok(())
}
