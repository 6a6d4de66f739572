//! The HTTP/1.1 upgrade around the engine's handshake, without I/O: finding the end of a head,
//! parsing it with `httparse`, building the client's request and the server's answer (101, or a
//! refusal), and the request and response types the application sees.
//!
//! A head is read with one linear scan for its blank line (CRLF CRLF, or bare LF line ends, which
//! `httparse` accepts too), capped at [`MAX_HEAD_BYTES`] bytes and
//! [`MAX_HEADER_COUNT`] headers, then parsed once.

use super::{ClientOptions, DriverError, ServerOptions};
use crate::error::{Error, HandshakeError};
use crate::handshake::{HeaderRef, MAX_HEADER_BYTES, MAX_HEADER_COUNT};
use crate::session::Session;

/// The cap on the bytes of an HTTP request or response head (request or status line, headers and
/// line ends). A server answers a longer head with 431; a client fails with
/// [`DriverError::Http`].
pub const MAX_HEAD_BYTES: usize = MAX_HEADER_BYTES + 4096;

/// The upgrade request as a server received it, for an `accept_with` callback to judge.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method (always `GET` by the time a callback sees it).
    pub method: String,
    /// The request target as sent: path and query (`/chat?room=1`).
    pub target: String,
    /// The headers in order, names as sent, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Request {
    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The first header named `name` (any case), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The server's answer as a client received it: returned by a successful `connect`, and carried
/// by [`DriverError::Refused`] when the status was not 101.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code (101 for a completed upgrade).
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers in order, names as sent, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The subprotocol the server selected (one of those offered).
    pub subprotocol: Option<String>,
    /// The extensions the server accepted (among those offered), in the response's order.
    pub extensions: Vec<String>,
}

impl Response {
    /// The first header named `name` (any case), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| core::str::from_utf8(v).ok())
}

/// An `accept_with` callback's yes: the subprotocol to select (`None`: the server options'
/// preference among those offered) and headers to add to the 101 response.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Accept {
    /// The subprotocol to select; it must be one the client offered.
    pub subprotocol: Option<String>,
    /// More headers for the 101 response (`Set-Cookie`…); checked like the client's.
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept selecting `subprotocol`.
    pub fn with_subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.subprotocol = Some(subprotocol.into());
        self
    }

    /// Accept adding a header to the 101 response.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An `accept_with` callback's no: the status (4xx or 5xx), headers and body of the answer; the
/// connection is closed after it.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The status code (400–599).
    pub status: u16,
    /// More headers for the answer.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` is added).
    pub body: Vec<u8>,
}

impl Refusal {
    /// A refusal with `status` (clamped to 400–599) and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status: status.clamp(400, 599),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The refusal with `body`.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// Reads a head into a growing buffer, looking for its end once per byte.
#[derive(Debug)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    filled: usize,
    scanned: usize,
}

/// The head is longer than [`MAX_HEAD_BYTES`].
#[derive(Debug)]
pub(crate) struct HeadTooLarge;

impl HeadReader {
    pub(crate) fn new() -> Self {
        Self {
            buf: vec![0; 1024],
            filled: 0,
            scanned: 0,
        }
    }

    /// Room for the next read. The buffer grows by doubling and each byte is zeroed once, so a
    /// peer sending a byte per read costs work linear in the head.
    pub(crate) fn space(&mut self) -> Result<&mut [u8], HeadTooLarge> {
        if self.filled >= MAX_HEAD_BYTES {
            return Err(HeadTooLarge);
        }
        if self.filled == self.buf.len() {
            self.buf.resize((2 * self.buf.len()).min(MAX_HEAD_BYTES), 0);
        }
        Ok(&mut self.buf[self.filled..])
    }

    /// `n` bytes were read into [`space`](Self::space): the length of the head once its end is
    /// in the buffer.
    pub(crate) fn filled(&mut self, n: usize) -> Option<usize> {
        self.filled += n;
        let end = find_head_end(&self.buf[..self.filled], self.scanned);
        // Resume two bytes back, so an end split across reads is found.
        self.scanned = self.filled.saturating_sub(2);
        end
    }

    /// The bytes read so far (the head and whatever followed it).
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        self.buf.truncate(self.filled);
        self.buf
    }
}

