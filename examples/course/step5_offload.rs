//! Step 5 of the course: offload. Three requests each make a blocking call on a thread of its
//! own; results and wakes come back through a `mio::Waker`; the heartbeat stays on time.
//!
//! Run with: `cargo run --example step5_offload` (chapter: `docs/05-step5-offload.md`)
//!
//! The new code is `common/offload.rs`; `common/scenario.rs` runs the requests next to a
//! heartbeat and draws what happened.

#[path = "common"]
mod common {
    pub mod executor;
    pub mod heartbeat;
    pub mod offload;
    pub mod oneshot;
    #[allow(dead_code)] // no sockets in this step
    pub mod reactor;
    pub mod scenario;
    #[allow(dead_code)] // the scenario uses `park` and `sleep_until` only
    pub mod timers;
}

use std::io;
use std::time::Duration;

use common::offload;
use common::scenario::{self, Span, blocking_call};

/// How long one blocking call takes.
const WORK: Duration = Duration::from_millis(250);

fn main() -> io::Result<()> {
    let work = WORK.as_millis();
    println!(
        "3 requests, 10 ms apart, each calling a blocking function for {work} ms on a thread of\n\
         its own; a heartbeat ticks every 10 ms on the loop thread."
    );
    let report = scenario::run((1..=3).map(request).collect())?;
    let (total, lag) = (report.total_ms, report.worst_lag_ms);
    println!(
        "\nThe calls overlapped, on three threads: about {work} ms for all three. The loop was\n\
         free the whole time: the heartbeat was never more than {lag:.1} ms late."
    );
    println!("step=5 ok work_ms={work} total_ms={total:.0} worst_lag_ms={lag:.1}");
    Ok(())
}

/// One request: offload the call, await its result.
async fn request(n: usize) -> Span {
    let Ok(reply) = offload::spawn_blocking(move || blocking_call(WORK)) else {
        panic!("request {n}: no thread for the call (step 6 handles this)");
    };
    let span = reply.await.expect("the call returns");
    println!("request {n}: the call returned on its thread; its wake woke the loop");
    span
}
