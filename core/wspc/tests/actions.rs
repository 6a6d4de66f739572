//! The action flows of spec §6 and the action semantics of §5.8–§5.10, step by step.

use wspc::frame::Opcode;
use wspc::{
    ActionId, ActionKind, BufferType, CloseStatus, Completed, Error, HResult, Misuse, Property,
    ProtocolError, Queue, Role, Session,
};
use wspc_testkit::data::pattern;
use wspc_testkit::errors::invalid_state;
use wspc_testkit::frame::*;
use wspc_testkit::headers::*;
use wspc_testkit::pair::*;
use wspc_testkit::parse::parse_frames;
use wspc_testkit::snap::*;

fn done(s: &mut Ws, snap: &Snap, n: usize) -> Option<Completed<Vec<u8>, u32>> {
    s.complete_action(snap.id(), n).unwrap()
}

/// Serve the send queue with capacity 1 until it is idle, completing every write in full (each
/// one buffer) and checking every send went out; returns each write's length and start address,
/// and the bytes written.
fn one_buffer_at_a_time(s: &mut Ws) -> (Vec<(usize, usize)>, Vec<u8>) {
    let mut writes = Vec::new();
    let mut wire = Vec::new();
    loop {
        let a = next_cap(s, Queue::Send, 1).unwrap();
        match &a {
            Snap::Send { bufs, ptrs, .. } => {
                assert_eq!(bufs.len(), 1);
                writes.push((bufs[0].len(), ptrs[0]));
                wire.extend(a.bytes());
                done(s, &a, a.total());
            }
            Snap::SendDone { sent, .. } => {
                assert!(sent);
                done(s, &a, 0);
            }
            Snap::NoAction => break,
            other => panic!("{other:?}"),
        }
    }
    (writes, wire)
}

// ----- §6.1 one send --------------------------------------------------------------------------

#[test]
fn server_send_flow_two_buffers_payload_is_callers_memory() {
    let mut s = server().session;
    let payload = pattern(1000);
    let ptr = payload.as_ptr() as usize;
    s.send(BufferType::BinaryMessage, Some(payload), 7).unwrap();
    let a = next(&mut s, Queue::Send).unwrap();
    let Snap::Send {
        buffer_type,
        context,
        bufs,
        ptrs,
        ..
    } = &a
    else {
        panic!("{a:?}");
    };
    assert_eq!(*buffer_type, BufferType::BinaryMessage);
    assert_eq!(*context, Some(7));
    assert_eq!(bufs.len(), 2);
    assert_eq!(bufs[0], [0x82, 0x7E, 0x03, 0xE8]);
    assert_eq!(bufs[1], pattern(1000));
    assert_eq!(
        ptrs[1], ptr,
        "the payload buffer is the caller's own memory"
    );
    assert_eq!(done(&mut s, &a, a.total()), None);
    let d = next(&mut s, Queue::Send).unwrap();
    assert_eq!(
        d,
        Snap::SendDone {
            id: d.id(),
            buffer_type: BufferType::BinaryMessage,
            context: 7,
            payload: Some(pattern(1000)),
            close_status: None,
            sent: true,
        }
    );
    let back = done(&mut s, &d, 0).unwrap();
    assert_eq!(back.context, 7);
    let buf = back.buffer.unwrap();
    assert_eq!(
        buf.as_ptr() as usize,
        ptr,
        "the caller gets its buffer back"
    );
    assert_eq!(buf, pattern(1000));
    assert_eq!(next(&mut s, Queue::Send).unwrap(), Snap::NoAction);
    assert_eq!(next(&mut s, Queue::All).unwrap(), Snap::NoAction);
}

