//! The client side of the opening handshake (RFC 6455 §4.1): `WebSocketBeginClientHandshake` and
//! `WebSocketEndClientHandshake`.

use std::collections::BTreeSet;

use super::key::{accept_key, generate_key};
use super::{
    all_elements, check_caps, check_extension_arg, check_upgrade, extension_index, extension_name,
    is_token, join_list, lowercase_into, scan, trim_ows, Header, HeaderRef, Negotiated, CONNECTION,
    MAX_HEADER_BYTES, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE, VERSION,
};
use crate::error::{Error, HandshakeError};

/// The state a client keeps between [`begin`](Self::begin) and [`end`](Self::end): the key it sent and
/// what it offered.
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    key: String,
    accept: String,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
}

impl ClientHandshake {
    /// `WebSocketBeginClientHandshake`: checks the arguments and returns the handshake state and the
    /// headers the application must add to its `GET` request (replacing any same-named header of its
    /// own).
    ///
    /// Arguments:
    /// - `nonce`: 16 fresh random bytes; the key is their base64 encoding (RFC 6455 §4.1).
    /// - `subprotocols`: offered subprotocols, in order of preference; each a token, all distinct
    ///   (RFC 6455 §4.1).
    /// - `extensions`: offered extensions, one per entry (a name, optionally followed by `;`
    ///   parameters); each non-empty, without CR, LF, NUL or comma, and with a token name (RFC 6455
    ///   §9.1). Several entries may share a name (several offers of one extension).
    /// - `initial_headers`: the headers the application will send. They are only checked: names must be
    ///   tokens, values without CR, LF or NUL, and the list within [`MAX_HEADER_COUNT`](super::MAX_HEADER_COUNT)
    ///   and [`MAX_HEADER_BYTES`]. `Host` is not required (spec §9 Q4).
    ///
    /// The headers returned are `Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version: 13`, then `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`
    /// (comma-joined) when the lists are non-empty.
    ///
    /// # Errors
    ///
    /// Any bad argument gives [`Misuse::InvalidArgument`](crate::error::Misuse::InvalidArgument), as does
    /// a subprotocol or extension list whose joined value would exceed [`MAX_HEADER_BYTES`] (a server
    /// with the same caps would refuse it).
    pub fn begin(
        nonce: [u8; 16],
        subprotocols: &[&str],
        extensions: &[&str],
        initial_headers: &[HeaderRef<'_>],
    ) -> Result<(Self, Vec<Header>), Error> {
        check_caps(initial_headers).map_err(Error::arg)?;
        // The initial headers are only checked (one pass, nothing kept).
        let [] = scan(initial_headers, []).map_err(Error::arg)?;

        // RFC 6455 §4.1 (Sec-WebSocket-Protocol): each element a token, all unique.
        let mut seen = BTreeSet::new();
        for &p in subprotocols {
            if !is_token(p.as_bytes()) {
                return Err(Error::arg("subprotocol is not a token (RFC 6455 §4.1)"));
            }
            if !seen.insert(p) {
                return Err(Error::arg("subprotocol offered twice (RFC 6455 §4.1)"));
            }
        }
        let mut trimmed = Vec::with_capacity(extensions.len());
        for &e in extensions {
            trimmed.push(check_extension_arg(e).map_err(Error::arg)?);
        }
        let protocol_value = join_list(subprotocols.iter().copied());
        let extensions_value = join_list(trimmed.iter().copied());
        if protocol_value.len() > MAX_HEADER_BYTES || extensions_value.len() > MAX_HEADER_BYTES {
            return Err(Error::arg(
                "subprotocol or extension list longer than MAX_HEADER_BYTES",
            ));
        }

        let key = generate_key(nonce);
        // RFC 6455 §4.1, client requirements 4–9.
        let mut headers = vec![
            Header::new(CONNECTION, "Upgrade"),
            Header::new(UPGRADE, "websocket"),
            Header::new(SEC_WEBSOCKET_KEY, key.clone()),
            Header::new(SEC_WEBSOCKET_VERSION, VERSION.to_string()),
        ];
        if !subprotocols.is_empty() {
            headers.push(Header::new(SEC_WEBSOCKET_PROTOCOL, protocol_value));
        }
        if !extensions.is_empty() {
            headers.push(Header::new(SEC_WEBSOCKET_EXTENSIONS, extensions_value));
        }
        let state = Self {
            accept: accept_key(key.as_bytes()),
            key,
            subprotocols: subprotocols.iter().map(|&s| s.to_owned()).collect(),
            extensions: extensions.iter().map(|&s| s.to_owned()).collect(),
        };
        Ok((state, headers))
    }

    /// `WebSocketEndClientHandshake`: checks the server's response headers (the status line is the
    /// application's business) and returns what was negotiated.
    ///
    /// # Errors
    ///
    /// Checked in this order (RFC 6455 §4.1, the client's checks of the response):
    /// 1. the caps, then each header's syntax → [`HandshakeError::Malformed`];
    /// 2. `Upgrade` holds the token `websocket` and `Connection` the token `upgrade`
    ///    (case-insensitive) → else `Malformed`;
    /// 3. exactly one `Sec-WebSocket-Accept`, equal to the accept value of the key sent → else
    ///    `Malformed`;
    /// 4. `Sec-WebSocket-Protocol`, if present, holds exactly one token (else `Malformed`) that is one
    ///    of the offered subprotocols, compared case-sensitively → its index; a subprotocol not offered,
    ///    or none while some were offered, → [`HandshakeError::SubprotocolNotSupported`] (spec §9 Q10);
    /// 5. each `Sec-WebSocket-Extensions` element has a token name (else `Malformed`) equal,
    ///    case-insensitively, to the name of an offered extension → the index of the first offer with
    ///    that name, in response order; a name not offered, or answered twice, →
    ///    [`HandshakeError::ExtensionNotSupported`].
    pub fn end(&self, response_headers: &[HeaderRef<'_>]) -> Result<Negotiated, Error> {
        check_caps(response_headers).map_err(Error::malformed)?;
        let [upgrade, connection, accept, protocol, extensions] = scan(
            response_headers,
            [
                UPGRADE,
                CONNECTION,
                SEC_WEBSOCKET_ACCEPT,
                SEC_WEBSOCKET_PROTOCOL,
                SEC_WEBSOCKET_EXTENSIONS,
            ],
        )
        .map_err(Error::malformed)?;

        check_upgrade(&upgrade, &connection)?;
        // RFC 6455 §4.1, client check 4: Sec-WebSocket-Accept is base64(SHA-1(key + GUID)).
        let got = match accept.as_slice() {
            [] => return Err(Error::malformed("Sec-WebSocket-Accept header missing")),
            [one] => trim_ows(one),
            _ => return Err(Error::malformed("Sec-WebSocket-Accept header repeated")),
        };
        if got != self.accept.as_bytes() {
            return Err(Error::malformed(
                "Sec-WebSocket-Accept does not match the key sent",
            ));
        }

        let subprotocol = self.negotiated_subprotocol(&protocol)?;
        let extensions = self.negotiated_extensions(&extensions)?;
        Ok(Negotiated {
            subprotocol,
            extensions,
        })
    }

    /// RFC 6455 §4.1, client check 6, and spec §9 Q10.
    fn negotiated_subprotocol(&self, values: &[&[u8]]) -> Result<Option<usize>, Error> {
        if values.is_empty() {
            if self.subprotocols.is_empty() {
                return Ok(None);
            }
            return Err(HandshakeError::SubprotocolNotSupported.into());
        }
        // RFC 6455 §4.2.2 item 5.5 / §11.3.4: the server answers with a single token.
        let mut elements = all_elements(values);
        let chosen = match (elements.next(), elements.next()) {
            (Some(one), None) if is_token(one) => one,
            _ => {
                return Err(Error::malformed(
                    "Sec-WebSocket-Protocol must hold exactly one token",
                ))
            }
        };
        // RFC 6455 §4.1: subprotocol names compare case-sensitively.
        match self
            .subprotocols
            .iter()
            .position(|p| p.as_bytes() == chosen)
        {
            Some(i) => Ok(Some(i)),
            None => Err(HandshakeError::SubprotocolNotSupported.into()),
        }
    }

    /// RFC 6455 §4.1, client check 5 (extensions must have been offered), spec §9 Q12.
    fn negotiated_extensions(&self, values: &[&[u8]]) -> Result<Vec<usize>, Error> {
        let mut selected = Vec::new();
        if values.is_empty() {
            return Ok(selected);
        }
        let offered = extension_index(&self.extensions);
        let mut answered = vec![false; self.extensions.len()];
        let mut buf = Vec::new();
        for element in all_elements(values) {
            // RFC 6455 §9.1: extension = extension-token *( ";" extension-param ).
            let name = extension_name(element);
            if !is_token(name) {
                return Err(Error::malformed(
                    "Sec-WebSocket-Extensions element without a token name",
                ));
            }
            let index = offered.get(lowercase_into(&mut buf, name)).copied();
            match index.and_then(|i| answered.get_mut(i).map(|seen| (i, seen))) {
                Some((i, seen)) if !*seen => {
                    *seen = true;
                    selected.push(i);
                }
                _ => return Err(HandshakeError::ExtensionNotSupported.into()),
            }
        }
        Ok(selected)
    }

    /// The `Sec-WebSocket-Key` this handshake sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The offered subprotocols, as given to [`begin`](Self::begin).
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The offered extensions, as given to [`begin`](Self::begin).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Misuse;
    use crate::handshake::{hdr, MAX_HEADER_COUNT};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    const NONCE: [u8; 16] = *b"the sample nonce";
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn malformed(e: Result<Negotiated, Error>) -> &'static str {
        match e {
            Err(Error::Handshake(HandshakeError::Malformed(m))) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn is_arg<T: core::fmt::Debug>(r: Result<T, Error>) -> bool {
        matches!(r, Err(Error::Misuse(Misuse::InvalidArgument(_))))
    }

    fn begin(subs: &[&str], exts: &[&str]) -> ClientHandshake {
        ClientHandshake::begin(NONCE, subs, exts, &[]).unwrap().0
    }

    fn base_response() -> Vec<HeaderRef<'static>> {
        vec![
            hdr("Upgrade", "websocket"),
            hdr("Connection", "Upgrade"),
            hdr("Sec-WebSocket-Accept", ACCEPT),
        ]
    }

    #[test]
    fn begin_emits_headers() {
        let (hs, headers) = ClientHandshake::begin(NONCE, &[], &[], &[]).unwrap();
        assert_eq!(hs.key(), KEY);
        assert!(hs.subprotocols().is_empty() && hs.extensions().is_empty());
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Connection", "Upgrade"),
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Key", KEY),
                ("Sec-WebSocket-Version", "13"),
            ]
        );
        assert_eq!(STANDARD.decode(hs.key()).unwrap().len(), 16);
    }

