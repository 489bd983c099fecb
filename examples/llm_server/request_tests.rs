//! Unit tests of the request parser (`request.rs`); the fuzz test is `tests/llm_server/fuzz.rs`.

use super::*;

fn parse(raw: &[u8]) -> Result<Option<(Request, usize)>, HttpError> {
    parse_head(raw, Limits::default())
}

/// The request of a head that must parse.
fn parsed(raw: &[u8]) -> Request {
    match parse(raw) {
        Ok(Some((request, _))) => request,
        other => panic!("{:?} -> {other:?}", String::from_utf8_lossy(raw)),
    }
}

#[test]
fn a_simple_get_parses_with_keep_alive() {
    let raw = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let (req, len) = parse(raw).unwrap().unwrap();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/health"));
    assert_eq!(len, raw.len());
    assert!(req.keep_alive);
    assert!(!req.expect_continue);
    assert_eq!(req.content_length, 0);
}

#[test]
fn partial_heads_ask_for_more() {
    assert_eq!(parse(b"GET /health HTTP/1.1\r\nHo"), Ok(None));
    assert_eq!(parse(b""), Ok(None));
    assert_eq!(parse(b"\r\n\r"), Ok(None));
}

#[test]
fn post_needs_a_length_and_a_small_enough_body() {
    assert_eq!(
        parse(b"POST /generate HTTP/1.1\r\nHost: x\r\n\r\n"),
        Err(HttpError::LengthRequired)
    );
    let big = format!(
        "POST /generate HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        64 * 1024 + 1
    );
    assert_eq!(parse(big.as_bytes()), Err(HttpError::PayloadTooLarge));
    let ok = b"POST /generate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    let (req, len) = parse(ok).unwrap().unwrap();
    assert_eq!((req.content_length, &ok[len..]), (5, &b"hello"[..]));
}

#[test]
fn oversized_heads_are_431_and_oversized_request_lines_414() {
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
    raw.resize(9000, b'a');
    assert_eq!(parse(&raw), Err(HttpError::HeaderTooLarge));
    // Issue 13: a request target longer than the head limit is "URI Too Long", not 431.
    let mut raw = b"GET /".to_vec();
    raw.resize(9000, b'a');
    assert_eq!(parse(&raw), Err(HttpError::UriTooLong));
    raw.extend(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(parse(&raw), Err(HttpError::UriTooLong));
    assert_eq!(
        parse(&b"\r\n".repeat(5000)),
        Err(HttpError::BadRequest("nothing but empty lines"))
    );
}

#[test]
fn malformed_input_is_a_bad_request() {
    for raw in [
        &b"GET\r\n\r\n"[..],
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"GET nope HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"G\xffT / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert!(
            matches!(parse(raw), Err(HttpError::BadRequest(_))),
            "{:?} -> {:?}",
            String::from_utf8_lossy(raw),
            parse(raw)
        );
    }
}

#[test]
fn host_is_required_once_and_valid() {
    // Issue 13 (RFC 9112 §3.2): none (in HTTP/1.1), two, or an invalid one is a 400.
    for (raw, why) in [
        (
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            "HTTP/1.1 request without Host",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
            "more than one Host",
        ),
        (
            b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
            "more than one Host",
        ),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "invalid Host"),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "invalid Host"),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "invalid Host"),
        (b"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", "invalid Host"),
        (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", "invalid Host"),
        (b"GET / HTTP/1.1\r\nHost: %zz\r\n\r\n", "invalid Host"),
    ] {
        assert_eq!(
            parse(raw),
            Err(HttpError::BadRequest(why)),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    for host in [
        "",
        "localhost",
        "localhost:8080",
        "127.0.0.1:80",
        "[::1]:8080",
        "[fe80::1]",
        "xn--bcher-kva.example",
        "a%41b",
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(parsed(raw.as_bytes()).path, "/", "{host:?}");
    }
    // HTTP/1.0 did not require it.
    assert_eq!(parsed(b"GET / HTTP/1.0\r\n\r\n").path, "/");
}

#[test]
fn the_absolute_form_is_accepted_and_reduced_to_its_path() {
    // Issue 13 (RFC 9112 §3.2.2): a server MUST accept it.
    for (target, path) in [
        ("http://example.com/health", "/health"),
        ("HTTP://example.com:8080/a/b?c=d", "/a/b?c=d"),
        ("https://[::1]:8443/x", "/x"),
        ("http://example.com", "/"),
        ("http://example.com?q=1", "/?q=1"),
    ] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(parsed(raw.as_bytes()).path, path, "{target}");
    }
    for target in [
        "http:///x",
        "http://u@h/x",
        "ftp://h/x",
        "http:/x",
        "*",
        "h:80",
    ] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(
            matches!(parse(raw.as_bytes()), Err(HttpError::BadRequest(_))),
            "{target}"
        );
    }
}

#[test]
fn empty_lines_before_the_request_line_are_ignored() {
    // Issue 13 (RFC 9112 §2.2): a CRLF before the request line is skipped, not refused.
    let raw = b"\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\nrest";
    let (req, len) = parse(raw).unwrap().unwrap();
    assert_eq!((req.path.as_str(), &raw[len..]), ("/health", &b"rest"[..]));
    assert!(asks_for_head(b"\r\nHEAD / HTTP/1.1\r\n"));
    assert!(!asks_for_head(b"GET / HTTP/1.1\r\n"));
}

#[test]
fn expect_100_continue_is_passed_on_and_other_expectations_are_417() {
    let raw = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
    assert!(parsed(raw).expect_continue);
    let raw = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(parse(raw), Err(HttpError::ExpectationFailed));
    // HTTP/1.0 knows no 100 Continue: the expectation is ignored (RFC 9110 §10.1.1).
    let raw = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    assert!(!parsed(raw).expect_continue);
    let raw = b"POST / HTTP/1.0\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\n";
    assert!(!parsed(raw).expect_continue);
}

#[test]
fn connection_close_and_http10_end_the_connection() {
    assert!(!parsed(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!parsed(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(parsed(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

#[test]
fn chunked_bodies_are_not_implemented() {
    let raw = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(parse(raw), Err(HttpError::NotImplemented));
}
