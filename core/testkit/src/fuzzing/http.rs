//! `http_head`: the blocking driver's HTTP/1.1 upgrade, [`wspc::io::accept`] (reading and
//! answering a request) and [`wspc::io::connect`] (writing a request, reading the response), over
//! an in-memory stream that hands the fuzzer's bytes out in reads of a fuzzer-chosen size. This is
//! the code between the socket and the handshake functions: finding the end of the head across
//! reads, the head cap, `httparse`, the mapping of headers, and what is written back.
//!
//! Input: `[flags: u8]` then the peer's bytes, as raw HTTP (real requests and responses are
//! seeds). Flags bit 0: 0 for the server side (`accept` reads the bytes as a request), 1 for the
//! client side (`connect` reads them as the response); bits 1–3 pick the size of each read from
//! [`READ_SIZES`] (multiplied by `1 + n / 64` for the n-th read). For the client side, every `{accept}` in the input becomes the
//! `Sec-WebSocket-Accept` value of the key the client sent, so a fuzzer can reach the success path.
//!
//! Invariants:
//! - at most [`wspc::io::MAX_HEAD_BYTES`] bytes are read before the head is judged (the driver
//!   drains input after a refusal, so this counts what was read before the answer);
//! - the stream ending before a blank line is [`DriverError::Closed`], and only then;
//! - `accept` succeeds only for a `GET` with exactly one key, and then writes exactly one
//!   `101 Switching Protocols` head whose `Sec-WebSocket-Accept` answers that key; every other head
//!   read is answered by one `400`, `426` (with `Sec-WebSocket-Version: 13`) or `431` head and
//!   its `Content-Length` of body; a head ends at LF LF or LF CR LF;
//! - `connect` writes one well-formed upgrade request (request line, `Host`, `Upgrade`,
//!   `Connection`, a 16-byte base64 key, version 13) before it reads, and succeeds only on a
//!   `101` response.

use super::handshake::accept_of;
use super::Reader;
use std::io::{self, Read, Write};
use wspc::io::{self as driver, ClientOptions, DriverError, ServerOptions, MAX_HEAD_BYTES};

/// The read sizes the flags choose from: single bytes (a terminator split across reads), a few
/// bytes, and whole buffers.
pub const READ_SIZES: [usize; 8] = [1, 2, 3, 5, 16, 100, 1024, 4096];

/// The marker replaced by the accept value of the client's key.
const ACCEPT_MARKER: &[u8] = b"{accept}";

/// The peer: reads serve `input` in chunks of `chunk` bytes, writes are collected.
struct Peer<'a> {
    input: std::borrow::Cow<'a, [u8]>,
    at: usize,
    chunk: usize,
    reads: usize,
    written: Vec<u8>,
    /// The bytes read when the first byte was written (the driver drains input after a refusal).
    read_before_write: Option<usize>,
    /// For the client side: `{accept}` not yet replaced (done at the first read, after the
    /// request is written).
    substitute: bool,
}

impl Read for Peer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if std::mem::take(&mut self.substitute) {
            let key = header(&self.written, b"sec-websocket-key").unwrap_or_default();
            let accept = accept_of(key);
            self.input = replace(&self.input, ACCEPT_MARKER, accept.as_bytes()).into();
        }
        // Reads grow with their number, so a long head is not read a byte at a time to its end.
        self.reads += 1;
        let size = self.chunk * (1 + self.reads / 64);
        let n = buf.len().min(size).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

// No timeouts in memory: the driver's clocks never fire.
impl wspc::io::Transport for Peer<'_> {}

