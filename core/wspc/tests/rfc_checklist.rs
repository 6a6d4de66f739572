//! One test per item of the RFC 6455 enforcement checklist (spec §10), plus the RFC's own vectors:
//! the example key → accept, the §5.7 "Hello" frames, and the 256-byte and 64 KiB length encodings.
//!
//! Frames are crafted by hand and fed to a session's network reads; failures are checked as typed
//! errors with their close status and HRESULT.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::HashSet;
use wspc::frame::{FrameHeader, Opcode, RSV1, RSV2, RSV3};
use wspc::handshake::client::ClientHandshake;
use wspc::handshake::key::accept_key;
use wspc::mask::apply_mask;
use wspc::{
    ActionKind, BufferType, CloseStatus, Error, HResult, HandshakeError, Misuse, Property,
    ProtocolError, Queue, Role, Session,
};
use wspc_testkit::data::pattern;
use wspc_testkit::errors::invalid_state;
use wspc_testkit::frame::*;
use wspc_testkit::headers::*;
use wspc_testkit::pair::*;
use wspc_testkit::parse::*;

const ROLES: [Role; 2] = [Role::Client, Role::Server];

/// Feeding `bytes` to a fresh open handle of `role` fails with `want`, close status `status`.
fn fails(role: Role, bytes: &[u8], want: ProtocolError, status: u16) {
    let mut side = open(role, &[]);
    let e = side.feed(bytes).unwrap_err();
    assert_eq!(e, Error::Protocol(want), "{role:?} fed {bytes:x?}");
    assert_eq!(e.close_status(), Some(CloseStatus(status)));
    assert_eq!(e.hresult(), HResult::E_INVALID_PROTOCOL_FORMAT);
    assert_eq!(side.session.fault(), Some(want));
}

/// What a fresh open handle of `role` receives from `bytes` (panics on an error).
fn gets(role: Role, bytes: &[u8]) -> (Vec<Got>, Side) {
    let mut side = open(role, &[]);
    let got = side.feed(bytes).unwrap();
    (got, side)
}

/// The bytes a fresh open handle of `role` writes after `f`.
fn written(role: Role, f: impl FnOnce(&mut Ws)) -> Vec<u8> {
    let mut side = open(role, &[]);
    f(&mut side.session);
    side.drive_alone();
    side.wire
}

fn is_handshake(r: Result<wspc::Negotiated, Error>, want: HandshakeError) -> bool {
    matches!(r, Err(Error::Handshake(h)) if h == want)
}

fn is_malformed<T: core::fmt::Debug>(r: &Result<T, Error>) -> bool {
    let ok = matches!(r, Err(Error::Handshake(HandshakeError::Malformed(_))));
    if ok {
        assert_eq!(
            r.as_ref().unwrap_err().hresult(),
            HResult::E_INVALID_PROTOCOL_FORMAT
        );
    }
    ok
}

// ----- handshake ------------------------------------------------------------------------------

