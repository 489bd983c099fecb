//! Issue 13, part 4: keep the parser honest. Thousands of mutated requests
//! (`llm_harness::fuzz`, seeded, the same on every run) go through the parser directly, then a
//! few hundred through the live server over loopback. Nothing may panic, every answer must be a
//! valid HTTP/1.1 response, and the server must still serve afterwards.

use std::time::Duration;

use crate::llm_harness::fuzz::{Rng, check_responses, is_head, mutated};
use crate::llm_harness::{Kind, TestServer, get, settings};
use crate::request::{HttpError, Limits, parse_head};
use crate::response::Response;

/// Mutated requests for the parser, under each of two limits (fewer under Miri, which interprets
/// every byte comparison and would take minutes).
const PARSER_CASES: usize = if cfg!(miri) { 200 } else { 10_000 };

/// Mutated requests sent to the live server, one connection each.
const SERVER_CASES: usize = 300;

/// Limits small enough that the 413, 414 and 431 paths come up often.
const TINY: Limits = Limits {
    max_head: 64,
    max_body: 8,
};

#[test]
fn the_parser_survives_mutated_requests_and_its_refusals_are_valid_responses() {
    let mut rng = Rng::new(0x1313_1313_1313_1313);
    let mut outcomes = [0usize; 3]; // complete, incomplete, refused
    for case in 0..PARSER_CASES {
        let raw = mutated(&mut rng);
        for limits in [Limits::default(), TINY] {
            let cut = rng.below(raw.len() + 1);
            let outcome = check_parse(&raw, cut, limits).unwrap_or_else(|e| {
                panic!("case {case}: {e}\n{:?}", String::from_utf8_lossy(&raw))
            });
            outcomes[outcome] += 1;
        }
    }
    // The generator reaches all three answers, often (seeded: these are the same every run).
    assert!(
        outcomes.iter().all(|&n| n > PARSER_CASES / 20),
        "{outcomes:?}"
    );
}

/// Parses `raw` under `limits` and checks what the parser said; `cut` is a place to check that a
/// shorter input is never further along. Returns 0 (complete), 1 (incomplete) or 2 (refused).
fn check_parse(raw: &[u8], cut: usize, limits: Limits) -> Result<usize, String> {
    match parse_head(raw, limits) {
        Ok(Some((request, head_len))) => {
            let head = raw.get(..head_len).ok_or("head longer than the input")?;
            let sane = head.ends_with(b"\r\n\r\n")
                && head_len <= limits.max_head
                && request.content_length <= limits.max_body
                && request.path.starts_with('/')
                && !request.method.is_empty();
            // The bytes after the head (the body, a next request) never change the head.
            let again = parse_head(head, limits);
            match (sane, again) {
                (true, Ok(Some((same, len)))) if same == request && len == head_len => Ok(0),
                (sane, again) => Err(format!("{request:?} ({head_len}): sane {sane}, {again:?}")),
            }
        }
        Ok(None) if raw.len() >= limits.max_head => Err("over the limit, yet incomplete".into()),
        // A prefix of an incomplete head is incomplete too.
        Ok(None) => match parse_head(&raw[..cut], limits) {
            Ok(None) => Ok(1),
            other => Err(format!("the first {cut} bytes: {other:?}")),
        },
        Err(error) => check_refusal(error).map(|()| 2),
    }
}

/// A refusal's response is one valid response that closes the connection.
fn check_refusal(error: HttpError) -> Result<(), String> {
    let (status, _) = error.status();
    let bytes = Response::from(error).to_bytes(false);
    let found = check_responses(&bytes, false)?;
    match (found.statuses.as_slice(), status) {
        ([only], 400 | 411 | 413 | 414 | 417 | 431 | 501) if *only == status => Ok(()),
        _ => Err(format!("{error:?} answered {:?}", found.statuses)),
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn the_server_answers_mutated_requests_with_valid_responses_and_goes_on() {
    let server = TestServer::start(Kind::Threads, settings(Duration::ZERO));
    let mut rng = Rng::new(0x4242_4242_4242_4242);
    let mut answered = 0;
    for case in 0..SERVER_CASES {
        let raw = mutated(&mut rng);
        let mut client = server.client();
        client.send(&raw);
        // The end of the stream ends whatever the server was waiting for (the rest of a head or
        // of a body); it answers what it has, or closes. Nothing else may come back.
        let back = client.finish();
        let found = check_responses(&back, is_head(&raw)).unwrap_or_else(|e| {
            panic!(
                "case {case}: {e}\nsent {:?}\ngot {:?}",
                String::from_utf8_lossy(&raw),
                String::from_utf8_lossy(&back)
            )
        });
        answered += found.statuses.len();
    }
    assert!(answered > SERVER_CASES / 2, "only {answered} answers");
    assert_eq!(server.client().request(&get("/health")).status, 200);
    server.stop();
}
