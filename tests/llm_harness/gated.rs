//! A model the test holds: it says when each call starts, then blocks until the test opens its
//! gate, and it records how many calls ever ran at once. With it the departure tests put requests
//! exactly where they want them — one running, others waiting — without timing anything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};

use crate::llm_harness::CLIENT_TIMEOUT;
use crate::model::{self, Model};

/// The model and its controls.
pub struct GatedModel {
    /// The model to put in the `Settings`.
    pub model: Model,
    /// One message per call, sent as the call starts.
    pub started: mpsc::Receiver<()>,
    /// Shared with the model's calls.
    shared: Arc<Shared>,
}

/// What the test and the model's calls share.
#[derive(Default)]
struct Shared {
    /// Whether the gate is open (it stays open once opened).
    open: Mutex<bool>,
    /// Signalled when the gate opens.
    opened: Condvar,
    /// Calls running now.
    running: AtomicUsize,
    /// The most calls that ever ran at once.
    most_at_once: AtomicUsize,
}

impl GatedModel {
    /// A closed gate in front of the real model (with no work of its own).
    pub fn new() -> GatedModel {
        let (started_tx, started) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let calls = Arc::clone(&shared);
        let model: Model = Arc::new(move |prompt: &[u8]| {
            let now = calls.running.fetch_add(1, Ordering::SeqCst) + 1;
            calls.most_at_once.fetch_max(now, Ordering::SeqCst);
            let _ = started_tx.send(());
            calls.wait_for_the_gate();
            calls.running.fetch_sub(1, Ordering::SeqCst);
            model::complete(prompt)
        });
        GatedModel {
            model,
            started,
            shared,
        }
    }

    /// Waits (bounded) until a call has started.
    pub fn wait_for_a_start(&self) {
        self.started
            .recv_timeout(CLIENT_TIMEOUT)
            .expect("no generation started");
    }

    /// Lets every call, now and later, through.
    pub fn open(&self) {
        *self.shared.open.lock().expect("gate lock") = true;
        self.shared.opened.notify_all();
    }

    /// The most calls that ran at once so far.
    pub fn most_at_once(&self) -> usize {
        self.shared.most_at_once.load(Ordering::SeqCst)
    }

    /// The calls running now (started, and not yet through the gate).
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::SeqCst)
    }
}

impl Shared {
    /// Blocks the calling (pool) thread until the gate opens; after `CLIENT_TIMEOUT` it goes on
    /// anyway, so a failed test cannot leave a thread blocked for ever.
    fn wait_for_the_gate(&self) {
        let open = self.open.lock().expect("gate lock");
        let _ = self
            .opened
            .wait_timeout_while(open, CLIENT_TIMEOUT, |open| !*open)
            .expect("gate lock");
    }
}