#[test]
fn client_send_masked_copy_in_chunks_of_send_buffer_size() {
    let mut c = open(Role::Client, &[Property::SendBufferSize(256)]).session;
    let payload = pattern(1000);
    let range = payload.as_ptr() as usize..payload.as_ptr() as usize + payload.len();
    c.send(BufferType::BinaryMessage, Some(payload), 3).unwrap();
    let mut wire = Vec::new();
    let mut shapes = Vec::new();
    loop {
        let a = next(&mut c, Queue::Send).unwrap();
        match &a {
            Snap::Send {
                context,
                bufs,
                ptrs,
                buffer_type,
                ..
            } => {
                assert_eq!(*context, Some(3));
                assert_eq!(*buffer_type, BufferType::BinaryMessage);
                for (b, p) in bufs.iter().zip(ptrs) {
                    assert!(b.len() <= 256);
                    assert!(
                        !range.contains(p),
                        "the caller's buffer is never sent masked"
                    );
                }
                shapes.push(bufs.iter().map(Vec::len).collect::<Vec<_>>());
                wire.extend(a.bytes());
                done(&mut c, &a, a.total());
            }
            Snap::SendDone {
                context,
                sent,
                payload,
                ..
            } => {
                assert_eq!((*context, *sent), (3, true));
                // The caller's buffer was not masked in place.
                assert_eq!(payload.as_deref(), Some(&pattern(1000)[..]));
                let back = done(&mut c, &a, 0).unwrap();
                assert_eq!(back.buffer, Some(pattern(1000)));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // Header and first chunk in one buffer of the send buffer size, then chunks of at most
    // the send buffer size.
    assert_eq!(
        shapes,
        [vec![256], vec![256], vec![256], vec![240]],
        "{shapes:?}"
    );
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].head.mask.is_some());
    assert_eq!(frames[0].payload, pattern(1000));
    // The peer decodes it.
    let mut s = server();
    let got = s.feed(&wire).unwrap();
    assert_eq!(message(&got), (BufferType::BinaryMessage, pattern(1000)));
}

#[test]
fn capacity_one_sends_header_then_payload() {
    // Server: the header, then the caller's payload, as two actions.
    let mut s = server().session;
    let payload = pattern(300);
    let ptr = payload.as_ptr() as usize;
    s.send(BufferType::Utf8Message, Some(b"x".repeat(300)), 1)
        .unwrap();
    s.send(BufferType::BinaryMessage, Some(payload), 2).unwrap();
    let (writes, wire) = one_buffer_at_a_time(&mut s);
    let shapes: Vec<usize> = writes.iter().map(|&(len, _)| len).collect();
    assert_eq!(shapes, [4, 300, 4, 300]);
    assert_eq!(writes[3].1, ptr);
    let mut c = client();
    let got = c.feed(&wire).unwrap();
    assert_eq!(
        got,
        [
            Got::Piece(BufferType::Utf8Message, b"x".repeat(300)),
            Got::Piece(BufferType::BinaryMessage, pattern(300)),
        ]
    );

    // Client and automatic pongs, both directions, through a pair with capacity 1.
    let mut p = Pair::new(&[Property::SendBufferSize(64)], &[]);
    p.client.capacity = 1;
    p.server.capacity = 1;
    p.client
        .session
        .send(BufferType::BinaryMessage, Some(pattern(500)), 1)
        .unwrap();
    p.server
        .session
        .send(BufferType::PingPong, None, 2)
        .unwrap();
    p.client
        .inbox
        .extend(server_frame(true, Opcode::Ping, b"abc"));
    p.exchange();
    assert!(p.client.writes.iter().all(|w| w.len() == 1));
    assert!(p.server.writes.iter().all(|w| w.len() == 1));
    let frames = p.client.wire_frames();
    let pongs: Vec<&[u8]> = frames
        .iter()
        .filter(|f| f.opcode() == Opcode::Pong)
        .map(|f| &f.payload[..])
        .collect();
    assert_eq!(pongs.len(), 2, "{frames:?}");
    assert!(pongs.contains(&&b"abc"[..]) && pongs.contains(&&b""[..]));
    let (pieces, pongs) = p.server.split_got();
    // The server's ping was answered, and so was the crafted one (the client's pong of it
    // reached the server too).
    assert_eq!(pongs.len(), 2, "{pongs:?}");
    assert!(pongs.contains(&Got::Pong(vec![])) && pongs.contains(&Got::Pong(b"abc".to_vec())));
    assert_eq!(message(&pieces), (BufferType::BinaryMessage, pattern(500)));
    assert_eq!(p.client.sends_done, [1]);
    assert_eq!(p.server.sends_done, [2]);
}

#[test]
fn capacity_zero_is_invalid_argument() {
    for mut side in [client(), server()] {
        side.session
            .send(BufferType::BinaryMessage, Some(vec![1]), 1)
            .unwrap();
        let e = side
            .session
            .get_action_with_capacity(Queue::All, 0)
            .unwrap_err();
        assert!(
            matches!(e, Error::Misuse(Misuse::InvalidArgument(_))),
            "{e:?}"
        );
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
        // Nothing was handed out: the send is still there.
        assert_eq!(
            next(&mut side.session, Queue::All).unwrap().kind(),
            ActionKind::SendToNetwork
        );
    }
}

#[test]
fn send_complete_echoes_the_send() {
    let mut s = server().session;
    s.send(BufferType::Utf8Fragment, Some(b"ab".to_vec()), 1)
        .unwrap();
    s.send(BufferType::Utf8Message, Some(vec![]), 2).unwrap();
    s.send(BufferType::PingPong, None, 3).unwrap();
    s.send(BufferType::UnsolicitedPong, None, 4).unwrap();
    s.send_close(CloseStatus(4001), Some(b"why".to_vec()), 5)
        .unwrap();
    let mut echoes = Vec::new();
    loop {
        let a = next(&mut s, Queue::Send).unwrap();
        match &a {
            Snap::Send { .. } => {
                done(&mut s, &a, a.total());
            }
            Snap::SendDone {
                buffer_type,
                context,
                payload,
                close_status,
                sent,
                ..
            } => {
                assert!(sent);
                echoes.push((*buffer_type, *context, payload.clone(), *close_status));
                done(&mut s, &a, 0);
            }
            Snap::NoAction => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        echoes,
        [
            (BufferType::Utf8Fragment, 1, Some(b"ab".to_vec()), None),
            (BufferType::Utf8Message, 2, Some(vec![]), None),
            (BufferType::PingPong, 3, None, None),
            (BufferType::UnsolicitedPong, 4, None, None),
            (
                BufferType::Close,
                5,
                Some(b"why".to_vec()),
                Some(CloseStatus(4001))
            ),
        ]
    );
}

// ----- §6.2 one receive -----------------------------------------------------------------------

#[test]
fn receive_flow_read_then_indicate() {
    let mut c = client().session;
    c.receive(5).unwrap();
    let r = next(&mut c, Queue::Receive).unwrap();
    let Snap::Read { context, len, .. } = r else {
        panic!("{r:?}");
    };
    assert_eq!((context, len), (5, 4096));
    // While the read is outstanding, the receive queue has nothing else.
    assert_eq!(next(&mut c, Queue::Receive).unwrap(), Snap::NoAction);
    fill(&mut c, r.id(), &server_frame(true, Opcode::Text, b"Hello"));
    let d = next(&mut c, Queue::Receive).unwrap();
    let (buffer_type, context, data, close_status) = d.recv_done();
    assert_eq!(
        (buffer_type, context, data, close_status),
        (BufferType::Utf8Message, 5, &b"Hello"[..], None)
    );
    assert_eq!(
        done(&mut c, &d, 0),
        Some(Completed {
            context: 5,
            buffer: None
        })
    );
    // Nothing more until a new receive is posted.
    assert_eq!(next(&mut c, Queue::Receive).unwrap(), Snap::NoAction);
    assert_eq!(next(&mut c, Queue::All).unwrap(), Snap::NoAction);
}

/// Read `bytes` in one network read (all of them taken) for receive 1, then post receives 2 to
/// `n` one at a time: each completes from bytes already read, without another network read.
/// Returns what each delivered: type, context, data, close status.
fn receive_from_one_read(
    c: &mut Ws,
    bytes: &[u8],
    n: u32,
) -> Vec<(BufferType, u32, Vec<u8>, Option<CloseStatus>)> {
    assert_eq!(receive_bytes(c, 1, bytes), bytes.len());
    let mut seen = Vec::new();
    for ctx in 1..=n {
        if ctx > 1 {
            c.receive(ctx).unwrap();
        }
        let d = next(c, Queue::Receive).unwrap();
        assert_eq!(
            d.kind(),
            ActionKind::IndicateReceiveComplete,
            "receive {ctx} needed a network read: {d:?}"
        );
        let (buffer_type, context, data, close_status) = d.recv_done();
        seen.push((buffer_type, context, data.to_vec(), close_status));
        done(c, &d, 0);
    }
    seen
}

#[test]
fn surplus_bytes_serve_later_receives_without_network_read() {
    let mut c = client().session;
    let bytes = [
        server_frame(true, Opcode::Text, b"one"),
        server_frame(true, Opcode::Binary, b"two"),
        server_frame(true, Opcode::Pong, b"three"),
        server_frame(true, Opcode::Close, &close_payload(1000, b"four")),
    ]
    .concat();
    let seen = receive_from_one_read(&mut c, &bytes, 4);
    assert_eq!(
        seen,
        [
            (BufferType::Utf8Message, 1, b"one".to_vec(), None),
            (BufferType::BinaryMessage, 2, b"two".to_vec(), None),
            (BufferType::PingPong, 3, b"three".to_vec(), None),
            (
                BufferType::Close,
                4,
                b"four".to_vec(),
                Some(CloseStatus(1000))
            ),
        ]
    );
}

#[test]
fn pieces_never_exceed_receive_buffer_size() {
    for rbs in [256u32, 1000, 4096] {
        let mut p = Pair::new(&[Property::ReceiveBufferSize(rbs)], &[]);
        let got = p.binary_to_client(pattern(5000));
        assert!(got.len() >= 5000 / rbs as usize);
        for g in &got {
            let Got::Piece(_, d) = g else { panic!() };
            assert!(d.len() <= rbs as usize, "piece of {} > {rbs}", d.len());
        }
        assert!(p.client.reads.iter().all(|&n| n <= rbs as usize));
        assert_eq!(message(&got), (BufferType::BinaryMessage, pattern(5000)));
    }
    // A caller buffer bigger than the receive buffer does not make pieces bigger.
    let mut c = open(Role::Client, &[Property::ReceiveBufferSize(256)]);
    c.inbox = server_frame(true, Opcode::Binary, &pattern(1000));
    let mut total = Vec::new();
    while total.len() < 1000 {
        c.session.receive_into(vec![0; 4096], 1).unwrap();
        let before = c.got.len();
        c.drive_alone();
        let Got::Piece(_, d) = &c.got[before] else {
            panic!()
        };
        assert!(d.len() <= 256);
        total.extend_from_slice(d);
    }
    assert_eq!(total, pattern(1000));
}

#[test]
fn piece_delivered_before_frame_fully_arrived() {
    for role in [Role::Client, Role::Server] {
        let data = pattern(1000);
        let frame = frame_to(role, true, Opcode::Binary, &data);
        let header = frame.len() - 1000;
        let mut s = open(role, &[]).session;
        receive_bytes(&mut s, 1, &frame[..header + 10]);
        let d = next(&mut s, Queue::Receive).unwrap();
        let (buffer_type, _, piece, _) = d.recv_done();
        assert_eq!(buffer_type, BufferType::BinaryFragment);
        assert_eq!(piece[..], data[..10]);
        done(&mut s, &d, 0);
        // The rest, in one more read.
        receive_bytes(&mut s, 2, &frame[header + 10..]);
        let d = next(&mut s, Queue::Receive).unwrap();
        let (buffer_type, _, piece, _) = d.recv_done();
        assert_eq!(buffer_type, BufferType::BinaryMessage);
        assert_eq!(piece[..], data[10..]);
    }
}

#[test]
fn receive_into_a_small_caller_buffer() {
    for role in [Role::Client, Role::Server] {
        let text = "héllo wörld ✓ 𝄞".repeat(5);
        let mut side = open(role, &[]);
        side.inbox = frame_to(role, true, Opcode::Text, text.as_bytes());
        let mut got = Vec::new();
        loop {
            let buf = vec![0u8; 7];
            let ptr = buf.as_ptr() as usize;
            side.session.receive_into(buf, 9).unwrap();
            let piece = loop {
                let a = next(&mut side.session, Queue::Receive).unwrap();
                match &a {
                    Snap::Read { .. } => {
                        let n = side.inbox.len();
                        let used = fill(&mut side.session, a.id(), &side.inbox);
                        side.inbox.drain(..used.min(n));
                    }
                    Snap::RecvDone { .. } => break a,
                    other => panic!("{other:?}"),
                }
            };
            let Snap::RecvDone {
                buffer_type,
                data,
                ptr: at,
                context,
                ..
            } = &piece
            else {
                unreachable!()
            };
            assert_eq!(*context, 9);
            assert!(data.len() <= 7 && !data.is_empty());
            assert_eq!(*at, ptr, "the piece is in the caller's buffer");
            got.push(Got::Piece(*buffer_type, data.clone()));
            let back = done(&mut side.session, &piece, 0).unwrap();
            let buf = back.buffer.expect("the caller's buffer comes back");
            assert_eq!(buf.as_ptr() as usize, ptr);
            assert_eq!(buf[..data.len()], data[..]);
            if buffer_type.is_final() {
                break;
            }
        }
        assert_eq!(
            message(&got),
            (BufferType::Utf8Message, text.as_bytes().to_vec())
        );
    }
    // Pongs and closes still point into the internal buffer, whole.
    let mut c = client();
    c.inbox = [
        server_frame(true, Opcode::Pong, b"a long pong payload"),
        server_frame(true, Opcode::Close, &close_payload(1000, b"a long reason")),
    ]
    .concat();
    c.session.receive_into(vec![0; 2], 1).unwrap();
    c.session.receive_into(vec![0; 2], 2).unwrap();
    c.drive_alone();
    assert_eq!(
        c.got,
        [
            Got::Pong(b"a long pong payload".to_vec()),
            Got::Close(1000, b"a long reason".to_vec())
        ]
    );
    assert_eq!(c.recvs_done, [1, 2]);
    // An empty buffer is refused.
    let e = c.session.receive_into(vec![], 3).unwrap_err();
    assert!(matches!(e, Error::Misuse(Misuse::InvalidArgument(_))));
}

// ----- §6.3 pieces, fragments, large messages -------------------------------------------------

fn transfer(rbs: u32, sbs: u32, read_size: usize, parts: &[(BufferType, Vec<u8>)]) {
    let props = [
        Property::ReceiveBufferSize(rbs),
        Property::SendBufferSize(sbs),
    ];
    let mut p = Pair::new(&props, &props);
    for (from, ctx) in [(Role::Client, 1), (Role::Server, 2)] {
        let (tx, rx) = p.sides(from);
        rx.read_sizes = vec![read_size];
        for (i, (t, d)) in parts.iter().enumerate() {
            tx.session
                .send(*t, Some(d.clone()), ctx * 100 + i as u32)
                .unwrap();
        }
        tx.drive(&mut rx.inbox);
        let want: Vec<u32> = (0..parts.len() as u32).map(|i| ctx * 100 + i).collect();
        assert_eq!(tx.sends_done, want);
        if from == Role::Client {
            // Masked copies: never more than the send buffer at once.
            assert!(tx
                .writes
                .iter()
                .flatten()
                .all(|&n| n <= (sbs as usize).max(14)));
        }
        let got = rx.receive_all().unwrap();
        for g in &got {
            let Got::Piece(_, d) = g else { panic!("{g:?}") };
            assert!(d.len() <= rbs as usize);
        }
        let (t, data) = message(&got);
        assert_eq!(t, parts.last().unwrap().0);
        assert_eq!(
            data,
            parts
                .iter()
                .flat_map(|(_, d)| d.clone())
                .collect::<Vec<_>>()
        );
        tx.sends_done.clear();
        tx.writes.clear();
        assert!(rx.inbox.is_empty());
    }
}

#[test]
fn large_fragmented_messages_across_buffer_sizes() {
    let binary = [
        (BufferType::BinaryFragment, pattern(3000)),
        (BufferType::BinaryFragment, vec![]),
        (BufferType::BinaryFragment, pattern(70_000)),
        (BufferType::BinaryMessage, pattern(1)),
    ];
    let text_bytes = "aé€𝄞".repeat(3000).into_bytes();
    // Split inside characters on purpose.
    let text = [
        (BufferType::Utf8Fragment, text_bytes[..4001].to_vec()),
        (BufferType::Utf8Fragment, text_bytes[4001..9999].to_vec()),
        (BufferType::Utf8Message, text_bytes[9999..].to_vec()),
    ];
    for (rbs, sbs) in [
        (256, 16),
        (256, 256),
        (1024, 4096),
        (4096, 4096),
        (65536, 65536),
    ] {
        for read_size in [usize::MAX, 1000] {
            transfer(rbs, sbs, read_size, &binary);
            transfer(rbs, sbs, read_size, &text);
        }
    }
    // Tiny reads on a smaller message.
    transfer(
        256,
        16,
        7,
        &[(BufferType::Utf8Message, text_bytes[..4000].to_vec())],
    );
    transfer(256, 16, 3, &[(BufferType::BinaryMessage, pattern(2000))]);
}

// ----- §6.4 control frames --------------------------------------------------------------------

#[test]
fn ping_answered_on_receive_queue_without_app_context() {
    for role in [Role::Client, Role::Server] {
        let mut s = open(role, &[]).session;
        s.receive(3).unwrap();
        let r = next(&mut s, Queue::Receive).unwrap();
        assert_eq!(r.kind(), ActionKind::ReceiveFromNetwork);
        fill(
            &mut s,
            r.id(),
            &frame_to(role, true, Opcode::Ping, b"are you there"),
        );
        // Not on the send queue.
        assert_eq!(next(&mut s, Queue::Send).unwrap(), Snap::NoAction);
        // On the receive queue, before anything else, without the receive's context.
        let pong = next(&mut s, Queue::Receive).unwrap();
        let Snap::Send {
            buffer_type,
            context,
            ..
        } = &pong
        else {
            panic!("{pong:?}");
        };
        assert_eq!((*buffer_type, *context), (BufferType::PingPong, None));
        let frames = parse_frames(&pong.bytes());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].opcode(), Opcode::Pong);
        assert_eq!(frames[0].payload, b"are you there");
        // The ping is never reported: while the pong is written, the receive goes back to the
        // network.
        let r = next(&mut s, Queue::Receive).unwrap();
        assert!(matches!(r, Snap::Read { context: 3, .. }), "{r:?}");
        assert_eq!(done(&mut s, &pong, pong.total()), None);
        assert_eq!(next(&mut s, Queue::Receive).unwrap(), Snap::NoAction);
    }
}

