//! Where blocking work goes right now ([`Mode`]), the start-up [`Probe`], and the log lines that
//! announce a change of mode.
//!
//! A service in a thread-limited container does not fail loudly: its blocking calls quietly move
//! onto the loop thread, and every request gets slow. So the worker *says* when that happens —
//! once per change, not once per job, so the log stays readable under load:
//!
//! ```text
//!  Offloading ──spawn refused, threads alive──► LiveThreadsOnly   warn: jobs queue on N threads
//!      ▲    └──spawn refused, no thread──────► Inline            warn: the loop is blocked
//!      └────────── a spawn succeeds again ◄──── (either)          info: recovered
//! ```
//!
//! Every warning names the OS error and what it means (from `worker/diagnosis.rs`), because "can't
//! start new thread" alone sends people looking in the wrong place.

use std::fmt;
use std::io;
use std::sync::Mutex;

use super::diagnosis::refusal;
use super::stats::WorkerCounters;

/// Where the next blocking job will run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// On pool threads, created as needed: the loop stays free.
    Offloading,
    /// Thread creation was refused, so jobs queue on the pool's live threads: the loop stays free,
    /// but jobs wait for one of those threads.
    LiveThreadsOnly,
    /// On the calling thread, the event loop, which is blocked while the job runs.
    Inline,
    /// Nowhere: thread creation was refused, the pool has no thread and no fallback, so jobs fail
    /// with `BlockingError::NoThread` (a bare `ThreadPool`).
    Refusing,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Offloading => "offloading to threads",
            Mode::LiveThreadsOnly => "queueing on live threads only",
            Mode::Inline => "running inline on the loop thread",
            Mode::Refusing => "refusing jobs",
        })
    }
}

/// The result of [`Worker::probe`](super::Worker::probe): can this process offload blocking work?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Where blocking work will go.
    pub mode: Mode,
    /// Why it does not go to new threads (`None` when it does).
    pub reason: Option<String>,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.mode {
            Mode::Offloading => "offloaded to threads",
            Mode::LiveThreadsOnly => "queued on the pool's live threads",
            Mode::Inline => "runs inline",
            Mode::Refusing => "refused",
        };
        match &self.reason {
            Some(reason) => write!(f, "blocking work: {what} — {reason}"),
            None => write!(f, "blocking work: {what}"),
        }
    }
}

/// Remembers the last mode announced and logs each change once.
#[derive(Debug, Default)]
pub(crate) struct ModeReport {
    /// The mode of the last announcement (`None`: nothing observed yet).
    last: Mutex<Option<Mode>>,
}

impl ModeReport {
    /// The mode last observed.
    #[cfg(test)]
    pub(crate) fn current(&self) -> Option<Mode> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that the worker is now in `mode`, because of `cause` (the spawn error that led
    /// there, if any) with `live` pool threads; logs if that is a change.
    pub(crate) fn observe(&self, mode: Mode, cause: Option<&io::Error>, live: usize) {
        let previous = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            last.replace(mode)
        };
        if previous != Some(mode) {
            announce(previous, mode, cause, live);
        }
    }
}

impl ModeReport {
    /// The start-up probe found `probe`: say it once, at info, and keep it for the stats.
    pub(crate) fn probed(&self, probe: Probe, counters: &WorkerCounters) -> Probe {
        log::info!("{probe}");
        counters.set_probe(&probe);
        probe
    }
}

/// The log line for a change of mode.
fn announce(previous: Option<Mode>, mode: Mode, cause: Option<&io::Error>, live: usize) {
    let (why, diagnosis) = match cause {
        Some(e) => {
            let (refused, diagnosis) = refusal(e);
            (refused, format!(" (likely cause: {diagnosis})"))
        }
        None => ("the Inline worker was chosen".to_string(), String::new()),
    };
    match mode {
        Mode::Offloading if previous.is_none() => {
            log::debug!("blocking work: offloading to threads")
        }
        Mode::Offloading => log::info!(
            "thread creation works again: blocking work is offloaded to threads, the loop is free"
        ),
        Mode::LiveThreadsOnly => log::warn!(
            "{why}; queueing blocking work on the pool's {live} live thread(s) — the loop stays \
             free, but jobs wait for a free thread{diagnosis}"
        ),
        Mode::Inline => log::warn!(
            "{why}; running blocking work on the event loop thread — the loop is blocked while it \
             runs{diagnosis}"
        ),
        Mode::Refusing => log::warn!(
            "{why}; the pool has no thread and no fallback, so blocking jobs fail with \
             BlockingError::NoThread{diagnosis}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::diagnosis::refusal_reason;

    #[test]
    fn probe_reads_as_one_line() {
        let offload = Probe {
            mode: Mode::Offloading,
            reason: None,
        };
        assert_eq!(offload.to_string(), "blocking work: offloaded to threads");
        let inline = Probe {
            mode: Mode::Inline,
            reason: Some(refusal_reason(&io::Error::from_raw_os_error(libc::EAGAIN))),
        };
        let eagain = io::Error::from_raw_os_error(libc::EAGAIN); // "Resource temporarily ..."
        let expected = format!("blocking work: runs inline — thread creation refused: {eagain} (");
        assert!(inline.to_string().starts_with(&expected), "{inline}");
    }

    #[test]
    fn a_report_remembers_the_last_mode() {
        let report = ModeReport::default();
        assert_eq!(report.current(), None);
        let eagain = io::Error::from_raw_os_error(libc::EAGAIN);
        report.observe(Mode::Inline, Some(&eagain), 0);
        report.observe(Mode::Inline, Some(&eagain), 0);
        assert_eq!(report.current(), Some(Mode::Inline));
        report.observe(Mode::Offloading, None, 1);
        assert_eq!(report.current(), Some(Mode::Offloading));
    }
}
