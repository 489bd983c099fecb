//! The worker's stats as JSON, for a dashboard (`examples/llm_server`'s `/stats.json`), written
//! with the crate's small writer (`json.rs`). The schema is in `docs/08-offload-and-the-fallback.md`.

use super::WorkerStats;
use crate::json::Object;

impl WorkerStats {
    /// Writes the snapshot's fields into the JSON object `o`.
    pub fn write_json(&self, o: &mut Object<'_>) {
        o.str("mode", &self.mode.to_string());
        match &self.probe {
            Some(probe) => o.str("probe", &probe.to_string()),
            None => o.null("probe"),
        }
        o.u64("offloaded", self.offloaded);
        {
            let mut inline = o.object("inline");
            inline.u64("total", self.inline.total());
            inline.u64("chosen", self.inline.chosen);
            inline.u64("threads_refused", self.inline.threads_refused);
            inline.u64("queue_full", self.inline.queue_full);
        }
        for (key, value) in [
            ("rejected", self.rejected),
            ("waited_for_room", self.waited_for_room),
            ("threads_spawned", self.threads_spawned),
            ("spawn_failures", self.spawn_failures),
            ("threads_alive", self.threads_alive as u64),
            ("threads_idle", self.threads_idle as u64),
            ("queue_len", self.queue_len as u64),
            ("queue_capacity", self.queue_capacity as u64),
            ("max_threads", self.max_threads as u64),
        ] {
            o.u64(key, value);
        }
    }

    /// The snapshot as one JSON object.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut Object::new(&mut out));
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::worker::{InlineCounts, Mode, WorkerStats};

    #[test]
    fn the_inline_jobs_are_counted_by_reason() {
        let stats = WorkerStats {
            mode: Mode::Inline,
            probe: None,
            offloaded: 2,
            inline: InlineCounts {
                chosen: 0,
                threads_refused: 3,
                queue_full: 1,
            },
            rejected: 0,
            waited_for_room: 0,
            threads_spawned: 0,
            spawn_failures: 4,
            threads_alive: 0,
            threads_idle: 0,
            queue_len: 0,
            queue_capacity: 1024,
            max_threads: 64,
        };
        let json = stats.to_json();
        assert!(json.starts_with(
            r#"{"mode":"running inline on the loop thread","probe":null,"offloaded":2,"inline":{"total":4,"chosen":0,"threads_refused":3,"queue_full":1},"#
        ), "{json}");
        assert!(
            json.ends_with(r#""queue_capacity":1024,"max_threads":64}"#),
            "{json}"
        );
    }
}
