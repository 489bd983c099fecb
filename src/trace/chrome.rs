//! Writes the ring as a Chrome trace-event JSON file, the format Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open, and the one tracing-chrome, Chromium and V8 write.
//!
//! The file is one object with a `traceEvents` array. Each event names its process (`pid`) and
//! thread (`tid`); the viewer draws one track per thread, and one per counter:
//!
//! ```text
//! {"ph":"M","name":"thread_name","pid":7,"tid":7,"args":{"name":"evloop loop (main)"}}
//! {"ph":"X","cat":"poll","name":"request-1","pid":7,"tid":7,"ts":1234.567,"dur":0.850,"args":{"task":3}}
//! {"ph":"X","cat":"park","name":"park","pid":7,"tid":7,"ts":1235.5,"dur":9.9,"args":{"timeout_ms":10.0,"events":1}}
//! {"ph":"X","cat":"blocking","name":"blocking job 1","pid":7,"tid":8,"ts":...,"dur":...,"args":{"job":1}}
//! {"ph":"i","s":"t","cat":"timer","name":"timers fired","pid":7,"tid":7,"ts":...,"args":{"count":1,"lateness_ms":0.1}}
//! {"ph":"C","name":"run queue","pid":7,"tid":7,"ts":...,"args":{"depth":2}}
//! ```
//!
//! `X` is a *complete* event (a slice with a start and a duration), `i` an *instant*, `C` a
//! *counter* sample, `M` *metadata* (here: thread names, and the loop thread sorted first).
//! Times are in microseconds since the trace began, with three decimals (nanoseconds).

use super::event::{Event, What};
use super::ring::Ring;
use crate::json::{Array, Object};

/// The whole ring as the text of a trace file.
pub(crate) fn write(ring: &Ring, pid: u32, out: &mut String) {
    let mut file = Object::new(out);
    {
        let mut events = file.array("traceEvents");
        metadata(ring, pid, &mut events);
        for event in &ring.events {
            write_event(event, pid, &mut events.object());
        }
    }
    file.str("displayTimeUnit", "ms");
    let mut other = file.object("otherData");
    other.str("recorder", "evloop");
    other.u64("capacity", ring.capacity() as u64);
    other.u64("events", ring.events.len() as u64);
    other.u64("dropped", ring.dropped);
}

/// The process name, each thread's name, and an order: loop thread first, then the others.
fn metadata(ring: &Ring, pid: u32, events: &mut Array<'_>) {
    {
        let mut process = events.object();
        process.str("ph", "M");
        process.str("name", "process_name");
        process.u64("pid", pid.into());
        process.object("args").str("name", "evloop");
    }
    for (index, (tid, name)) in ring.threads.iter().enumerate() {
        {
            let mut thread = events.object();
            thread.str("ph", "M");
            thread.str("name", "thread_name");
            thread.u64("pid", pid.into());
            thread.u64("tid", (*tid).into());
            thread.object("args").str("name", name);
        }
        let mut order = events.object();
        order.str("ph", "M");
        order.str("name", "thread_sort_index");
        order.u64("pid", pid.into());
        order.u64("tid", (*tid).into());
        order.object("args").u64("sort_index", index as u64);
    }
}

/// One event as one JSON object.
fn write_event(event: &Event, pid: u32, o: &mut Object<'_>) {
    let (phase, category) = phase_and_category(&event.what);
    o.str("ph", phase);
    if let Some(category) = category {
        o.str("cat", category);
    }
    match &event.what {
        What::Counter { counter, .. } => o.str("name", counter.names().0),
        _ => o.str("name", &event.name.to_string()),
    }
    o.u64("pid", pid.into());
    o.u64("tid", event.tid.into());
    o.f64("ts", micros(event.start_ns), 3);
    if phase == "X" {
        o.f64("dur", micros(event.dur_ns), 3);
    }
    if phase == "i" {
        o.str("s", "t"); // an instant on its thread's track
    }
    args(&event.what, &mut o.object("args"));
}

