//! The session-level handshake API (spec §5.2–§5.5): order of calls, roles, negotiated indices and
//! the HRESULT of each failure.

use wspc::{
    BufferType, CloseStatus, Error, HResult, HandshakeError, Header, Misuse, Negotiated, Queue,
    Session,
};
use wspc_testkit::errors::invalid_state;
use wspc_testkit::headers::*;
use wspc_testkit::pair::*;

fn fresh_client() -> Ws {
    Session::client(&[]).unwrap()
}

fn fresh_server() -> Ws {
    Session::server(&[]).unwrap()
}

fn hresult<T: core::fmt::Debug>(r: Result<T, Error>) -> HResult {
    r.expect_err("expected an error").hresult()
}

/// The client's request headers plus `Host`, as the server gets them.
fn request(client: &mut Ws, subprotocols: &[&str], extensions: &[&str]) -> Vec<Header> {
    let mut out = client
        .begin_client_handshake(subprotocols, extensions, &[])
        .unwrap();
    out.push(Header {
        name: "Host".into(),
        value: "example.com".into(),
    });
    out
}

/// Every session call on `s` fails with InvalidState.
fn session_calls_refused(s: &mut Ws) {
    invalid_state(s.send(BufferType::BinaryMessage, Some(vec![1]), 1));
    invalid_state(s.send(BufferType::PingPong, None, 1));
    invalid_state(s.send_close(CloseStatus::SUCCESS, None, 1));
    invalid_state(s.receive(1));
    invalid_state(s.receive_into(vec![0; 8], 1));
    invalid_state(s.get_action(Queue::All));
    invalid_state(s.get_action(Queue::Send));
    invalid_state(s.get_action_with_capacity(Queue::Receive, 1));
    assert!(!s.is_open());
}

#[test]
fn client_and_server_handshake_open_both() {
    let mut c = fresh_client();
    let mut s = fresh_server();
    assert!(!c.is_open() && !s.is_open());
    let req = request(&mut c, &[], &[]);
    assert!(!c.is_open());
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    let names: Vec<&str> = resp.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Connection", "Upgrade", "Sec-WebSocket-Accept"]);
    // The server's output goes unchanged to the client (as the SDK sample does).
    assert_eq!(
        c.end_client_handshake(&refs(&resp)),
        Ok(Negotiated::default())
    );
    assert!(c.is_open());
    s.end_server_handshake().unwrap();
    assert!(s.is_open());
    Pair::joined(c, s).assert_text_arrives(b"up");
}

#[test]
fn wrong_role_is_invalid_state() {
    let mut s = fresh_server();
    invalid_state(s.begin_client_handshake(&[], &[], &[]));
    invalid_state(s.end_client_handshake(&[]));
    let mut c = fresh_client();
    invalid_state(c.begin_server_handshake(None, &[], &request_with("Host", Some("h"))));
    invalid_state(c.end_server_handshake());
    // Neither call changed anything: the right calls still work.
    let req = request(&mut c, &[], &[]);
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
    invalid_state(c.end_server_handshake());
    invalid_state(s.begin_client_handshake(&[], &[], &[]));
}

#[test]
fn second_begin_is_invalid_state() {
    let mut c = fresh_client();
    let req = request(&mut c, &[], &[]);
    invalid_state(c.begin_client_handshake(&[], &[], &[]));
    let mut s = fresh_server();
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    invalid_state(s.begin_server_handshake(None, &[], &refs(&req)));
    // And after opening.
    let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
    invalid_state(c.begin_client_handshake(&[], &[], &[]));
    s.end_server_handshake().unwrap();
    invalid_state(s.begin_server_handshake(None, &[], &refs(&req)));
}

#[test]
fn end_without_begin_or_twice_is_invalid_state() {
    let mut c = fresh_client();
    invalid_state(c.end_client_handshake(&[]));
    let mut s = fresh_server();
    invalid_state(s.end_server_handshake());
    let req = request(&mut c, &[], &[]);
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
    invalid_state(c.end_client_handshake(&refs(&resp)));
    s.end_server_handshake().unwrap();
    invalid_state(s.end_server_handshake());
}