/// The end of a head in `buf` (the index just past its blank line), searching from `from`: an LF
/// followed by LF or by CR LF, so both CRLF and bare-LF line ends are found.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let at = i + off;
        match buf.get(at + 1..at + 3) {
            Some([b'\n', _]) => return Some(at + 2),
            Some([b'\r', b'\n']) => return Some(at + 3),
            None if buf.get(at + 1) == Some(&b'\n') => return Some(at + 2),
            _ => i = at + 1,
        }
    }
    None
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header name is an RFC 9110 token; a value has no CR, LF or NUL (nor other controls but tab).
fn check_header(name: &str, value: &str) -> Result<(), DriverError> {
    let name_ok = !name.is_empty() && name.bytes().all(is_token_byte);
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    if name_ok && value_ok {
        Ok(())
    } else {
        Err(DriverError::Http(format!("invalid header {name:?}")))
    }
}

/// A request target or host: not empty, visible ASCII only (no controls, spaces or DEL).
fn check_visible(what: &str, s: &str) -> Result<(), DriverError> {
    if !s.is_empty() && s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(DriverError::Http(format!(
            "invalid {what} {s:?}: it must be non-empty visible ASCII"
        )))
    }
}

fn head(first_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(first_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

fn borrowed_headers<'a>(headers: &[httparse::Header<'a>]) -> Vec<HeaderRef<'a>> {
    headers
        .iter()
        .map(|h| HeaderRef {
            name: h.name.as_bytes(),
            value: h.value,
        })
        .collect()
}

fn header_refs<'a>(headers: &'a [(String, Vec<u8>)]) -> Vec<HeaderRef<'a>> {
    headers
        .iter()
        .map(|(n, v)| HeaderRef {
            name: n.as_bytes(),
            value: v,
        })
        .collect()
}

/// The client's side: a session whose handshake has begun and the request head to send.
pub(crate) fn client_request(
    host: &str,
    path: &str,
    options: &ClientOptions,
) -> Result<(Session, Vec<u8>), DriverError> {
    check_visible("host", host)?;
    check_visible("request path", path)?;
    if !path.starts_with('/') {
        return Err(DriverError::Http(format!(
            "invalid request path {path:?}: it must start with '/'"
        )));
    }
    for (n, v) in &options.headers {
        check_header(n, v)?;
    }
    let mut session = Session::client(&options.config.session_properties())?;
    let subprotocols: Vec<&str> = options.subprotocols.iter().map(String::as_str).collect();
    let extensions: Vec<&str> = options.extensions.iter().map(String::as_str).collect();
    // A `Host` among the application's headers replaces ours: it is never sent twice.
    let host = options
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map_or(host, |(_, v)| v.as_str());
    let mut lines: Vec<(&str, &str)> = vec![("Host", host)];
    lines.extend(
        options
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    let initial: Vec<HeaderRef<'_>> = lines
        .iter()
        .map(|(n, v)| HeaderRef {
            name: n.as_bytes(),
            value: v.as_bytes(),
        })
        .collect();
    let added = session.begin_client_handshake(&subprotocols, &extensions, &initial)?;
    // The engine's headers win over the application's of the same name.
    lines.retain(|(n, _)| !added.iter().any(|a| a.name.eq_ignore_ascii_case(n)));
    lines.extend(added.iter().map(|h| (h.name.as_str(), h.value.as_str())));
    let request = head(&format!("GET {path} HTTP/1.1"), &lines, &[]);
    Ok((session, request))
}

/// The client's side, once the response head (`bytes[..len]`) is in: checks it and opens the
/// session. Returns the response and where the WebSocket stream starts in `bytes`.
pub(crate) fn client_response(
    session: &mut Session,
    bytes: &[u8],
    len: usize,
    options: &ClientOptions,
) -> Result<(Response, usize), DriverError> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADER_COUNT];
    let mut parsed = httparse::Response::new(&mut storage);
    // `httparse` may end the head before our search did: what follows its end is the stream.
    let len = match parsed.parse(&bytes[..len]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(DriverError::Http("incomplete response head".into()))
        }
        Err(e) => return Err(DriverError::Http(format!("bad response head: {e}"))),
    };
    let mut response = Response {
        status: parsed.code.unwrap_or(0),
        reason: parsed.reason.unwrap_or_default().to_owned(),
        headers: owned_headers(parsed.headers),
        subprotocol: None,
        extensions: Vec::new(),
    };
    if response.status != 101 {
        return Err(DriverError::Refused(Box::new(response)));
    }
    let negotiated = session.end_client_handshake(&header_refs(&response.headers))?;
    response.subprotocol = negotiated
        .subprotocol
        .and_then(|i| options.subprotocols.get(i).cloned());
    response.extensions = negotiated
        .extensions
        .iter()
        .filter_map(|&i| options.extensions.get(i).cloned())
        .collect();
    Ok((response, len))
}