#[test]
fn pong_waits_for_the_app_frame_on_the_wire_but_not_for_a_read() {
    let mut s = open(Role::Client, &[Property::SendBufferSize(16)]).session;
    s.send(BufferType::BinaryMessage, Some(pattern(40)), 50)
        .unwrap();
    receive_bytes(&mut s, 3, &server_frame(true, Opcode::Ping, b"p"));
    // The app's frame starts first and is written in three pieces.
    let mut wire = Vec::new();
    let first = next(&mut s, Queue::Send).unwrap();
    assert_eq!(first.send_context(), Some(50), "{first:?}");
    // Mid-frame, the receive queue offers a read, not the pong.
    let read = next(&mut s, Queue::Receive).unwrap();
    assert!(matches!(read, Snap::Read { context: 3, .. }), "{read:?}");
    wire.extend(first.bytes());
    done(&mut s, &first, first.total());
    for _ in 0..2 {
        assert_eq!(next(&mut s, Queue::Receive).unwrap(), Snap::NoAction);
        let a = next(&mut s, Queue::Send).unwrap();
        wire.extend(a.bytes());
        done(&mut s, &a, a.total());
    }
    // Frame done: the pong goes out although the read is still waiting.
    let pong = next(&mut s, Queue::Receive).unwrap();
    assert_eq!(pong.send_context(), None, "{pong:?}");
    wire.extend(pong.bytes());
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].payload, pattern(40));
    assert_eq!(
        (frames[1].opcode(), &frames[1].payload[..]),
        (Opcode::Pong, &b"p"[..])
    );
}

#[test]
fn app_send_waits_behind_an_outstanding_auto_pong() {
    let mut c = client().session;
    receive_bytes(&mut c, 1, &server_frame(true, Opcode::Ping, b"p"));
    let pong = next(&mut c, Queue::Receive).unwrap();
    assert_eq!(pong.kind(), ActionKind::SendToNetwork);
    c.send(BufferType::BinaryMessage, Some(b"x".to_vec()), 2)
        .unwrap();
    assert_eq!(next(&mut c, Queue::Send).unwrap(), Snap::NoAction);
    done(&mut c, &pong, pong.total());
    let app = next(&mut c, Queue::Send).unwrap();
    assert_eq!(app.send_context(), Some(2), "{app:?}");
}