#[test]
fn handshake_client_request_has_required_headers() {
    let mut keys = HashSet::new();
    for _ in 0..8 {
        let mut c: Ws = Session::client(&[]).unwrap();
        let out = c
            .begin_client_handshake(
                &["chat", "superchat"],
                &["x-foo; a=1"],
                &[hdr("Host", "example.com")],
            )
            .unwrap();
        let tokens = |name| -> Vec<String> {
            values(&out, name)
                .iter()
                .flat_map(|v| v.split(','))
                .map(|t| t.trim().to_ascii_lowercase())
                .collect()
        };
        assert!(
            tokens("Upgrade").contains(&"websocket".to_owned()),
            "{out:?}"
        );
        assert!(
            tokens("Connection").contains(&"upgrade".to_owned()),
            "{out:?}"
        );
        assert_eq!(values(&out, "Sec-WebSocket-Version"), ["13"]);
        assert_eq!(values(&out, "Sec-WebSocket-Protocol"), ["chat, superchat"]);
        assert_eq!(values(&out, "Sec-WebSocket-Extensions"), ["x-foo; a=1"]);
        let key = values(&out, "Sec-WebSocket-Key");
        assert_eq!(key.len(), 1);
        assert_eq!(STANDARD.decode(key[0]).unwrap().len(), 16, "{key:?}");
        keys.insert(key[0].to_owned());
        // Header names are tokens and values are free of CR and LF.
        for h in &out {
            assert!(h.name.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
            assert!(!h.value.contains(['\r', '\n', '\0']));
        }
    }
    assert_eq!(keys.len(), 8, "every handle draws a fresh nonce");
}

#[test]
fn accept_key_rfc_vector() {
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
    // The server computes it over the key as sent.
    let mut s: Ws = Session::server(&[]).unwrap();
    let out = s
        .begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Key", Some(KEY)))
        .unwrap();
    assert_eq!(values(&out, "Sec-WebSocket-Accept"), [ACCEPT]);
    // The client with the RFC's nonce sends the RFC's key and accepts the RFC's answer only.
    let (hs, headers) = ClientHandshake::begin(*b"the sample nonce", &[], &[], &[]).unwrap();
    assert_eq!(values(&headers, "Sec-WebSocket-Key"), [KEY]);
    let response = |accept| {
        vec![
            hdr("Upgrade", "websocket"),
            hdr("Connection", "Upgrade"),
            hdr("Sec-WebSocket-Accept", accept),
        ]
    };
    assert!(hs.end(&response(ACCEPT)).is_ok());
    assert!(is_malformed(
        &hs.end(&response("s3pPLMBiTxaQ9kYGzzhZRbK+xOp="))
    ));
}

#[test]
fn server_rejects_key_not_16_bytes() {
    let good = "AAAAAAAAAAAAAAAAAAAAAA==";
    assert_eq!(STANDARD.decode(good).unwrap().len(), 16);
    let mut s: Ws = Session::server(&[]).unwrap();
    assert!(s
        .begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Key", Some(good)))
        .is_ok());
    let fifteen = STANDARD.encode([7u8; 15]);
    let seventeen = STANDARD.encode([7u8; 17]);
    let unpadded = "AAAAAAAAAAAAAAAAAAAAAA";
    let not_base64 = "!!!!!!!!!!!!!!!!!!!!!!==";
    for key in [&*fifteen, &*seventeen, unpadded, not_base64, ""] {
        let mut s: Ws = Session::server(&[]).unwrap();
        let r = s.begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Key", Some(key)));
        assert!(is_malformed(&r), "key {key:?}: {r:?}");
        assert!(!s.is_open());
    }
    let mut s: Ws = Session::server(&[]).unwrap();
    let r = s.begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Key", None));
    assert!(is_malformed(&r), "missing key: {r:?}");
    let mut twice = request_with("Host", Some("h"));
    twice.push(hdr("Sec-WebSocket-Key", good));
    let mut s: Ws = Session::server(&[]).unwrap();
    assert!(is_malformed(&s.begin_server_handshake(None, &[], &twice)));
}

#[test]
fn server_rejects_other_version_with_unsupported_version() {
    for v in ["8", "12", "14", "0", "255", "13, 8", "8, 13"] {
        let mut s: Ws = Session::server(&[]).unwrap();
        let e = s
            .begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Version", Some(v)))
            .unwrap_err();
        assert_eq!(
            e,
            Error::Handshake(HandshakeError::UnsupportedVersion),
            "{v}"
        );
        assert_eq!(e.hresult(), HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED);
    }
    for v in ["abc", "013", "256", ""] {
        let mut s: Ws = Session::server(&[]).unwrap();
        let r =
            s.begin_server_handshake(None, &[], &request_with("Sec-WebSocket-Version", Some(v)));
        assert!(is_malformed(&r), "{v:?}: {r:?}");
    }
    // The version the application puts in its 426 answer.
    assert_eq!(
        wspc::properties::global_property(wspc::PropertyType::SupportedVersions),
        Ok(wspc::properties::GlobalProperty::SupportedVersions(&[13]))
    );
    let mut s: Ws = Session::server(&[]).unwrap();
    assert!(s
        .begin_server_handshake(
            None,
            &[],
            &request_with("Sec-WebSocket-Version", Some(" 13 "))
        )
        .is_ok());
}

/// A client whose handshake has begun, with the response a conforming server gives.
fn client_and_response(subprotocols: &[&str], extensions: &[&str]) -> (Ws, Vec<wspc::Header>) {
    let mut c: Ws = Session::client(&[]).unwrap();
    let req = c
        .begin_client_handshake(subprotocols, extensions, &[])
        .unwrap();
    let mut r = refs(&req);
    r.push(hdr("Host", "h"));
    let mut s: Ws = Session::server(&[]).unwrap();
    let resp = s
        .begin_server_handshake(subprotocols.first().copied(), &[], &r)
        .unwrap();
    (c, resp)
}

fn replaced<'a>(
    resp: &'a [wspc::Header],
    name: &'a str,
    value: Option<&'a str>,
) -> Vec<wspc::HeaderRef<'a>> {
    let mut r: Vec<_> = refs(resp)
        .into_iter()
        .filter(|h| !h.name.eq_ignore_ascii_case(name.as_bytes()))
        .collect();
    if let Some(v) = value {
        r.push(hdr(name, v));
    }
    r
}

#[test]
fn client_fails_on_bad_accept() {
    let (mut c, resp) = client_and_response(&[], &[]);
    let accept = values(&resp, "Sec-WebSocket-Accept")[0].to_owned();
    let other = accept_key(b"AAAAAAAAAAAAAAAAAAAAAA==");
    let lower = accept.to_ascii_lowercase();
    let mut twice = refs(&resp);
    twice.push(hdr("Sec-WebSocket-Accept", &accept));
    for bad in [
        replaced(&resp, "Sec-WebSocket-Accept", Some(&other)),
        replaced(&resp, "Sec-WebSocket-Accept", Some(&lower)),
        replaced(&resp, "Sec-WebSocket-Accept", Some("")),
        replaced(&resp, "Sec-WebSocket-Accept", None),
        twice,
    ] {
        let r = c.end_client_handshake(&bad);
        assert!(is_malformed(&r), "{bad:?}: {r:?}");
        assert!(!c.is_open());
    }
    // The exact accept still opens the handle afterwards.
    assert_eq!(
        c.end_client_handshake(&refs(&resp)),
        Ok(wspc::Negotiated::default())
    );
    assert!(c.is_open());
}

#[test]
fn client_fails_without_upgrade_websocket_or_connection_upgrade() {
    let (mut c, resp) = client_and_response(&[], &[]);
    for bad in [
        replaced(&resp, "Upgrade", None),
        replaced(&resp, "Upgrade", Some("h2c")),
        replaced(&resp, "Upgrade", Some("websocket2")),
        replaced(&resp, "Connection", None),
        replaced(&resp, "Connection", Some("keep-alive")),
        replaced(&resp, "Connection", Some("upgrades")),
    ] {
        let r = c.end_client_handshake(&bad);
        assert!(is_malformed(&r), "{bad:?}: {r:?}");
    }
    // Case-insensitive tokens inside comma lists are fine.
    let mut ok = replaced(&resp, "Upgrade", Some("WebSocket"));
    ok.retain(|h| !h.name.eq_ignore_ascii_case(b"Connection"));
    ok.push(hdr("connection", "keep-alive, UPGRADE"));
    assert!(c.end_client_handshake(&ok).is_ok());
}