/// What the server's side of the upgrade decided.
#[derive(Debug)]
pub(crate) enum ServerUpgrade {
    /// Write `response` (a 101), then run `session` from `bytes[start..]` on.
    Accepted {
        session: Box<Session>,
        response: Vec<u8>,
        start: usize,
    },
    /// Write `response` (4xx), close, and report `error`.
    Refused {
        response: Vec<u8>,
        error: DriverError,
    },
}

/// The answer to a head that is over [`MAX_HEAD_BYTES`].
pub(crate) fn head_too_large() -> ServerUpgrade {
    refused(
        &Refusal::new(431),
        DriverError::Http(format!("request head over {MAX_HEAD_BYTES} bytes")),
    )
}

fn refused(refusal: &Refusal, error: DriverError) -> ServerUpgrade {
    let length = refusal.body.len().to_string();
    // The application's headers, but never a second length or connection header: those two are
    // ours, and the status is a refusal whatever the struct was built with.
    let mut lines: Vec<(&str, &str)> = refusal
        .headers
        .iter()
        .filter(|(n, v)| check_header(n, v).is_ok())
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("connection")
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    lines.push(("Content-Length", &length));
    lines.push(("Connection", "close"));
    let status = refusal.status.clamp(400, 599);
    let line = format!("HTTP/1.1 {status} {}", reason_phrase(status));
    ServerUpgrade::Refused {
        response: head(&line, &lines, &refusal.body),
        error,
    }
}

fn bad_request(why: String) -> ServerUpgrade {
    refused(
        &Refusal::new(400).with_body(why.clone()),
        DriverError::Http(why),
    )
}

/// The type of the callback `accept` does not have: `server_upgrade` is given `None` of it.
pub(crate) type AcceptAll = fn(&Request) -> Result<Accept, Refusal>;

