//! Issue 13, part 4: the HTTP/1.1 rules the example broke, each over the wire — `HEAD` without a
//! body, `Expect: 100-continue` answered, `Host` checked, the absolute form accepted, a long
//! target a 414, empty lines before a request skipped. (The parser's side of each is in
//! `examples/llm_server/request_tests.rs`.)

use std::time::Duration;

use crate::llm_harness::{Kind, TestServer, get, settings};

/// A server whose model answers at once.
fn server() -> TestServer {
    TestServer::start(Kind::Threads, settings(Duration::ZERO))
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_head_is_answered_with_the_head_of_get_and_no_body() {
    let server = server();
    let mut client = server.client();
    // A body after a HEAD response would be read here as the next status line, and fail.
    for (path, status, allow) in [
        ("/health", 200, None),
        ("/stats", 200, None),
        ("/generate", 405, Some("POST")),
        ("/nope", 404, None),
    ] {
        client.send(format!("HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        let head = client.head_response();
        assert_eq!(
            (head.status, head.header("allow")),
            (status, allow),
            "{path}"
        );
        let length: usize = head.header("content-length").unwrap().parse().unwrap();
        assert!(length > 0, "{path}: the Content-Length GET would have");
    }
    assert_eq!(client.request(&get("/health")).body, "ok\n");
    // A refused HEAD gets no body either: nothing follows the head before the close.
    client.send(b"HEAD /health HTTP/1.1\r\n\r\n");
    let refused = client.head_response();
    assert_eq!(
        (refused.status, refused.header("connection")),
        (400, Some("close"))
    );
    client.expect_closed();
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_expect_100_continue_is_answered_before_the_body_is_sent() {
    let server = server();
    let mut client = server.client();
    let head = "POST /generate HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\
                Content-Length: 11\r\n\r\n";
    client.send(head.as_bytes());
    // The client holds its body back until this comes (before the fix: never, until timeout).
    assert_eq!(client.line(), "HTTP/1.1 100 Continue");
    assert_eq!(client.line(), "");
    client.send(b"hello world");
    let reply = client.response();
    assert!(
        reply.body.ends_with("completion: world hello\n"),
        "{reply:?}"
    );
    // A body too large is refused at once instead, and an unknown expectation is a 417.
    for (head, status) in [
        (
            "POST /generate HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\
             Content-Length: 1000000\r\n\r\n",
            413,
        ),
        (
            "POST /generate HTTP/1.1\r\nHost: test\r\nExpect: a-pony\r\nContent-Length: 1\r\n\r\n",
            417,
        ),
    ] {
        let mut client = server.client();
        let reply = client.request(head.as_bytes());
        assert_eq!(reply.status, status, "{reply:?}");
        client.expect_closed();
    }
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_host_must_be_there_once_and_valid() {
    let server = server();
    for (raw, status) in [
        (&b"GET /health HTTP/1.1\r\n\r\n"[..], 400),
        (b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: exa\xffmple\r\n\r\n", 400),
        (b"GET /health HTTP/1.0\r\n\r\n", 200),
        (b"GET /health HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200),
    ] {
        let mut client = server.client();
        let reply = client.request(raw);
        let shown = String::from_utf8_lossy(raw);
        assert_eq!(reply.status, status, "{shown:?}: {reply:?}");
        if status == 400 {
            assert!(reply.body.contains("Host"), "{shown:?}: {}", reply.body);
            client.expect_closed();
        }
    }
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_absolute_form_targets_are_served_like_their_path() {
    let server = server();
    let mut client = server.client();
    let reply = client.request(b"GET http://test/health HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    let raw = b"POST HTTPS://example.com:8443/generate?x=1 HTTP/1.1\r\nHost: example.com\r\n\
                Content-Length: 3\r\n\r\na b";
    assert!(client.request(raw).body.ends_with("completion: b a\n"));
    drop(client);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_an_over_long_request_target_is_414_and_long_headers_431() {
    let server = server();
    let mut long_target = b"GET /".to_vec();
    long_target.resize(9000, b'a');
    long_target.extend(b" HTTP/1.1\r\nHost: test\r\n\r\n");
    let mut long_header = b"GET / HTTP/1.1\r\nHost: test\r\nX: ".to_vec();
    long_header.resize(9000, b'a');
    long_header.extend(b"\r\n\r\n");
    for (raw, status) in [(long_target, 414), (long_header, 431)] {
        let mut client = server.client();
        let reply = client.request(&raw);
        assert_eq!(reply.status, status, "{reply:?}");
        client.expect_closed();
    }
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn issue13_empty_lines_before_a_request_are_skipped() {
    let server = server();
    let mut client = server.client();
    let reply = client.request(b"\r\n\r\nGET /health HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    // The case RFC 9112 §2.2 names: an extra CRLF after a POST body, then the next request.
    let raw = b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi\r\n";
    assert_eq!(client.request(raw).status, 200);
    assert_eq!(client.request(&get("/health")).body, "ok\n");
    drop(client);
    server.stop();
}