#[test]
fn client_fails_on_unoffered_subprotocol_or_extension() {
    let (mut c, resp) = client_and_response(&["chat"], &["x-foo"]);
    let sub = HandshakeError::SubprotocolNotSupported;
    let ext = HandshakeError::ExtensionNotSupported;
    let r = c.end_client_handshake(&replaced(&resp, "Sec-WebSocket-Protocol", Some("other")));
    assert!(is_handshake(r.clone(), sub), "{r:?}");
    assert_eq!(
        r.unwrap_err().hresult(),
        HResult::E_SUBPROTOCOL_NOT_SUPPORTED
    );
    // Subprotocol names compare case-sensitively.
    let r = c.end_client_handshake(&replaced(&resp, "Sec-WebSocket-Protocol", Some("Chat")));
    assert!(is_handshake(r, sub));
    // §9 Q10: none selected while some were offered.
    let r = c.end_client_handshake(&replaced(&resp, "Sec-WebSocket-Protocol", None));
    assert!(is_handshake(r, sub));
    let mut with_ext = refs(&resp);
    with_ext.push(hdr("Sec-WebSocket-Extensions", "x-bar"));
    let r = c.end_client_handshake(&with_ext);
    assert!(is_handshake(r.clone(), ext), "{r:?}");
    assert_eq!(
        r.unwrap_err().hresult(),
        HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
    );
    let mut ok = refs(&resp);
    ok.push(hdr("Sec-WebSocket-Extensions", "X-Foo; y=2"));
    assert_eq!(
        c.end_client_handshake(&ok),
        Ok(wspc::Negotiated {
            subprotocol: Some(0),
            extensions: vec![0],
        })
    );

    // A client that offered nothing fails on any subprotocol or extension.
    let (mut c, resp) = client_and_response(&[], &[]);
    let mut r1 = refs(&resp);
    r1.push(hdr("Sec-WebSocket-Protocol", "chat"));
    assert!(is_handshake(c.end_client_handshake(&r1), sub));
    let mut r2 = refs(&resp);
    r2.push(hdr("Sec-WebSocket-Extensions", "x-foo"));
    assert!(is_handshake(c.end_client_handshake(&r2), ext));
}

#[test]
fn handshake_header_names_must_be_tokens() {
    let bad_names = ["Bad:Name", "Bad Name", "X\u{1}", "", "Bad\u{7f}"];
    // The server refuses them in a request.
    for name in bad_names {
        let mut req = request_with("Host", Some("h"));
        req.push(hdr(name, "v"));
        let mut s: Ws = Session::server(&[]).unwrap();
        let r = s.begin_server_handshake(None, &[], &req);
        assert!(is_malformed(&r), "{name:?}: {r:?}");
    }
    // The client refuses them in a response.
    let (mut c, resp) = client_and_response(&[], &[]);
    for name in bad_names {
        let mut r = refs(&resp);
        r.push(hdr(name, "v"));
        let res = c.end_client_handshake(&r);
        assert!(is_malformed(&res), "{name:?}: {res:?}");
    }
    // Values with CR or LF are refused too (no header injection).
    let mut r = refs(&resp);
    r.push(hdr("X-Injected", "a\r\nSet-Cookie: x"));
    assert!(is_malformed(&c.end_client_handshake(&r)));
    // The client's own initial headers: a caller error.
    for name in bad_names {
        let mut c: Ws = Session::client(&[]).unwrap();
        let e = c
            .begin_client_handshake(&[], &[], &[hdr(name, "v")])
            .unwrap_err();
        assert!(
            matches!(e, Error::Misuse(Misuse::InvalidArgument(_))),
            "{e:?}"
        );
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
    }
}

// ----- framing --------------------------------------------------------------------------------

/// RFC 6455 §5.7: a single-frame unmasked text message.
const UNMASKED_HELLO: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// RFC 6455 §5.7: a single-frame masked text message.
const MASKED_HELLO: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

#[test]
fn rfc_vector_unmasked_hello() {
    let (got, _) = gets(Role::Client, &UNMASKED_HELLO);
    assert_eq!(
        got,
        [Got::Piece(BufferType::Utf8Message, b"Hello".to_vec())]
    );
    let wire = written(Role::Server, |s| {
        s.send(BufferType::Utf8Message, Some(b"Hello".to_vec()), 1)
            .unwrap()
    });
    assert_eq!(wire, UNMASKED_HELLO);
}

#[test]
fn rfc_vector_masked_hello() {
    let (got, _) = gets(Role::Server, &MASKED_HELLO);
    assert_eq!(
        got,
        [Got::Piece(BufferType::Utf8Message, b"Hello".to_vec())]
    );
    // The RFC's key applied to "Hello" gives the RFC's bytes.
    let mut hello = *b"Hello";
    apply_mask(&mut hello, [0x37, 0xfa, 0x21, 0x3d], 0);
    assert_eq!(hello[..], MASKED_HELLO[6..]);
    // A client's "Hello": same first byte, MASK bit and length, payload masked with its own key.
    let wire = written(Role::Client, |c| {
        c.send(BufferType::Utf8Message, Some(b"Hello".to_vec()), 1)
            .unwrap()
    });
    assert_eq!(wire.len(), MASKED_HELLO.len());
    assert_eq!(wire[..2], MASKED_HELLO[..2]);
    let key = &wire[2..6];
    let plain: Vec<u8> = wire[6..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    assert_eq!(plain, b"Hello");
}

#[test]
fn rfc_vector_fragmented_hello() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let last = [0x80, 0x02, 0x6c, 0x6f];
    let (got, _) = gets(Role::Client, &[&first[..], &last[..]].concat());
    assert_eq!(
        got,
        [
            Got::Piece(BufferType::Utf8Fragment, b"Hel".to_vec()),
            Got::Piece(BufferType::Utf8Message, b"lo".to_vec()),
        ]
    );
    let wire = written(Role::Server, |s| {
        s.send(BufferType::Utf8Fragment, Some(b"Hel".to_vec()), 1)
            .unwrap();
        s.send(BufferType::Utf8Message, Some(b"lo".to_vec()), 2)
            .unwrap();
    });
    assert_eq!(wire, [&first[..], &last[..]].concat());
}