#[test]
fn session_calls_before_handshake_are_invalid_state() {
    // Created.
    session_calls_refused(&mut fresh_client());
    session_calls_refused(&mut fresh_server());
    // Client between begin and end.
    let mut c = fresh_client();
    let req = request(&mut c, &[], &[]);
    session_calls_refused(&mut c);
    // A failed end leaves the handle unopened.
    let mut s = fresh_server();
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    let mut bad = refs(&resp);
    bad.retain(|h| !h.name.eq_ignore_ascii_case(b"Sec-WebSocket-Accept"));
    assert!(c.end_client_handshake(&bad).is_err());
    session_calls_refused(&mut c);
    // A failed server begin too.
    let mut s = fresh_server();
    assert!(s
        .begin_server_handshake(None, &[], &request_with("Host", None))
        .is_err());
    session_calls_refused(&mut s);
    invalid_state(s.end_server_handshake());
    // Completing an unknown action is refused whatever the state.
    assert_eq!(
        fresh_client().complete_action(wspc::ActionId::from_raw(1), 0),
        Err(Error::Misuse(Misuse::UnknownAction))
    );
}

#[test]
fn failed_client_end_can_be_retried() {
    let mut c = fresh_client();
    let req = request(&mut c, &["chat"], &[]);
    let mut s = fresh_server();
    let resp = s
        .begin_server_handshake(Some("chat"), &[], &refs(&req))
        .unwrap();
    let mut wrong = refs(&resp);
    wrong.retain(|h| !h.name.eq_ignore_ascii_case(b"Sec-WebSocket-Protocol"));
    assert_eq!(
        c.end_client_handshake(&wrong),
        Err(Error::Handshake(HandshakeError::SubprotocolNotSupported))
    );
    assert!(!c.is_open());
    assert_eq!(
        c.end_client_handshake(&refs(&resp)).unwrap().subprotocol,
        Some(0)
    );
    assert!(c.is_open());
}

#[test]
fn server_end_is_implicit_on_first_session_call() {
    type Call = fn(&mut Ws) -> bool;
    let calls: [(&str, Call); 6] = [
        ("send", |s| {
            s.send(BufferType::BinaryMessage, Some(vec![1]), 1).is_ok()
        }),
        ("send_close", |s| {
            s.send_close(CloseStatus::SUCCESS, None, 1).is_ok()
        }),
        ("receive", |s| s.receive(1).is_ok()),
        ("receive_into", |s| s.receive_into(vec![0; 4], 1).is_ok()),
        ("get_action", |s| s.get_action(Queue::All).is_ok()),
        ("get_action_with_capacity", |s| {
            s.get_action_with_capacity(Queue::Send, 1).is_ok()
        }),
    ];
    for (name, call) in calls {
        let mut c = fresh_client();
        let req = request(&mut c, &[], &[]);
        let mut s = fresh_server();
        let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
        assert!(!s.is_open());
        assert!(call(&mut s), "{name} failed on a server after begin");
        assert!(s.is_open(), "{name} did not open the server");
        // The handshake is over: its end is no longer expected.
        invalid_state(s.end_server_handshake());
        let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
        // The implicitly opened handle works.
        let mut p = Pair::joined(c, s);
        p.client
            .session
            .send(BufferType::BinaryMessage, Some(b"after".to_vec()), 9)
            .unwrap();
        p.exchange();
        let pieces: Vec<Got> = p.server.pieces();
        assert_eq!(
            message(&pieces),
            (BufferType::BinaryMessage, b"after".to_vec()),
            "{name}"
        );
    }
}

#[test]
fn negotiated_subprotocol_and_extension_indices() {
    let subs = ["v1.chat", "v2.chat", "superchat"];
    let exts = ["x-one; p=1", "x-two", "x-three"];
    let mut c = fresh_client();
    let req = request(&mut c, &subs, &exts);
    assert_eq!(
        values(&req, "Sec-WebSocket-Protocol"),
        ["v1.chat, v2.chat, superchat"]
    );
    assert_eq!(
        values(&req, "Sec-WebSocket-Extensions"),
        ["x-one; p=1, x-two, x-three"]
    );
    let mut s = fresh_server();
    let resp = s
        .begin_server_handshake(Some("v2.chat"), &["x-three", "x-one; p=2"], &refs(&req))
        .unwrap();
    assert_eq!(values(&resp, "Sec-WebSocket-Protocol"), ["v2.chat"]);
    assert_eq!(
        values(&resp, "Sec-WebSocket-Extensions"),
        ["x-three, x-one; p=2"]
    );
    assert_eq!(
        c.end_client_handshake(&refs(&resp)),
        Ok(Negotiated {
            subprotocol: Some(1),
            extensions: vec![2, 0],
        })
    );

    // Nothing selected from nothing offered.
    let mut c = fresh_client();
    let req = request(&mut c, &[], &["x-one"]);
    let mut s = fresh_server();
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    assert!(values(&resp, "Sec-WebSocket-Protocol").is_empty());
    assert!(values(&resp, "Sec-WebSocket-Extensions").is_empty());
    assert_eq!(
        c.end_client_handshake(&refs(&resp)),
        Ok(Negotiated::default())
    );
    // The last of three subprotocols.
    let mut c = fresh_client();
    let req = request(&mut c, &subs, &[]);
    let mut s = fresh_server();
    let resp = s
        .begin_server_handshake(Some("superchat"), &[], &refs(&req))
        .unwrap();
    assert_eq!(
        c.end_client_handshake(&refs(&resp)).unwrap().subprotocol,
        Some(2)
    );
}