    #[test]
    fn begin_emits_lists() {
        let (hs, headers) = ClientHandshake::begin(
            NONCE,
            &["chat", "v2.chat"],
            &["permessage-deflate; client_max_window_bits", " x-foo "],
            &[hdr("Host", "example.com"), hdr("Origin", "http://a")],
        )
        .unwrap();
        assert_eq!(hs.subprotocols(), ["chat", "v2.chat"]);
        assert_eq!(
            hs.extensions(),
            ["permessage-deflate; client_max_window_bits", " x-foo "]
        );
        assert_eq!(headers.len(), 6);
        assert_eq!(
            headers[4],
            Header::new("Sec-WebSocket-Protocol", "chat, v2.chat")
        );
        assert_eq!(
            headers[5],
            Header::new(
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits, x-foo"
            )
        );
    }

    #[test]
    fn begin_rejects_bad_arguments() {
        let b =
            |s: &[&str], e: &[&str], h: &[HeaderRef<'_>]| ClientHandshake::begin(NONCE, s, e, h);
        for s in ["", "a b", "a,b", "a/b", "a\r\n", "é"] {
            assert!(is_arg(b(&[s], &[], &[])), "{s:?}");
        }
        assert!(is_arg(b(&["a", "b", "a"], &[], &[])));
        for e in ["", " ", "; x=1", "a b", "a, b", "a\r\nX: y", "a\0", "é"] {
            assert!(is_arg(b(&[], &[e], &[])), "{e:?}");
        }
        for h in [
            hdr("Bad:Name", "v"),
            hdr("Bad Name", "v"),
            hdr("", "v"),
            hdr("X", "a\r\nb"),
            hdr("X", "a\0"),
        ] {
            assert!(is_arg(b(&[], &[], &[h])), "{h:?}");
        }
        // Same-named extension offers are allowed; case differs from subprotocol duplicates.
        assert!(b(&["a", "A"], &["foo; x", "foo; y"], &[]).is_ok());
        // Host is not required (spec §9 Q4).
        assert!(b(&[], &[], &[hdr("Connection", "Upgrade")]).is_ok());
    }

    #[test]
    fn begin_caps_on_initial_headers() {
        let h = hdr("X-A", "1");
        assert!(ClientHandshake::begin(NONCE, &[], &[], &vec![h; MAX_HEADER_COUNT]).is_ok());
        assert!(is_arg(ClientHandshake::begin(
            NONCE,
            &[],
            &[],
            &vec![h; MAX_HEADER_COUNT + 1]
        )));
        let at = "v".repeat(MAX_HEADER_BYTES - 1);
        assert!(ClientHandshake::begin(NONCE, &[], &[], &[hdr("X", &at)]).is_ok());
        let over = "v".repeat(MAX_HEADER_BYTES);
        assert!(is_arg(ClientHandshake::begin(
            NONCE,
            &[],
            &[],
            &[hdr("X", &over)]
        )));
        // Offers whose joined value is over the cap.
        let long = "p".repeat(MAX_HEADER_BYTES / 2);
        let long2 = "q".repeat(MAX_HEADER_BYTES / 2);
        assert!(is_arg(ClientHandshake::begin(
            NONCE,
            &[&long, &long2],
            &[],
            &[]
        )));
        assert!(is_arg(ClientHandshake::begin(
            NONCE,
            &[],
            &[&long, &long2],
            &[]
        )));
    }

    #[test]
    fn end_minimal_response() {
        let hs = begin(&[], &[]);
        assert_eq!(hs.end(&base_response()).unwrap(), Negotiated::default());
    }

    #[test]
    fn end_is_case_insensitive_and_reads_lists() {
        let hs = begin(&[], &[]);
        let response = [
            hdr("UPGRADE", "h2c, WebSocket"),
            hdr("connection", "keep-alive"),
            hdr("CONNECTION", " , upGRADE ,"),
            hdr("sec-websocket-accept", " s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\t"),
            hdr("X-Whatever", ""),
        ];
        assert_eq!(hs.end(&response).unwrap(), Negotiated::default());
    }

    #[test]
    fn end_missing_or_bad_required_headers() {
        let hs = begin(&[], &[]);
        let without = |name: &str| -> Vec<HeaderRef<'static>> {
            base_response()
                .into_iter()
                .filter(|h| h.name != name.as_bytes())
                .collect()
        };
        assert!(malformed(hs.end(&without("Upgrade"))).contains("Upgrade"));
        assert!(malformed(hs.end(&without("Connection"))).contains("Connection"));
        assert!(
            malformed(hs.end(&without("Sec-WebSocket-Accept"))).contains("Sec-WebSocket-Accept")
        );

        let with = |name: &'static str, value: &'static str| -> Vec<HeaderRef<'static>> {
            let mut v = without(name);
            v.push(hdr(name, value));
            v
        };
        assert!(malformed(hs.end(&with("Upgrade", "websocket2"))).contains("Upgrade"));
        assert!(malformed(hs.end(&with("Upgrade", "web socket"))).contains("Upgrade"));
        assert!(malformed(hs.end(&with("Connection", "close"))).contains("Connection"));
        assert!(malformed(hs.end(&with("Connection", ""))).contains("Connection"));
        // A wrong accept, or one with a different case (base64 is case-sensitive).
        assert!(malformed(hs.end(&with("Sec-WebSocket-Accept", "AAAA"))).contains("Accept"));
        assert!(malformed(hs.end(&with(
            "Sec-WebSocket-Accept",
            "S3PPLMBITXAQ9KYGZZHZRBK+XOO="
        )))
        .contains("Accept"));
        // Repeated accept, even with the right value.
        let mut twice = base_response();
        twice.push(hdr("Sec-WebSocket-Accept", ACCEPT));
        assert!(malformed(hs.end(&twice)).contains("repeated"));
        // Bad header syntax anywhere.
        let mut bad = base_response();
        bad.push(hdr("X Y", "1"));
        malformed(hs.end(&bad));
        let mut bad = base_response();
        bad.push(hdr("X", "1\n2"));
        malformed(hs.end(&bad));
        let mut bad = base_response();
        bad.push(hdr("Set-Cookie:", "1"));
        malformed(hs.end(&bad));
    }

    #[test]
    fn end_subprotocols() {
        let with = |v: &[&'static str]| {
            let mut r = base_response();
            r.extend(v.iter().map(|v| hdr("Sec-WebSocket-Protocol", v)));
            r
        };
        let hs = begin(&["chat", "superchat"], &[]);
        assert_eq!(hs.end(&with(&["superchat"])).unwrap().subprotocol, Some(1));
        assert_eq!(hs.end(&with(&[" chat "])).unwrap().subprotocol, Some(0));
        // Repeated headers form one list: an extra empty header is harmless.
        assert_eq!(hs.end(&with(&["", "chat,"])).unwrap().subprotocol, Some(0));
        // Case-sensitive (RFC 6455 §4.1).
        assert_eq!(
            hs.end(&with(&["Chat"])),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        assert_eq!(
            hs.end(&with(&["other"])),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        // None returned while some offered (spec §9 Q10).
        assert_eq!(
            hs.end(&base_response()),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
        // Not exactly one token.
        malformed(hs.end(&with(&["chat, superchat"])));
        malformed(hs.end(&with(&["chat", "chat"])));
        malformed(hs.end(&with(&[""])));
        malformed(hs.end(&with(&["ch at"])));
        // Nothing offered.
        let none = begin(&[], &[]);
        assert_eq!(none.end(&base_response()).unwrap().subprotocol, None);
        assert_eq!(
            none.end(&with(&["chat"])),
            Err(HandshakeError::SubprotocolNotSupported.into())
        );
    }

    #[test]
    fn end_extensions() {
        let with = |v: &[&'static str]| {
            let mut r = base_response();
            r.extend(v.iter().map(|v| hdr("Sec-WebSocket-Extensions", v)));
            r
        };
        let hs = begin(
            &[],
            &[
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate",
                "x-foo",
            ],
        );
        let got = |v: &[&'static str]| hs.end(&with(v)).map(|n| n.extensions);
        assert_eq!(got(&[]), Ok(vec![]));
        assert_eq!(got(&[""]), Ok(vec![]));
        assert_eq!(got(&["x-foo"]), Ok(vec![2]));
        // Response order; case-insensitive names; parameters ignored; repeated headers joined.
        assert_eq!(
            got(&["X-FOO, ", "Permessage-Deflate; server_no_context_takeover"]),
            Ok(vec![2, 0])
        );
        assert_eq!(
            got(&["x-bar"]),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
        // Answered twice.
        assert_eq!(
            got(&["x-foo", "x-foo; a=1"]),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
        assert_eq!(
            got(&["permessage-deflate, permessage-deflate"]),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
        // Bad element names.
        malformed(hs.end(&with(&["; a=1"])));
        malformed(hs.end(&with(&["x foo"])));
        malformed(hs.end(&with(&["x-foo; a=\"1,2\""])));
        // Nothing offered.
        let none = begin(&[], &[]);
        assert_eq!(
            none.end(&with(&["x-foo"])),
            Err(HandshakeError::ExtensionNotSupported.into())
        );
    }

    #[test]
    fn end_caps() {
        let hs = begin(&[], &[]);
        let mut at = base_response();
        at.resize(MAX_HEADER_COUNT, hdr("X-Pad", "1"));
        assert!(hs.end(&at).is_ok());
        at.push(hdr("X-Pad", "1"));
        assert!(malformed(hs.end(&at)).contains("MAX_HEADER_COUNT"));

        let used: usize = base_response()
            .iter()
            .map(|h| h.name.len() + h.value.len())
            .sum();
        let pad = "p".repeat(MAX_HEADER_BYTES - used - 1);
        let mut at = base_response();
        at.push(hdr("X", &pad));
        assert!(hs.end(&at).is_ok());
        let pad = "p".repeat(MAX_HEADER_BYTES - used);
        let mut over = base_response();
        over.push(hdr("X", &pad));
        assert!(malformed(hs.end(&over)).contains("MAX_HEADER_BYTES"));
        // The caps come first: an over-long list is refused even if otherwise malformed.
        let mut both = over.clone();
        both.push(hdr("Bad Name", "x"));
        assert!(malformed(hs.end(&both)).contains("MAX_HEADER_BYTES"));
    }

    #[test]
    fn end_linear_work_sanity() {
        // 100 headers of 150 bytes each, many of them repeats of the list headers.
        let hs = begin(&["p"], &["e"]);
        let filler = "a,".repeat(70);
        let upgrade_filler = format!("{}{}", "x, ".repeat(45), "websocket");
        let mut r: Vec<HeaderRef<'_>> = base_response();
        for i in 0..97 {
            let h = match i % 4 {
                0 => hdr("Upgrade", &upgrade_filler),
                1 => hdr("Connection", &filler),
                2 => hdr("Sec-WebSocket-Extensions", &filler),
                _ => hdr("X-Filler-Header", &filler),
            };
            r.push(h);
        }
        r.push(hdr("Sec-WebSocket-Protocol", "p"));
        // 'a' was not offered as an extension.
        assert_eq!(
            hs.end(&r),
            Err(HandshakeError::ExtensionNotSupported.into())
        );

        // One header with a 15 KiB comma list of empty elements.
        let commas = ",".repeat(15 * 1024);
        for name in [
            "Sec-WebSocket-Extensions",
            "Sec-WebSocket-Protocol",
            "Connection",
        ] {
            let mut r = vec![
                hdr("Upgrade", "websocket"),
                hdr("Connection", "Upgrade"),
                hdr("Sec-WebSocket-Accept", ACCEPT),
                hdr("Sec-WebSocket-Protocol", "p"),
            ];
            r.push(hdr(name, &commas));
            let res = hs.end(&r);
            if name == "Sec-WebSocket-Protocol" {
                // "p" plus an empty list: still one token.
                assert_eq!(res.unwrap().subprotocol, Some(0));
            } else {
                assert_eq!(
                    res.unwrap(),
                    Negotiated {
                        subprotocol: Some(0),
                        extensions: vec![]
                    }
                );
            }
        }
    }
}
