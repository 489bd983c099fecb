//! A small, strict HTTP/1.1 request parser: enough for the LLM-style service, and no more.
//!
//! It parses a request *head* (request line and headers) out of the bytes read so far, and says
//! one of three things: "complete, here is the request and where its body starts", "need more
//! bytes", or "this request is bad, answer with status N". It takes no chances:
//!
//! | input | answer |
//! | --- | --- |
//! | request line alone longer than `Limits::max_head` | 414 URI Too Long |
//! | head (request line + headers) larger than `Limits::max_head` | 431 Request Header Fields Too Large |
//! | `Content-Length` larger than `Limits::max_body` | 413 Content Too Large |
//! | malformed request line, header, version or length; conflicting lengths | 400 Bad Request |
//! | HTTP/1.1 without `Host`, two `Host` lines, or an invalid one (RFC 9112 §3.2) | 400 Bad Request |
//! | `POST` without `Content-Length` | 411 Length Required |
//! | `Expect` other than `100-continue` (RFC 9110 §10.1.1) | 417 Expectation Failed |
//! | `Transfer-Encoding` (chunked bodies) | 501 Not Implemented |
//!
//! And it accepts what a server must: empty lines (CRLF) before the request line (RFC 9112 §2.2:
//! a client may send one after a POST body), and the request target in *absolute form*,
//! `GET http://host/path` (RFC 9112 §3.2.2), which it turns into the origin form `/path` the
//! routes see. `Expect: 100-continue` is passed on as [`Request::expect_continue`]: the
//! connection loop answers `100 Continue` before it waits for the body.
//!
//! Bytes are never assumed to be UTF-8 or well formed; every index is checked, so no input can
//! make it panic (a fuzz test in `tests/llm_server/fuzz.rs` keeps that true). It allocates only
//! for the pieces it returns (method and path).

/// Size limits that bound the memory one connection can make the server hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request line + headers, including the blank line (and any empty lines before).
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
    /// The request target in origin form, e.g. `/generate` (an absolute-form target is reduced to
    /// its path and query).
    pub path: String,
    /// Length of the body that follows the head (0 when absent).
    pub content_length: usize,
    /// Whether the connection stays open after the response (HTTP/1.1 default; `Connection:
    /// close` or HTTP/1.0 without `keep-alive` turn it off).
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` (HTTP/1.1 only) and waits for a `100 Continue`
    /// before it sends the body.
    pub expect_continue: bool,
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
    /// 414: the request line alone is larger than the head limit.
    UriTooLong,
    /// 417: an `Expect` this server cannot meet.
    ExpectationFailed,
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
            HttpError::UriTooLong => (414, "URI Too Long"),
            HttpError::ExpectationFailed => (417, "Expectation Failed"),
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
    let skipped = empty_lines_before(buf);
    let rest = &buf[skipped..];
    let Some(end) = find_head_end(rest) else {
        return if buf.len() >= limits.max_head {
            Err(too_large(skipped, rest, limits))
        } else {
            Ok(None)
        };
    };
    let head_len = skipped + end + 4;
    if head_len > limits.max_head {
        return Err(too_large(skipped, rest, limits));
    }
    // `rest[..end + 1]` keeps the last line's `\r`, so every line, split at `\n`, ends in `\r`.
    let mut lines = rest[..end + 1].split(|&b| b == b'\n');
    let request_line = lines.next().ok_or(HttpError::BadRequest("empty request"))?;
    let (method, path, http11) = parse_request_line(strip_cr(request_line)?)?;
    let mut head = HeadFields::default();
    for line in lines {
        head.add(strip_cr(line)?)?;
    }
    let request = head.finish(method, path, http11, limits)?;
    Ok(Some((request, head_len)))
}

/// Whether the request in `buf` asks for `HEAD`, as far as its first bytes tell. For answering a
/// request the parser refused: its response must then carry no body either.
pub fn asks_for_head(buf: &[u8]) -> bool {
    buf[empty_lines_before(buf)..].starts_with(b"HEAD ")
}

/// How many bytes of empty lines (CRLF) come before the request line.
fn empty_lines_before(buf: &[u8]) -> usize {
    let pairs = buf
        .chunks_exact(2)
        .take_while(|pair| pair == b"\r\n")
        .count();
    pairs * 2
}

/// Index of the `\r\n\r\n` that ends the head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Which limit a head over `max_head` broke: the request line's (414) when it does not even end
/// within the limit, else the head's (431).
fn too_large(skipped: usize, rest: &[u8], limits: Limits) -> HttpError {
    match rest.iter().position(|&b| b == b'\n') {
        Some(line_end) if skipped + line_end < limits.max_head => HttpError::HeaderTooLarge,
        _ if rest.is_empty() => HttpError::BadRequest("nothing but empty lines"),
        _ => HttpError::UriTooLong,
    }
}

/// Every line of the head must end in CRLF; a bare LF is refused (request smuggling defence).
fn strip_cr(line: &[u8]) -> Result<&[u8], HttpError> {
    line.strip_suffix(b"\r")
        .ok_or(HttpError::BadRequest("line not terminated by CRLF"))
}

/// `METHOD SP TARGET SP HTTP/1.x` → (method, target in origin form, is HTTP/1.1).
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
    let path = origin_form(target)?;
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return Err(HttpError::BadRequest("unsupported HTTP version")),
    };
    Ok((text(method), path, http11))
}

/// Bytes already checked to be ASCII, as a `String` (nothing is lost in the conversion).
fn text(ascii: &[u8]) -> String {
    String::from_utf8_lossy(ascii).into_owned()
}

/// The path (and query) of a request target: the origin form `/path?query` as it is, the absolute
/// form `http://host/path?query` reduced to it (RFC 9112 §3.2.2: a server MUST accept it).
/// The asterisk form (`OPTIONS *`) and the authority form (`CONNECT host:port`) are refused: no
/// route here would answer them.
fn origin_form(target: &[u8]) -> Result<String, HttpError> {
    if target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
        return Err(HttpError::BadRequest("bad request target"));
    }
    if target.starts_with(b"/") {
        return Ok(text(target));
    }
    let after_scheme = strip_prefix_ignore_case(target, b"http://")
        .or_else(|| strip_prefix_ignore_case(target, b"https://"))
        .ok_or(HttpError::BadRequest("bad request target"))?;
    let path_start = after_scheme
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(after_scheme.len());
    let (authority, path) = after_scheme.split_at(path_start);
    // An `http` URI with an empty host MUST be rejected (RFC 9110 §4.2.1); userinfo (`user@`) is
    // no valid host character, so it is refused too (§4.2.4).
    if host_port(authority).is_none_or(|host| host.is_empty()) {
        return Err(HttpError::BadRequest("bad host in absolute-form target"));
    }
    // `http://host` and `http://host?q` have an empty path, which means `/` (RFC 9110 §4.2.3).
    Ok(match path.first() {
        Some(b'/') => text(path),
        _ => format!("/{}", text(path)),
    })
}