#[test]
fn pong_and_close_complete_the_receive() {
    let mut c = client().session;
    let bytes = [
        server_frame(true, Opcode::Pong, b"pp"),
        server_frame(true, Opcode::Pong, b""),
        server_frame(true, Opcode::Close, b""),
    ]
    .concat();
    let seen = receive_from_one_read(&mut c, &bytes, 3);
    assert_eq!(
        seen,
        [
            (BufferType::PingPong, 1, b"pp".to_vec(), None),
            (BufferType::PingPong, 2, vec![], None),
            (BufferType::Close, 3, vec![], Some(CloseStatus::EMPTY)),
        ]
    );
    assert!(c.close_received());
    invalid_state(c.receive(4));
    // No automatic close reply.
    assert_eq!(next(&mut c, Queue::All).unwrap(), Snap::NoAction);
}

// ----- §5.9 completion counts -----------------------------------------------------------------

#[test]
fn short_completion_cancels_send() {
    for role in [Role::Client, Role::Server] {
        let mut s = open(role, &[Property::SendBufferSize(64)]).session;
        s.send(BufferType::BinaryMessage, Some(pattern(200)), 1)
            .unwrap();
        s.send(BufferType::BinaryMessage, Some(pattern(5)), 2)
            .unwrap();
        s.receive(3).unwrap();
        let a = next(&mut s, Queue::Send).unwrap();
        done(&mut s, &a, a.total() - 1);
        let d = next(&mut s, Queue::Send).unwrap();
        assert_eq!(d.send_done(), (1, false), "{d:?}");
        assert_eq!(done(&mut s, &d, 0).unwrap().buffer, Some(pattern(200)));
        // The send queued behind it is drained, not sent.
        let d = next(&mut s, Queue::Send).unwrap();
        assert_eq!(d.send_done(), (2, false), "{d:?}");
        done(&mut s, &d, 0);
        assert_eq!(next(&mut s, Queue::Send).unwrap(), Snap::NoAction);
        invalid_state(s.send(BufferType::BinaryMessage, Some(vec![1]), 4));
        invalid_state(s.send_close(CloseStatus::SUCCESS, None, 5));
        invalid_state(s.send(BufferType::PingPong, None, 6));
        // Receiving still works.
        let r = next(&mut s, Queue::Receive).unwrap();
        fill(&mut s, r.id(), &frame_to(role, true, Opcode::Binary, b"in"));
        let d = next(&mut s, Queue::Receive).unwrap();
        assert!(matches!(d, Snap::RecvDone { context: 3, .. }), "{d:?}");
    }
    // A client cancelled in its second chunk.
    let mut c = open(Role::Client, &[Property::SendBufferSize(16)]).session;
    c.send(BufferType::BinaryMessage, Some(pattern(100)), 1)
        .unwrap();
    let a = next(&mut c, Queue::Send).unwrap();
    done(&mut c, &a, a.total());
    let a = next(&mut c, Queue::Send).unwrap();
    assert_eq!(a.total(), 16);
    done(&mut c, &a, 3);
    let d = next(&mut c, Queue::Send).unwrap();
    assert_eq!(d.send_done(), (1, false), "{d:?}");
}

#[test]
fn zero_byte_read_completes_receive_as_1006_and_aborts() {
    for role in [Role::Client, Role::Server] {
        let mut s = open(role, &[]).session;
        s.receive(4).unwrap();
        s.receive(5).unwrap();
        s.send(BufferType::BinaryMessage, Some(vec![1, 2]), 6)
            .unwrap();
        let r = next(&mut s, Queue::Receive).unwrap();
        assert_eq!(done(&mut s, &r, 0), None);
        assert!(s.is_aborted());
        assert!(!s.is_open());
        let mut seen = Vec::new();
        loop {
            let a = next(&mut s, Queue::All).unwrap();
            match &a {
                Snap::NoAction => break,
                Snap::RecvDone { .. } => {
                    let (buffer_type, context, data, close_status) = a.recv_done();
                    assert_eq!(buffer_type, BufferType::Close);
                    assert!(data.is_empty());
                    seen.push((context, close_status));
                }
                Snap::SendDone { context, sent, .. } => {
                    assert!(!sent);
                    seen.push((*context, None));
                }
                other => panic!("network action after end of stream: {other:?}"),
            }
            done(&mut s, &a, 0);
        }
        seen.sort();
        assert_eq!(
            seen,
            [
                (4, Some(CloseStatus::ABORTED)),
                (5, Some(CloseStatus::ABORTED)),
                (6, None)
            ]
        );
        invalid_state(s.receive(7));
        invalid_state(s.send(BufferType::BinaryMessage, None, 8));
    }
}

// ----- §5.10 abort ----------------------------------------------------------------------------

