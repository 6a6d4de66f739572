//! `Session::send_into`, the one-call send path: the rules it shares with `send`, what it
//! refuses, and permessage-deflate through it. That it writes the very bytes of the action loop
//! for random scripts is a property in `prop_roundtrip.rs`.

use wspc::frame::{Opcode, RSV1};
use wspc::{BufferType, CloseStatus, Property, Role, Session};
use wspc_testkit::errors::{invalid_argument, invalid_state};
use wspc_testkit::pair::{client, message, open_seeded, server, Got, Pair};
use wspc_testkit::parse::parse_frames;

#[test]
fn a_client_frame_is_masked_and_a_server_frame_is_not() {
    let mut c = client();
    let mut out = Vec::new();
    c.session
        .send_into(BufferType::BinaryMessage, b"abc", &mut out)
        .unwrap();
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].head.mask.is_some());
    assert_eq!(frames[0].payload, b"abc");
    assert_ne!(&out[6..], b"abc", "the payload went out unmasked");

    let mut s = server();
    out.clear();
    s.session
        .send_into(BufferType::Utf8Message, b"abc", &mut out)
        .unwrap();
    assert_eq!(out, [0x81, 3, b'a', b'b', b'c']);
}

#[test]
fn it_appends_and_leaves_earlier_bytes_alone() {
    let mut s = server();
    let mut out = b"before".to_vec();
    s.session
        .send_into(BufferType::BinaryMessage, &[7; 300], &mut out)
        .unwrap();
    assert_eq!(&out[..6], b"before");
    // 300 bytes take the 16-bit length.
    assert_eq!(&out[6..10], [0x82, 126, 1, 44]);
    assert_eq!(out.len(), 10 + 300);
}

#[test]
fn it_refuses_what_send_refuses() {
    // Before the handshake.
    let mut fresh: Session = Session::client(&[]).unwrap();
    invalid_state(fresh.send_into(BufferType::BinaryMessage, b"x", &mut Vec::new()));

    let mut c = client();
    let mut out = Vec::new();
    // A close goes through send or send_close.
    invalid_argument(c.session.send_into(BufferType::Close, &[], &mut out));
    // A control frame carries at most 125 bytes.
    invalid_argument(
        c.session
            .send_into(BufferType::PingPong, &[0; 126], &mut out),
    );
    // A message keeps its kind across fragments.
    c.session
        .send_into(BufferType::Utf8Fragment, b"a", &mut out)
        .unwrap();
    invalid_state(
        c.session
            .send_into(BufferType::BinaryMessage, b"b", &mut out),
    );
    // Control frames may come between fragments.
    c.session
        .send_into(BufferType::PingPong, b"p", &mut out)
        .unwrap();
    c.session
        .send_into(BufferType::Utf8Message, b"b", &mut out)
        .unwrap();
    let ops: Vec<(bool, u8)> = parse_frames(&out)
        .iter()
        .map(|f| (f.head.fin, f.head.opcode))
        .collect();
    assert_eq!(
        ops,
        [
            (false, Opcode::Text as u8),
            (true, Opcode::Ping as u8),
            (true, Opcode::Continuation as u8)
        ]
    );

    // No data after our close.
    c.session.send(BufferType::Close, None, 0).unwrap();
    c.drive_alone();
    invalid_state(
        c.session
            .send_into(BufferType::BinaryMessage, b"x", &mut out),
    );

    // Nothing after an abort.
    let mut s = server();
    s.session.abort();
    invalid_state(
        s.session
            .send_into(BufferType::BinaryMessage, b"x", &mut out),
    );
}

#[test]
fn it_waits_for_the_send_queue_to_be_idle() {
    let mut c = client();
    c.session
        .send(BufferType::BinaryMessage, Some(b"queued".to_vec()), 1)
        .unwrap();
    let mut out = Vec::new();
    // Queued, not yet handed out: its frame must go first.
    invalid_state(
        c.session
            .send_into(BufferType::BinaryMessage, b"x", &mut out),
    );
    assert!(out.is_empty());
    c.drive_alone();
    c.session
        .send_into(BufferType::BinaryMessage, b"x", &mut out)
        .unwrap();
    let mut wire = c.wire.clone();
    wire.extend_from_slice(&out);
    let payloads: Vec<Vec<u8>> = parse_frames(&wire).into_iter().map(|f| f.payload).collect();
    assert_eq!(payloads, [b"queued".to_vec(), b"x".to_vec()]);
}

#[test]
fn after_a_protocol_error_it_sends_nothing() {
    let mut s = server();
    // An unmasked frame to a server: 1002.
    assert!(s.feed(&[0x82, 1, 0]).is_err() || s.error.is_some());
    invalid_state(
        s.session
            .send_into(BufferType::BinaryMessage, b"x", &mut Vec::new()),
    );
    // The close that fails the connection still goes through send_close.
    s.session
        .send_close(CloseStatus(1002), None, 0)
        .expect("the close is still allowed");
}

#[cfg(feature = "deflate")]
#[test]
fn with_permessage_deflate_it_compresses_as_the_action_loop_does() {
    let on = [Property::PermessageDeflate(Some(
        wspc::deflate::DeflateConfig::DEFAULT,
    ))];
    let text = "a message that compresses well, well, well, well, well. ".repeat(40);
    let (first, second) = text.as_bytes().split_at(1000);

    // The action loop's bytes, from a client with the same seed.
    let mut queued = open_seeded(Role::Client, &on, 7);
    queued
        .session
        .send(BufferType::Utf8Fragment, Some(first.to_vec()), 1)
        .unwrap();
    queued
        .session
        .send(BufferType::Utf8Message, Some(second.to_vec()), 2)
        .unwrap();
    queued.drive_alone();

    let mut pair = Pair::seeded(&on, &on, 7);
    let mut out = Vec::new();
    let c = &mut pair.client.session;
    c.send_into(BufferType::Utf8Fragment, first, &mut out)
        .unwrap();
    c.send_into(BufferType::Utf8Message, second, &mut out)
        .unwrap();
    assert_eq!(out, queued.wire);
    assert!(
        out.len() < text.len() / 4,
        "not compressed: {} bytes",
        out.len()
    );
    let rsv: Vec<u8> = parse_frames(&out).iter().map(|f| f.head.rsv).collect();
    assert_eq!(
        rsv,
        [RSV1, 0],
        "RSV1 on the first frame of the message only"
    );

    // The server reads the text back.
    let got = pair.server.feed(&out).unwrap();
    assert!(matches!(
        got.last(),
        Some(Got::Piece(BufferType::Utf8Message, _))
    ));
    assert_eq!(message(&got), (BufferType::Utf8Message, text.into_bytes()));
}