#[test]
fn rfc_vector_ping_and_masked_pong() {
    // An unmasked ping "Hello" to a client: answered with a masked pong "Hello".
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (got, side) = gets(Role::Client, &ping);
    assert!(got.is_empty(), "pings are not reported: {got:?}");
    let frames = side.wire_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(side.wire[frames[0].start..][..2], [0x8a, 0x85]);
    assert_eq!(frames[0].payload, b"Hello");
    // The RFC's masked pong "Hello" to a server: reported as a pong.
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (got, side) = gets(Role::Server, &pong);
    assert_eq!(got, [Got::Pong(b"Hello".to_vec())]);
    assert!(side.wire.is_empty());
}

#[test]
fn rfc_vector_256_byte_and_64k_length_encodings() {
    let h256 = [0x82, 0x7E, 0x01, 0x00];
    let h64k = [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
    for (header, len) in [(&h256[..], 256), (&h64k[..], 65536)] {
        let data = pattern(len);
        let wire = written(Role::Server, |s| {
            s.send(BufferType::BinaryMessage, Some(data.clone()), 1)
                .unwrap()
        });
        assert_eq!(wire[..header.len()], *header, "len {len}");
        assert_eq!(wire[header.len()..], data[..]);
        // And received from the exact bytes.
        let (got, _) = gets(Role::Client, &[header, &data].concat());
        assert_eq!(message(&got), (BufferType::BinaryMessage, data));
    }
}

#[test]
fn frame_length_encodings_minimal_and_msb() {
    // What the engine writes: the shortest encoding for each length.
    for (len, header_len) in [
        (0, 2),
        (125, 2),
        (126, 4),
        (65535, 4),
        (65536, 10),
        (70000, 10),
    ] {
        let wire = written(Role::Server, |s| {
            s.send(BufferType::BinaryMessage, Some(vec![1; len]), 1)
                .unwrap()
        });
        let frames = parse_frames(&wire);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].header_len, header_len, "len {len}");
        assert_eq!(frames[0].payload.len(), len);
    }
    // What the engine refuses.
    let non_minimal_16 = [0x82, 0x7E, 0x00, 0x7D];
    let non_minimal_64 = [0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
    let msb = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1];
    fails(
        Role::Client,
        &non_minimal_16,
        ProtocolError::NonMinimalLength,
        1002,
    );
    fails(
        Role::Client,
        &non_minimal_64,
        ProtocolError::NonMinimalLength,
        1002,
    );
    fails(Role::Client, &msb, ProtocolError::LengthMsbSet, 1002);
    // Masked, towards a server.
    let mut masked = non_minimal_16;
    masked[1] |= 0x80;
    fails(
        Role::Server,
        &[&masked[..], &KEY].concat(),
        ProtocolError::NonMinimalLength,
        1002,
    );
}

#[test]
fn sent_frames_have_fin_rsv_opcode_and_mask_bits() {
    for role in ROLES {
        let wire = written(role, |s| {
            s.send(BufferType::Utf8Fragment, Some(b"a".to_vec()), 1)
                .unwrap();
            s.send(BufferType::Utf8Message, Some(b"b".to_vec()), 2)
                .unwrap();
            s.send(BufferType::BinaryMessage, Some(b"c".to_vec()), 3)
                .unwrap();
            s.send(BufferType::PingPong, None, 4).unwrap();
            s.send(BufferType::UnsolicitedPong, None, 5).unwrap();
            s.send_close(CloseStatus::SUCCESS, None, 6).unwrap();
        });
        let frames = parse_frames(&wire);
        let seen: Vec<(bool, u8, Opcode, bool)> = frames
            .iter()
            .map(|f| (f.head.fin, f.head.rsv, f.opcode(), f.head.mask.is_some()))
            .collect();
        let masked = role == Role::Client;
        assert_eq!(
            seen,
            [
                (false, 0, Opcode::Text, masked),
                (true, 0, Opcode::Continuation, masked),
                (true, 0, Opcode::Binary, masked),
                (true, 0, Opcode::Ping, masked),
                (true, 0, Opcode::Pong, masked),
                (true, 0, Opcode::Close, masked),
            ],
            "{role:?}"
        );
        let payloads: Vec<&[u8]> = frames.iter().map(|f| &f.payload[..]).collect();
        assert_eq!(payloads, [&b"a"[..], b"b", b"c", b"", b"", &[0x03, 0xE8]]);
    }
}

#[test]
fn rsv_bits_without_extension_fail_1002() {
    for bits in [RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3] {
        for (opcode, payload) in [(Opcode::Text, &b"x"[..]), (Opcode::Ping, b"")] {
            let b0 = 0x80 | bits << 4 | opcode.as_u8();
            fails(
                Role::Client,
                &raw_frame(b0, None, payload),
                ProtocolError::ReservedBits(bits),
                1002,
            );
            fails(
                Role::Server,
                &raw_frame(b0, Some(KEY), payload),
                ProtocolError::ReservedBits(bits),
                1002,
            );
        }
    }
}

#[test]
fn reserved_opcodes_fail_1002() {
    for op in (0x3..=0x7).chain(0xB..=0xF) {
        fails(
            Role::Client,
            &raw_frame(0x80 | op, None, b"x"),
            ProtocolError::ReservedOpcode(op),
            1002,
        );
        fails(
            Role::Server,
            &raw_frame(0x80 | op, Some(KEY), b"x"),
            ProtocolError::ReservedOpcode(op),
            1002,
        );
    }
}