#[test]
fn abort_drains_queued_sends_and_receives_then_no_action() {
    for role in [Role::Client, Role::Server] {
        let mut s = open(role, &[Property::SendBufferSize(16)]).session;
        // Send 1 done, send 2 mid-frame with a write outstanding, sends 3 and 4 queued;
        // receive 10 waiting on a read, receive 11 queued.
        s.send(BufferType::BinaryMessage, Some(vec![1]), 1).unwrap();
        s.send(BufferType::BinaryMessage, Some(pattern(100)), 2)
            .unwrap();
        s.send(BufferType::Utf8Message, Some(b"q".to_vec()), 3)
            .unwrap();
        s.send_close(CloseStatus::SUCCESS, None, 4).unwrap();
        s.receive(10).unwrap();
        s.receive(11).unwrap();
        let a = next(&mut s, Queue::Send).unwrap();
        done(&mut s, &a, a.total());
        let d = next(&mut s, Queue::Send).unwrap();
        assert!(matches!(
            d,
            Snap::SendDone {
                context: 1,
                sent: true,
                ..
            }
        ));
        assert_eq!(done(&mut s, &d, 0).unwrap().context, 1);
        let header = next_cap(&mut s, Queue::Send, 1).unwrap();
        done(&mut s, &header, header.total());
        let write = next(&mut s, Queue::Send).unwrap();
        assert_eq!(write.kind(), ActionKind::SendToNetwork);
        let read = next(&mut s, Queue::Receive).unwrap();
        assert_eq!(read.kind(), ActionKind::ReceiveFromNetwork);

        s.abort();
        assert!(s.is_aborted());
        // Outstanding actions are still completed normally (the driver cancels its I/O).
        assert_eq!(done(&mut s, &write, 0), None);
        fill(
            &mut s,
            read.id(),
            &frame_to(role, true, Opcode::Binary, b"late"),
        );

        let mut sends = Vec::new();
        loop {
            let a = next(&mut s, Queue::Send).unwrap();
            match &a {
                Snap::NoAction => break,
                Snap::SendDone { context, sent, .. } => sends.push((*context, *sent)),
                other => panic!("{other:?}"),
            }
            assert!(done(&mut s, &a, 0).is_some());
        }
        assert_eq!(sends, [(2, false), (3, false), (4, false)], "{role:?}");
        let mut recvs = Vec::new();
        loop {
            let a = next(&mut s, Queue::Receive).unwrap();
            match &a {
                Snap::NoAction => break,
                Snap::RecvDone { .. } => {
                    let (buffer_type, context, data, close_status) = a.recv_done();
                    assert!(data.is_empty());
                    recvs.push((context, buffer_type, close_status));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(done(&mut s, &a, 0).unwrap().buffer, None);
        }
        let aborted = Some(CloseStatus::ABORTED);
        assert_eq!(
            recvs,
            [
                (10, BufferType::Close, aborted),
                (11, BufferType::Close, aborted)
            ]
        );
        assert_eq!(next(&mut s, Queue::All).unwrap(), Snap::NoAction);
        invalid_state(s.send(BufferType::PingPong, None, 20));
        invalid_state(s.receive(21));
        invalid_state(s.send_close(CloseStatus::SUCCESS, None, 22));
    }
}

#[test]
fn abort_drops_a_pending_auto_pong() {
    let mut c = client().session;
    receive_bytes(&mut c, 1, &server_frame(true, Opcode::Ping, b"p"));
    c.abort();
    let d = next(&mut c, Queue::All).unwrap();
    let (t, context, _, _) = d.recv_done();
    assert_eq!((t, context), (BufferType::Close, 1), "{d:?}");
    done(&mut c, &d, 0);
    assert_eq!(next(&mut c, Queue::All).unwrap(), Snap::NoAction);
}

#[test]
fn abort_before_handshake_is_a_no_op() {
    let mut c: Ws = Session::client(&[]).unwrap();
    c.abort();
    assert!(!c.is_aborted());
    let req = c.begin_client_handshake(&[], &[], &[]).unwrap();
    c.abort();
    assert!(!c.is_aborted());
    let mut r = refs(&req);
    r.push(hdr("Host", "h"));
    let mut s: Ws = Session::server(&[]).unwrap();
    s.abort();
    assert!(!s.is_aborted());
    let resp = s.begin_server_handshake(None, &[], &r).unwrap();
    let _negotiated = c.end_client_handshake(&refs(&resp)).unwrap();
    assert!(c.is_open() && !c.is_aborted());
    // The handle works normally.
    Pair::joined(c, s).assert_text_arrives(b"hi");
}

#[test]
fn abort_is_idempotent() {
    let mut s = server().session;
    s.send(BufferType::BinaryMessage, Some(vec![1]), 1).unwrap();
    s.receive(2).unwrap();
    s.abort();
    s.abort();
    let a = next(&mut s, Queue::All).unwrap();
    assert_eq!(a.send_done(), (1, false), "{a:?}");
    s.abort();
    // The handed-out completion is still valid after another abort.
    done(&mut s, &a, 0);
    s.abort();
    let b = next(&mut s, Queue::All).unwrap();
    assert!(matches!(b, Snap::RecvDone { context: 2, .. }), "{b:?}");
    done(&mut s, &b, 0);
    for _ in 0..3 {
        s.abort();
        assert_eq!(next(&mut s, Queue::All).unwrap(), Snap::NoAction);
        assert!(s.is_aborted());
    }
}

// ----- §5.8 queues and action ids -------------------------------------------------------------

#[test]
fn complete_action_with_unknown_or_completed_id() {
    let mut s = server().session;
    for raw in [0, 1, 999, u64::MAX] {
        let e = s.complete_action(ActionId::from_raw(raw), 0).unwrap_err();
        assert_eq!(e, Error::Misuse(Misuse::UnknownAction));
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
    }
    s.send(BufferType::BinaryMessage, Some(vec![1]), 1).unwrap();
    let a = next(&mut s, Queue::All).unwrap();
    let id = a.id();
    assert_eq!(ActionId::from_raw(id.to_raw()), id);
    assert!(s.outstanding_action(id).is_some());
    done(&mut s, &a, a.total());
    assert!(s.outstanding_action(id).is_none());
    assert_eq!(
        s.complete_action(id, a.total()),
        Err(Error::Misuse(Misuse::UnknownAction))
    );
    let d = next(&mut s, Queue::All).unwrap();
    assert_ne!(d.id(), id);
    done(&mut s, &d, 0);
    assert_eq!(
        s.complete_action(d.id(), 0),
        Err(Error::Misuse(Misuse::UnknownAction))
    );
}

#[test]
fn outstanding_action_blocks_its_queue_only() {
    let mut s = server().session;
    s.send(BufferType::BinaryMessage, Some(vec![1]), 1).unwrap();
    s.send(BufferType::BinaryMessage, Some(vec![2]), 2).unwrap();
    s.receive(3).unwrap();
    let w = next(&mut s, Queue::Send).unwrap();
    assert_eq!(w.kind(), ActionKind::SendToNetwork);
    assert_eq!(next(&mut s, Queue::Send).unwrap(), Snap::NoAction);
    // The receive queue is independent.
    let r = next(&mut s, Queue::Receive).unwrap();
    assert_eq!(r.kind(), ActionKind::ReceiveFromNetwork);
    assert_eq!(next(&mut s, Queue::Receive).unwrap(), Snap::NoAction);
    assert_eq!(next(&mut s, Queue::All).unwrap(), Snap::NoAction);
    // The handed-out action can be viewed again, unchanged.
    let again = s.outstanding_action(w.id()).map(|a| snapshot(&a));
    assert_eq!(again, Some(w.clone()));
    done(&mut s, &w, w.total());
    assert_eq!(
        next(&mut s, Queue::Send).unwrap().kind(),
        ActionKind::IndicateSendComplete
    );
    fill(&mut s, r.id(), &client_frame(true, Opcode::Binary, b"x"));
    assert_eq!(
        next(&mut s, Queue::Receive).unwrap().kind(),
        ActionKind::IndicateReceiveComplete
    );
}

#[test]
fn separate_send_and_receive_queues_used_alternately() {
    let mut p = Pair::new(&[Property::SendBufferSize(100)], &[]);
    p.client.queues = vec![Queue::Send, Queue::Receive];
    p.server.queues = vec![Queue::Receive, Queue::Send];
    for i in 0..5u32 {
        p.client
            .session
            .send(
                BufferType::BinaryMessage,
                Some(pattern(300 * i as usize)),
                i,
            )
            .unwrap();
        p.server
            .session
            .send(
                BufferType::Utf8Message,
                Some(format!("msg {i}").into_bytes()),
                10 + i,
            )
            .unwrap();
        p.client
            .session
            .send(BufferType::PingPong, None, 20 + i)
            .unwrap();
    }
    p.exchange();
    assert!(p.client.error.is_none() && p.server.error.is_none());
    let texts: Vec<Got> = p.client.pieces();
    let want: Vec<Got> = (0..5)
        .map(|i| Got::Piece(BufferType::Utf8Message, format!("msg {i}").into_bytes()))
        .collect();
    assert_eq!(texts, want);
    let pongs = p
        .client
        .got
        .iter()
        .filter(|g| matches!(g, Got::Pong(_)))
        .count();
    assert_eq!(
        pongs, 5,
        "every ping answered through the server's receive queue"
    );
    let mut data = Vec::new();
    let mut messages = 0;
    for g in &p.server.got {
        let Got::Piece(t, d) = g else { panic!("{g:?}") };
        data.extend_from_slice(d);
        if t.is_final() {
            assert_eq!(data, pattern(300 * messages));
            data.clear();
            messages += 1;
        }
    }
    assert_eq!(messages, 5);
    assert_eq!(p.client.sends_done, [0, 20, 1, 21, 2, 22, 3, 23, 4, 24]);
    assert_eq!(p.server.sends_done, [10, 11, 12, 13, 14]);
    // Both queues were used.
    assert!(p.client.log.contains(&ActionKind::ReceiveFromNetwork));
    assert!(p.client.log.contains(&ActionKind::SendToNetwork));
}

#[test]
fn protocol_error_repeats_until_abort_and_close_still_goes_out() {
    let mut p = Pair::new(&[], &[]);
    let c = &mut p.client.session;
    c.receive(1).unwrap();
    let r = next(c, Queue::Receive).unwrap();
    fill(c, r.id(), &raw_frame(0x83, None, b"bad"));
    let want = Error::Protocol(ProtocolError::ReservedOpcode(3));
    for q in [Queue::Receive, Queue::All, Queue::Receive] {
        assert_eq!(next(c, q), Err(want.clone()));
    }
    assert_eq!(c.fault(), Some(ProtocolError::ReservedOpcode(3)));
    invalid_state(c.receive(2));
    // Fail the connection the RFC way: a close with the error's status.
    let status = want.close_status().unwrap();
    assert_eq!(status, CloseStatus::PROTOCOL_ERROR);
    c.send_close(status, Some(b"bad opcode".to_vec()), 3)
        .unwrap();
    let w = next(c, Queue::Send).unwrap();
    assert_eq!(w.kind(), ActionKind::SendToNetwork);
    p.server.inbox.extend(w.bytes());
    done(c, &w, w.total());
    let d = next(c, Queue::Send).unwrap();
    assert!(matches!(
        d,
        Snap::SendDone {
            context: 3,
            sent: true,
            ..
        }
    ));
    done(c, &d, 0);
    // Still the error on the receive queue, until the abort.
    assert_eq!(next(c, Queue::Receive), Err(want.clone()));
    c.abort();
    let d = next(c, Queue::Receive).unwrap();
    let (t, context, _, status) = d.recv_done();
    assert_eq!(
        (t, context, status),
        (BufferType::Close, 1, Some(CloseStatus::ABORTED)),
        "{d:?}"
    );
    done(c, &d, 0);
    assert_eq!(next(c, Queue::All), Ok(Snap::NoAction));
    // The peer sees the close code.
    let got = p.server.receive_all().unwrap();
    assert_eq!(got, [Got::Close(1002, b"bad opcode".to_vec())]);
}

#[test]
fn fifo_queueing_of_sends_and_receives() {
    let mut p = Pair::new(&[], &[]);
    for i in 0..6u32 {
        let t = if i % 2 == 0 {
            BufferType::Utf8Message
        } else {
            BufferType::BinaryMessage
        };
        p.client
            .session
            .send(t, Some(format!("message {i}").into_bytes()), i)
            .unwrap();
    }
    for i in 0..6u32 {
        p.server.session.receive(100 + i).unwrap();
    }
    p.run();
    assert_eq!(p.client.sends_done, [0, 1, 2, 3, 4, 5]);
    assert_eq!(p.client.sends_sent, [true; 6]);
    assert_eq!(p.server.recvs_done, [100, 101, 102, 103, 104, 105]);
    let want: Vec<Got> = (0..6)
        .map(|i| {
            let t = if i % 2 == 0 {
                BufferType::Utf8Message
            } else {
                BufferType::BinaryMessage
            };
            Got::Piece(t, format!("message {i}").into_bytes())
        })
        .collect();
    assert_eq!(p.server.got, want);
    // The frames went out in order, one after the other.
    let frames = p.client.wire_frames();
    assert_eq!(frames.len(), 6);
}

#[test]
fn contexts_come_back_exactly_once_in_order() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut p = Pair::new(
        &[Property::SendBufferSize(16)],
        &[Property::ReceiveBufferSize(256)],
    );
    p.server.read_sizes = vec![100];
    type Log = Rc<RefCell<Vec<(ActionKind, Option<u32>)>>>;
    let seen: Log = Rc::default();
    let log = Rc::clone(&seen);
    p.client.inspect = Some(Box::new(move |a| {
        let ctx = match a {
            wspc::Action::SendToNetwork(a) => a.context.copied(),
            wspc::Action::IndicateSendComplete(a) => Some(*a.context),
            _ => None,
        };
        log.borrow_mut().push((a.kind(), ctx));
    }));
    for i in 0..30u32 {
        let (t, payload) = match i % 5 {
            0 => (BufferType::PingPong, None),
            1 => (BufferType::BinaryMessage, Some(pattern(i as usize * 37))),
            2 => (BufferType::Utf8Fragment, Some(b"frag".to_vec())),
            3 => (BufferType::Utf8Message, Some(b"ment".to_vec())),
            _ => (BufferType::UnsolicitedPong, None),
        };
        p.client.session.send(t, payload, i).unwrap();
    }
    p.run_client();
    let all: Vec<u32> = (0..30).collect();
    assert_eq!(p.client.sends_done, all);
    // Every write carries the context of the send in progress, whose completion follows its
    // last write, once.
    let mut current = 0;
    let mut completed = Vec::new();
    for (kind, ctx) in seen.borrow().iter() {
        match kind {
            ActionKind::SendToNetwork => assert_eq!(*ctx, Some(current)),
            ActionKind::IndicateSendComplete => {
                assert_eq!(*ctx, Some(current));
                completed.push(current);
                current += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(completed, all);

    let got = p.server.receive_all().unwrap();
    assert!(p.server.inbox.is_empty());
    // Receive contexts: each completed once, in order; the last one still waits for bytes.
    let posted = p.server.recvs_posted;
    let want: Vec<u32> = (1001..1000 + posted).collect();
    assert_eq!(p.server.recvs_done, want);
    assert_eq!(got.len(), want.len());
    let pongs = got.iter().filter(|g| matches!(g, Got::Pong(_))).count();
    assert_eq!(pongs, 6, "unsolicited pongs arrive as pongs");
    let answers = p
        .server
        .wire_frames()
        .iter()
        .filter(|f| f.opcode() == Opcode::Pong)
        .count();
    assert_eq!(answers, 6, "every ping answered");
}

#[test]
fn ping_while_its_predecessors_pong_is_on_the_wire_waits() {
    for (role, capacity) in [
        (Role::Client, 2),
        (Role::Client, 1),
        (Role::Server, 2),
        (Role::Server, 1),
    ] {
        let mut s = open(role, &[]).session;
        s.receive(1).unwrap();
        let r = next(&mut s, Queue::Receive).unwrap();
        fill(
            &mut s,
            r.id(),
            &frame_to(role, true, Opcode::Ping, b"first"),
        );
        let mut wire = Vec::new();
        let pong = next_cap(&mut s, Queue::Receive, capacity).unwrap();
        assert_eq!(pong.kind(), ActionKind::SendToNetwork);
        let mut pong = if capacity == 1 {
            // Header alone; the payload follows as its own write.
            wire.extend(pong.bytes());
            done(&mut s, &pong, pong.total());
            let payload = next_cap(&mut s, Queue::Receive, 1).unwrap();
            assert_eq!(payload.total(), 5, "{payload:?}");
            payload
        } else {
            pong
        };
        // A second ping arrives while the first pong is still being written.
        let r = next_cap(&mut s, Queue::Receive, capacity).unwrap();
        assert!(matches!(r, Snap::Read { context: 1, .. }), "{r:?}");
        fill(
            &mut s,
            r.id(),
            &frame_to(role, true, Opcode::Ping, b"second"),
        );
        assert_eq!(
            next_cap(&mut s, Queue::Receive, capacity).unwrap(),
            Snap::NoAction
        );
        assert_eq!(
            next_cap(&mut s, Queue::All, capacity).unwrap(),
            Snap::NoAction
        );
        // The first pong's buffers were not touched by the second ping.
        let again = s
            .outstanding_action(pong.id())
            .map(|a| snapshot(&a))
            .unwrap();
        assert_eq!(again, pong);
        wire.extend(pong.bytes());
        done(&mut s, &pong, pong.total());
        // Now the second pong.
        loop {
            let a = next_cap(&mut s, Queue::Receive, capacity).unwrap();
            match a {
                Snap::Send { .. } => {
                    wire.extend(a.bytes());
                    done(&mut s, &a, a.total());
                    pong = a;
                }
                Snap::Read { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(pong.kind(), ActionKind::SendToNetwork);
        let payloads: Vec<Vec<u8>> = parse_frames(&wire).into_iter().map(|f| f.payload).collect();
        assert_eq!(
            payloads,
            [b"first".to_vec(), b"second".to_vec()],
            "{role:?} {capacity}"
        );
    }
}

/// A message as sent: its fragments.
type Message = Vec<(BufferType, Vec<u8>)>;

/// A random message (1–3 fragments, text split anywhere, even inside a character).
fn random_message(rng: &mut rand::rngs::StdRng) -> Message {
    use rand::Rng;
    let text = rng.random_bool(0.5);
    let len = match rng.random_range(0..10) {
        0 => 0,
        1..=6 => rng.random_range(1..300),
        7 | 8 => rng.random_range(300..5000),
        _ => rng.random_range(5000..70_000),
    };
    let bytes: Vec<u8> = if text {
        let chars = ['a', 'é', '€', '𝄞', ' ', 'z'];
        let mut s = String::new();
        while s.len() < len {
            s.push(chars[rng.random_range(0..chars.len())]);
        }
        s.into_bytes()
    } else {
        (0..len).map(|_| rng.random()).collect()
    };
    let parts = rng.random_range(1..=3usize).min(bytes.len().max(1));
    let mut cuts: Vec<usize> = (1..parts)
        .map(|_| rng.random_range(0..=bytes.len()))
        .collect();
    cuts.sort_unstable();
    cuts.insert(0, 0);
    cuts.push(bytes.len());
    let n = cuts.len() - 1;
    (0..n)
        .map(|i| {
            let t = data_type(text, i + 1 == n);
            (t, bytes[cuts[i]..cuts[i + 1]].to_vec())
        })
        .collect()
}

/// Reassemble the messages and count the pongs in what a side received.
fn received(got: &[Got]) -> (Vec<(bool, Vec<u8>)>, usize) {
    let mut messages = Vec::new();
    let mut current = Vec::new();
    let mut pongs = 0;
    for g in got {
        match g {
            Got::Piece(t, d) => {
                current.extend_from_slice(d);
                if t.is_final() {
                    messages.push((t.is_text(), std::mem::take(&mut current)));
                }
            }
            Got::Pong(_) => pongs += 1,
            Got::Close(..) => {}
        }
    }
    assert!(current.is_empty(), "an unfinished message");
    (messages, pongs)
}

#[test]
fn randomized_exchanges_deliver_every_message_intact() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    for seed in 0..60 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pick = |choices: &[u32]| choices[rng.random_range(0..choices.len())];
        let rbs = pick(&[256, 300, 1024, 4096, 65536]);
        let client_sbs = pick(&[16, 17, 100, 4096]);
        let server_sbs = pick(&[16, 64, 4096]);
        let mut p = Pair::new(
            &[
                Property::ReceiveBufferSize(rbs),
                Property::SendBufferSize(client_sbs),
            ],
            &[
                Property::ReceiveBufferSize(rbs),
                Property::SendBufferSize(server_sbs),
            ],
        );
        let mut sent: [Vec<(bool, Vec<u8>)>; 2] = Default::default();
        let mut pings = [0usize; 2];
        let mut unsolicited = [0usize; 2];
        let mut contexts: [Vec<u32>; 2] = Default::default();
        for (k, side) in [&mut p.client, &mut p.server].into_iter().enumerate() {
            side.capacity = rng.random_range(1..=2);
            side.queues = match rng.random_range(0..3) {
                0 => vec![Queue::All],
                1 => vec![Queue::Send, Queue::Receive],
                _ => vec![Queue::Receive, Queue::Send],
            };
            side.read_sizes = vec![[1, 2, 3, 7, 100, 1000, usize::MAX][rng.random_range(0..7)]];
            if rng.random_bool(0.3) {
                side.receive_buffer = Some(rng.random_range(1..600));
            }
            let mut ctx = 0;
            for _ in 0..rng.random_range(1..6) {
                match rng.random_range(0..6) {
                    0 => {
                        side.session.send(BufferType::PingPong, None, ctx).unwrap();
                        pings[k] += 1;
                        contexts[k].push(ctx);
                        ctx += 1;
                    }
                    1 => {
                        side.session
                            .send(BufferType::UnsolicitedPong, None, ctx)
                            .unwrap();
                        unsolicited[k] += 1;
                        contexts[k].push(ctx);
                        ctx += 1;
                    }
                    _ => {
                        let m = random_message(&mut rng);
                        let text = m[0].0.is_text();
                        sent[k].push((text, m.iter().flat_map(|(_, d)| d.clone()).collect()));
                        for (t, d) in m {
                            side.session.send(t, Some(d), ctx).unwrap();
                            contexts[k].push(ctx);
                            ctx += 1;
                        }
                    }
                }
            }
        }
        p.exchange();
        let info = format!(
            "seed {seed}: rbs {rbs} sbs {client_sbs}/{server_sbs} cap {}/{} queues {:?}/{:?} \
             reads {:?}/{:?} bufs {:?}/{:?}",
            p.client.capacity,
            p.server.capacity,
            p.client.queues,
            p.server.queues,
            p.client.read_sizes,
            p.server.read_sizes,
            p.client.receive_buffer,
            p.server.receive_buffer,
        );
        for (k, (me, peer)) in [(&p.client, &p.server), (&p.server, &p.client)]
            .into_iter()
            .enumerate()
        {
            assert!(me.error.is_none(), "{info}: {:?}", me.error);
            assert_eq!(me.sends_done, contexts[k], "{info}");
            assert!(me.sends_sent.iter().all(|&s| s), "{info}");
            let (messages, pongs) = received(&peer.got);
            assert_eq!(messages.len(), sent[k].len(), "{info}");
            for (i, (got, want)) in messages.iter().zip(&sent[k]).enumerate() {
                assert!(got == want, "{info}: message {i} differs");
            }
            // The peer gets every unsolicited pong of ours, and our answers to its pings (to
            // the latest at least).
            let answers = pings[1 - k];
            assert!(
                pongs >= unsolicited[k] + usize::from(answers > 0),
                "{info}: {pongs} pongs"
            );
            assert!(pongs <= unsolicited[k] + answers, "{info}: {pongs} pongs");
            assert!(me.inbox.is_empty() && peer.inbox.is_empty(), "{info}");
        }
        // Close both ways.
        p.client
            .session
            .send_close(CloseStatus::SUCCESS, None, 900)
            .unwrap();
        p.server
            .session
            .send_close(CloseStatus(4000), Some(b"bye".to_vec()), 901)
            .unwrap();
        p.exchange();
        assert_eq!(
            p.client.got.last(),
            Some(&Got::Close(4000, b"bye".to_vec())),
            "{info}"
        );
        assert_eq!(
            p.server.got.last(),
            Some(&Got::Close(1000, vec![])),
            "{info}"
        );
    }
}

#[test]
fn a_utf8_fault_sticks_even_though_the_bytes_are_unmasked_in_place() {
    // 0xC1 can never appear in UTF-8; masked with 0x80 it is 'A'. Parsing the unmasked
    // buffer a second time would mask it back; the fault must not depend on that.
    let mut s = server().session;
    s.receive(1).unwrap();
    let r = next(&mut s, Queue::Receive).unwrap();
    fill(
        &mut s,
        r.id(),
        &raw_frame(0x81, Some([0x80; 4]), b"\xC1\xC1"),
    );
    let want = Err(Error::Protocol(ProtocolError::InvalidUtf8));
    for _ in 0..3 {
        assert_eq!(next(&mut s, Queue::Receive), want);
        assert_eq!(next(&mut s, Queue::All), want);
    }
    assert_eq!(s.fault(), Some(ProtocolError::InvalidUtf8));
}

#[test]
fn send_argument_errors_are_invalid_argument() {
    let mut s = server().session;
    for t in [BufferType::PingPong, BufferType::UnsolicitedPong] {
        let e = s.send(t, Some(b"x".to_vec()), 1).unwrap_err();
        assert!(
            matches!(e, Error::Misuse(Misuse::InvalidArgument(_))),
            "{e:?}"
        );
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
        // An empty buffer is still a buffer.
        assert!(s.send(t, Some(vec![]), 1).is_err());
    }
    // Nothing was queued by the refused calls.
    assert_eq!(next(&mut s, Queue::All).unwrap(), Snap::NoAction);
}

#[test]
fn enums_have_windows_values() {
    let types = [
        (BufferType::Utf8Message, 0x8000_0000u32),
        (BufferType::Utf8Fragment, 0x8000_0001),
        (BufferType::BinaryMessage, 0x8000_0002),
        (BufferType::BinaryFragment, 0x8000_0003),
        (BufferType::Close, 0x8000_0004),
        (BufferType::PingPong, 0x8000_0005),
        (BufferType::UnsolicitedPong, 0x8000_0006),
    ];
    for (t, raw) in types {
        assert_eq!(t as u32, raw);
        assert_eq!(BufferType::from_raw(raw), Some(t));
    }
    // Extension buffer types (top bit clear, §9 Q12) and unknown values.
    for raw in [0, 1, 0x100, 0x7FFF_FFFF, 0x8000_0007, u32::MAX] {
        assert_eq!(BufferType::from_raw(raw), None, "{raw:#x}");
    }
    for (q, raw) in [(Queue::Send, 1), (Queue::Receive, 2), (Queue::All, 3)] {
        assert_eq!(q as u32, raw);
        assert_eq!(Queue::from_raw(raw), Some(q));
    }
    assert_eq!(Queue::from_raw(0), None);
    assert_eq!(Queue::from_raw(4), None);
    for (k, raw) in [
        (ActionKind::NoAction, 0),
        (ActionKind::SendToNetwork, 1),
        (ActionKind::IndicateSendComplete, 2),
        (ActionKind::ReceiveFromNetwork, 3),
        (ActionKind::IndicateReceiveComplete, 4),
    ] {
        assert_eq!(k as u32, raw);
    }
}

#[test]
fn abort_at_any_point_returns_every_context_once() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    for seed in 0..80 {
        let mut rng = StdRng::seed_from_u64(1000 + seed);
        let mut p = Pair::new(
            &[
                Property::SendBufferSize(16),
                Property::ReceiveBufferSize(256),
            ],
            &[Property::ReceiveBufferSize(256)],
        );
        p.client.read_sizes = vec![[1, 5, 100][rng.random_range(0..3)]];
        p.client.capacity = rng.random_range(1..=2);
        let mut sends = Vec::new();
        let mut text_open = false;
        for ctx in 0..rng.random_range(1..8) {
            let (t, payload) = match rng.random_range(0..4) {
                0 => (BufferType::PingPong, None),
                1 => (BufferType::Utf8Fragment, Some(b"ab".to_vec())),
                2 => (
                    BufferType::Utf8Message,
                    Some(vec![b'x'; rng.random_range(0..100)]),
                ),
                _ if text_open => (BufferType::Utf8Message, Some(vec![])),
                _ => (
                    BufferType::BinaryMessage,
                    Some(pattern(rng.random_range(0..2000))),
                ),
            };
            if t.is_data() {
                text_open = !t.is_final();
            }
            p.client.session.send(t, payload, ctx).unwrap();
            sends.push(ctx);
        }
        let receives: Vec<u32> = (100..100 + rng.random_range(1..5)).collect();
        for &ctx in &receives {
            p.client.session.receive(ctx).unwrap();
        }
        for i in 0..rng.random_range(0..40) {
            p.server
                .session
                .send(
                    BufferType::BinaryMessage,
                    Some(pattern(i * 13)),
                    500 + i as u32,
                )
                .unwrap();
            if i % 7 == 0 {
                p.server
                    .session
                    .send(BufferType::PingPong, None, 900)
                    .unwrap();
            }
        }
        // Run for a random number of steps, then abort the client mid-flight.
        for _ in 0..rng.random_range(0..60) {
            if rng.random_bool(0.5) {
                step(&mut p.client, &mut p.server.inbox);
            } else {
                step(&mut p.server, &mut p.client.inbox);
            }
        }
        let before = p.client.log.len();
        p.client.session.abort();
        // The driver cancels its pending read, then drains like .NET does.
        if let Some(id) = p.client.pending_read.take() {
            p.client.session.complete_action(id, 0).unwrap();
        }
        p.run_client();
        assert!(
            p.client.log[before..].iter().all(|k| matches!(
                k,
                ActionKind::IndicateSendComplete | ActionKind::IndicateReceiveComplete
            )),
            "seed {seed}: network action after abort: {:?}",
            &p.client.log[before..]
        );
        assert_eq!(p.client.sends_done, sends, "seed {seed}");
        assert_eq!(p.client.recvs_done, receives, "seed {seed}");
        assert_eq!(next(&mut p.client.session, Queue::All), Ok(Snap::NoAction));
        assert!(
            p.client.error.is_none(),
            "seed {seed}: {:?}",
            p.client.error
        );
        // Sent flags: a prefix of true, then false (nothing goes out after an abort).
        let first_false = p.client.sends_sent.iter().position(|s| !s);
        if let Some(i) = first_false {
            assert!(p.client.sends_sent[i..].iter().all(|s| !s), "seed {seed}");
        }
    }
}

#[test]
fn empty_non_final_frames_deliver_no_piece() {
    for role in [Role::Client, Role::Server] {
        let bytes = [
            frame_to(role, false, Opcode::Text, b""),
            frame_to(role, false, Opcode::Continuation, b""),
            frame_to(role, false, Opcode::Continuation, b"x"),
            frame_to(role, false, Opcode::Continuation, b""),
            frame_to(role, true, Opcode::Continuation, b""),
            frame_to(role, true, Opcode::Binary, b""),
        ]
        .concat();
        let mut side = open(role, &[]);
        assert_eq!(
            side.feed(&bytes).unwrap(),
            [
                Got::Piece(BufferType::Utf8Fragment, b"x".to_vec()),
                // A final frame always ends its message with a piece, even an empty one.
                Got::Piece(BufferType::Utf8Message, vec![]),
                Got::Piece(BufferType::BinaryMessage, vec![]),
            ]
        );
    }
}
#[test]
fn no_automatic_pong_after_a_cancelled_write() {
    for role in [Role::Client, Role::Server] {
        // A cancelled app send leaves a partial frame: a pong now would corrupt the stream.
        let mut s = open(role, &[]).session;
        s.send(BufferType::BinaryMessage, Some(pattern(100)), 1)
            .unwrap();
        let w = next(&mut s, Queue::Send).unwrap();
        done(&mut s, &w, 3);
        let d = next(&mut s, Queue::Send).unwrap();
        assert!(!d.send_done().1, "{d:?}");
        done(&mut s, &d, 0);
        receive_bytes(&mut s, 2, &frame_to(role, true, Opcode::Ping, b"p"));
        let a = next(&mut s, Queue::All).unwrap();
        assert!(
            matches!(a, Snap::Read { context: 2, .. }),
            "{role:?}: {a:?}"
        );

        // A cancelled pong breaks the send side the same way.
        let mut s = open(role, &[]).session;
        receive_bytes(&mut s, 1, &frame_to(role, true, Opcode::Ping, b"p"));
        s.send(BufferType::BinaryMessage, Some(vec![1]), 2).unwrap();
        let pong = next(&mut s, Queue::Receive).unwrap();
        assert_eq!(pong.send_context(), None, "{pong:?}");
        done(&mut s, &pong, 1);
        let d = next(&mut s, Queue::Send).unwrap();
        assert_eq!(d.send_done(), (2, false), "{d:?}");
        done(&mut s, &d, 0);
        let e = s.send(BufferType::PingPong, None, 3).unwrap_err();
        assert_eq!(e.hresult(), HResult::E_INVALID_PROTOCOL_OPERATION);
    }
}

#[test]
fn client_capacity_one_coalesces_header_and_masked_chunk() {
    // Spec §9 Q5: the masked payload is a copy anyway, so with one buffer at a time the header
    // and the first chunk go out as one contiguous buffer, never longer than the send buffer.
    let sbs = 64;
    let mut c = open(Role::Client, &[Property::SendBufferSize(sbs as u32)]).session;
    c.send(BufferType::BinaryMessage, Some(pattern(200)), 1)
        .unwrap();
    let (writes, wire) = one_buffer_at_a_time(&mut c);
    let lens: Vec<usize> = writes.iter().map(|&(len, _)| len).collect();
    // A 200-byte masked frame has an 8-byte header: 8 + 56, then 64, 64, 16.
    assert_eq!(lens, [sbs, sbs, sbs, 200 + 8 - 3 * sbs]);
    let mut s = server();
    let got = s.feed(&wire).unwrap();
    assert_eq!(message(&got), (BufferType::BinaryMessage, pattern(200)));
}

#[test]
fn abort_between_server_begin_and_end_is_a_no_op() {
    let mut c: Ws = Session::client(&[]).unwrap();
    let req = c.begin_client_handshake(&[], &[], &[]).unwrap();
    let mut r = refs(&req);
    r.push(hdr("Host", "h"));
    let mut s: Ws = Session::server(&[]).unwrap();
    s.begin_server_handshake(None, &[], &r).unwrap();
    // The handshake completes only at end_server_handshake or the first session call (§5.10).
    s.abort();
    assert!(!s.is_aborted());
    s.end_server_handshake().unwrap();
    assert!(s.is_open());
    s.abort();
    assert!(s.is_aborted());
}

#[test]
fn after_a_protocol_error_only_a_close_may_be_sent() {
    let mut s = server();
    // An unmasked frame from a client: RFC 6455 §5.1, close 1002.
    let err = s.feed(&server_frame(true, Opcode::Text, b"x")).unwrap_err();
    let status = err.close_status().unwrap();
    assert_eq!(status, CloseStatus::PROTOCOL_ERROR);
    for ty in [
        BufferType::Utf8Message,
        BufferType::BinaryFragment,
        BufferType::PingPong,
        BufferType::UnsolicitedPong,
    ] {
        let payload = ty.is_data().then(|| b"data".to_vec());
        assert_eq!(
            s.session.send(ty, payload, 1).unwrap_err().hresult(),
            wspc::HResult::E_INVALID_PROTOCOL_OPERATION,
            "{ty:?}"
        );
    }
    s.session.send_close(status, None, 2).unwrap();
    s.drive_alone();
    assert_eq!(s.sends_done, [2]);
    let frames = s.wire_frames();
    assert_eq!(
        frames.last().map(|f| (f.opcode(), f.payload.clone())),
        Some((Opcode::Close, vec![0x03, 0xEA]))
    );
}