#[test]
fn server_failure_hresults() {
    type Case = (&'static str, Result<Vec<Header>, Error>, HResult);
    let cases: Vec<Case> = vec![
        (
            "missing Host",
            fresh_server().begin_server_handshake(None, &[], &request_with("Host", None)),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "missing Upgrade",
            fresh_server().begin_server_handshake(None, &[], &request_with("Upgrade", None)),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "missing Connection",
            fresh_server().begin_server_handshake(None, &[], &request_with("Connection", None)),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "missing version",
            fresh_server().begin_server_handshake(
                None,
                &[],
                &request_with("Sec-WebSocket-Version", None),
            ),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "version 8",
            fresh_server().begin_server_handshake(
                None,
                &[],
                &request_with("Sec-WebSocket-Version", Some("8")),
            ),
            HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED,
        ),
        (
            "short key",
            fresh_server().begin_server_handshake(
                None,
                &[],
                &request_with("Sec-WebSocket-Key", Some("AAAA")),
            ),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "subprotocol not offered",
            fresh_server().begin_server_handshake(
                Some("chat"),
                &[],
                &request_with("Host", Some("h")),
            ),
            HResult::E_SUBPROTOCOL_NOT_SUPPORTED,
        ),
        (
            "extension not offered",
            fresh_server().begin_server_handshake(
                None,
                &["x-foo"],
                &request_with("Host", Some("h")),
            ),
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
        ),
        (
            "selected subprotocol not a token",
            fresh_server().begin_server_handshake(
                Some("a b"),
                &[],
                &request_with("Host", Some("h")),
            ),
            HResult::E_INVALIDARG,
        ),
        (
            "two selected extensions with one name",
            fresh_server().begin_server_handshake(
                None,
                &["x-a", "x-a; p"],
                &request_with("Host", Some("h")),
            ),
            HResult::E_INVALIDARG,
        ),
        (
            "on a client handle",
            fresh_client().begin_server_handshake(None, &[], &request_with("Host", Some("h"))),
            HResult::E_INVALID_PROTOCOL_OPERATION,
        ),
    ];
    for (what, result, want) in cases {
        assert_eq!(hresult(result), want, "{what}");
    }
    // .NET's faked request (empty Host, all-zero key) is accepted.
    let dotnet = [
        hdr("Connection", "Upgrade"),
        hdr("Upgrade", "websocket"),
        hdr("Host", ""),
        hdr("Sec-WebSocket-Version", "13"),
        hdr("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="),
    ];
    assert!(fresh_server()
        .begin_server_handshake(None, &[], &dotnet)
        .is_ok());
}

#[test]
fn client_failure_hresults() {
    // Arguments of begin.
    for (subs, exts) in [
        (&["a b"][..], &[][..]),
        (&["chat", "chat"][..], &[][..]),
        (&[""][..], &[][..]),
        (&[][..], &["a, b"][..]),
        (&[][..], &[""][..]),
        (&[][..], &["x\r\ny"][..]),
    ] {
        let mut c = fresh_client();
        assert_eq!(
            hresult(c.begin_client_handshake(subs, exts, &[])),
            HResult::E_INVALIDARG,
            "{subs:?} {exts:?}"
        );
        assert!(!c.is_open());
    }
    // Host is not required on the client (§9 Q4).
    assert!(fresh_client()
        .begin_client_handshake(&[], &[], &[hdr("Origin", "http://a")])
        .is_ok());

    let mut c = fresh_client();
    let req = request(&mut c, &["chat"], &["x-foo"]);
    let mut s = fresh_server();
    let resp = s
        .begin_server_handshake(Some("chat"), &["x-foo"], &refs(&req))
        .unwrap();
    let without = |name: &str| -> Vec<wspc::HeaderRef<'_>> {
        refs(&resp)
            .into_iter()
            .filter(|h| !h.name.eq_ignore_ascii_case(name.as_bytes()))
            .collect()
    };
    let with = |name: &'static str, value: &'static str| {
        let mut r = without(name);
        r.push(hdr(name, value));
        r
    };
    let cases = [
        (
            "no accept",
            without("Sec-WebSocket-Accept"),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "wrong accept",
            with("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "no upgrade",
            without("Upgrade"),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "two subprotocols",
            with("Sec-WebSocket-Protocol", "chat, chat"),
            HResult::E_INVALID_PROTOCOL_FORMAT,
        ),
        (
            "other subprotocol",
            with("Sec-WebSocket-Protocol", "other"),
            HResult::E_SUBPROTOCOL_NOT_SUPPORTED,
        ),
        (
            "no subprotocol",
            without("Sec-WebSocket-Protocol"),
            HResult::E_SUBPROTOCOL_NOT_SUPPORTED,
        ),
        (
            "other extension",
            with("Sec-WebSocket-Extensions", "x-bar"),
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
        ),
        (
            "extension twice",
            with("Sec-WebSocket-Extensions", "x-foo, x-foo"),
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
        ),
    ];
    for (what, headers, want) in cases {
        assert_eq!(hresult(c.end_client_handshake(&headers)), want, "{what}");
        assert!(!c.is_open(), "{what}");
    }
    assert_eq!(
        c.end_client_handshake(&refs(&resp)),
        Ok(Negotiated {
            subprotocol: Some(0),
            extensions: vec![0],
        })
    );
}

#[test]
fn request_headers_match_case_insensitively_and_repeats_join() {
    let mut c = fresh_client();
    let req = c.begin_client_handshake(&["b"], &[], &[]).unwrap();
    let key = values(&req, "Sec-WebSocket-Key")[0].to_owned();
    let headers = [
        hdr("HOST", "h"),
        hdr("upgrade", "WebSocket"),
        hdr("CONNECTION", "keep-alive"),
        hdr("connection", "Upgrade"),
        hdr("sec-websocket-version", "13"),
        hdr("SEC-WEBSOCKET-KEY", &key),
        hdr("Sec-WebSocket-Protocol", "a"),
        hdr("sec-websocket-protocol", "b"),
    ];
    let mut s = fresh_server();
    let resp = s.begin_server_handshake(Some("b"), &[], &headers).unwrap();
    assert_eq!(
        c.end_client_handshake(&refs(&resp)).unwrap().subprotocol,
        Some(0)
    );
}

#[test]
fn abort_during_client_handshake_does_not_break_it() {
    let mut c = fresh_client();
    let req = request(&mut c, &[], &[]);
    c.abort();
    session_calls_refused(&mut c);
    let mut s = fresh_server();
    let resp = s.begin_server_handshake(None, &[], &refs(&req)).unwrap();
    let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
    assert!(c.is_open() && !c.is_aborted());
    assert!(c.get_action(Queue::All).is_ok());
}

#[test]
fn header_caps_through_the_session() {
    use wspc::handshake::{MAX_HEADER_BYTES, MAX_HEADER_COUNT};
    let filler = hdr("X-Filler", "v");
    // Count: the request itself has 5 headers.
    let mut at_cap = request_with("Host", Some("h"));
    at_cap.resize(MAX_HEADER_COUNT, filler);
    assert!(fresh_server()
        .begin_server_handshake(None, &[], &at_cap)
        .is_ok());
    let mut over = at_cap.clone();
    over.push(filler);
    assert_eq!(
        hresult(fresh_server().begin_server_handshake(None, &[], &over)),
        HResult::E_INVALID_PROTOCOL_FORMAT
    );
    // Bytes: names and values together.
    let big = "x".repeat(MAX_HEADER_BYTES);
    let mut too_big = request_with("Host", Some("h"));
    too_big.push(hdr("X-Big", &big));
    assert_eq!(
        hresult(fresh_server().begin_server_handshake(None, &[], &too_big)),
        HResult::E_INVALID_PROTOCOL_FORMAT
    );
    // The client's own initial headers: a caller error.
    let many = vec![filler; MAX_HEADER_COUNT + 1];
    assert_eq!(
        hresult(fresh_client().begin_client_handshake(&[], &[], &many)),
        HResult::E_INVALIDARG
    );
    // A response over the caps.
    let mut c = fresh_client();
    let req = request(&mut c, &[], &[]);
    let resp = fresh_server()
        .begin_server_handshake(None, &[], &refs(&req))
        .unwrap();
    let mut r = refs(&resp);
    r.resize(MAX_HEADER_COUNT + 1, filler);
    assert_eq!(
        hresult(c.end_client_handshake(&r)),
        HResult::E_INVALID_PROTOCOL_FORMAT
    );
    assert!(c.end_client_handshake(&refs(&resp)).is_ok());
}