#[test]
fn server_requires_masked_client_frames() {
    for opcode in [Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Close] {
        fails(
            Role::Server,
            &server_frame(true, opcode, b""),
            ProtocolError::UnmaskedFrame,
            1002,
        );
    }
    let (got, _) = gets(Role::Server, &client_frame(true, Opcode::Binary, b"ok"));
    assert_eq!(got, [Got::Piece(BufferType::BinaryMessage, b"ok".to_vec())]);
    // Unless masking is disabled on the server.
    let mut s = open(Role::Server, &[Property::DisableMasking(true)]);
    let got = s.feed(&server_frame(true, Opcode::Binary, b"ok")).unwrap();
    assert_eq!(got, [Got::Piece(BufferType::BinaryMessage, b"ok".to_vec())]);
}

#[test]
fn client_rejects_masked_server_frames() {
    for opcode in [Opcode::Text, Opcode::Binary, Opcode::Pong, Opcode::Close] {
        fails(
            Role::Client,
            &client_frame(true, opcode, b""),
            ProtocolError::MaskedFrame,
            1002,
        );
    }
    // Even an all-zero key is a masked frame.
    fails(
        Role::Client,
        &raw_frame(0x82, Some([0; 4]), b"x"),
        ProtocolError::MaskedFrame,
        1002,
    );
}

#[test]
fn fresh_mask_key_per_frame() {
    let mut c = client();
    let mut payloads = Vec::new();
    for i in 0..24u32 {
        let p = pattern(i as usize * 7 + 1);
        c.session
            .send(BufferType::BinaryMessage, Some(p.clone()), i)
            .unwrap();
        payloads.push(p);
    }
    c.session.send(BufferType::PingPong, None, 100).unwrap();
    c.session
        .send_close(CloseStatus::SUCCESS, Some(b"bye".to_vec()), 101)
        .unwrap();
    c.drive_alone();
    let mut keys = HashSet::new();
    let mut rest = &c.wire[..];
    let mut n = 0;
    while !rest.is_empty() {
        let Ok(wspc::frame::Status::Complete((h, len))) = FrameHeader::decode(rest) else {
            panic!("bad frame");
        };
        let key = h.mask.expect("client frames are masked");
        keys.insert(key);
        let body = &rest[len..len + h.payload_len as usize];
        // RFC 6455 §5.3: transformed[i] = original[i] XOR key[i mod 4].
        let plain: Vec<u8> = body
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        if n < payloads.len() {
            assert_eq!(plain, payloads[n]);
            // A payload shorter than the key may legitimately come out unchanged (a 1-byte
            // payload does under any key whose first byte is 0, 1 time in 256); from 4 bytes
            // on, unchanged would mean the all-zero key, which is refused below.
            if payloads[n].len() >= 4 {
                assert_ne!(body, &payloads[n][..], "payload went out unmasked");
            }
        } else if h.opcode == Opcode::Close {
            assert_eq!(plain, close_payload(1000, b"bye"));
        }
        rest = &rest[len + h.payload_len as usize..];
        n += 1;
    }
    assert_eq!(n, 26);
    assert_eq!(keys.len(), 26, "a key was reused");
    assert!(!keys.contains(&[0; 4]));
}

// ----- control frames -------------------------------------------------------------------------

#[test]
fn control_frame_payload_max_125_and_fin() {
    for role in ROLES {
        // 125 bytes is fine, and answered in full.
        let (got, side) = gets(role, &frame_to(role, true, Opcode::Ping, &pattern(125)));
        assert!(got.is_empty());
        let frames = side.wire_frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload, pattern(125));
        // 126 bytes is not.
        for opcode in [Opcode::Ping, Opcode::Pong, Opcode::Close] {
            let mut long = frame_to(role, true, opcode, &pattern(126));
            fails(role, &long, ProtocolError::ControlFrameTooLong, 1002);
            // Already refused from its first two bytes.
            long.truncate(2);
            fails(role, &long, ProtocolError::ControlFrameTooLong, 1002);
            fails(
                role,
                &frame_to(role, false, opcode, b""),
                ProtocolError::FragmentedControlFrame,
                1002,
            );
        }
    }
    // Our own control frames stay within 125 bytes and have FIN set.
    let reason = "r".repeat(123);
    let wire = written(Role::Server, |s| {
        s.send_close(CloseStatus::SUCCESS, Some(reason.clone().into_bytes()), 1)
            .unwrap()
    });
    let frames = parse_frames(&wire);
    assert!(frames[0].head.fin);
    assert_eq!(frames[0].payload.len(), 125);
    let mut s = server();
    let e = s
        .session
        .send_close(CloseStatus::SUCCESS, Some(vec![b'r'; 124]), 1)
        .unwrap_err();
    assert!(matches!(e, Error::Misuse(Misuse::InvalidArgument(_))));
}

#[test]
fn control_frames_between_fragments() {
    for role in ROLES {
        let bytes = [
            frame_to(role, false, Opcode::Text, b"Hel"),
            frame_to(role, true, Opcode::Ping, b"p"),
            frame_to(role, true, Opcode::Pong, b"q"),
            frame_to(role, false, Opcode::Continuation, b"l"),
            frame_to(role, true, Opcode::Ping, b"r"),
            frame_to(role, true, Opcode::Continuation, b"o"),
        ]
        .concat();
        // Both in one read and byte by byte.
        for read_size in [usize::MAX, 1] {
            let mut side = open(role, &[]);
            side.read_sizes = vec![read_size];
            let got = side.feed(&bytes).unwrap();
            let (pongs, data): (Vec<Got>, Vec<Got>) =
                got.into_iter().partition(|g| matches!(g, Got::Pong(_)));
            assert_eq!(pongs, [Got::Pong(b"q".to_vec())]);
            assert_eq!(message(&data), (BufferType::Utf8Message, b"Hello".to_vec()));
            let answered: Vec<Vec<u8>> = side
                .wire_frames()
                .into_iter()
                .map(|f| {
                    assert_eq!(f.opcode(), Opcode::Pong);
                    f.payload
                })
                .collect();
            assert_eq!(answered.last(), Some(&b"r".to_vec()), "{role:?}");
        }
    }
}

