//! Sending and receiving close frames: status and reason, their limits, and what may follow.

use wspc::frame::Opcode;
use wspc::{BufferType, CloseStatus, Queue, Role, MAX_CLOSE_REASON_LENGTH};
use wspc_testkit::errors::{invalid_argument, invalid_state};
use wspc_testkit::frame::*;
use wspc_testkit::pair::*;
use wspc_testkit::parse::parse_frames;
use wspc_testkit::snap::*;

#[test]
fn close_status_and_reason_reach_the_peer_and_echo() {
    for from in [Role::Client, Role::Server] {
        let mut p = Pair::new(&[], &[]);
        let (tx, rx) = p.sides(from);
        let reason = "going away: ✓".as_bytes().to_vec();
        tx.session
            .send_close(CloseStatus::ENDPOINT_UNAVAILABLE, Some(reason.clone()), 7)
            .unwrap();
        assert!(tx.session.close_sent());
        let s = &mut tx.session;
        let w = next(s, Queue::Send).unwrap();
        assert!(
            matches!(
                w,
                Snap::Send {
                    buffer_type: BufferType::Close,
                    context: Some(7),
                    ..
                }
            ),
            "{w:?}"
        );
        rx.inbox.extend(w.bytes());
        s.complete_action(w.id(), w.total()).unwrap();
        let d = next(s, Queue::Send).unwrap();
        assert_eq!(
            d,
            Snap::SendDone {
                id: d.id(),
                buffer_type: BufferType::Close,
                context: 7,
                payload: Some(reason.clone()),
                close_status: Some(CloseStatus::ENDPOINT_UNAVAILABLE),
                sent: true,
            }
        );
        let back = s.complete_action(d.id(), 0).unwrap().unwrap();
        assert_eq!((back.context, back.buffer), (7, Some(reason.clone())));
        let got = rx.receive_all().unwrap();
        assert_eq!(got, [Got::Close(1001, reason)]);
        assert!(rx.session.close_received());
        assert!(!rx.session.close_sent());
    }
}

#[test]
fn close_without_body_is_received_as_1005() {
    for from in [Role::Client, Role::Server] {
        let mut p = Pair::new(&[], &[]);
        let (tx, rx) = p.sides(from);
        tx.session.send(BufferType::Close, None, 1).unwrap();
        tx.drive(&mut rx.inbox);
        let frames = parse_frames(&tx.wire);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].opcode(), Opcode::Close);
        assert!(frames[0].payload.is_empty());
        assert_eq!(rx.receive_all().unwrap(), [Got::Close(1005, vec![])]);
    }
    // A status with an empty reason is 2 bytes.
    let mut s = server();
    s.session
        .send_close(CloseStatus::SUCCESS, Some(vec![]), 1)
        .unwrap();
    s.drive_alone();
    assert_eq!(s.wire, [0x88, 0x02, 0x03, 0xE8]);
}

#[test]
fn close_reason_at_most_123_bytes() {
    assert_eq!(MAX_CLOSE_REASON_LENGTH, 123);
    for role in [Role::Client, Role::Server] {
        let mut side = open(role, &[]);
        invalid_argument(
            side.session
                .send_close(CloseStatus::SUCCESS, Some(vec![b'x'; 124]), 1),
        );
        invalid_argument(
            side.session
                .send_close(CloseStatus::SUCCESS, Some(vec![b'x'; 1000]), 1),
        );
        // Nothing was queued: data may still be sent, and a close of 123 bytes goes through.
        assert!(!side.session.close_sent());
        side.session
            .send(BufferType::BinaryMessage, Some(vec![1]), 2)
            .unwrap();
        // 41 three-byte characters: 123 bytes exactly.
        let reason = "€".repeat(41).into_bytes();
        assert_eq!(reason.len(), 123);
        side.session
            .send_close(CloseStatus::SUCCESS, Some(reason.clone()), 3)
            .unwrap();
        side.drive_alone();
        let frames = side.wire_frames();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].payload, close_payload(1000, &reason));
        assert_eq!(side.sends_done, [2, 3]);
        // And the peer accepts it.
        let mut peer = open(
            match role {
                Role::Client => Role::Server,
                Role::Server => Role::Client,
            },
            &[],
        );
        let got = peer.feed(&side.wire).unwrap();
        assert_eq!(
            got,
            [
                Got::Piece(BufferType::BinaryMessage, vec![1]),
                Got::Close(1000, reason)
            ]
        );
    }
}

