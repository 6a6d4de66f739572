//! The opening handshake (RFC 6455 §4): pure functions over HTTP header lists.
//!
//! - [`client::ClientHandshake::begin`] (`WebSocketBeginClientHandshake`) validates the client's arguments
//!   and returns the headers the application adds to its `GET` request.
//! - [`server::accept`] (`WebSocketBeginServerHandshake`) validates a request's headers and returns the
//!   headers the application adds to its `101` response.
//! - [`client::ClientHandshake::end`] (`WebSocketEndClientHandshake`) validates the response's headers and
//!   reports the negotiated subprotocol and extensions as [`Negotiated`].
//!
//! Nothing here does I/O or draws random numbers: the key's nonce is passed in. The request line and the
//! status line are the application's business; only header lists pass through here.
//!
//! # Header lists
//!
//! Header names match ASCII case-insensitively. Values are trimmed of optional whitespace (SP, HTAB) as
//! in RFC 7230 §3.2.3. List-valued headers (`Upgrade`, `Connection`, `Sec-WebSocket-Version`,
//! `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`) are comma lists whose empty elements are skipped
//! (RFC 7230 §7); a header repeated in the list counts as one list joined with ", " (RFC 7230 §3.2.2,
//! spec §9 Q16). `Host`, `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` are single-valued: a repeat is
//! malformed.
//!
//! Every input header is checked: its name must be an RFC 7230 token (so no colon, space or control
//! character) and its value must not contain CR, LF or NUL. A header list given by the peer's side
//! (request or response headers) that fails this is refused with
//! [`HandshakeError::Malformed`](crate::error::HandshakeError::Malformed); the client's own initial
//! headers are refused with [`Misuse::InvalidArgument`](crate::error::Misuse::InvalidArgument).
//!
//! # Caps and linear work
//!
//! A header list with more than [`MAX_HEADER_COUNT`] headers, or whose names and values add up to more
//! than [`MAX_HEADER_BYTES`] bytes, is refused before any other work is done on it.
//!
//! Past the caps, work is linear in the bytes of the header list, whatever its shape (many headers,
//! repeated headers, long comma lists, many empty list elements): the list is walked once, each header
//! is classified by name into the handful that matter and kept as a borrowed slice, and each kept value
//! is then walked once by a lazy comma-list iterator. Nothing re-scans the list per wanted name and no
//! strings are joined, so the quadratic re-parsing of CVE-2023-43669 cannot happen. Each extension
//! name in the headers is looked up once in an ordered map of the application's own extension names, so
//! matching costs the name's length times the logarithm of the number of extensions the application
//! offered or selected, never a product of two peer-controlled sizes. (An ordered map rather than a
//! hash map keeps these functions free of the random seeding a hash map does.)
//!
//! # Decisions on open questions
//!
//! - §9 Q4: the client does not require `Host` among its initial headers; the server requires a `Host`
//!   header (any value, empty included).
//! - §9 Q10: a client fails with `SubprotocolNotSupported` when the server selects a subprotocol it did
//!   not offer, or none while it offered some; a server fails with it when asked to select a
//!   subprotocol the client did not offer.
//! - §9 Q12: extensions are negotiated by name only; their parameters are passed through untouched.
//!   The one exception is wspc's own: with `Properties::permessage_deflate` set (cargo feature
//!   `deflate`), the session's handshake methods offer, answer and check permessage-deflate
//!   (RFC 7692) themselves, around these functions, which are unchanged: the client's offer
//!   follows the application's extensions, the server's answer follows the application's
//!   selections, and the indices in [`Negotiated::extensions`] still count the application's
//!   own extensions only (permessage-deflate is never among them).
//! - §9 Q16: names match case-insensitively and repeated headers form one comma list.

pub mod client;
#[cfg(feature = "deflate")]
pub(crate) mod deflate;
pub mod key;
pub mod server;

use std::collections::BTreeMap;

/// The most headers an input header list may hold.
///
/// A longer list is refused with [`HandshakeError::Malformed`](crate::error::HandshakeError::Malformed)
/// (or, for the client's own initial headers, with
/// [`Misuse::InvalidArgument`](crate::error::Misuse::InvalidArgument)) before any other work.
pub const MAX_HEADER_COUNT: usize = 128;

/// The most bytes an input header list may hold, counted as the sum of the lengths of all names and
/// values.
///
/// A bigger list is refused with [`HandshakeError::Malformed`](crate::error::HandshakeError::Malformed)
/// (or, for the client's own initial headers, with
/// [`Misuse::InvalidArgument`](crate::error::Misuse::InvalidArgument)) before any other work.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The supported protocol version, sent and required as `Sec-WebSocket-Version` (RFC 6455 §4.1).
pub const VERSION: u32 = 13;