#[test]
fn control_frames_never_inside_a_frame() {
    // A client with a 16-byte send buffer writes a 1000-byte frame in 63 chunks; a ping read in
    // the middle is answered only after the frame's last chunk.
    let mut p = Pair::new(&[Property::SendBufferSize(16)], &[]);
    p.client.queues = vec![Queue::Send, Queue::Receive];
    let data = pattern(1000);
    p.client
        .session
        .send(BufferType::BinaryMessage, Some(data.clone()), 1)
        .unwrap();
    p.client.session.receive(2).unwrap();
    p.client.inbox = server_frame(true, Opcode::Ping, b"ping");
    p.run_client();
    assert!(p.client.writes.len() > 60, "{:?}", p.client.writes);
    // The ping was read while the frame was still being written.
    let log = &p.client.log;
    let first_read = log
        .iter()
        .position(|k| *k == ActionKind::ReceiveFromNetwork);
    let writes: Vec<usize> = (0..log.len())
        .filter(|&i| log[i] == ActionKind::SendToNetwork)
        .collect();
    assert!(first_read.unwrap() < writes[writes.len() - 3], "{log:?}");
    let frames = p.client.wire_frames();
    let kinds: Vec<Opcode> = frames.iter().map(Frame::opcode).collect();
    assert_eq!(kinds, [Opcode::Binary, Opcode::Pong]);
    assert_eq!(frames[0].payload, data);
    assert_eq!(frames[1].payload, b"ping");
    // The server reads the stream as two frames.
    p.server.session.receive(1).unwrap();
    p.run();
    assert_eq!(message(&p.server.got), (BufferType::BinaryMessage, data));
}

#[test]
fn ping_answered_with_identical_pong() {
    for role in ROLES {
        for len in [0, 1, 5, 124, 125] {
            let payload = pattern(len).iter().map(|b| b ^ 0x5A).collect::<Vec<_>>();
            let (got, side) = gets(role, &frame_to(role, true, Opcode::Ping, &payload));
            assert!(got.is_empty(), "{got:?}");
            let frames = side.wire_frames();
            assert_eq!(frames.len(), 1, "{role:?} {len}");
            assert_eq!(frames[0].opcode(), Opcode::Pong);
            assert!(frames[0].head.fin);
            assert_eq!(frames[0].head.mask.is_some(), role == Role::Client);
            assert_eq!(frames[0].payload, payload, "{role:?} {len}");
        }
        // Several pings in one read: the latest is answered (RFC 6455 §5.5.3 allows skipping
        // the others), and every pong echoes one of the pings.
        let pings: Vec<Vec<u8>> = (0..3).map(|i| vec![i; 3]).collect();
        let bytes: Vec<u8> = pings
            .iter()
            .flat_map(|p| frame_to(role, true, Opcode::Ping, p))
            .collect();
        let (_, side) = gets(role, &bytes);
        let pongs: Vec<Vec<u8>> = side.wire_frames().into_iter().map(|f| f.payload).collect();
        assert_eq!(pongs.last(), pings.last());
        assert!(pongs.iter().all(|p| pings.contains(p)));
    }
}

#[test]
fn unsolicited_pong_needs_no_reply() {
    for role in ROLES {
        let (got, side) = gets(role, &frame_to(role, true, Opcode::Pong, b"keepalive"));
        assert_eq!(got, [Got::Pong(b"keepalive".to_vec())]);
        assert!(
            side.wire.is_empty(),
            "a pong was answered: {:x?}",
            side.wire
        );
    }
}

#[test]
fn close_payload_one_byte_fails_1002() {
    for role in ROLES {
        fails(
            role,
            &frame_to(role, true, Opcode::Close, &[0x03]),
            ProtocolError::CloseFrameTooShort,
            1002,
        );
    }
}

#[test]
fn close_payload_is_code_and_utf8_reason() {
    for role in ROLES {
        let (got, _) = gets(
            role,
            &frame_to(
                role,
                true,
                Opcode::Close,
                &close_payload(1001, "bye ✓".as_bytes()),
            ),
        );
        assert_eq!(got, [Got::Close(1001, "bye ✓".as_bytes().to_vec())]);
        let (got, _) = gets(role, &frame_to(role, true, Opcode::Close, b""));
        assert_eq!(got, [Got::Close(1005, vec![])]);
        fails(
            role,
            &frame_to(role, true, Opcode::Close, &close_payload(1000, b"\xFFbad")),
            ProtocolError::InvalidUtf8,
            1007,
        );
        fails(
            role,
            &frame_to(
                role,
                true,
                Opcode::Close,
                &close_payload(1000, b"ok\xE2\x82"),
            ),
            ProtocolError::InvalidUtf8,
            1007,
        );
    }
}

// ----- fragmentation --------------------------------------------------------------------------

#[test]
fn fragmentation_sequence() {
    let bytes = [
        server_frame(false, Opcode::Binary, b"ab"),
        server_frame(false, Opcode::Continuation, b"cd"),
        server_frame(true, Opcode::Continuation, b"ef"),
        server_frame(true, Opcode::Text, b"next"),
    ]
    .concat();
    let (got, _) = gets(Role::Client, &bytes);
    assert_eq!(
        got,
        [
            Got::Piece(BufferType::BinaryFragment, b"ab".to_vec()),
            Got::Piece(BufferType::BinaryFragment, b"cd".to_vec()),
            Got::Piece(BufferType::BinaryMessage, b"ef".to_vec()),
            Got::Piece(BufferType::Utf8Message, b"next".to_vec()),
        ]
    );
    // Sending: text/binary first, then continuations, FIN on the last; then a new message.
    for role in ROLES {
        let wire = written(role, |s| {
            s.send(BufferType::BinaryFragment, Some(b"ab".to_vec()), 1)
                .unwrap();
            s.send(BufferType::BinaryFragment, Some(b"cd".to_vec()), 2)
                .unwrap();
            s.send(BufferType::BinaryMessage, Some(b"ef".to_vec()), 3)
                .unwrap();
            s.send(BufferType::Utf8Fragment, Some(vec![]), 4).unwrap();
            s.send(BufferType::Utf8Message, Some(b"x".to_vec()), 5)
                .unwrap();
        });
        let seen: Vec<(bool, Opcode, Vec<u8>)> = parse_frames(&wire)
            .into_iter()
            .map(|f| (f.head.fin, f.opcode(), f.payload))
            .collect();
        assert_eq!(
            seen,
            [
                (false, Opcode::Binary, b"ab".to_vec()),
                (false, Opcode::Continuation, b"cd".to_vec()),
                (true, Opcode::Continuation, b"ef".to_vec()),
                (false, Opcode::Text, vec![]),
                (true, Opcode::Continuation, b"x".to_vec()),
            ]
        );
    }
}