impl Write for Peer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.read_before_write.get_or_insert(self.at);
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn replace(hay: &[u8], what: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(i) = find(rest, what) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(with);
        rest = &rest[i + what.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(hay: &[u8], what: &[u8]) -> Option<usize> {
    // Byte by byte: a `==` on slices is a `memcmp`, which libFuzzer intercepts at a high cost.
    hay.windows(what.len()).position(|w| w.iter().eq(what))
}

/// `bytes` without the empty lines before a request or status line (which `httparse` skips).
fn skip_empty_lines(mut bytes: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// The end of the first head in `bytes` (just past its blank line), if any: the first LF followed
/// by LF or by CR LF (heads with bare-LF line ends are read too).
fn head_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find_map(|i| match bytes[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// A written answer: one head, then exactly `Content-Length` bytes of body (none if absent).
fn one_answer(written: &[u8]) {
    let end = head_end(written).expect("a head written");
    let length = header(written, b"content-length").map_or(0, |v| {
        std::str::from_utf8(v).unwrap().parse::<usize>().unwrap()
    });
    assert_eq!(end + length, written.len(), "one head and its body written");
}

/// The lines of a head up to its first empty line, each ended by LF or CRLF (as `httparse` reads
/// them: a bare-LF empty line ends the head there, even though the driver reads on to CRLF CRLF).
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

/// The values of the header `name` (lower case) in a head: every one, trimmed.
fn headers<'h>(head: &'h [u8], name: &'h [u8]) -> impl Iterator<Item = &'h [u8]> {
    lines(head).skip(1).filter_map(move |line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon]
            .eq_ignore_ascii_case(name)
            .then(|| line[colon + 1..].trim_ascii())
    })
}

/// The value of the header `name` if it appears exactly once.
fn header<'h>(head: &'h [u8], name: &'h [u8]) -> Option<&'h [u8]> {
    let mut all = headers(head, name);
    let first = all.next()?;
    all.next().is_none().then_some(first)
}

/// The one harness of the target.
pub fn http_head(data: &[u8]) {
    let mut r = Reader::new(data);
    let flags = r.u8();
    let client = flags & 1 != 0;
    let chunk = READ_SIZES[usize::from(flags >> 1) % READ_SIZES.len()];
    let input = r.rest();
    let mut peer = Peer {
        input: input.into(),
        at: 0,
        chunk,
        reads: 0,
        written: Vec::new(),
        read_before_write: None,
        substitute: client,
    };
    if client {
        connect(&mut peer);
    } else {
        accept(&mut peer);
    }
}

/// The outcome common to both sides: what was read, and whether a head was there to read.
fn check_read(peer: &Peer<'_>, closed: bool) {
    let read = peer.read_before_write.unwrap_or(peer.at);
    assert!(read <= MAX_HEAD_BYTES, "read {read} bytes of head");
    let complete = head_end(&peer.input[..peer.input.len().min(MAX_HEAD_BYTES)]).is_some();
    assert_eq!(
        closed,
        !complete && peer.input.len() < MAX_HEAD_BYTES,
        "end of stream reported wrongly"
    );
}

fn accept(peer: &mut Peer<'_>) {
    // The socket borrows the peer: keep only the outcome.
    let result = driver::accept(&mut *peer, &ServerOptions::default()).map(drop);
    check_read(peer, matches!(result, Err(DriverError::Closed)));
    let request = skip_empty_lines(&peer.input[..head_end(&peer.input).unwrap_or(0)]);
    let written = &peer.written;
    match result {
        Ok(_) => {
            assert!(request.starts_with(b"GET "), "accepted a non-GET");
            let key = header(request, b"sec-websocket-key").expect("accepted without one key");
            one_answer(written);
            assert!(written.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            let accept = header(written, b"sec-websocket-accept").expect("an accept value");
            assert_eq!(accept, accept_of(key).as_bytes(), "wrong accept value");
        }
        Err(DriverError::Closed) => assert!(written.is_empty(), "an answer to no head"),
        Err(DriverError::Http(_) | DriverError::Ws(_)) => {
            // Every head that was read gets an answer: malformed 400, too long 431, another
            // version 426, refused by the engine 400.
            one_answer(written);
            let upgrade = written.starts_with(b"HTTP/1.1 426 ");
            assert!(
                upgrade
                    || written.starts_with(b"HTTP/1.1 400 ")
                    || written.starts_with(b"HTTP/1.1 431 "),
                "refused with a 400, 426 or 431"
            );
            if upgrade {
                assert_eq!(header(written, b"sec-websocket-version"), Some(&b"13"[..]));
            }
        }
        Err(e) => assert!(written.is_empty(), "{e} after writing a response"),
    }
}

fn connect(peer: &mut Peer<'_>) {
    let result = driver::connect(
        &mut *peer,
        "example.com",
        "/chat",
        &ClientOptions::default(),
    )
    .map(drop);
    check_read(peer, matches!(result, Err(DriverError::Closed)));
    let request = &peer.written;
    assert_eq!(head_end(request), Some(request.len()), "one request head");
    assert!(request.starts_with(b"GET /chat HTTP/1.1\r\n"));
    assert_eq!(header(request, b"host"), Some(&b"example.com"[..]));
    assert!(header(request, b"upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket")));
    assert!(header(request, b"connection").is_some());
    assert_eq!(header(request, b"sec-websocket-version"), Some(&b"13"[..]));
    let key = header(request, b"sec-websocket-key").expect("one key");
    assert_eq!(key.len(), 24, "a 16-byte nonce in base64");
    if result.is_ok() {
        let status_line = lines(skip_empty_lines(&peer.input))
            .next()
            .unwrap_or_default();
        let code = status_line.split(|&b| b == b' ').nth(1);
        assert_eq!(code, Some(&b"101"[..]), "connected on {status_line:?}");
    }
}