/// An input header, borrowed: name and value are raw bytes (not NUL-terminated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The header name.
    pub name: &'a [u8],
    /// The header value.
    pub value: &'a [u8],
}

/// An output header, owned by the component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

impl Header {
    /// Borrows this header as an input header (for example to feed a server's output to a client).
    #[must_use]
    pub fn as_header_ref(&self) -> HeaderRef<'_> {
        HeaderRef {
            name: self.name.as_bytes(),
            value: self.value.as_bytes(),
        }
    }

    pub(crate) fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

/// What the client learned from the server's response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "it tells which of the offered subprotocols and extensions the server selected"]
pub struct Negotiated {
    /// The zero-based index, among the subprotocols the client offered, of the one the server selected;
    /// `None` when the server selected none.
    pub subprotocol: Option<usize>,
    /// The zero-based indices, among the extensions the client offered, of those the server accepted, in
    /// the order of the response.
    pub extensions: Vec<usize>,
}

pub(crate) const HOST: &str = "Host";
pub(crate) const UPGRADE: &str = "Upgrade";
pub(crate) const CONNECTION: &str = "Connection";
pub(crate) const SEC_WEBSOCKET_KEY: &str = "Sec-WebSocket-Key";
pub(crate) const SEC_WEBSOCKET_ACCEPT: &str = "Sec-WebSocket-Accept";
pub(crate) const SEC_WEBSOCKET_VERSION: &str = "Sec-WebSocket-Version";
pub(crate) const SEC_WEBSOCKET_PROTOCOL: &str = "Sec-WebSocket-Protocol";
pub(crate) const SEC_WEBSOCKET_EXTENSIONS: &str = "Sec-WebSocket-Extensions";

/// A count of the header bytes examined on this thread, kept where the parsers walk bytes (caps,
/// syntax checks, name matching, list walking), so that the fuzzing harness can assert that the
/// work is linear in the input. Only in fuzzing and debug builds; a no-op otherwise.
pub(crate) mod work {
    #[cfg(any(fuzzing, debug_assertions))]
    std::thread_local! {
        static EXAMINED: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    }

    /// Count `n` bytes examined.
    #[inline]
    pub(crate) fn add(n: usize) {
        #[cfg(any(fuzzing, debug_assertions))]
        EXAMINED.with(|c| c.set(c.get().saturating_add(n as u64)));
        #[cfg(not(any(fuzzing, debug_assertions)))]
        let _ = n;
    }

    /// The bytes examined so far on this thread (`None` when not counted).
    #[cfg_attr(not(any(fuzzing, debug_assertions)), allow(dead_code))]
    pub(crate) fn examined() -> Option<u64> {
        #[cfg(any(fuzzing, debug_assertions))]
        return Some(EXAMINED.with(core::cell::Cell::get));
        #[cfg(not(any(fuzzing, debug_assertions)))]
        None
    }
}

