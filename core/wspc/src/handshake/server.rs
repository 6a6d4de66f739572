//! The server side of the opening handshake (RFC 6455 §4.2): `WebSocketBeginServerHandshake`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::key::accept_key;
use super::{
    all_elements, check_caps, check_extension_arg, check_upgrade, extension_index, extension_name,
    is_token, join_list, lowercase_into, scan, trim_ows, Header, HeaderRef, CONNECTION, HOST,
    SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE, VERSION,
};
use crate::error::{Error, HandshakeError};

/// `WebSocketBeginServerHandshake`: checks a client's request headers (the request line is the
/// application's business) and returns the headers the application must add to its `101` response.
///
/// Arguments (the caller's; a bad one gives [`Misuse::InvalidArgument`](crate::error::Misuse::InvalidArgument)):
/// - `selected_subprotocol`: the subprotocol to select, if any; a token.
/// - `selected_extensions`: the extensions to accept, one per entry (a name, optionally followed by `;`
///   parameters); each non-empty, without CR, LF, NUL or comma, with a token name, no two with the same
///   name (RFC 6455 §9.1).
///
/// The headers returned are `Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Accept` (for
/// the key as sent, trimmed), then `Sec-WebSocket-Protocol: <selected>` and
/// `Sec-WebSocket-Extensions: <selected, comma-joined>` when something was selected.
///
/// # Errors
///
/// Checked in this order:
/// 1. the caps ([`MAX_HEADER_COUNT`](super::MAX_HEADER_COUNT), [`MAX_HEADER_BYTES`](super::MAX_HEADER_BYTES)),
///    then the arguments, then each header's syntax → [`HandshakeError::Malformed`] for the headers;
/// 2. exactly one `Host` header, of any value, empty included (RFC 7230 §5.4, spec §9 Q4) → else
///    `Malformed`;
/// 3. `Upgrade` holds the token `websocket` and `Connection` the token `upgrade` (case-insensitive)
///    → else `Malformed`;
/// 4. `Sec-WebSocket-Version` is present and each list element a number from 0 to 255 written as in
///    RFC 6455 §4.3 (else `Malformed`); a list other than exactly `13` →
///    [`HandshakeError::UnsupportedVersion`] (the application answers `426` with
///    `Sec-WebSocket-Version: 13`);
/// 5. exactly one `Sec-WebSocket-Key`, whose value (trimmed of spaces and tabs) is padded base64
///    decoding to exactly 16 bytes → else `Malformed`;
/// 6. every `Sec-WebSocket-Protocol` element is a token (else `Malformed`), and the selected subprotocol
///    is one of them, compared case-sensitively → else [`HandshakeError::SubprotocolNotSupported`]
///    (spec §9 Q10);
/// 7. every `Sec-WebSocket-Extensions` element has a token name (else `Malformed`), and each selected
///    extension's name is, case-insensitively, one of them → else
///    [`HandshakeError::ExtensionNotSupported`].
pub fn accept(
    selected_subprotocol: Option<&str>,
    selected_extensions: &[&str],
    request_headers: &[HeaderRef<'_>],
) -> Result<Vec<Header>, Error> {
    check_caps(request_headers).map_err(Error::malformed)?;

    // The arguments.
    if let Some(p) = selected_subprotocol {
        // RFC 6455 §4.2.2 item 5.5 / §4.1: a subprotocol is a token.
        if !is_token(p.as_bytes()) {
            return Err(Error::arg(
                "selected subprotocol is not a token (RFC 6455 §4.1)",
            ));
        }
    }
    let mut trimmed = Vec::with_capacity(selected_extensions.len());
    for &e in selected_extensions {
        trimmed.push(check_extension_arg(e).map_err(Error::arg)?);
    }
    let wanted = extension_index(&trimmed);
    if wanted.len() != trimmed.len() {
        return Err(Error::arg("two selected extensions have the same name"));
    }

    let [host, upgrade, connection, version, key, protocol, extensions] = scan(
        request_headers,
        [
            HOST,
            UPGRADE,
            CONNECTION,
            SEC_WEBSOCKET_VERSION,
            SEC_WEBSOCKET_KEY,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
        ],
    )
    .map_err(Error::malformed)?;

    // RFC 6455 §4.2.1 item 2 and RFC 7230 §5.4: one Host header (any value, spec §9 Q4).
    match host.len() {
        0 => return Err(Error::malformed("Host header missing")),
        1 => {}
        _ => return Err(Error::malformed("Host header repeated")),
    }
    check_upgrade(&upgrade, &connection)?;
    check_version(&version)?;
    let key = check_key(&key)?;
    check_subprotocol(selected_subprotocol, &protocol)?;
    check_extensions(&wanted, &extensions)?;

    // RFC 6455 §4.2.2 item 5.
    let mut out = vec![
        Header::new(CONNECTION, "Upgrade"),
        Header::new(UPGRADE, "websocket"),
        Header::new(SEC_WEBSOCKET_ACCEPT, accept_key(key)),
    ];
    if let Some(p) = selected_subprotocol {
        out.push(Header::new(SEC_WEBSOCKET_PROTOCOL, p));
    }
    if !trimmed.is_empty() {
        out.push(Header::new(
            SEC_WEBSOCKET_EXTENSIONS,
            join_list(trimmed.iter().copied()),
        ));
    }
    Ok(out)
}

/// RFC 6455 §4.2.1 item 6 and §4.4: the version must be exactly 13.
fn check_version(values: &[&[u8]]) -> Result<(), Error> {
    if values.is_empty() {
        return Err(Error::malformed("Sec-WebSocket-Version header missing"));
    }
    let mut count = 0usize;
    let mut is_ours = false;
    for element in all_elements(values) {
        let v = parse_version(element).ok_or(Error::malformed(
            "Sec-WebSocket-Version is not a number from 0 to 255",
        ))?;
        count += 1;
        is_ours = u32::from(v) == VERSION;
    }
    match count {
        0 => Err(Error::malformed("Sec-WebSocket-Version header empty")),
        1 if is_ours => Ok(()),
        _ => Err(HandshakeError::UnsupportedVersion.into()),
    }
}

/// RFC 6455 §4.3: `version = DIGIT | (NZDIGIT DIGIT) | ("1" DIGIT DIGIT) | ("2" DIGIT2 DIGIT)`, that is
/// 0 to 255 with no leading zero.
fn parse_version(s: &[u8]) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if s.len() > 1 && s.first() == Some(&b'0') {
        return None;
    }
    let n = s
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    u8::try_from(n).ok()
}