/// The server's side, once the request head (`bytes[..len]`) is in: parse it, let `decide`
/// judge it (without one, every valid request is accepted, and the owned [`Request`] a callback
/// is shown, a copy of every header, is never made), and validate it with the engine.
pub(crate) fn server_upgrade<F>(
    bytes: &[u8],
    len: usize,
    options: &ServerOptions,
    decide: Option<F>,
) -> ServerUpgrade
where
    F: FnOnce(&Request) -> Result<Accept, Refusal>,
{
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADER_COUNT];
    let mut parsed = httparse::Request::new(&mut storage);
    let start = match parsed.parse(&bytes[..len]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return bad_request("incomplete request head".into()),
        Err(e) => return bad_request(format!("bad request head: {e}")),
    };
    // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 (or later) GET.
    if parsed.method != Some("GET") || parsed.version != Some(1) {
        return bad_request("not an HTTP/1.1 GET".into());
    }
    let target = parsed.path.unwrap_or_default();
    if !target.starts_with('/') {
        return bad_request(format!("request target {target:?} is not a path"));
    }
    let request: Request;
    let (accept, headers) = match decide {
        None => (Accept::new(), borrowed_headers(parsed.headers)),
        Some(decide) => {
            request = Request {
                method: "GET".into(),
                target: target.to_owned(),
                headers: owned_headers(parsed.headers),
            };
            match decide(&request) {
                Ok(accept) => (accept, header_refs(&request.headers)),
                Err(refusal) => {
                    let status = refusal.status;
                    let error = DriverError::Refused(Box::new(Response {
                        status,
                        reason: reason_phrase(status).into(),
                        headers: Vec::new(),
                        subprotocol: None,
                        extensions: Vec::new(),
                    }));
                    return refused(&refusal, error);
                }
            }
        }
    };
    if let Some((n, v)) = accept
        .headers
        .iter()
        .find(|(n, v)| check_header(n, v).is_err())
    {
        return refused(
            &Refusal::new(500),
            DriverError::Http(format!("invalid response header {n:?}: {v:?}")),
        );
    }
    let offered: Vec<&[u8]> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"sec-websocket-protocol"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .collect();
    if let Some(p) = &accept.subprotocol {
        if !offered.contains(&p.as_bytes()) {
            // The server's own mistake, not the client's.
            return refused(
                &Refusal::new(500),
                DriverError::Http(format!("accept_with selected {p:?}, which was not offered")),
            );
        }
    }
    let selected = accept.subprotocol.as_deref().or_else(|| {
        options
            .subprotocols
            .iter()
            .find(|p| offered.contains(&p.as_bytes()))
            .map(String::as_str)
    });
    let mut session = match Session::server(&options.config.session_properties()) {
        Ok(s) => s,
        Err(e) => return refused(&Refusal::new(500), e.into()),
    };
    let added = match session.begin_server_handshake(selected, &[], &headers) {
        Ok(added) => added,
        Err(e @ Error::Handshake(HandshakeError::UnsupportedVersion)) => {
            // RFC 6455 §4.4: answer 426 with the versions we speak.
            let mut refusal = Refusal::new(426);
            refusal
                .headers
                .push(("Sec-WebSocket-Version".into(), "13".into()));
            return refused(&refusal, e.into());
        }
        Err(e) => {
            return refused(
                &Refusal::new(400).with_body(e.to_string()),
                DriverError::Ws(e),
            )
        }
    };
    let mut lines: Vec<(&str, &str)> = added
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    lines.extend(
        accept
            .headers
            .iter()
            .filter(|(n, _)| !added.iter().any(|a| a.name.eq_ignore_ascii_case(n)))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    let response = head("HTTP/1.1 101 Switching Protocols", &lines, &[]);
    if let Err(e) = session.end_server_handshake() {
        return refused(&Refusal::new(500), e.into());
    }
    ServerUpgrade::Accepted {
        session: Box::new(session),
        response,
        start,
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_is_found_with_crlf_and_bare_lf_and_across_reads() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest", 0),
            Some(24)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nA: b\n\nrest", 0), Some(21));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nA: b\r\n\r\n", 0), Some(23));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r", 0), None);
        let mut reader = HeadReader::new();
        let mut found = None;
        for &b in b"GET / HTTP/1.1\r\nHost: x\r\n\r\nXY" {
            reader.space().unwrap()[0] = b;
            found = found.or(reader.filled(1));
        }
        assert_eq!(found, Some(27));
        assert_eq!(&reader.into_bytes()[27..], b"XY");
    }

    #[test]
    fn head_reader_stops_at_the_cap() {
        let mut reader = HeadReader::new();
        let mut total = 0;
        while let Ok(space) = reader.space() {
            let n = space.len();
            space.fill(b'a');
            assert_eq!(reader.filled(n), None);
            total += n;
        }
        assert_eq!(total, MAX_HEAD_BYTES);
    }

    #[test]
    fn client_request_refuses_injection_and_sends_host_once() {
        for path in ["/a\r\nX: y", "", "a", "/a b", "/\u{7f}", "/é"] {
            assert!(
                matches!(
                    client_request("h", path, &ClientOptions::default()),
                    Err(DriverError::Http(_))
                ),
                "{path:?}"
            );
        }
        let mut options = ClientOptions::default();
        options.headers.push(("Bad\r\nName".into(), "v".into()));
        assert!(client_request("h", "/", &options).is_err());
        options.headers = vec![("X".into(), "a\r\nInjected: 1".into())];
        assert!(client_request("h", "/", &options).is_err());
        options.headers = vec![
            ("host".into(), "example.com:8080".into()),
            ("Origin".into(), "http://example.com".into()),
        ];
        let (_, request) = client_request("127.0.0.1", "/chat?x=1", &options).unwrap();
        let text = String::from_utf8(request).unwrap();
        assert!(text.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
        assert_eq!(
            text.to_ascii_lowercase().matches("host:").count(),
            1,
            "{text}"
        );
        assert!(text.contains("Origin: http://example.com\r\n"));
    }

    fn upgrade_request(extra: &str) -> Vec<u8> {
        format!(
            "GET /chat?room=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn server_upgrade_shows_the_request_and_obeys_the_callback() {
        let bytes =
            upgrade_request("Origin: http://evil.example\r\nSec-WebSocket-Protocol: a, b\r\n");
        let len = bytes.len();
        let outcome = server_upgrade(
            &bytes,
            len,
            &ServerOptions::default(),
            Some(|r: &Request| {
                assert_eq!((r.path(), r.query()), ("/chat", Some("room=1")));
                if r.header("origin") == Some("http://evil.example") {
                    Err(Refusal::new(403).with_body("no"))
                } else {
                    Ok(Accept::new())
                }
            }),
        );
        let ServerUpgrade::Refused { response, error } = outcome else {
            panic!("accepted")
        };
        assert!(response.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        assert!(response.ends_with(b"Content-Length: 2\r\nConnection: close\r\n\r\nno"));
        assert_eq!(error.refused_status(), Some(403));

        let outcome = server_upgrade(
            &bytes,
            len,
            &ServerOptions::default(),
            Some(|_: &Request| {
                Ok(Accept::new()
                    .with_subprotocol("b")
                    .with_header("X-Server", "wspc"))
            }),
        );
        let ServerUpgrade::Accepted {
            response, start, ..
        } = outcome
        else {
            panic!("refused")
        };
        assert_eq!(start, len);
        let text = String::from_utf8(response).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: b\r\n"));
        assert!(text.contains("X-Server: wspc\r\n"));
    }

    /// `accept`'s way: no callback, so no owned request is made.
    const NO_CALLBACK: Option<AcceptAll> = None;

    #[test]
    fn server_upgrade_answers_bad_heads_with_4xx() {
        let bare = b"GET / HTTP/1.1\nHost: x\n\n".to_vec();
        let ServerUpgrade::Refused { response, .. } =
            server_upgrade(&bare, bare.len(), &ServerOptions::default(), NO_CALLBACK)
        else {
            panic!()
        };
        // Parsed (bare LF is accepted), then refused by the engine: no Upgrade header.
        assert!(response.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        let post = b"POST / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        let ServerUpgrade::Refused { response, .. } =
            server_upgrade(&post, post.len(), &ServerOptions::default(), NO_CALLBACK)
        else {
            panic!()
        };
        assert!(response.starts_with(b"HTTP/1.1 400 "));
        let v12 = upgrade_request("").replace_version();
        let ServerUpgrade::Refused { response, .. } =
            server_upgrade(&v12, v12.len(), &ServerOptions::default(), NO_CALLBACK)
        else {
            panic!()
        };
        assert!(response.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
        let ServerUpgrade::Refused { response, .. } = head_too_large() else {
            panic!()
        };
        assert!(response.starts_with(b"HTTP/1.1 431 "));
    }

    #[test]
    fn refusals_keep_a_refusal_status_and_one_length_and_a_bad_callback_is_a_500() {
        let bytes = upgrade_request("Sec-WebSocket-Protocol: chat\r\n");
        let len = bytes.len();
        let refusal = Refusal {
            status: 200,
            headers: vec![
                ("Content-Length".into(), "99".into()),
                ("connection".into(), "keep-alive".into()),
                ("X-Why".into(), "test".into()),
            ],
            body: b"no".to_vec(),
        };
        let ServerUpgrade::Refused { response, .. } = server_upgrade(
            &bytes,
            len,
            &ServerOptions::default(),
            Some(|_: &Request| Err(refusal)),
        ) else {
            panic!("accepted")
        };
        let text = String::from_utf8(response).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
        assert_eq!(text.matches("Content-Length").count(), 1, "{text}");
        assert_eq!(
            text.to_ascii_lowercase().matches("connection:").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("X-Why: test\r\n") && text.ends_with("\r\n\r\nno"),
            "{text}"
        );

        let ServerUpgrade::Refused { response, error } = server_upgrade(
            &bytes,
            len,
            &ServerOptions::default(),
            Some(|_: &Request| Ok(Accept::new().with_subprotocol("superchat"))),
        ) else {
            panic!("accepted a subprotocol the client did not offer")
        };
        assert!(response.starts_with(b"HTTP/1.1 500 "));
        assert!(matches!(error, DriverError::Http(_)));
    }

    trait ReplaceVersion {
        fn replace_version(self) -> Vec<u8>;
    }

    impl ReplaceVersion for Vec<u8> {
        fn replace_version(self) -> Vec<u8> {
            String::from_utf8(self)
                .unwrap()
                .replace("Version: 13", "Version: 12")
                .into_bytes()
        }
    }
}
