//! `handshake_request` (server side) and `handshake_response` (client side).
//!
//! Input is an HTTP head as text, so real requests and responses are seeds and the dictionary's
//! header names and tokens land where they matter: lines split at `\n` (a trailing `\r` dropped),
//! a first line starting `GET ` or `HTTP/` skipped, an empty line ends the head; each other line
//! is a header `name:value` split at the first colon (the value keeps its spaces; a line without
//! a colon is a name with an empty value). Lines starting with `@` carry the application's
//! arguments, and are not headers: `@protocol:` and `@extension:` (one per line), and, for the
//! client, `@header:` (an initial header, `name:value`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};
use wspc::error::{Error, HandshakeError, Misuse};
use wspc::handshake::{client::ClientHandshake, server, Header, HeaderRef, Negotiated};

/// A parsed head: headers, and the `@` arguments.
#[derive(Debug, Default)]
struct Head<'a> {
    headers: Vec<HeaderRef<'a>>,
    protocols: Vec<String>,
    extensions: Vec<String>,
    initial: Vec<HeaderRef<'a>>,
    /// Input bytes that became headers or arguments.
    bytes: usize,
}

fn split_header(line: &[u8]) -> HeaderRef<'_> {
    match line.iter().position(|&b| b == b':') {
        Some(i) => HeaderRef {
            name: &line[..i],
            value: &line[i + 1..],
        },
        None => HeaderRef {
            name: line,
            value: &[],
        },
    }
}

fn parse(data: &[u8]) -> Head<'_> {
    let mut head = Head::default();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if i == 0 && (line.starts_with(b"GET ") || line.starts_with(b"HTTP/")) {
            continue;
        }
        if line.is_empty() {
            break;
        }
        head.bytes += line.len();
        let Some(arg) = line.strip_prefix(b"@") else {
            head.headers.push(split_header(line));
            continue;
        };
        let h = split_header(arg);
        let value = String::from_utf8_lossy(h.value).trim_start().to_owned();
        match h.name {
            b"protocol" => head.protocols.push(value),
            b"extension" => head.extensions.push(value),
            b"header" => head.initial.push(split_header(h.value.trim_ascii_start())),
            _ => {}
        }
    }
    head
}

/// Runs `f`, asserting that the header bytes it examined are linear in `input` bytes and
/// `count` headers or arguments.
fn linear<T>(input: usize, count: usize, f: impl FnOnce() -> T) -> T {
    let before = wspc::fuzz_bridge::handshake_bytes_examined();
    let out = f();
    if let (Some(a), Some(b)) = (before, wspc::fuzz_bridge::handshake_bytes_examined()) {
        let bound = 16 * input as u64 + 64 * count as u64 + 1024;
        assert!(
            b - a <= bound,
            "handshake examined {} bytes for {input} input bytes in {count} items",
            b - a
        );
    }
    out
}

/// The header list with every name's ASCII case flipped.
fn flip_case<'a>(headers: &[HeaderRef<'a>], store: &'a mut Vec<Vec<u8>>) -> Vec<HeaderRef<'a>> {
    *store = headers
        .iter()
        .map(|h| {
            h.name
                .iter()
                .map(|b| {
                    if b.is_ascii_alphabetic() {
                        b ^ 0x20
                    } else {
                        *b
                    }
                })
                .collect()
        })
        .collect();
    headers
        .iter()
        .zip(store.iter())
        .map(|(h, name)| HeaderRef {
            name,
            value: h.value,
        })
        .collect()
}

/// Trims SP and HTAB (RFC 7230 OWS), written here independently of `handshake::trim_ows`.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The values of the headers named `name` (case-insensitively).
fn values<'a>(headers: &[HeaderRef<'a>], name: &str) -> Vec<&'a [u8]> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.value)
        .collect()
}

/// Output headers are well-formed: a name is an RFC 7230 §3.2.6 token, a value has no CR, LF or NUL.
fn well_formed(out: &[Header]) {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    for h in out {
        assert!(!h.name.is_empty() && h.name.bytes().all(tchar), "{h:?}");
        assert!(
            !h.value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "{h:?}"
        );
    }
}

/// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)), computed here independently of `handshake::key`.
pub(super) fn accept_of(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    STANDARD.encode(sha.finalize())
}