#[test]
fn close_reason_must_be_utf8() {
    let mut s = server();
    for bad in [
        &b"\xFF"[..],
        b"ok\xE2\x82",
        b"\xED\xA0\x80",
        b"\xC0\x80",
        b"\xF4\x90\x80\x80",
    ] {
        invalid_argument(
            s.session
                .send_close(CloseStatus::SUCCESS, Some(bad.to_vec()), 1),
        );
    }
    assert!(!s.session.close_sent());
    s.session
        .send_close(
            CloseStatus::SUCCESS,
            Some("ünïcödé 𝄞".as_bytes().to_vec()),
            2,
        )
        .unwrap();
}

#[test]
fn invalid_outgoing_codes_are_invalid_argument() {
    // RFC 6455 §7.4 and the IANA registry: what may be sent.
    let valid = |c: u16| matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999);
    let mut s = server();
    let mut accepted = 0;
    for code in 0..=u16::MAX {
        if valid(code) {
            // Each valid code on a handle of its own (a close may be sent once).
            let mut fresh = server();
            fresh
                .session
                .send_close(CloseStatus(code), None, 1)
                .unwrap_or_else(|e| panic!("{code}: {e:?}"));
            accepted += 1;
            if code % 500 == 0 || code < 1020 {
                fresh.drive_alone();
                assert_eq!(fresh.wire[2..], code.to_be_bytes());
            }
        } else {
            invalid_argument(s.session.send_close(CloseStatus(code), None, 1));
        }
    }
    assert_eq!(accepted, 4 + 8 + 2000);
    assert!(!s.session.close_sent());
    s.drive_alone();
    assert!(s.wire.is_empty(), "a refused close reached the wire");
}

#[test]
fn close_reason_without_status_is_invalid_argument() {
    let mut s = server();
    invalid_argument(s.session.send(BufferType::Close, Some(b"why".to_vec()), 1));
    assert!(!s.session.close_sent());
}

/// An open side of `role` that has queued a close (status 1000, context 1).
fn closing(role: Role) -> Side {
    let mut side = open(role, &[]);
    side.session
        .send_close(CloseStatus::SUCCESS, None, 1)
        .unwrap();
    side
}

#[test]
fn second_close_is_invalid_state() {
    for role in [Role::Client, Role::Server] {
        let mut side = closing(role);
        invalid_state(side.session.send_close(CloseStatus::SUCCESS, None, 2));
        invalid_state(side.session.send(BufferType::Close, None, 3));
        // Also once the first is on the wire.
        side.drive_alone();
        invalid_state(side.session.send_close(CloseStatus(4000), None, 4));

        let mut side = open(role, &[]);
        side.session.send(BufferType::Close, None, 1).unwrap();
        invalid_state(side.session.send_close(CloseStatus::SUCCESS, None, 2));
        side.drive_alone();
        assert_eq!(side.wire_frames().len(), 1);
        assert_eq!(side.sends_done, [1]);
    }
}

#[test]
fn only_control_frames_after_close() {
    for role in [Role::Client, Role::Server] {
        let mut side = closing(role);
        for t in DATA_TYPES {
            invalid_state(side.session.send(t, Some(vec![1]), 2));
            invalid_state(side.session.send(t, None, 2));
        }
        // Ping and unsolicited pong after close are allowed.
        side.session.send(BufferType::PingPong, None, 3).unwrap();
        side.session
            .send(BufferType::UnsolicitedPong, None, 4)
            .unwrap();
        side.drive_alone();
        assert_eq!(
            side.wire_opcodes(),
            [Opcode::Close, Opcode::Ping, Opcode::Pong]
        );
        assert_eq!(side.sends_done, [1, 3, 4]);
        assert_eq!(side.sends_sent, [true; 3]);
    }
}