/// RFC 6455 §4.2.1 item 5: one key, base64 of 16 bytes. Returns it trimmed (the value the accept is
/// computed over).
fn check_key<'a>(values: &[&'a [u8]]) -> Result<&'a [u8], Error> {
    let key = match values {
        [] => return Err(Error::malformed("Sec-WebSocket-Key header missing")),
        [one] => trim_ows(one),
        _ => return Err(Error::malformed("Sec-WebSocket-Key header repeated")),
    };
    // 16 bytes encode to exactly 24 padded base64 characters; checking the length first bounds the
    // decoding work and allocation.
    let ok = key.len() == 24 && STANDARD.decode(key).is_ok_and(|bytes| bytes.len() == 16);
    if ok {
        Ok(key)
    } else {
        Err(Error::malformed(
            "Sec-WebSocket-Key is not base64 of 16 bytes",
        ))
    }
}

/// RFC 6455 §4.2.2 item 5.5 and spec §9 Q10: the selected subprotocol must be one the client offered.
fn check_subprotocol(selected: Option<&str>, values: &[&[u8]]) -> Result<(), Error> {
    let mut offered = false;
    for element in all_elements(values) {
        // RFC 6455 §4.1: each offered subprotocol is a token.
        if !is_token(element) {
            return Err(Error::malformed(
                "Sec-WebSocket-Protocol element is not a token",
            ));
        }
        offered |= selected.is_some_and(|s| s.as_bytes() == element);
    }
    if selected.is_some() && !offered {
        return Err(HandshakeError::SubprotocolNotSupported.into());
    }
    Ok(())
}