/// Refuses a header list over [`MAX_HEADER_COUNT`] or [`MAX_HEADER_BYTES`]. Constant work (at most
/// `MAX_HEADER_COUNT` additions).
pub(crate) fn check_caps(headers: &[HeaderRef<'_>]) -> Result<(), &'static str> {
    work::add(headers.len().min(MAX_HEADER_COUNT + 1));
    if headers.len() > MAX_HEADER_COUNT {
        return Err("more than MAX_HEADER_COUNT headers");
    }
    let mut total: usize = 0;
    for h in headers {
        total = total
            .saturating_add(h.name.len())
            .saturating_add(h.value.len());
        if total > MAX_HEADER_BYTES {
            return Err("headers over MAX_HEADER_BYTES bytes");
        }
    }
    Ok(())
}

/// The one pass over a header list (whose caps the caller has checked): checks each header's syntax and
/// keeps, for each name in `wanted`, the values of the headers with that name, in list order.
pub(crate) fn scan<'a, const N: usize>(
    headers: &[HeaderRef<'a>],
    wanted: [&str; N],
) -> Result<[Vec<&'a [u8]>; N], &'static str> {
    let mut found: [Vec<&'a [u8]>; N] = core::array::from_fn(|_| Vec::new());
    for h in headers {
        // RFC 7230 §3.2: field-name = token (no colon, space or control character).
        if !is_token(h.name) {
            return Err("header name is not a token");
        }
        // RFC 7230 §3.2.4: a field value cannot hold CR or LF; NUL is refused as well.
        if has_cr_lf_nul(h.value) {
            return Err("header value contains CR, LF or NUL");
        }
        work::add(N * h.name.len());
        if let Some(i) = wanted
            .iter()
            .position(|w| w.as_bytes().eq_ignore_ascii_case(h.name))
        {
            if let Some(slot) = found.get_mut(i) {
                slot.push(h.value);
            }
        }
    }
    Ok(found)
}

/// RFC 7230 §3.2.6: tchar.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// RFC 7230 §3.2.6: token = 1*tchar.
pub(crate) fn is_token(s: &[u8]) -> bool {
    work::add(s.len());
    !s.is_empty() && s.iter().all(|&b| TCHAR[usize::from(b)])
}

/// [`is_tchar`] of every byte: a load per byte where the match took a chain of compares (a
/// tenth of a server's upgrade, which checks every header name).
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_tchar(b as u8);
        b += 1;
    }
    table
};

/// True if `s` contains CR, LF or NUL.
pub(crate) fn has_cr_lf_nul(s: &[u8]) -> bool {
    work::add(s.len());
    s.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

/// Trims optional whitespace (SP, HTAB; RFC 7230 §3.2.3) from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    work::add(s.len());
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The elements of one comma-list value, trimmed, empty ones skipped (RFC 7230 §7). Lazy; walks the
/// value once.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    work::add(value.len());
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// The elements of several values of one header, as one list (repeated headers joined, §9 Q16). Lazy;
/// walks each value once.
pub(crate) fn all_elements<'a, 'b>(values: &'b [&'a [u8]]) -> impl Iterator<Item = &'a [u8]> + 'b {
    values.iter().copied().flat_map(list_elements)
}

/// True if a comma-list header holds `token` (ASCII case-insensitive), as RFC 6455 §4.1 and §4.2.1 ask
/// of `Upgrade` and `Connection`.
pub(crate) fn contains_token(values: &[&[u8]], token: &str) -> bool {
    all_elements(values).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// RFC 6455 §4.1 (client checks 2–3) and §4.2.1 (items 3–4), the same on both sides: `Upgrade`
/// holds the token `websocket` and `Connection` the token `Upgrade`, case-insensitively.
pub(crate) fn check_upgrade(
    upgrade: &[&[u8]],
    connection: &[&[u8]],
) -> Result<(), crate::error::Error> {
    if !contains_token(upgrade, "websocket") {
        return Err(crate::error::Error::malformed(
            "Upgrade header missing or without the token websocket",
        ));
    }
    if !contains_token(connection, "upgrade") {
        return Err(crate::error::Error::malformed(
            "Connection header missing or without the token upgrade",
        ));
    }
    Ok(())
}

/// The name of an extension list element: the part before the first `;`, trimmed (RFC 6455 §9.1:
/// `extension = extension-token *( ";" extension-param )`). The caller checks that it is a token.
pub(crate) fn extension_name(element: &[u8]) -> &[u8] {
    work::add(element.len());
    let end = element
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(element.len());
    trim_ows(element.get(..end).unwrap_or(element))
}

/// Checks an extension string given by the application (one extension with optional parameters) and
/// returns it trimmed. It must be non-empty, free of CR, LF and NUL, free of commas (a comma would make
/// it two list elements; RFC 6455 §9.1 allows none inside a parameter), and its name must be a token.
pub(crate) fn check_extension_arg(ext: &str) -> Result<&str, &'static str> {
    let bytes = ext.as_bytes();
    if has_cr_lf_nul(bytes) {
        return Err("extension contains CR, LF or NUL");
    }
    if bytes.contains(&b',') {
        return Err("extension contains a comma");
    }
    if !is_token(extension_name(bytes)) {
        return Err("extension name is not a token (RFC 6455 §9.1)");
    }
    Ok(ext.trim_matches([' ', '\t']))
}

/// An ASCII-lowercased copy of `name` written into `buf` (reused to avoid an allocation per lookup).
pub(crate) fn lowercase_into<'b>(buf: &'b mut Vec<u8>, name: &[u8]) -> &'b [u8] {
    work::add(name.len());
    buf.clear();
    buf.extend(name.iter().map(u8::to_ascii_lowercase));
    buf
}

/// Maps lowercased extension names to the index of the first extension string with that name. The
/// strings must have passed [`check_extension_arg`].
pub(crate) fn extension_index<S: AsRef<str>>(exts: &[S]) -> BTreeMap<Vec<u8>, usize> {
    let mut map = BTreeMap::new();
    for (i, e) in exts.iter().enumerate() {
        let name = extension_name(e.as_ref().as_bytes()).to_ascii_lowercase();
        map.entry(name).or_insert(i);
    }
    map
}