#[test]
fn continuation_without_message_fails() {
    for role in ROLES {
        for fin in [true, false] {
            fails(
                role,
                &frame_to(role, fin, Opcode::Continuation, b"x"),
                ProtocolError::UnexpectedContinuation,
                1002,
            );
        }
        // Also right after a complete message.
        let bytes = [
            frame_to(role, false, Opcode::Text, b"a"),
            frame_to(role, true, Opcode::Continuation, b"b"),
            frame_to(role, true, Opcode::Continuation, b"c"),
        ]
        .concat();
        fails(role, &bytes, ProtocolError::UnexpectedContinuation, 1002);
    }
}

#[test]
fn new_message_inside_fragmented_fails() {
    for role in ROLES {
        for first in [Opcode::Text, Opcode::Binary] {
            for second in [Opcode::Text, Opcode::Binary] {
                let bytes = [
                    frame_to(role, false, first, b"a"),
                    frame_to(role, true, second, b"b"),
                ]
                .concat();
                fails(role, &bytes, ProtocolError::ExpectedContinuation, 1002);
            }
        }
    }
    // Sending: switching type inside a message is a caller error.
    let mut s = server();
    s.session
        .send(BufferType::Utf8Fragment, Some(b"a".to_vec()), 1)
        .unwrap();
    for t in [BufferType::BinaryFragment, BufferType::BinaryMessage] {
        invalid_state(s.session.send(t, Some(b"b".to_vec()), 2));
    }
    s.session
        .send(BufferType::Utf8Message, Some(b"b".to_vec()), 3)
        .unwrap();
}

// ----- UTF-8 ----------------------------------------------------------------------------------

#[test]
fn utf8_incremental_across_frames() {
    let text = "a€𝄞ü";
    let b = text.as_bytes();
    // Split inside every multi-byte sequence, across frames.
    let frames = [
        server_frame(false, Opcode::Text, &b[..2]),
        server_frame(false, Opcode::Continuation, &b[2..3]),
        server_frame(false, Opcode::Continuation, &b[3..5]),
        server_frame(false, Opcode::Continuation, &b[5..7]),
        server_frame(true, Opcode::Continuation, &b[7..]),
    ]
    .concat();
    let (got, _) = gets(Role::Client, &frames);
    assert_eq!(message(&got), (BufferType::Utf8Message, b.to_vec()));
    // One frame read a byte at a time: pieces split sequences, still valid.
    for role in ROLES {
        let mut side = open(role, &[]);
        side.read_sizes = vec![1];
        let got = side.feed(&frame_to(role, true, Opcode::Text, b)).unwrap();
        assert!(got.len() > 1);
        assert_eq!(message(&got), (BufferType::Utf8Message, b.to_vec()));
    }
}

#[test]
fn utf8_fail_fast_before_frame_end() {
    for bad in [
        &b"ab\xC0"[..],    // a byte that never starts a sequence
        b"ab\xED\xA0",     // the start of a surrogate
        b"ab\xF4\x90",     // above U+10FFFF
        b"ab\xE2\x82\x41", // a sequence cut short by an ASCII byte
    ] {
        for role in ROLES {
            let mut frame = frame_to(role, true, Opcode::Text, &[bad, &[b'x'; 100]].concat());
            // Only the header and the bad bytes arrive: the frame is far from complete.
            let header_len = frame.len() - bad.len() - 100;
            frame.truncate(header_len + bad.len());
            let mut side = open(role, &[]);
            let e = side.feed(&frame).unwrap_err();
            assert_eq!(e, Error::Protocol(ProtocolError::InvalidUtf8), "{bad:x?}");
            assert_eq!(e.close_status(), Some(CloseStatus::INVALID_PAYLOAD));
        }
    }
}

#[test]
fn utf8_incomplete_at_message_end_fails_1007() {
    for role in ROLES {
        fails(
            role,
            &frame_to(role, true, Opcode::Text, b"a\xE2\x82"),
            ProtocolError::InvalidUtf8,
            1007,
        );
        // Incomplete at the end of a non-final frame is fine; the final one must complete it.
        let (got, _) = gets(role, &frame_to(role, false, Opcode::Text, b"a\xE2\x82"));
        assert_eq!(
            got,
            [Got::Piece(BufferType::Utf8Fragment, b"a\xE2\x82".to_vec())]
        );
        let bytes = [
            frame_to(role, false, Opcode::Text, b"a\xE2\x82"),
            frame_to(role, true, Opcode::Continuation, b""),
        ]
        .concat();
        fails(role, &bytes, ProtocolError::InvalidUtf8, 1007);
    }
}

