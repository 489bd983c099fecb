//! One recorded event: what happened, on which thread, when, and for how long.
//!
//! Events are small (about 80 bytes) and hold no `String`: a task's name is a [`Label`] — a
//! `&'static str`, a spawn location, or an `Arc<str>` shared with the task — so recording one
//! never allocates, and the ring's memory is its capacity times the size of an `Event`.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

/// A name for the trace viewer: cheap to clone, never an allocation per event.
#[derive(Clone, Debug)]
pub(crate) enum Label {
    /// A name known at compile time (`spawn_named("heartbeat", ..)`, "park").
    Static(&'static str),
    /// A name made at run time (`spawn_named(format!("request-{i}"), ..)`), shared with the task.
    Shared(Arc<str>),
    /// An unnamed task: where it was spawned.
    Location(&'static Location<'static>),
}

impl From<std::borrow::Cow<'static, str>> for Label {
    fn from(name: std::borrow::Cow<'static, str>) -> Label {
        match name {
            std::borrow::Cow::Borrowed(name) => Label::Static(name),
            std::borrow::Cow::Owned(name) => Label::Shared(Arc::from(name)),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Static(name) => f.write_str(name),
            Label::Shared(name) => f.write_str(name),
            Label::Location(at) => write!(f, "spawned at {at}"),
        }
    }
}

/// What an event records, with its arguments. The comment after each variant is its Chrome
/// trace-event phase and category (`trace/chrome.rs` writes them).
#[derive(Clone, Debug)]
pub(crate) enum What {
    /// One poll of a task (`Some(spawn number)`) or of the `block_on` future. `X`, `poll`.
    Poll {
        /// The task's spawn number (`TaskId::seq`), `None` for the `block_on` future.
        task: Option<u64>,
    },
    /// One wait in the reactor (`epoll_wait`). `X`, `park`.
    Park {
        /// The timeout the loop asked for (`None`: until an event).
        timeout: Option<Duration>,
        /// Readiness events it returned.
        events: u32,
    },
    /// One blocking job, on a worker thread or inline on the loop thread. `X`, `blocking`.
    Blocking {
        /// The job's number ("blocking job 7" in the logs).
        job: u64,
        /// Why it ran on the calling thread, if it did (`InlineReason` as text).
        inline: Option<&'static str>,
    },
    /// Timers fired in one turn. `i`, `timer`.
    TimersFired {
        /// How many.
        count: u32,
        /// How late the latest of them fired.
        lateness: Duration,
    },
    /// A task was woken. `i`, `wake`.
    Wake {
        /// The task's spawn number.
        task: u64,
        /// Woken from another thread (and queued now, by the loop).
        remote: bool,
    },
    /// A counter's new value. `C`.
    Counter {
        /// Which counter.
        counter: Counter,
        /// Its value from now on.
        value: f64,
    },
}

/// The counter tracks of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    /// Tasks waiting in the run queue, each time the loop goes to the reactor.
    RunQueue,
    /// Tasks alive (in the slab), at the same moments.
    TasksAlive,
    /// The sampled loop lag, in milliseconds (`executor/lag_sampler.rs`).
    LoopLagMs,
}

impl Counter {
    /// The counter track's name in the viewer, and the name of its one series.
    pub(crate) fn names(self) -> (&'static str, &'static str) {
        match self {
            Counter::RunQueue => ("run queue", "depth"),
            Counter::TasksAlive => ("tasks", "alive"),
            Counter::LoopLagMs => ("loop lag", "ms"),
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// What happened.
    pub(crate) what: What,
    /// The name the viewer shows on the slice or the instant.
    pub(crate) name: Label,
    /// The thread it happened on (the kernel's thread id on Linux).
    pub(crate) tid: u32,
    /// When it started, in nanoseconds since the trace began.
    pub(crate) start_ns: u64,
    /// How long it took (zero for instants and counters).
    pub(crate) dur_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_small_and_a_label_never_copies_text() {
        assert!(
            std::mem::size_of::<Event>() <= 96,
            "{}",
            std::mem::size_of::<Event>()
        );
        let shared = Label::from(std::borrow::Cow::Owned("request-1".to_string()));
        let copy = shared.clone();
        match (&shared, &copy) {
            (Label::Shared(a), Label::Shared(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("an owned name becomes a shared label"),
        }
        assert_eq!(copy.to_string(), "request-1");
        assert_eq!(
            Label::from(std::borrow::Cow::Borrowed("x")).to_string(),
            "x"
        );
    }
}