/// RFC 6455 §4.2.2 item 5.6 and §9.1: each selected extension must be one the client offered (by
/// name; parameters are not interpreted, spec §9 Q12). `wanted` maps the selected extensions'
/// lowercased names to their indices (no name twice).
fn check_extensions(wanted: &BTreeMap<Vec<u8>, usize>, values: &[&[u8]]) -> Result<(), Error> {
    let mut offered = vec![false; wanted.len()];
    let mut buf = Vec::new();
    for element in all_elements(values) {
        let name = extension_name(element);
        // RFC 6455 §9.1: extension = extension-token *( ";" extension-param ).
        if !is_token(name) {
            return Err(Error::malformed(
                "Sec-WebSocket-Extensions element without a token name",
            ));
        }
        if wanted.is_empty() {
            continue;
        }
        if let Some(&i) = wanted.get(lowercase_into(&mut buf, name)) {
            if let Some(seen) = offered.get_mut(i) {
                *seen = true;
            }
        }
    }
    if offered.iter().all(|&seen| seen) {
        Ok(())
    } else {
        Err(HandshakeError::ExtensionNotSupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Misuse;
    use crate::handshake::client::ClientHandshake;
    use crate::handshake::{hdr, Negotiated, MAX_HEADER_BYTES, MAX_HEADER_COUNT};

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn request() -> Vec<HeaderRef<'static>> {
        vec![
            hdr("Host", "server.example.com"),
            hdr("Upgrade", "websocket"),
            hdr("Connection", "Upgrade"),
            hdr("Sec-WebSocket-Key", KEY),
            hdr("Sec-WebSocket-Version", "13"),
        ]
    }

    fn without(name: &str) -> Vec<HeaderRef<'static>> {
        request()
            .into_iter()
            .filter(|h| !h.name.eq_ignore_ascii_case(name.as_bytes()))
            .collect()
    }

    fn with<'a>(name: &'a str, value: &'a str) -> Vec<HeaderRef<'a>> {
        let mut r = without(name);
        r.push(hdr(name, value));
        r
    }

    fn plus<'a>(extra: &[HeaderRef<'a>]) -> Vec<HeaderRef<'a>> {
        let mut r = request();
        r.extend_from_slice(extra);
        r
    }

    fn malformed(r: Result<Vec<Header>, Error>) -> &'static str {
        match r {
            Err(Error::Handshake(HandshakeError::Malformed(m))) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn accept0(headers: &[HeaderRef<'_>]) -> Result<Vec<Header>, Error> {
        accept(None, &[], headers)
    }

    #[test]
    fn accepts_rfc_example() {
        let out = accept0(&request()).unwrap();
        assert_eq!(
            out,
            [
                Header::new("Connection", "Upgrade"),
                Header::new("Upgrade", "websocket"),
                Header::new("Sec-WebSocket-Accept", ACCEPT),
            ]
        );
    }

    #[test]
    fn dotnet_style_request_with_empty_host() {
        let r = [
            hdr("Connection", "Upgrade"),
            hdr("Upgrade", "websocket"),
            hdr("Host", ""),
            hdr("Sec-WebSocket-Version", "13"),
            hdr("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ];
        let out = accept0(&r).unwrap();
        assert_eq!(out[2].value, accept_key(b"AAAAAAAAAAAAAAAAAAAAAA=="));
    }

    #[test]
    fn case_insensitive_lists_and_repeats() {
        let r = [
            hdr("HOST", "h"),
            hdr("upgrade", "foo/1, WEBSOCKET"),
            hdr("connection", "keep-alive,"),
            hdr("Connection", ", UPGRADE"),
            hdr("sec-websocket-key", "\t dGhlIHNhbXBsZSBub25jZQ== "),
            hdr("SEC-WEBSOCKET-VERSION", " 13 "),
        ];
        let out = accept0(&r).unwrap();
        assert_eq!(out[2].value, ACCEPT);
    }

    #[test]
    fn missing_or_bad_required_headers() {
        assert!(malformed(accept0(&without("Host"))).contains("Host"));
        assert!(malformed(accept0(&plus(&[hdr("host", "x")]))).contains("Host"));
        assert!(malformed(accept0(&without("Upgrade"))).contains("Upgrade"));
        assert!(malformed(accept0(&with("Upgrade", "websocket2, h2c"))).contains("Upgrade"));
        assert!(malformed(accept0(&without("Connection"))).contains("Connection"));
        assert!(malformed(accept0(&with("Connection", "keep-alive"))).contains("Connection"));
        assert!(malformed(accept0(&without("Sec-WebSocket-Key"))).contains("Sec-WebSocket-Key"));
        assert!(
            malformed(accept0(&without("Sec-WebSocket-Version"))).contains("Sec-WebSocket-Version")
        );
        // Bad syntax anywhere.
        malformed(accept0(&plus(&[hdr("Bad:Name", "x")])));
        malformed(accept0(&plus(&[hdr("X", "a\r\nInjected: 1")])));
        malformed(accept0(&plus(&[hdr("X", "a\0")])));
        malformed(accept0(&plus(&[hdr("Bad\x7f", "x")])));
    }

    #[test]
    fn versions() {
        let v = |value: &str| accept0(&with("Sec-WebSocket-Version", value));
        assert!(v("13").is_ok());
        assert!(v(" 13 ,").is_ok());
        for other in ["12", "8", "0", "255", "13, 8", "8, 13", "13, 13"] {
            assert_eq!(
                v(other),
                Err(HandshakeError::UnsupportedVersion.into()),
                "{other}"
            );
        }
        // Repeated headers form one list.
        let mut twice = request();
        twice.push(hdr("Sec-WebSocket-Version", "8"));
        assert_eq!(
            accept0(&twice),
            Err(HandshakeError::UnsupportedVersion.into())
        );
        for bad in [
            "", " ", ",", "013", "256", "1000", "+13", "-1", "13.0", "x", "1 3", "13, x",
        ] {
            assert!(
                malformed(v(bad)).contains("Sec-WebSocket-Version"),
                "{bad:?}"
            );
        }
        assert_eq!(parse_version(b"0"), Some(0));
        assert_eq!(parse_version(b"255"), Some(255));
        assert_eq!(parse_version(b"00"), None);
    }

    #[test]
    fn keys() {
        let k = |value: &str| accept0(&with("Sec-WebSocket-Key", value));
        // 15 and 17 bytes.
        let k15 = STANDARD.encode([7u8; 15]);
        let k17 = STANDARD.encode([7u8; 17]);
        assert_eq!(k17.len(), 24);
        for bad in [
            k15.as_str(),
            k17.as_str(),
            "",
            "dGhlIHNhbXBsZSBub25jZQ",       // unpadded
            "dGhlIHNhbXBsZSBub25jZR==",     // non-canonical trailing bits
            "dGhlIHNhbXBsZSBub25jZQ=!",     // not base64
            "dGhlIHNhbXBs ZSBub25jZQ==",    // inner space
            "dGhlIHNhbXBsZSBub25jZQ==dGhl", // too long
        ] {
            assert!(malformed(k(bad)).contains("Sec-WebSocket-Key"), "{bad:?}");
        }
        let mut twice = request();
        twice.push(hdr("Sec-WebSocket-Key", KEY));
        assert!(malformed(accept0(&twice)).contains("repeated"));
    }

    #[test]
    fn subprotocols() {
        let r = plus(&[
            hdr("Sec-WebSocket-Protocol", "chat, v2"),
            hdr("Sec-WebSocket-Protocol", "v3"),
        ]);
        let out = accept(Some("v3"), &[], &r).unwrap();
        assert_eq!(out[3], Header::new("Sec-WebSocket-Protocol", "v3"));
        assert_eq!(accept(Some("chat"), &[], &r).unwrap().len(), 4);
        assert_eq!(accept(None, &[], &r).unwrap().len(), 3);
        for not_offered in ["Chat", "v4"] {
            assert_eq!(
                accept(Some(not_offered), &[], &r),
                Err(HandshakeError::SubprotocolNotSupported.into())
            );
        }
        assert_eq!(
            accept(Some("chat"), &[], &request()),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        // Bad argument.
        for bad in ["", "a b", "a, b", "a\r\n"] {
            assert!(matches!(
                accept(Some(bad), &[], &r),
                Err(Error::Misuse(Misuse::InvalidArgument(_)))
            ));
        }
        // Malformed offer.
        let bad = plus(&[hdr("Sec-WebSocket-Protocol", "chat, a/b")]);
        assert!(malformed(accept(None, &[], &bad)).contains("Sec-WebSocket-Protocol"));
    }

    #[test]
    fn extensions() {
        let r = plus(&[
            hdr(
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits, x-foo",
            ),
            hdr("sec-websocket-extensions", "X-Bar; q=\"1\""),
        ]);
        let out = accept(
            None,
            &["x-bar", " Permessage-Deflate; server_no_context_takeover"],
            &r,
        )
        .unwrap();
        assert_eq!(
            out[3],
            Header::new(
                "Sec-WebSocket-Extensions",
                "x-bar, Permessage-Deflate; server_no_context_takeover"
            )
        );
        assert_eq!(
            accept(None, &["x-baz"], &r),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
        assert_eq!(
            accept(None, &["x-foo"], &request()),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
        for bad in ["", "; a", "a b", "a, b", "a\r\n", "a\0"] {
            assert!(matches!(
                accept(None, &[bad], &r),
                Err(Error::Misuse(Misuse::InvalidArgument(_)))
            ));
        }
        assert!(matches!(
            accept(None, &["x-foo", "X-FOO; a=1"], &r),
            Err(Error::Misuse(Misuse::InvalidArgument(_)))
        ));
        let bad = plus(&[hdr("Sec-WebSocket-Extensions", "x-foo, ;a=1")]);
        assert!(malformed(accept(None, &[], &bad)).contains("Sec-WebSocket-Extensions"));
    }

    #[test]
    fn caps() {
        let mut at = request();
        at.resize(MAX_HEADER_COUNT, hdr("X-Pad", "1"));
        assert!(accept0(&at).is_ok());
        at.push(hdr("X-Pad", "1"));
        assert!(malformed(accept0(&at)).contains("MAX_HEADER_COUNT"));

        let used: usize = request().iter().map(|h| h.name.len() + h.value.len()).sum();
        let pad = "p".repeat(MAX_HEADER_BYTES - used - 1);
        assert!(accept0(&plus(&[hdr("X", &pad)])).is_ok());
        let pad = "p".repeat(MAX_HEADER_BYTES - used);
        let over = plus(&[hdr("X", &pad)]);
        assert!(malformed(accept0(&over)).contains("MAX_HEADER_BYTES"));
        // The caps come before everything, bad arguments included.
        assert!(malformed(accept(Some("bad token"), &[], &over)).contains("MAX_HEADER_BYTES"));
    }

    #[test]
    fn linear_work_sanity() {
        // 100 headers of 150 bytes each, most of them repeats of the list headers.
        let list = format!("{}x", "a, ".repeat(43));
        let mut r = request();
        for i in 0..95 {
            let name = match i % 5 {
                0 => "Upgrade",
                1 => "Connection",
                2 => "Sec-WebSocket-Protocol",
                3 => "Sec-WebSocket-Extensions",
                _ => "X-Filler-Header",
            };
            r.push(hdr(name, &list));
        }
        assert_eq!(r.len(), 100);
        let out = accept(Some("x"), &["a", "x"], &r).unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(
            accept(Some("y"), &[], &r),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );

        // One header with a 15 KiB comma list of empty elements, for each list header.
        let commas = ",".repeat(15 * 1024);
        for name in [
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Extensions",
        ] {
            let r = plus(&[hdr(name, &commas)]);
            assert!(accept0(&r).is_ok(), "{name}");
        }
        // A version list of many elements.
        let many = format!("13{}", ", 13".repeat(3000));
        assert_eq!(
            accept0(&with("Sec-WebSocket-Version", &many)),
            Err(HandshakeError::UnsupportedVersion.into())
        );
    }

    fn round_trip(
        subs: &[&str],
        exts: &[&str],
        pick_sub: Option<&str>,
        pick_exts: &[&str],
    ) -> Result<Negotiated, Error> {
        let nonce: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let (hs, added) = ClientHandshake::begin(nonce, subs, exts, &[hdr("Host", "h")]).unwrap();
        let mut request: Vec<HeaderRef<'_>> = vec![hdr("Host", "h")];
        request.extend(added.iter().map(Header::as_header_ref));
        let response = accept(pick_sub, pick_exts, &request)?;
        let response: Vec<HeaderRef<'_>> = response.iter().map(Header::as_header_ref).collect();
        hs.end(&response)
    }

    #[test]
    fn round_trips() {
        assert_eq!(round_trip(&[], &[], None, &[]), Ok(Negotiated::default()));
        assert_eq!(
            round_trip(&["chat", "superchat"], &[], Some("superchat"), &[]),
            Ok(Negotiated {
                subprotocol: Some(1),
                extensions: vec![]
            })
        );
        assert_eq!(
            round_trip(
                &["chat"],
                &[
                    "permessage-deflate; client_max_window_bits",
                    "x-foo",
                    "x-bar"
                ],
                Some("chat"),
                &["x-bar; a=1", "permessage-deflate"]
            ),
            Ok(Negotiated {
                subprotocol: Some(0),
                extensions: vec![2, 0]
            })
        );
        // Extensions offered, none accepted.
        assert_eq!(
            round_trip(&[], &["x-foo"], None, &[]),
            Ok(Negotiated::default())
        );
        // The server picks no subprotocol while the client offered some (spec §9 Q10).
        assert_eq!(
            round_trip(&["chat"], &[], None, &[]),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        // The server cannot select what was not offered.
        assert_eq!(
            round_trip(&["chat"], &[], Some("other"), &[]),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        assert_eq!(
            round_trip(&[], &["x-foo"], None, &["x-bar"]),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
    }
}