#[test]
fn utf8_rejects_overlongs_surrogates_and_above_max() {
    for bad in [
        &b"\xC0\x80"[..],    // overlong NUL
        b"\xC1\xBF",         // overlong
        b"\xE0\x80\x80",     // overlong 3-byte
        b"\xF0\x80\x80\x80", // overlong 4-byte
        b"\xED\xA0\x80",     // U+D800
        b"\xED\xBF\xBF",     // U+DFFF
        b"\xF4\x90\x80\x80", // U+110000
        b"\xF5\x80\x80\x80", // beyond
        b"\x80",             // lone continuation byte
        b"\xFE",
    ] {
        fails(
            Role::Client,
            &server_frame(true, Opcode::Text, bad),
            ProtocolError::InvalidUtf8,
            1007,
        );
    }
    for good in [
        &b"\xED\x9F\xBF"[..], // U+D7FF
        b"\xEE\x80\x80",      // U+E000
        b"\xF4\x8F\xBF\xBF",  // U+10FFFF
        b"\xC2\x80",          // U+0080
        b"",
    ] {
        let (got, _) = gets(Role::Client, &server_frame(true, Opcode::Text, good));
        assert_eq!(got, [Got::Piece(BufferType::Utf8Message, good.to_vec())]);
    }
    // Binary messages are not checked.
    let (got, _) = gets(Role::Client, &server_frame(true, Opcode::Binary, b"\xFF"));
    assert_eq!(got, [Got::Piece(BufferType::BinaryMessage, vec![0xFF])]);
}

// ----- close codes ----------------------------------------------------------------------------

#[test]
fn never_send_1005_1006_1015() {
    let mut s = server();
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
        let e = s
            .session
            .send_close(CloseStatus(code), None, 1)
            .unwrap_err();
        assert!(
            matches!(e, Error::Misuse(Misuse::InvalidArgument(_))),
            "{code}: {e:?}"
        );
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
    }
    assert!(!s.session.close_sent());
    s.drive_alone();
    assert!(s.wire.is_empty());
    // A close without a body carries no code at all (the peer reads 1005).
    let wire = written(Role::Server, |s| {
        s.send(BufferType::Close, None, 1).unwrap()
    });
    assert_eq!(wire, [0x88, 0x00]);
    // Whatever is sent, every code on the wire is valid.
    for code in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
        let wire = written(Role::Server, |s| {
            s.send_close(CloseStatus(code), None, 1).unwrap()
        });
        assert_eq!(wire, [&[0x88, 0x02][..], &code.to_be_bytes()].concat());
    }
}

#[test]
fn received_close_codes_validity() {
    let valid = |c: u16| matches!(c, 1000..=1003 | 1007..=1011 | 1012..=1014 | 3000..=4999);
    let codes = (0..=1020).chain([
        1100, 2000, 2999, 3000, 3001, 3999, 4000, 4998, 4999, 5000, 5001, 65535,
    ]);
    for code in codes {
        for role in ROLES {
            let bytes = frame_to(role, true, Opcode::Close, &close_payload(code, b"r"));
            if valid(code) {
                let (got, side) = gets(role, &bytes);
                assert_eq!(got, [Got::Close(code, b"r".to_vec())], "{code}");
                assert!(side.session.close_received());
            } else {
                fails(role, &bytes, ProtocolError::InvalidCloseStatus(code), 1002);
            }
        }
    }
}

#[test]
fn no_data_after_close_sent() {
    for role in ROLES {
        let mut side = open(role, &[]);
        side.session
            .send(BufferType::Utf8Fragment, Some(b"a".to_vec()), 1)
            .unwrap();
        side.session
            .send_close(CloseStatus::SUCCESS, None, 2)
            .unwrap();
        assert!(side.session.close_sent());
        for t in DATA_TYPES {
            invalid_state(side.session.send(t, Some(b"x".to_vec()), 3));
        }
        // Control frames still may follow.
        side.session.send(BufferType::PingPong, None, 4).unwrap();
        side.session
            .send(BufferType::UnsolicitedPong, None, 5)
            .unwrap();
        side.drive_alone();
        assert_eq!(
            side.wire_opcodes(),
            [Opcode::Text, Opcode::Close, Opcode::Ping, Opcode::Pong]
        );
        assert_eq!(side.sends_done, [1, 2, 4, 5]);
    }
}

#[test]
fn no_data_delivered_after_close_received() {
    for role in ROLES {
        let bytes = [
            frame_to(role, true, Opcode::Close, &close_payload(1000, b"")),
            frame_to(role, true, Opcode::Binary, b"late"),
        ]
        .concat();
        let (got, mut side) = gets(role, &bytes);
        assert_eq!(got, [Got::Close(1000, vec![])]);
        invalid_state(side.session.receive(9));
    }
}

#[test]
fn close_reply_after_close_received() {
    let mut p = Pair::new(&[], &[]);
    p.server
        .session
        .send_close(CloseStatus(4000), Some(b"done".to_vec()), 1)
        .unwrap();
    p.client.session.receive(2).unwrap();
    p.run();
    assert_eq!(p.client.got, [Got::Close(4000, b"done".to_vec())]);
    // No automatic reply: the client echoes the status itself.
    assert!(p.server.inbox.is_empty());
    assert!(!p.client.session.close_sent());
    p.client
        .session
        .send_close(CloseStatus(4000), None, 3)
        .unwrap();
    p.server.session.receive(4).unwrap();
    p.run();
    assert_eq!(p.server.got, [Got::Close(4000, vec![])]);
    assert!(p.client.session.close_sent() && p.client.session.close_received());
    assert!(p.server.session.close_sent() && p.server.session.close_received());
}

#[test]
fn stream_end_without_close_frame_is_1006() {
    for role in ROLES {
        let mut side = open(role, &[]);
        side.eof = true;
        // Part of a frame header, then the end of the stream.
        let got = side
            .feed(&frame_to(role, true, Opcode::Binary, b"cut short")[..1])
            .unwrap();
        assert_eq!(got, [Got::Close(1006, vec![])]);
        assert!(side.session.is_aborted());
        assert!(!side.session.close_received());
    }
}
