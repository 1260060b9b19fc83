//! Just enough HTTP/1.x server side for the demo's web real servers: split
//! one request off a connection's buffer (request line and headers by
//! `httparse`, a `Content-Length` body skipped), decide whether the
//! connection stays open, and write the response bytes.
//!
//! This module owns the protocol rules and nothing else: it never touches
//! a socket and never decides what a page says.

/// The request head may not exceed this (nginx's default
/// `large_client_header_buffers` is 8 KiB per line; this covers the whole
/// head, which is plenty for the demo's clients and health checks).
pub const MAX_HEAD: usize = 8 * 1024;
/// Headers per request, beyond which the request is refused with 431.
const MAX_HEADERS: usize = 64;
/// A request body larger than this is refused with 413 (the demo's pages
/// take no bodies; small ones are read and ignored).
const MAX_BODY: usize = 64 * 1024;

/// What a request asks for, after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without its query string.
    pub path: String,
    /// HTTP/1.x minor version (0 or 1).
    pub minor: u8,
    /// Whether the connection stays open after the response
    /// (RFC 9112 §9.3).
    pub keep_alive: bool,
}

/// A request the server answers with an error and then closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    BadRequest,
    HeadersTooLarge,
    BodyTooLarge,
    VersionNotSupported,
    /// A `Transfer-Encoding` the server does not implement (RFC 9112 §6.1
    /// allows 501 for that).
    NotImplemented,
}

/// The outcome of looking at a connection's buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole request yet: read more.
    Partial,
    /// One request, and how many bytes of the buffer it used (head and
    /// body); the rest may already hold the next, pipelined one.
    Request { request: Request, consumed: usize },
    /// Answer with this and close.
    Reject(Rejection),
}

/// Splits the first request off `buffer`.
pub fn parse(buffer: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(buffer) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Complete(_)) => return Parsed::Reject(Rejection::HeadersTooLarge),
        Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD => {
            return Parsed::Reject(Rejection::HeadersTooLarge)
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Reject(Rejection::HeadersTooLarge),
        Err(httparse::Error::Version) => return Parsed::Reject(Rejection::VersionNotSupported),
        Err(_) => return Parsed::Reject(Rejection::BadRequest),
    };
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Parsed::Reject(Rejection::BadRequest);
    };
    let mut body = 0usize;
    let mut close = false;
    let mut keep_alive_token = false;
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Reject(Rejection::NotImplemented);
        }
        if name.eq_ignore_ascii_case("content-length") {
            // RFC 9112 §6.3: an invalid Content-Length is unrecoverable.
            let Some(len) = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
            else {
                return Parsed::Reject(Rejection::BadRequest);
            };
            if len > MAX_BODY {
                return Parsed::Reject(Rejection::BodyTooLarge);
            }
            body = len;
        }
        if name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(header.value);
            for option in value.split(',').map(str::trim) {
                close |= option.eq_ignore_ascii_case("close");
                keep_alive_token |= option.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let consumed = head + body;
    if buffer.len() < consumed {
        return Parsed::Partial;
    }
    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with
    // "keep-alive".
    let keep_alive = !close && (minor == 1 || keep_alive_token);
    let path = target.split('?').next().unwrap_or_default().to_string();
    Parsed::Request {
        request: Request {
            method: method.to_string(),
            path,
            minor,
            keep_alive,
        },
        consumed,
    }
}

impl Rejection {
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Rejection::BadRequest => (400, "Bad Request"),
            Rejection::HeadersTooLarge => (431, "Request Header Fields Too Large"),
            Rejection::BodyTooLarge => (413, "Content Too Large"),
            Rejection::VersionNotSupported => (505, "HTTP Version Not Supported"),
            Rejection::NotImplemented => (501, "Not Implemented"),
        }
    }
}

/// One response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    pub status: u16,
    pub reason: &'a str,
    pub body: &'a [u8],
    /// HEAD: headers as for GET, no body (RFC 9110 §9.3.2).
    pub head_only: bool,
    pub keep_alive: bool,
    /// For 405: the methods the resource supports.
    pub allow: Option<&'a str>,
}

impl Response<'_> {
    /// Appends the response bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let connection = if self.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let head = format!(
            "HTTP/1.1 {} {}\r\nServer: lvstop-demo\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: {connection}\r\n",
            self.status,
            self.reason,
            self.body.len()
        );
        out.extend_from_slice(head.as_bytes());
        if let Some(allow) = self.allow {
            out.extend_from_slice(format!("Allow: {allow}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            out.extend_from_slice(self.body);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn request(parsed: Parsed) -> (Request, usize) {
        match parsed {
            Parsed::Request { request, consumed } => (request, consumed),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn http_1_1_stays_open_unless_close() {
        let (r, n) = request(parse(b"GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert_eq!((r.path.as_str(), r.minor, r.keep_alive), ("/", 1, true));
        assert_eq!(n, 31);
        let (r, _) = request(parse(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
        assert!(!r.keep_alive);
    }

    #[test]
    fn http_1_0_closes_unless_keep_alive() {
        let (r, _) = request(parse(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!r.keep_alive);
        let (r, _) = request(parse(
            b"GET / HTTP/1.0\r\nConnection: TE, keep-alive\r\n\r\n",
        ));
        assert!(r.keep_alive);
    }

    #[test]
    fn pipelined_requests_are_taken_one_at_a_time_with_their_bodies() {
        let two = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let (first, n) = request(parse(two));
        assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/a"));
        let (second, m) = request(parse(&two[n..]));
        assert_eq!(second.path, "/b");
        assert_eq!(n + m, two.len());
    }

    #[test]
    fn incomplete_heads_and_bodies_wait_for_more() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost:"), Parsed::Partial);
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"),
            Parsed::Partial
        );
    }

    #[test]
    fn oversized_garbled_and_unsupported_requests_are_refused() {
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD + 1, b'a');
        assert_eq!(parse(&huge), Parsed::Reject(Rejection::HeadersTooLarge));
        assert_eq!(
            parse(b"GET / HTTP/2.0\r\n\r\n"),
            Parsed::Reject(Rejection::VersionNotSupported)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Parsed::Reject(Rejection::BadRequest)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            Parsed::Reject(Rejection::BodyTooLarge)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Reject(Rejection::NotImplemented)
        );
        assert_eq!(
            parse(b"\x01\x02 nonsense\r\n\r\n"),
            Parsed::Reject(Rejection::BadRequest)
        );
    }

    #[test]
    fn head_responses_announce_the_length_without_the_body() {
        let mut out = Vec::new();
        Response {
            status: 200,
            reason: "OK",
            body: b"hello\n",
            head_only: true,
            keep_alive: false,
            allow: None,
        }
        .write_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 6\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }
}
