//! Where a blocking job ran ([`Execution`]) and, when it ran on the loop thread, why
//! ([`InlineReason`]): what `BlockingHandle::execution` tells a caller and what the stats count.

use std::fmt;

/// Where a blocking job ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execution {
    /// On a pool thread: the loop stayed free.
    Offloaded,
    /// On the calling thread — the event loop, blocked while the job ran.
    Inline(InlineReason),
}

/// Why a job ran on the calling thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineReason {
    /// The runtime was built with the [`Inline`](super::Inline) worker.
    Chosen,
    /// The OS refused a new thread and the pool had none alive ([`Fallback`](super::Fallback)).
    ThreadsRefused,
    /// Every thread was busy, the queue was full, and the policy is `QueueFull::RunInline`.
    QueueFull,
}

impl fmt::Display for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Execution::Offloaded => f.write_str("offloaded to a worker thread"),
            Execution::Inline(reason) => write!(f, "inline on the loop thread ({reason})"),
        }
    }
}

impl InlineReason {
    /// The reason in words, as logs, headers and traces show it.
    pub fn as_str(&self) -> &'static str {
        match self {
            InlineReason::Chosen => "the Inline worker was chosen",
            InlineReason::ThreadsRefused => "thread creation refused",
            InlineReason::QueueFull => "queue full",
        }
    }
}

impl fmt::Display for InlineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
