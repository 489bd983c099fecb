//! A small, strict HTTP/1.1 request parser: enough for the LLM-style service, and no more.
//!
//! It parses a request *head* (request line and headers) out of the bytes read so far, and says
//! one of three things: "complete, here is the request and where its body starts", "need more
//! bytes", or "this request is bad, answer with status N". It takes no chances:
//!
//! | input | answer |
//! | --- | --- |
//! | head (request line + headers) larger than `Limits::max_head` | 431 Request Header Fields Too Large |
//! | `Content-Length` larger than `Limits::max_body` | 413 Content Too Large |
//! | malformed request line, header, version or length; conflicting lengths | 400 Bad Request |
//! | `POST` without `Content-Length` | 411 Length Required |
//! | `Transfer-Encoding` (chunked bodies) | 501 Not Implemented |
//!
//! Bytes are never assumed to be UTF-8 or well formed; every index is checked, so no input can
//! make it panic. It allocates only for the pieces it returns (method and path).
//!
//! The other direction is [`Response`]: a status, a few headers and a body, written with the
//! `Content-Length` and `Connection` headers the connection loop needs (`connection.rs`).

/// Size limits that bound the memory one connection can make the server hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request line + headers, including the blank line.
    pub max_head: usize,
    /// Largest body accepted.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            max_body: 64 * 1024,
        }
    }
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target, e.g. `/generate`.
    pub path: String,
    /// Length of the body that follows the head (0 when absent).
    pub content_length: usize,
    /// Whether the connection stays open after the response (HTTP/1.1 default; `Connection:
    /// close` or HTTP/1.0 without `keep-alive` turn it off).
    pub keep_alive: bool,
}

/// Why a request is refused; each maps to one status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// 400: the bytes are not a valid HTTP/1.x request (the reason is for the log).
    BadRequest(&'static str),
    /// 411: a POST without `Content-Length`.
    LengthRequired,
    /// 413: the declared body is larger than the limit.
    PayloadTooLarge,
    /// 431: the head is larger than the limit.
    HeaderTooLarge,
    /// 501: a feature this parser does not do (chunked transfer encoding).
    NotImplemented,
}

impl HttpError {
    /// Status code and reason phrase.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            HttpError::BadRequest(_) => (400, "Bad Request"),
            HttpError::LengthRequired => (411, "Length Required"),
            HttpError::PayloadTooLarge => (413, "Content Too Large"),
            HttpError::HeaderTooLarge => (431, "Request Header Fields Too Large"),
            HttpError::NotImplemented => (501, "Not Implemented"),
        }
    }
}

/// Tries to parse a request head from `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some((request, head_len)))` when the head is
/// complete (the body starts at `buf[head_len..]`), or the error to answer with.
pub fn parse_head(buf: &[u8], limits: Limits) -> Result<Option<(Request, usize)>, HttpError> {
    let Some(end) = find_head_end(buf) else {
        return if buf.len() >= limits.max_head {
            Err(HttpError::HeaderTooLarge)
        } else {
            Ok(None)
        };
    };
    let head_len = end + 4;
    if head_len > limits.max_head {
        return Err(HttpError::HeaderTooLarge);
    }
    // `buf[..end + 1]` keeps the last line's `\r`, so every line, split at `\n`, ends in `\r`.
    let mut lines = buf[..end + 1].split(|&b| b == b'\n');
    let request_line = lines.next().ok_or(HttpError::BadRequest("empty request"))?;
    let (method, path, http11) = parse_request_line(strip_cr(request_line)?)?;
    let mut head = HeadFields::default();
    for line in lines {
        head.add(strip_cr(line)?)?;
    }
    let request = head.finish(method, path, http11, limits)?;
    Ok(Some((request, head_len)))
}

/// Index of the `\r\n\r\n` that ends the head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Every line of the head must end in CRLF; a bare LF is refused (request smuggling defence).
fn strip_cr(line: &[u8]) -> Result<&[u8], HttpError> {
    line.strip_suffix(b"\r")
        .ok_or(HttpError::BadRequest("line not terminated by CRLF"))
}

/// `METHOD SP TARGET SP HTTP/1.x` → (method, target, is HTTP/1.1).
fn parse_request_line(line: &[u8]) -> Result<(String, String, bool), HttpError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::BadRequest(
            "request line is not METHOD TARGET VERSION",
        ));
    };
    if method.is_empty() || !method.iter().all(|&b| is_token_byte(b)) {
        return Err(HttpError::BadRequest("bad method"));
    }
    if !target.starts_with(b"/") || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(HttpError::BadRequest("bad request target"));
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return Err(HttpError::BadRequest("unsupported HTTP version")),
    };
    // Both are ASCII by the checks above, so the conversions cannot fail.
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((text(method), text(target), http11))
}