/// Joins list elements with ", " (linear: one pre-sized buffer).
pub(crate) fn join_list<'s>(items: impl Iterator<Item = &'s str> + Clone) -> String {
    let len = items.clone().map(|s| s.len() + 2).sum::<usize>();
    let mut out = String::with_capacity(len);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

#[cfg(test)]
pub(crate) fn hdr<'a>(name: &'a str, value: &'a str) -> HeaderRef<'a> {
    HeaderRef {
        name: name.as_bytes(),
        value: value.as_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"websocket"));
        assert!(is_token(b"v1.chat_x-y~!#$%&'*+^`|"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(!is_token(b"a\tb"));
        assert!(!is_token(b"a/b"));
        assert!(!is_token(b"a\x7f"));
        assert!(!is_token(b"\xc3\xa9"));
        assert!(!is_token(b"\"q\""));
    }

    #[test]
    fn trimming_and_lists() {
        assert_eq!(trim_ows(b" \t x y \t"), b"x y");
        assert_eq!(trim_ows(b"  "), b"");
        let v: Vec<&[u8]> = list_elements(b" ,a, ,b ,\t c\t,,").collect();
        assert_eq!(v, [&b"a"[..], b"b", b"c"]);
        assert_eq!(list_elements(b"").count(), 0);
        assert_eq!(list_elements(b",,, ,").count(), 0);
        let values: [&[u8]; 3] = [b"a, b", b"", b"c"];
        assert_eq!(all_elements(&values).count(), 3);
        assert!(contains_token(&values, "C"));
        assert!(!contains_token(&values, "d"));
    }

    #[test]
    fn extension_names() {
        assert_eq!(
            extension_name(b"permessage-deflate; a=1"),
            b"permessage-deflate"
        );
        assert_eq!(extension_name(b" foo "), b"foo");
        assert_eq!(extension_name(b"; foo"), b"");
        assert_eq!(check_extension_arg(" foo; x=1 "), Ok("foo; x=1"));
        assert!(check_extension_arg("").is_err());
        assert!(check_extension_arg("  ").is_err());
        assert!(check_extension_arg("; x").is_err());
        assert!(check_extension_arg("a, b").is_err());
        assert!(check_extension_arg("a\r\nX: y").is_err());
        assert!(check_extension_arg("a\0").is_err());
        assert!(check_extension_arg("f o").is_err());
        let map = extension_index(&["Foo; a", "bar", "foo; b"]);
        assert_eq!(map.get(&b"foo"[..]), Some(&0));
        assert_eq!(map.get(&b"bar"[..]), Some(&1));
    }

    #[test]
    fn caps() {
        let h = hdr("a", "b");
        assert!(check_caps(&vec![h; MAX_HEADER_COUNT]).is_ok());
        assert!(check_caps(&vec![h; MAX_HEADER_COUNT + 1]).is_err());
        let big = "x".repeat(MAX_HEADER_BYTES - 1);
        assert!(check_caps(&[hdr("a", &big)]).is_ok());
        let big = "x".repeat(MAX_HEADER_BYTES);
        assert!(check_caps(&[hdr("a", &big)]).is_err());
        assert!(check_caps(&[]).is_ok());
    }

    #[test]
    fn scan_classifies_and_checks_syntax() {
        let headers = [
            hdr("upgrade", "websocket"),
            hdr("X-Other", "1"),
            hdr("UPGRADE", "h2c"),
            hdr("connection", "Upgrade"),
        ];
        let [up, conn, missing] = scan(&headers, [UPGRADE, CONNECTION, HOST]).unwrap();
        assert_eq!(up, [&b"websocket"[..], b"h2c"]);
        assert_eq!(conn, [&b"Upgrade"[..]]);
        assert!(missing.is_empty());
        for bad in [
            hdr("Bad:Name", "v"),
            hdr("Bad Name", "v"),
            hdr("", "v"),
            hdr("Bad\x01", "v"),
        ] {
            assert_eq!(scan(&[bad], [HOST]), Err("header name is not a token"));
        }
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert_eq!(
                scan(&[hdr("X", bad)], [HOST]),
                Err("header value contains CR, LF or NUL")
            );
        }
    }

    #[test]
    fn header_as_header_ref_and_join() {
        let h = Header::new("Upgrade", "websocket");
        assert_eq!(h.as_header_ref(), hdr("Upgrade", "websocket"));
        assert_eq!(join_list(["a", "b", "c"].into_iter()), "a, b, c");
        assert_eq!(join_list([].into_iter()), "");
    }
}
