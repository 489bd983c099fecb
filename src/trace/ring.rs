//! The ring: the most recent events, and the names of the threads they happened on.
//!
//! A server runs for weeks; a trace of every poll would grow without bound. So the recorder keeps
//! only the last `capacity` events: when the ring is full, recording one more drops the oldest
//! (and counts it in `dropped`). What is written at the end, or on demand, is therefore the *last*
//! stretch of the run — the part one usually wants to look at.
//!
//! Thread names are kept apart from the events, so that a thread whose name event would have
//! been dropped long ago still has its track labelled. Worker threads come and go (a pool thread
//! exits after its keep-alive); names of threads with no event left in the ring are forgotten
//! once there are many, which keeps the name list bounded too.

use std::collections::VecDeque;

use super::event::{Counter, Event};

/// Forget names of threads without events once this many names are kept.
const MAX_THREAD_NAMES: usize = 256;

/// The recorded events and thread names (behind the recorder's mutex).
#[derive(Debug)]
pub(crate) struct Ring {
    /// Events, oldest first.
    pub(crate) events: VecDeque<Event>,
    /// Most events kept.
    capacity: usize,
    /// Events dropped because the ring was full.
    pub(crate) dropped: u64,
    /// `(thread id, name)` of every thread that recorded an event, loop thread first.
    pub(crate) threads: Vec<(u32, String)>,
    /// Last value written to each counter track, so that an unchanged value is not recorded again.
    last_counters: [Option<f64>; 3],
}

impl Ring {
    /// An empty ring for at most `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Ring {
        Ring {
            // Grow as events come: a ring that is never filled costs only what it holds.
            events: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            threads: Vec::new(),
            last_counters: [None; 3],
        }
    }

    /// The most events kept.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds an event, dropping the oldest when full.
    pub(crate) fn push(&mut self, event: Event) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }

    /// True if `value` differs from the counter's last recorded value (and remembers it).
    pub(crate) fn counter_changed(&mut self, counter: Counter, value: f64) -> bool {
        let slot = &mut self.last_counters[counter as usize];
        if *slot == Some(value) {
            return false;
        }
        *slot = Some(value);
        true
    }

    /// Remembers the name of thread `tid`, unless known; `name` is only called when it is new.
    pub(crate) fn name_thread(&mut self, tid: u32, name: impl FnOnce() -> String) {
        if self.threads.iter().any(|(known, _)| *known == tid) {
            return;
        }
        if self.threads.len() >= MAX_THREAD_NAMES {
            self.forget_silent_threads();
        }
        self.threads.push((tid, name()));
    }

    /// Forgets the names of threads that have no event in the ring (keeps the first: the loop).
    fn forget_silent_threads(&mut self) {
        let events = &self.events;
        let mut first = true;
        self.threads
            .retain(|(tid, _)| std::mem::take(&mut first) || events.iter().any(|e| e.tid == *tid));
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{Label, What};
    use super::*;

    fn event(tid: u32, start_ns: u64) -> Event {
        Event {
            what: What::Poll { task: None },
            name: Label::Static("t"),
            tid,
            start_ns,
            dur_ns: 0,
        }
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_counts_it() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(event(1, i));
        }
        let kept: Vec<u64> = ring.events.iter().map(|e| e.start_ns).collect();
        assert_eq!(kept, [2, 3, 4]);
        assert_eq!(ring.dropped, 2);
    }

    #[test]
    fn thread_names_stay_bounded_and_keep_the_loop_and_live_threads() {
        let mut ring = Ring::new(10);
        ring.name_thread(1, || "loop".into());
        ring.push(event(2, 0));
        for tid in 2..(MAX_THREAD_NAMES as u32 + 10) {
            ring.name_thread(tid, || format!("worker {tid}"));
        }
        assert!(ring.threads.len() <= MAX_THREAD_NAMES);
        assert_eq!(ring.threads[0], (1, "loop".to_string()));
        assert!(
            ring.threads.iter().any(|(tid, _)| *tid == 2),
            "has an event"
        );
        ring.name_thread(1, || unreachable!("known names are not made again"));
    }

    #[test]
    fn a_counter_is_recorded_only_when_it_changes() {
        let mut ring = Ring::new(10);
        assert!(ring.counter_changed(Counter::RunQueue, 1.0));
        assert!(!ring.counter_changed(Counter::RunQueue, 1.0));
        assert!(ring.counter_changed(Counter::TasksAlive, 1.0));
        assert!(ring.counter_changed(Counter::RunQueue, 0.0));
    }
}