/// Server side. Input: a request head (see the module docs); `@protocol` selects a subprotocol
/// (the last one given), `@extension` selects extensions. Invariants: linear work; a refusal is a
/// handshake error or (for bad arguments) an invalid argument; an acceptance had exactly one
/// `Host` and one key, answers with the right `Sec-WebSocket-Accept`, well-formed headers and the
/// selected subprotocol; flipping the case of every header name changes nothing.
pub fn handshake_request(data: &[u8]) {
    let head = parse(data);
    let selected = head.protocols.last().map(String::as_str);
    let exts: Vec<&str> = head.extensions.iter().map(String::as_str).collect();
    let count = head.headers.len() + exts.len() + 1;
    let result = linear(head.bytes, count, || {
        server::accept(selected, &exts, &head.headers)
    });
    let mut store = Vec::new();
    let flipped = flip_case(&head.headers, &mut store);
    let again = linear(head.bytes, count, || {
        server::accept(selected, &exts, &flipped)
    });
    assert_eq!(result, again, "header name case matters");
    match result {
        Ok(out) => {
            well_formed(&out);
            assert_eq!(values(&head.headers, "Host").len(), 1);
            let key = values(&head.headers, "Sec-WebSocket-Key");
            assert_eq!(key.len(), 1);
            let accept = out
                .iter()
                .find(|h| h.name == "Sec-WebSocket-Accept")
                .expect("an accept header");
            assert_eq!(accept.value, accept_of(trim(key[0])));
            let protocol = out.iter().find(|h| h.name == "Sec-WebSocket-Protocol");
            assert_eq!(protocol.map(|h| h.value.as_str()), selected);
        }
        Err(Error::Handshake(_) | Error::Misuse(Misuse::InvalidArgument(_))) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// The RFC 6455 §1.3 sample nonce, so that seeds and the dictionary hold the matching accept
/// value `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub(crate) const NONCE: [u8; 16] = *b"the sample nonce";

/// Client side. Input: a response head (see the module docs); `@protocol` and `@extension`
/// lines are the offers, `@header` lines the initial headers; the nonce is the RFC's sample.
/// Invariants: linear work in both calls; `begin` refuses only with an invalid argument and `end`
/// only with a handshake error; an acceptance had one accept header with the right value, and
/// reports a subprotocol index that names the one in the response (none only if none was
/// offered) and distinct extension indices among those offered; name case changes nothing.
pub fn handshake_response(data: &[u8]) {
    let head = parse(data);
    let protocols: Vec<&str> = head.protocols.iter().map(String::as_str).collect();
    let exts: Vec<&str> = head.extensions.iter().map(String::as_str).collect();
    let count = head.headers.len() + head.initial.len() + protocols.len() + exts.len();
    let begun = linear(head.bytes, count, || {
        ClientHandshake::begin(NONCE, &protocols, &exts, &head.initial)
    });
    let hs = match begun {
        Ok((hs, out)) => {
            well_formed(&out);
            hs
        }
        Err(Error::Misuse(Misuse::InvalidArgument(_))) => return,
        Err(e) => panic!("unexpected error {e:?}"),
    };
    let result = linear(head.bytes, count, || hs.end(&head.headers));
    let mut store = Vec::new();
    let flipped = flip_case(&head.headers, &mut store);
    let again = linear(head.bytes, count, || hs.end(&flipped));
    assert_eq!(result, again, "header name case matters");
    match result {
        Ok(Negotiated {
            subprotocol,
            extensions,
        }) => {
            let accept = values(&head.headers, "Sec-WebSocket-Accept");
            assert_eq!(accept.len(), 1);
            assert_eq!(trim(accept[0]), accept_of(hs.key().as_bytes()).as_bytes());
            match subprotocol {
                None => assert!(protocols.is_empty()),
                Some(i) => {
                    // Repeated headers form one comma list; empty elements do not count.
                    let answer = values(&head.headers, "Sec-WebSocket-Protocol");
                    let elements: Vec<&[u8]> = answer
                        .iter()
                        .flat_map(|v| v.split(|&b| b == b','))
                        .map(trim)
                        .filter(|e| !e.is_empty())
                        .collect();
                    assert_eq!(elements, [protocols[i].as_bytes()], "subprotocol index {i}");
                }
            }
            let mut seen = vec![false; exts.len()];
            for i in extensions {
                assert!(!seen[i], "extension {i} reported twice");
                seen[i] = true;
            }
        }
        Err(Error::Handshake(
            HandshakeError::Malformed(_)
            | HandshakeError::SubprotocolNotSupported
            | HandshakeError::ExtensionNotSupported,
        )) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
}
