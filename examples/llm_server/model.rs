//! The "model": a slow *synchronous* function, the stand-in for an LLM client library.
//!
//! A real client blocks its thread for the whole call (network round trips, or the GPU), and so
//! does this one: it sleeps for the configured time, then returns a text derived only from the
//! prompt. The service must therefore call it through `spawn_blocking` (`service.rs`); where it
//! then runs — a pool thread, or the loop thread — is the whole point of the example.
//!
//! The text is deterministic, so tests (and learners) can check it exactly:
//!
//! ```text
//! prompt: 11 bytes, 2 words, fnv1a 779a65e7023cd2e7
//! completion: world hello
//! ```
//!
//! The first line describes the prompt: its length, its number of whitespace-separated words and
//! its 64-bit FNV-1a hash (a well-known, one-line hash; any fixed hash would do). The second line
//! is the "completion": the prompt's words in reverse order. Bytes that are not UTF-8 are shown
//! as U+FFFD.

use std::sync::Arc;
use std::time::Duration;

/// A blocking function from prompt to text. `Arc<dyn Fn>` so that the service can hand a clone to
/// each `spawn_blocking` job (it must be `Send + 'static`), and so that tests can wrap the real
/// model to learn when a generation starts.
pub type Model = Arc<dyn Fn(&[u8]) -> String + Send + Sync>;

/// The model of the command line: [`generate`] with a fixed duration.
pub fn with_work(work: Duration) -> Model {
    Arc::new(move |prompt: &[u8]| generate(prompt, work))
}

/// Blocks the calling thread for `work` (the "inference"), then returns [`complete`]`(prompt)`.
pub fn generate(prompt: &[u8], work: Duration) -> String {
    std::thread::sleep(work);
    complete(prompt)
}

/// The text the model produces for `prompt`, at once (see the module docs for its form).
pub fn complete(prompt: &[u8]) -> String {
    let text = String::from_utf8_lossy(prompt);
    let words: Vec<&str> = text.split_whitespace().collect();
    let reversed: Vec<&str> = words.iter().rev().copied().collect();
    format!(
        "prompt: {} bytes, {} words, fnv1a {:016x}\ncompletion: {}\n",
        prompt.len(),
        words.len(),
        fnv1a(prompt),
        reversed.join(" ")
    )
}

/// 64-bit FNV-1a: for each byte, xor it in, then multiply by the FNV prime.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completion_describes_and_reverses_the_prompt() {
        // 0x779a65e7023cd2e7: FNV-1a 64 of "hello world", computed apart from this code (Python).
        assert_eq!(
            complete(b"hello world"),
            "prompt: 11 bytes, 2 words, fnv1a 779a65e7023cd2e7\ncompletion: world hello\n"
        );
    }

    #[test]
    fn an_empty_prompt_hashes_to_the_offset_basis() {
        assert_eq!(
            complete(b""),
            "prompt: 0 bytes, 0 words, fnv1a cbf29ce484222325\ncompletion: \n"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_do_not_stop_the_model() {
        let text = complete(b"a \xff b");
        assert!(text.starts_with("prompt: 5 bytes, 3 words, "), "{text}");
        assert!(text.ends_with("completion: b \u{fffd} a\n"), "{text}");
    }

    #[test]
    fn generate_waits_then_answers_the_same() {
        let model = with_work(Duration::ZERO);
        assert_eq!(model(b"one two"), complete(b"one two"));
    }
}
