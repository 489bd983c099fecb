//! The process-wide side of signals: who listens to what, the handler, and the dispositions.
//!
//! A signal handler belongs to the whole process, not to a runtime, and it runs on whatever thread
//! the kernel picks, between any two instructions — possibly while that thread holds a lock or is
//! inside `malloc`. So the handler here touches nothing but atomics and `write(2)`:
//!
//! ```text
//!  SIGINT ─► on_signal(2) ─► for each slot: signal == 2 ? ─► write(slot.fd, [2])
//!                                                             └─► that listener's pipe is
//!                                                                 readable: its reactor wakes it
//! ```
//!
//! The *slots* are a fixed table of `(signal, descriptor)` pairs in atomics, one per listening
//! `Signal`; the table cannot grow, because growing means allocating, which a handler may not
//! watch happen. 64 listeners at once is the limit (tokio has none: it keeps one pipe per
//! process and wakes listeners through its own tables).
//!
//! ## Removing a listener without racing the handler
//!
//! The one hard part: a handler on another thread may have read a slot's descriptor and be about
//! to write to it just as the listener is dropped. If the descriptor were closed then, and its
//! number reused by a file opened meanwhile, the handler would write a byte into that file. So:
//!
//! 1. the slot stops matching any signal (`signal = CLOSING`): new handler runs skip it;
//! 2. wait until [`HANDLERS_RUNNING`] is zero: runs that started before step 1 have finished;
//! 3. only now may the descriptor close; the slot becomes free.
//!
//! Every handler run counts itself in `HANDLERS_RUNNING` *before* it reads a slot, and all these
//! atomics use `SeqCst`, so a run either started before step 1 (and step 2 waits for it) or sees
//! the slot closing. The wait is a few instructions long unless a handler's thread is preempted.
//!
//! ## Dispositions
//!
//! The first listener of a signal installs the handler and keeps the disposition it replaced
//! (usually the default); when the last listener of that signal goes, that disposition is put
//! back — so after the program stops listening for Ctrl-C, Ctrl-C ends it again. (tokio leaves its
//! handler installed for the life of the process.) This bookkeeping runs in ordinary code, under
//! a mutex the handler never touches.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, PoisonError};

use crate::sys;

/// How many `Signal`s may listen at the same time, in the whole process.
pub(crate) const MAX_LISTENERS: usize = 64;

/// `Slot::signal` of a free slot.
const FREE: i32 = 0;
/// `Slot::signal` of a slot being filled or emptied: matches no signal.
const CLOSING: i32 = -1;

/// One listener, as the handler sees it.
struct Slot {
    /// The signal it listens to; [`FREE`] or [`CLOSING`] otherwise.
    signal: AtomicI32,
    /// The write end of its pipe.
    fd: AtomicI32,
}

/// The listeners. A `static` array of atomics: the handler reads it without locks or allocation.
static SLOTS: [Slot; MAX_LISTENERS] = [const {
    Slot {
        signal: AtomicI32::new(FREE),
        fd: AtomicI32::new(-1),
    }
}; MAX_LISTENERS];

/// Handler runs in progress, on any thread (step 2 of the module docs waits for zero).
static HANDLERS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Per signal with listeners: how many, and the disposition to put back after the last.
static INSTALLED: Mutex<BTreeMap<i32, Installed>> = Mutex::new(BTreeMap::new());

/// The handler's state for one signal.
struct Installed {
    /// Listeners of this signal now.
    listeners: usize,
    /// What the kernel did with the signal before our handler.
    previous: sys::SignalDisposition,
}

/// The signal handler: one byte to the pipe of every listener of `signal`.
extern "C" fn on_signal(signal: libc::c_int) {
    HANDLERS_RUNNING.fetch_add(1, SeqCst);
    for slot in &SLOTS {
        if slot.signal.load(SeqCst) == signal {
            let fd = slot.fd.load(SeqCst);
            if fd >= 0 {
                // The byte's value is only for someone reading the pipe by hand.
                sys::write_from_signal_handler(fd, signal as u8);
            }
        }
    }
    HANDLERS_RUNNING.fetch_sub(1, SeqCst);
}

/// Publishes a listener: from now on each `signal` writes a byte to `fd`. Installs the handler if
/// this is the signal's first listener. Returns the slot, for [`remove`].
///
/// `fd` must stay open until [`remove`] returns.
pub(crate) fn add(signal: i32, fd: RawFd) -> io::Result<usize> {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    let slot = claim_slot().ok_or_else(|| {
        io::Error::other(format!(
            "too many signal listeners: at most {MAX_LISTENERS} at a time"
        ))
    })?;
    SLOTS[slot].fd.store(fd, SeqCst);
    SLOTS[slot].signal.store(signal, SeqCst);
    if let Some(entry) = installed.get_mut(&signal) {
        entry.listeners += 1;
        return Ok(slot);
    }
    match sys::set_signal_handler(signal, on_signal) {
        Ok(previous) => {
            log::debug!("signal {signal}: handler installed");
            let entry = Installed {
                listeners: 1,
                previous,
            };
            installed.insert(signal, entry);
            Ok(slot)
        }
        Err(e) => {
            release_slot(slot);
            Err(e)
        }
    }
}

/// Unpublishes the listener in `slot` (steps 1–3 of the module docs); after it returns, its
/// descriptor may be closed. Puts back the old disposition after the signal's last listener.
pub(crate) fn remove(slot: usize) {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    let signal = release_slot(slot);
    let Some(entry) = installed.get_mut(&signal) else {
        return;
    };
    entry.listeners -= 1;
    if entry.listeners == 0 {
        let entry = installed.remove(&signal).expect("just found");
        match sys::restore_signal_disposition(signal, &entry.previous) {
            Ok(()) => log::debug!("signal {signal}: last listener gone, disposition restored"),
            Err(e) => log::warn!("signal {signal}: could not restore the disposition: {e}"),
        }
    }
}

/// Takes a free slot (marked [`CLOSING`] until it is filled).
fn claim_slot() -> Option<usize> {
    SLOTS.iter().position(|slot| {
        slot.signal
            .compare_exchange(FREE, CLOSING, SeqCst, SeqCst)
            .is_ok()
    })
}

/// Steps 1–3 of the module docs: the slot stops matching, running handlers finish, the slot is
/// free. Returns the signal it listened to.
fn release_slot(slot: usize) -> i32 {
    let signal = SLOTS[slot].signal.swap(CLOSING, SeqCst);
    while HANDLERS_RUNNING.load(SeqCst) != 0 {
        std::thread::yield_now(); // a handler on another thread is writing; a few instructions
    }
    SLOTS[slot].fd.store(-1, SeqCst);
    SLOTS[slot].signal.store(FREE, SeqCst);
    signal
}