/// RFC 9110 token characters (method and header names).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The header fields the server acts on, gathered while reading the head.
#[derive(Default)]
struct HeadFields {
    /// `Content-Length`, if present.
    content_length: Option<usize>,
    /// `Connection: close` seen.
    close: bool,
    /// `Connection: keep-alive` seen.
    keep_alive: bool,
    /// `Transfer-Encoding` seen.
    transfer_encoding: bool,
}

impl HeadFields {
    /// Reads one `Name: value` line.
    fn add(&mut self, line: &[u8]) -> Result<(), HttpError> {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HttpError::BadRequest("header without colon"))?;
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Err(HttpError::BadRequest("bad header name"));
        }
        if value.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
            return Err(HttpError::BadRequest("control character in header value"));
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let length = parse_length(value)?;
            if self.content_length.is_some_and(|old| old != length) {
                return Err(HttpError::BadRequest("conflicting Content-Length headers"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(trim) {
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        Ok(())
    }

    /// Applies the rules that need the whole head.
    fn finish(
        self,
        method: String,
        path: String,
        http11: bool,
        limits: Limits,
    ) -> Result<Request, HttpError> {
        if self.transfer_encoding {
            return Err(HttpError::NotImplemented);
        }
        if method == "POST" && self.content_length.is_none() {
            return Err(HttpError::LengthRequired);
        }
        let content_length = self.content_length.unwrap_or(0);
        if content_length > limits.max_body {
            return Err(HttpError::PayloadTooLarge);
        }
        let keep_alive = if http11 { !self.close } else { self.keep_alive };
        Ok(Request {
            method,
            path,
            content_length,
            keep_alive,
        })
    }
}

/// `Content-Length` is one or more ASCII digits, nothing else (no sign, no spaces inside).
fn parse_length(value: &[u8]) -> Result<usize, HttpError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::BadRequest("bad Content-Length"));
    }
    // Digits only, so this is valid UTF-8; overflow is a bad request, not a panic.
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::BadRequest("Content-Length too large"))
}

/// Strips optional whitespace around a header value.
fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

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
    /// The body, sent as is.
    pub body: Vec<u8>,
}

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

    /// The bytes on the wire; `keep_alive` says whether the connection stays open after it.
    ///
    /// Header values come from this program, never from a client; still, a CR or LF in one would
    /// let the value start a header (or the body) of its own, so control characters become spaces.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
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
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
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

    fn parse(raw: &[u8]) -> Result<Option<(Request, usize)>, HttpError> {
        parse_head(raw, Limits::default())
    }

    #[test]
    fn a_simple_get_parses_with_keep_alive() {
        let raw = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        let (req, len) = parse(raw).unwrap().unwrap();
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/health"));
        assert_eq!(len, raw.len());
        assert!(req.keep_alive);
        assert_eq!(req.content_length, 0);
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse(b"GET /health HTTP/1.1\r\nHo"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn post_needs_a_length_and_a_small_enough_body() {
        assert_eq!(
            parse(b"POST /generate HTTP/1.1\r\n\r\n"),
            Err(HttpError::LengthRequired)
        );
        let big = format!(
            "POST /generate HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            64 * 1024 + 1
        );
        assert_eq!(parse(big.as_bytes()), Err(HttpError::PayloadTooLarge));
        let ok = b"POST /generate HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        let (req, len) = parse(ok).unwrap().unwrap();
        assert_eq!((req.content_length, &ok[len..]), (5, &b"hello"[..]));
    }

    #[test]
    fn oversized_heads_are_refused() {
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.resize(9000, b'a');
        assert_eq!(parse(&raw), Err(HttpError::HeaderTooLarge));
    }

    #[test]
    fn malformed_input_is_a_bad_request() {
        for raw in [
            &b"GET\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET nope HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"G\xffT / HTTP/1.1\r\n\r\n",
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
    fn connection_close_and_http10_end_the_connection() {
        let (req, _) = parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!req.keep_alive);
        let (req, _) = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!req.keep_alive);
        let (req, _) = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(req.keep_alive);
    }

    #[test]
    fn chunked_bodies_are_not_implemented() {
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(raw), Err(HttpError::NotImplemented));
    }

    #[test]
    fn no_byte_sequence_panics() {
        // A cheap exhaustive-ish sweep: every prefix of a tricky request, with every byte flipped.
        let base = b"POST /generate HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
        for i in 0..base.len() {
            for flip in [0u8, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0xff] {
                let mut raw = base.to_vec();
                raw[i] = flip;
                for end in [i, raw.len()] {
                    let _ = parse(&raw[..end]);
                }
            }
        }
    }

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
}
