//! The other direction from `request.rs`: a [`Response`] — status, a few headers, a body — and its
//! bytes on the wire.
//!
//! The framing headers are not the handler's business: `Content-Length` and `Connection` are
//! written here, from the body and from what the connection loop decided, so no route can get
//! them wrong. Two wire forms exist because of `HEAD` (RFC 9110 §9.3.2): the same head as for
//! `GET` — `Content-Length` included — and *no body*. A body after a `HEAD` response would be read,
//! on a kept-alive connection, as the start of the next response.

use crate::request::HttpError;

/// A response: status, extra headers and a body. `Content-Length` and `Connection` are added when
/// it is written, so a handler cannot get the framing wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Reason phrase, e.g. `OK`.
    pub reason: &'static str,
    /// Headers besides `Content-Length` and `Connection`, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The body, sent as is (and not at all in answer to `HEAD`).
    pub body: Vec<u8>,
}

/// The interim response that tells a client waiting on `Expect: 100-continue` to send its body.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, reason: &'static str, body: impl Into<String>) -> Response {
        Response {
            status,
            reason,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The bytes on the wire: [`Response::head_bytes`], then the body.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = self.head_bytes(keep_alive);
        out.extend_from_slice(&self.body);
        out
    }

    /// The status line and headers alone, ending with the blank line: the whole answer to `HEAD`.
    /// `Content-Length` is still the body's length, as `GET` would have sent it (RFC 9110 §8.6).
    /// `keep_alive` says whether the connection stays open after it.
    ///
    /// Header values come from this program, never from a client; still, a CR or LF in one would
    /// let the value start a header (or the body) of its own, so control characters become spaces.
    pub fn head_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            let value: String = value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let connection = if keep_alive { "keep-alive" } else { "close" };
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
            self.body.len()
        ));
        head.into_bytes()
    }

    /// The wire form for a request with method `method`: without the body for `HEAD`.
    pub fn bytes_for(&self, method: &str, keep_alive: bool) -> Vec<u8> {
        match method {
            "HEAD" => self.head_bytes(keep_alive),
            _ => self.to_bytes(keep_alive),
        }
    }
}

/// The response for a refused request (the connection is closed after it). The body says why, so
/// that `curl` shows the learner which rule the request broke.
impl From<HttpError> for Response {
    fn from(error: HttpError) -> Response {
        let (status, reason) = error.status();
        let why = match error {
            HttpError::BadRequest(why) => format!(": {why}"),
            _ => String::new(),
        };
        Response::text(status, reason, format!("{status} {reason}{why}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_carry_their_framing_and_no_injected_lines() {
        let bytes = Response::text(200, "OK", "hi\n")
            .header("X-Blocking", "inline\r\nX-Evil: 1")
            .to_bytes(true);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             X-Blocking: inline  X-Evil: 1\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nhi\n"
        );
        let refused = Response::from(HttpError::BadRequest("bad method")).to_bytes(false);
        let text = String::from_utf8(refused).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.ends_with("Connection: close\r\n\r\n400 Bad Request: bad method\n"));
    }

    #[test]
    fn the_answer_to_head_is_the_head_of_the_answer_to_get() {
        let response = Response::text(200, "OK", "ok\n");
        let get = response.bytes_for("GET", true);
        let head = response.bytes_for("HEAD", true);
        assert_eq!(get[..head.len()], head[..]);
        assert_eq!(&get[head.len()..], b"ok\n");
        let text = String::from_utf8(head).unwrap();
        assert!(
            text.ends_with("Content-Length: 3\r\nConnection: keep-alive\r\n\r\n"),
            "{text}"
        );
    }
}
