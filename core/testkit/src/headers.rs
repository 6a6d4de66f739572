//! HTTP header helpers for handshake tests: borrowed headers from strings, output headers as
//! input, and a valid client request with one header changed.

use wspc::{Header, HeaderRef};

/// A borrowed header from strings.
pub fn hdr<'a>(name: &'a str, value: &'a str) -> HeaderRef<'a> {
    HeaderRef {
        name: name.as_bytes(),
        value: value.as_bytes(),
    }
}

/// Borrow a list of output headers as input headers.
pub fn refs(headers: &[Header]) -> Vec<HeaderRef<'_>> {
    headers.iter().map(|h| h.as_header_ref()).collect()
}

/// The values of the headers named `name` (case-insensitively).
pub fn values<'a>(headers: &'a [Header], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
        .collect()
}

/// A valid client request (the RFC 6455 §1.3 example key) with `name` replaced by `value`, or
/// removed when `value` is `None`.
pub fn request_with<'a>(name: &'a str, value: Option<&'a str>) -> Vec<HeaderRef<'a>> {
    let mut r: Vec<HeaderRef<'a>> = [
        hdr("Host", "server.example.com"),
        hdr("Upgrade", "websocket"),
        hdr("Connection", "Upgrade"),
        hdr("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        hdr("Sec-WebSocket-Version", "13"),
    ]
    .into_iter()
    .filter(|h| !h.name.eq_ignore_ascii_case(name.as_bytes()))
    .collect();
    if let Some(v) = value {
        r.push(hdr(name, v));
    }
    r
}