/// The phase letter and category of an event.
fn phase_and_category(what: &What) -> (&'static str, Option<&'static str>) {
    match what {
        What::Poll { .. } => ("X", Some("poll")),
        What::Park { .. } => ("X", Some("park")),
        What::Blocking { .. } => ("X", Some("blocking")),
        What::TimersFired { .. } => ("i", Some("timer")),
        What::Wake { .. } => ("i", Some("wake")),
        What::Counter { .. } => ("C", None),
    }
}

/// The `args` object: the details the viewer shows when a slice is selected.
fn args(what: &What, args: &mut Object<'_>) {
    match what {
        What::Poll { task: Some(seq) } => args.u64("task", *seq),
        What::Poll { task: None } => args.str("task", "block_on"),
        What::Park { timeout, events } => {
            match timeout {
                Some(t) => args.f64("timeout_ms", t.as_secs_f64() * 1e3, 3),
                None => args.null("timeout_ms"),
            }
            args.u64("events", (*events).into());
        }
        What::Blocking { job, inline } => {
            args.u64("job", *job);
            match inline {
                Some(why) => {
                    args.str("ran", "inline on the loop thread");
                    args.str("why", why);
                }
                None => args.str("ran", "on a worker thread"),
            }
        }
        What::TimersFired { count, lateness } => {
            args.u64("count", (*count).into());
            args.f64("lateness_ms", lateness.as_secs_f64() * 1e3, 3);
        }
        What::Wake { task, remote } => {
            args.u64("task", *task);
            args.bool("remote", *remote);
        }
        What::Counter { counter, value } => args.f64(counter.names().1, *value, 3),
    }
}

/// Nanoseconds as the format's microseconds.
fn micros(ns: u64) -> f64 {
    ns as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::super::event::{Counter, Label};
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_kind_of_event_gets_its_phase_category_and_args() {
        let mut ring = Ring::new(10);
        ring.name_thread(5, || "evloop loop (main)".into());
        let event = |what, name| Event {
            what,
            name: Label::Static(name),
            tid: 5,
            start_ns: 1_500,
            dur_ns: 2_000,
        };
        ring.push(event(What::Poll { task: Some(3) }, "request-1"));
        ring.push(event(
            What::Park {
                timeout: None,
                events: 2,
            },
            "park",
        ));
        ring.push(event(
            What::Blocking {
                job: 1,
                inline: Some("thread creation refused"),
            },
            "blocking job 1",
        ));
        ring.push(event(
            What::Counter {
                counter: Counter::RunQueue,
                value: 4.0,
            },
            "",
        ));
        ring.push(event(
            What::TimersFired {
                count: 1,
                lateness: Duration::from_millis(2),
            },
            "timers fired",
        ));
        let mut out = String::new();
        write(&ring, 9, &mut out);
        for expected in [
            r#"{"ph":"M","name":"thread_name","pid":9,"tid":5,"args":{"name":"evloop loop (main)"}}"#,
            r#"{"ph":"X","cat":"poll","name":"request-1","pid":9,"tid":5,"ts":1.500,"dur":2.000,"args":{"task":3}}"#,
            r#""cat":"park","name":"park","pid":9,"tid":5,"ts":1.500,"dur":2.000,"args":{"timeout_ms":null,"events":2}}"#,
            r#""args":{"job":1,"ran":"inline on the loop thread","why":"thread creation refused"}}"#,
            r#"{"ph":"C","name":"run queue","pid":9,"tid":5,"ts":1.500,"args":{"depth":4.000}}"#,
            r#"{"ph":"i","cat":"timer","name":"timers fired","pid":9,"tid":5,"ts":1.500,"s":"t","args":{"count":1,"lateness_ms":2.000}}"#,
            r#""otherData":{"recorder":"evloop","capacity":10,"events":5,"dropped":0}}"#,
        ] {
            assert!(out.contains(expected), "missing {expected} in {out}");
        }
    }
}
