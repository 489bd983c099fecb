//! A logger that keeps every record in memory, so a test can assert on what the loop logged:
//! `install()` once, then `logged_here(level)` for the records of the calling thread only (the
//! harness runs tests on several threads at once, and each test reads just its own lines).
//! Used by `tests/visibility.rs` (the slow-poll warning) and `tests/worker.rs` (mode changes).
#![allow(dead_code)] // each test file uses a different part

use std::sync::Mutex;
use std::thread::{self, ThreadId};

/// One captured log record.
struct Record {
    /// The thread that logged it.
    thread: ThreadId,
    /// Its level.
    level: log::Level,
    /// Its target (the module path, unless the call named one).
    target: String,
    /// Its text.
    message: String,
}

/// Keeps every record at info or above in memory.
struct CaptureLogger;

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static LOGGER: CaptureLogger = CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS.lock().expect("log lock").push(Record {
                thread: thread::current().id(),
                level: record.level(),
                target: record.target().to_string(),
                message: record.args().to_string(),
            });
        }
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary; later calls do nothing).
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Messages at `level` logged by the calling thread so far.
pub fn logged_here(level: log::Level) -> Vec<String> {
    here(|r| r.level == level, |r| r.message.clone())
}

/// Warnings logged by the calling thread whose message contains `needle`, as `target: message`.
pub fn warnings_here(needle: &str) -> Vec<String> {
    here(
        |r| r.level == log::Level::Warn && r.message.contains(needle),
        |r| format!("{}: {}", r.target, r.message),
    )
}

/// The calling thread's records that `keep` keeps, each shown by `show`.
fn here(keep: impl Fn(&Record) -> bool, show: impl Fn(&Record) -> String) -> Vec<String> {
    let me = thread::current().id();
    RECORDS
        .lock()
        .expect("log lock")
        .iter()
        .filter(|r| r.thread == me && keep(r))
        .map(show)
        .collect()
}