#[test]
fn no_automatic_pong_once_close_is_sent() {
    for role in [Role::Client, Role::Server] {
        let mut side = closing(role);
        side.drive_alone();
        let got = side
            .feed(&frame_to(role, true, Opcode::Ping, b"late ping"))
            .unwrap();
        assert!(got.is_empty());
        assert_eq!(side.wire_opcodes(), [Opcode::Close], "{role:?}");
        // The peer's close still arrives.
        let got = side
            .feed(&frame_to(
                role,
                true,
                Opcode::Close,
                &close_payload(1000, b""),
            ))
            .unwrap();
        assert_eq!(got, [Got::Close(1000, vec![])]);
    }
}

#[test]
fn closing_handshake_initiated_by_either_side() {
    for first in [Role::Client, Role::Server] {
        let mut p = Pair::new(&[], &[]);
        let (a, b) = p.sides(first);
        // A is still sending when it decides to close; B keeps sending until it sees the close.
        a.session
            .send(BufferType::Utf8Message, Some(b"last words".to_vec()), 1)
            .unwrap();
        a.session
            .send_close(CloseStatus(4000), Some(b"done".to_vec()), 2)
            .unwrap();
        a.drive(&mut b.inbox);
        b.session
            .send(BufferType::BinaryMessage, Some(b"in flight".to_vec()), 3)
            .unwrap();
        b.drive(&mut a.inbox);
        let got = b.receive_to(&mut a.inbox).unwrap();
        assert_eq!(
            got,
            [
                Got::Piece(BufferType::Utf8Message, b"last words".to_vec()),
                Got::Close(4000, b"done".to_vec())
            ]
        );
        assert!(b.session.close_received() && !b.session.close_sent());
        // B may still send data before its close (RFC 6455 §5.5.1), then echoes the status.
        b.session
            .send(BufferType::BinaryMessage, Some(b"bye".to_vec()), 4)
            .unwrap();
        b.session.send_close(CloseStatus(4000), None, 5).unwrap();
        b.drive(&mut a.inbox);
        assert_eq!(b.sends_done, [3, 4, 5]);
        let got = a.receive_to(&mut b.inbox).unwrap();
        assert_eq!(
            got,
            [
                Got::Piece(BufferType::BinaryMessage, b"in flight".to_vec()),
                Got::Piece(BufferType::BinaryMessage, b"bye".to_vec()),
                Got::Close(4000, vec![])
            ]
        );
        for side in [&*a, &*b] {
            assert!(side.session.close_sent() && side.session.close_received());
            assert!(side.error.is_none());
        }
    }
}

#[test]
fn receives_after_close_received() {
    let mut c = client();
    c.session.receive(1).unwrap();
    c.session.receive(2).unwrap();
    c.inbox = server_frame(true, Opcode::Close, &close_payload(1000, b"x"));
    c.drive_alone();
    assert_eq!(c.got, [Got::Close(1000, b"x".to_vec())]);
    assert_eq!(c.recvs_done, [1]);
    // A new receive is refused; the one queued behind the close waits for the abort.
    invalid_state(c.session.receive(3));
    invalid_state(c.session.receive_into(vec![0; 4], 3));
    assert_eq!(next(&mut c.session, Queue::All).unwrap(), Snap::NoAction);
    c.session.abort();
    c.drive_alone();
    assert_eq!(
        c.got,
        [Got::Close(1000, b"x".to_vec()), Got::Close(1006, vec![])]
    );
    assert_eq!(c.recvs_done, [1, 2]);
}

#[test]
fn client_close_is_masked() {
    for capacity in [1, 2] {
        let mut c = client();
        c.capacity = capacity;
        c.session
            .send_close(CloseStatus(3001), Some(b"masked reason".to_vec()), 1)
            .unwrap();
        c.drive_alone();
        let frames = c.wire_frames();
        assert_eq!(frames.len(), 1);
        let key = frames[0].head.mask.expect("masked");
        assert_ne!(key, [0; 4]);
        assert_eq!(frames[0].payload, close_payload(3001, b"masked reason"));
        let raw = &c.wire[frames[0].header_len..];
        assert_ne!(raw, &frames[0].payload[..]);
        let mut s = server();
        assert_eq!(
            s.feed(&c.wire).unwrap(),
            [Got::Close(3001, b"masked reason".to_vec())]
        );
    }
}
