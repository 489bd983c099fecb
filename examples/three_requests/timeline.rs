//! Draws what happened in a scenario as an ASCII timeline, one row per request and one for the
//! heartbeat, so the difference between "offloaded" and "blocked" is visible at a glance.
//!
//! ```text
//! time (s)    0         1         2         3
//!             |---------|---------|---------|
//! request 1   ##########
//! request 2   ..........##########
//! request 3   ....................##########
//! heartbeat   ::::::::::::::::::::::::::::::
//! ```
//!
//! Each column is `scale` of wall time. A request row shows `.` while it waits for the lock, `#`
//! while its blocking call runs on a worker thread, `!` while it runs *on the loop thread* (`E`
//! where a call could not run at all). The
//! heartbeat row shows `:` for a column in which the heartbeat ticked on time, `x` for a column
//! with a late tick, and a blank where it did not tick at all — the loop was blocked.

use std::time::Duration;

/// One request's life, as offsets from the scenario start.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan {
    /// When the request started (and began waiting for the lock, if any).
    pub start: Duration,
    /// When its blocking call started running.
    pub work_start: Duration,
    /// When its blocking call returned.
    pub work_end: Duration,
    /// True when the call ran on the loop thread (the blocking fallback).
    pub inline: bool,
    /// True when the call could not run at all (drawn as `E` at the failure).
    pub failed: bool,
}

/// One heartbeat tick: when it was due and when it actually ran.
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    /// When the tick was scheduled.
    pub due: Duration,
    /// When the heartbeat task actually ran for it.
    pub ran: Duration,
}

/// A tick counts as late when it ran this long after it was due.
const LATE: Duration = Duration::from_millis(20);

/// Renders the timeline for `total` of wall time with `columns` columns.
pub fn render(requests: &[RequestSpan], ticks: &[Tick], total: Duration, columns: usize) -> String {
    let scale = total.max(Duration::from_millis(1)) / columns as u32;
    let col = |t: Duration| ((t.as_nanos() / scale.as_nanos().max(1)) as usize).min(columns - 1);
    let mut out = axis(total, scale, columns);
    for (i, r) in requests.iter().enumerate() {
        let mut row = vec![b' '; columns];
        fill(&mut row, col(r.start), col(r.work_start), b'.');
        let mark = if r.inline { b'!' } else { b'#' };
        fill(
            &mut row,
            col(r.work_start),
            col(r.work_end).max(col(r.work_start) + 1),
            mark,
        );
        out.push_str(&format!(
            "request {:<3} {}\n",
            i + 1,
            String::from_utf8_lossy(&row)
        ));
    }
    let mut beat = vec![b' '; columns];
    for t in ticks {
        let c = col(t.ran);
        if t.ran.saturating_sub(t.due) > LATE {
            beat[c] = b'x';
        } else if beat[c] == b' ' {
            beat[c] = b':';
        }
    }
    out.push_str(&format!("heartbeat   {}\n", String::from_utf8_lossy(&beat)));
    out.push_str(&format!(
        "            one column = {} ms   # call on a worker thread   ! call on the loop thread\n            \
         . waiting for the lock   E failed   : heartbeat on time   x late   blank: no heartbeat\n",
        scale.as_millis()
    ));
    out
}

/// Fills `row[from..to]` with `mark` (clamped to the row).
fn fill(row: &mut [u8], from: usize, to: usize, mark: u8) {
    let to = to.min(row.len());
    if from < to {
        row[from..to].fill(mark);
    }
}

/// The time axis: a label every second (or every tenth of the run for short runs).
fn axis(total: Duration, scale: Duration, columns: usize) -> String {
    let step = if total >= Duration::from_secs(2) {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(100)
    };
    let per_step = (step.as_nanos() / scale.as_nanos().max(1)).max(1) as usize;
    let mut labels = String::new();
    let mut ticks = String::new();
    let mut c = 0;
    while c < columns {
        let label = if step >= Duration::from_secs(1) {
            format!("{}", c / per_step)
        } else {
            format!("{:.1}", (c / per_step) as f64 / 10.0)
        };
        labels.push_str(&format!("{label:<per_step$}"));
        ticks.push('|');
        ticks.push_str(&"-".repeat(per_step.saturating_sub(1)));
        c += per_step;
    }
    format!(
        "time (s)    {}\n            {}\n",
        labels.trim_end(),
        &ticks[..columns.min(ticks.len())]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn serialised_inline_calls_leave_a_gap_in_the_heartbeat() {
        let reqs: Vec<RequestSpan> = (0..3)
            .map(|i| RequestSpan {
                start: ms(0),
                work_start: ms(1000 * i),
                work_end: ms(1000 * (i + 1)),
                inline: true,
                failed: false,
            })
            .collect();
        let ticks = [
            Tick {
                due: ms(0),
                ran: ms(0),
            },
            Tick {
                due: ms(10),
                ran: ms(3000),
            },
        ];
        let text = render(&reqs, &ticks, ms(3000), 30);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            format!("request 1   {}{}", "!".repeat(10), " ".repeat(20))
        );
        assert_eq!(
            lines[3],
            format!(
                "request 2   {}{}{}",
                ".".repeat(10),
                "!".repeat(10),
                " ".repeat(10)
            )
        );
        assert_eq!(lines[5], format!("heartbeat   :{}x", " ".repeat(28)));
        assert!(lines[0].starts_with("time (s)    0         1         2"));
    }
}
