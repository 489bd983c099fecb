//! The fuzz test's tools: a seeded generator of mutated requests, and a strict checker of what the
//! server sends back.
//!
//! The generator is deterministic — a 64-bit xorshift with a fixed seed — so a failing case is the
//! same on every run and names itself by its index. It starts from a handful of valid requests
//! and applies one to four random edits: a byte replaced (often by one of the bytes HTTP cares
//! about: CR, LF, space, colon, NUL, DEL, 0xFF), a protocol fragment inserted (a header, a long
//! `Content-Length`, `Transfer-Encoding`, an absolute URL...), a range deleted or doubled, the end
//! cut off, or the tail of another request spliced on.
//!
//! The checker reads a byte stream as HTTP/1.1 responses and accepts nothing else: a status line
//! `HTTP/1.1 NNN Reason`, header lines `Name: value`, exactly one `Content-Length` and one
//! `Connection` (except on a `1xx`, which has neither and no body), then exactly that many body
//! bytes (none after `HEAD`), and nothing after a `Connection: close` response.

/// A xorshift64 generator (Marsaglia, 2003): three shifts and xors per number. Not for secrets;
/// plenty for picking edits.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0 for ever).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The valid requests the edits start from: each route and method, the header rules, bodies,
/// `Expect`, the absolute form, empty lines first, HTTP/1.0, a pipelined pair.
pub const SEEDS: &[&[u8]] = &[
    b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n",
    b"HEAD /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    b"GET /stats?x=1 HTTP/1.1\r\nHost: test:8080\r\nAccept: */*\r\n\r\n",
    b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /generate HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET http://test/health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    b"\r\nGET /nope HTTP/1.1\r\nHost: test\r\n\r\n",
    b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"DELETE /stats HTTP/1.1\r\nHost: test\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: test\r\n\r\nPOST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi",
];

/// Bytes an edit likes to put in: those the grammar turns on, and a few it must refuse.
const BYTES: &[u8] = b"\r\n :\t\0\x7f\xff/?%[]@,0123456789aA";

/// Fragments an edit may insert.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"Host: x\r\n",
    b"Host: a b\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 65537\r\n",
    b"Content-Length: 18446744073709551616\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Expect: 100-continue\r\n",
    b"Expect: nothing\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive, Upgrade\r\n",
    b"http://h:1",
    b"https://",
    b" HTTP/1.1",
    b"HTTP/1.0",
    b"GET ",
    b"POST ",
    b"/generate",
    b"\xf0\x9f\x92\xa9",
];

/// One mutated request: a seed with one to four edits.
pub fn mutated(rng: &mut Rng) -> Vec<u8> {
    let mut raw = rng.pick(SEEDS).to_vec();
    for _ in 0..1 + rng.below(4) {
        edit(rng, &mut raw);
    }
    raw
}

/// Applies one random edit to `raw`.
fn edit(rng: &mut Rng, raw: &mut Vec<u8>) {
    let at = rng.below(raw.len() + 1);
    let len = rng.below(raw.len() - at + 1).min(16);
    match rng.below(7) {
        0 if at < raw.len() => raw[at] = *rng.pick(BYTES),
        1 if at < raw.len() => raw[at] = rng.next() as u8,
        2 => {
            let fragment = *rng.pick(FRAGMENTS);
            raw.splice(at..at, fragment.iter().copied());
        }
        3 => {
            raw.drain(at..at + len);
        }
        4 => {
            let copy = raw[at..at + len].to_vec();
            raw.splice(at..at, copy);
        }
        5 => raw.truncate(at),
        _ => {
            let other = rng.pick(SEEDS);
            let from = rng.below(other.len());
            raw.truncate(at);
            raw.extend_from_slice(&other[from..]);
        }
    }
}

/// Whether `raw` asks for `HEAD` (after any empty lines): its response then has no body. Written
/// apart from the server's own `asks_for_head`, so the oracle does not share the code it checks.
pub fn is_head(raw: &[u8]) -> bool {
    let mut rest = raw;
    while let Some(after) = rest.strip_prefix(b"\r\n") {
        rest = after;
    }
    rest.starts_with(b"HEAD ")
}

/// What [`check_responses`] found in a valid stream.
#[derive(Debug, Default)]
pub struct Responses {
    /// Status codes of the final (non-1xx) responses, in order.
    pub statuses: Vec<u16>,
    /// `100 Continue` interim responses seen.
    pub continues: usize,
}

/// Reads `bytes` as a sequence of complete HTTP/1.1 responses (see the module docs); `head`: the
/// first request was a `HEAD`, so the first final response has no body. `Err` says what is wrong.
pub fn check_responses(mut bytes: &[u8], head: bool) -> Result<Responses, String> {
    let mut found = Responses::default();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("a response head without its blank line")?;
        let text = std::str::from_utf8(&bytes[..end]).map_err(|_| "a head that is not UTF-8")?;
        let mut lines = text.split("\r\n");
        let status = status_line(lines.next().unwrap_or_default())?;
        let fields = lines.map(field).collect::<Result<Vec<_>, _>>()?;
        bytes = &bytes[end + 4..];
        if (100..200).contains(&status) {
            if !fields.is_empty() {
                return Err(format!("{status} with header fields"));
            }
            found.continues += 1;
            continue;
        }
        let one = |name: &str| -> Result<&str, String> {
            let mut values = fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
            match (values.next(), values.next()) {
                (Some((_, value)), None) => Ok(value),
                _ => Err(format!("{status}: not exactly one {name}")),
            }
        };
        let length: usize = one("content-length")?
            .parse()
            .map_err(|_| format!("{status}: bad Content-Length"))?;
        let close = match one("connection")? {
            "close" => true,
            "keep-alive" => false,
            other => return Err(format!("{status}: Connection: {other}")),
        };
        let body = if head && found.statuses.is_empty() {
            0
        } else {
            length
        };
        if bytes.len() < body {
            return Err(format!("{status}: {} body bytes of {body}", bytes.len()));
        }
        bytes = &bytes[body..];
        found.statuses.push(status);
        if close && !bytes.is_empty() {
            return Err(format!("{} bytes after Connection: close", bytes.len()));
        }
    }
    Ok(found)
}

/// `HTTP/1.1 NNN Reason` → NNN.
fn status_line(line: &str) -> Result<u16, String> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .ok_or_else(|| format!("not a status line: {line:?}"))?;
    let (code, reason) = rest
        .split_once(' ')
        .ok_or_else(|| format!("no reason phrase: {line:?}"))?;
    let valid_code = code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
    let valid_reason = !reason.is_empty() && reason.bytes().all(|b| (b' '..=b'~').contains(&b));
    match (valid_code, valid_reason) {
        (true, true) => code.parse().map_err(|_| format!("bad code: {line:?}")),
        _ => Err(format!("bad status line: {line:?}")),
    }
}

/// `Name: value` → (name, value), the name a token, the value printable.
fn field(line: &str) -> Result<(&str, &str), String> {
    let (name, value) = line
        .split_once(": ")
        .ok_or_else(|| format!("not a header field: {line:?}"))?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let printable = |c: char| !c.is_control();
    if name.is_empty() || !name.bytes().all(token) || !value.chars().all(printable) {
        return Err(format!("bad header field: {line:?}"));
    }
    Ok((name, value))
}