/// `bytes` without `prefix`, compared without regard to ASCII case.
fn strip_prefix_ignore_case<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = bytes.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &bytes[prefix.len()..])
}

/// The host of `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2), or `None` if invalid.
/// The host is a name or IPv4 address made of unreserved, percent-encoded and sub-delimiter
/// characters, possibly empty, or an IPv6 literal in brackets; the port is digits.
fn host_port(value: &[u8]) -> Option<&[u8]> {
    let host_len = match value.first() {
        Some(b'[') => value.iter().position(|&b| b == b']')? + 1,
        _ => value.iter().position(|&b| b == b':').unwrap_or(value.len()),
    };
    let (host, port) = value.split_at(host_len);
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    (port_ok && (is_ip_literal(host) || is_reg_name(host))).then_some(host)
}

/// `[` hex digits, colons and dots `]`: an IPv6 address, not checked further.
fn is_ip_literal(host: &[u8]) -> bool {
    match host {
        [b'[', inner @ .., b']'] => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        _ => false,
    }
}

/// RFC 3986 `reg-name` (which includes IPv4 addresses): unreserved, sub-delims and `%HH`.
fn is_reg_name(host: &[u8]) -> bool {
    let mut rest = host;
    while let [first, tail @ ..] = rest {
        rest = match (first, tail) {
            (b'%', [high, low, after @ ..])
                if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
            {
                after
            }
            (b, _) if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(b) => tail,
            _ => return false,
        };
    }
    true
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
    /// `Host` lines seen (each one checked as it comes).
    hosts: usize,
    /// `Expect: 100-continue` seen.
    expect_continue: bool,
    /// An `Expect` other than `100-continue` seen.
    expect_other: bool,
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
        let is = |known: &[u8]| name.eq_ignore_ascii_case(known);
        if is(b"content-length") {
            let length = parse_length(value)?;
            if self.content_length.is_some_and(|old| old != length) {
                return Err(HttpError::BadRequest("conflicting Content-Length headers"));
            }
            self.content_length = Some(length);
        } else if is(b"transfer-encoding") {
            self.transfer_encoding = true;
        } else if is(b"connection") {
            for option in value.split(|&b| b == b',').map(trim) {
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if is(b"host") {
            if host_port(value).is_none() {
                return Err(HttpError::BadRequest("invalid Host"));
            }
            self.hosts += 1;
        } else if is(b"expect") {
            let continues = value.eq_ignore_ascii_case(b"100-continue");
            self.expect_continue |= continues;
            self.expect_other |= !continues;
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
        match self.hosts {
            0 if http11 => return Err(HttpError::BadRequest("HTTP/1.1 request without Host")),
            0 | 1 => {}
            _ => return Err(HttpError::BadRequest("more than one Host")),
        }
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
        // An HTTP/1.0 client knows no 100 Continue: its `Expect` MUST be ignored (RFC 9110 §10.1.1).
        if http11 && self.expect_other {
            return Err(HttpError::ExpectationFailed);
        }
        let keep_alive = if http11 { !self.close } else { self.keep_alive };
        Ok(Request {
            method,
            path,
            content_length,
            keep_alive,
            expect_continue: http11 && self.expect_continue,
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

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
