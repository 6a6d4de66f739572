//! Property 1 of issue 7: round trips both ways against tungstenite, in memory.
//!
//! Random sequences of text and binary messages (0 B to 256 KiB, random fragmentation, pings
//! between fragments, a close at the end) go wspc → bytes → tungstenite and tungstenite → bytes
//! → wspc, for a client and a server on each side, and arrive identical: same types, order and
//! close status. The way back is checked too: the receiver's pongs and close reply reach the
//! sender.

use proptest::prelude::*;
use wspc::{BufferType, CloseStatus, Property};
use wspc_testkit::oracle::*;
use wspc_testkit::pair::{data_type, open_seeded, peer_of, Ws};
use wspc_testkit::prop::*;
use wspc_testkit::stream::*;

/// What a sender sends: messages, then a close (status and reason, or an empty close frame).
#[derive(Clone, Debug)]
struct Script {
    msgs: Vec<MsgSpec>,
    close: Option<(u16, Vec<u8>)>,
}

fn script() -> impl Strategy<Value = Script> {
    (
        proptest::collection::vec(msg_spec(5), 0..=5),
        prop_oneof![
            1 => Just(None),
            4 => (close_status(), close_reason()).prop_map(Some),
        ],
    )
        .prop_map(|(msgs, close)| Script { msgs, close })
}

impl Script {
    /// The events a receiver reports: per message its pings (with `ping` as their payload) and
    /// then the message; then the close.
    fn expected(&self, ping: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Event> {
        let mut out = Vec::new();
        for m in &self.msgs {
            for p in m.pings.iter().flatten() {
                out.push(Event::Ping(ping(p)));
            }
            out.push(Event::Msg(m.text, m.data.clone()));
        }
        out.push(self.close_event());
        out
    }

    fn close_event(&self) -> Event {
        match &self.close {
            Some((s, r)) => Event::Close(*s, r.clone()),
            None => Event::Close(1005, Vec::new()),
        }
    }

    /// The payloads of the pings, in order (with `ping` applied).
    fn pings(&self, ping: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Vec<u8>> {
        self.msgs
            .iter()
            .flat_map(|m| m.pings.iter().flatten())
            .map(|p| ping(p))
            .collect()
    }
}

/// wspc sends pings without payload.
fn empty(_: &[u8]) -> Vec<u8> {
    Vec::new()
}

/// Queue the whole script on a wspc handle; returns the contexts of the sends, in order.
fn wspc_send(ws: &mut Ws, script: &Script) -> Vec<u32> {
    let mut ctx = 0;
    let mut ctxs = Vec::new();
    let mut next = || {
        ctx += 1;
        ctxs.push(ctx);
        ctx
    };
    for m in &script.msgs {
        let frags = m.fragments();
        let last = frags.len() - 1;
        for (i, frag) in frags.iter().enumerate() {
            let t = data_type(m.text, i == last);
            ws.send(t, Some(frag.to_vec()), next()).unwrap();
            if let Some(Some(_)) = m.pings.get(i) {
                ws.send(BufferType::PingPong, None, next()).unwrap();
            }
        }
    }
    match &script.close {
        Some((s, r)) => ws.send_close(CloseStatus(*s), Some(r.clone()), next()),
        None => ws.send(BufferType::Close, None, next()),
    }
    .unwrap();
    ctxs
}

/// Write the whole script with tungstenite (fragments as raw frames, pings with payloads).
fn tungstenite_send(t: &mut tungstenite::WebSocket<Duplex>, script: &Script) -> Vec<u8> {
    use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tungstenite::protocol::frame::{CloseFrame, Frame};
    use tungstenite::Message;
    for m in &script.msgs {
        let frags = m.fragments();
        let last = frags.len() - 1;
        for (i, frag) in frags.iter().enumerate() {
            let op = match (i, m.text) {
                (0, true) => Data::Text,
                (0, false) => Data::Binary,
                _ => Data::Continue,
            };
            let frame = Frame::message(frag.to_vec(), OpCode::Data(op), i == last);
            t.write(Message::Frame(frame)).unwrap();
            if let Some(Some(p)) = m.pings.get(i) {
                t.write(Message::Ping(p.clone().into())).unwrap();
            }
        }
    }
    let close = script.close.as_ref().map(|(s, r)| CloseFrame {
        code: CloseCode::from(*s),
        reason: String::from_utf8(r.clone()).unwrap().into(),
    });
    t.close(close).unwrap();
    std::mem::take(&mut t.get_mut().output)
}

proptest! {
    #![proptest_config(config(512))]

    /// wspc (client or server) → bytes → tungstenite, and tungstenite's pongs and close reply
    /// back to wspc.
    #[test]
    fn wspc_to_tungstenite(
        role in role(),
        script in script(),
        rbs in receive_buffer_size(),
        sbs in prop_oneof![Just(16u32), 16u32..=65536],
        capacity in 1usize..=2,
        unmasked in prop_oneof![4 => Just(false), 1 => Just(true)],
        seed in any::<u64>(),
    ) {
        // A client with masking disabled still sets the MASK bit, with the all-zero key.
        let props = [
            Property::ReceiveBufferSize(rbs),
            Property::SendBufferSize(sbs),
            Property::DisableMasking(unmasked),
        ];
        let mut ws = open_seeded(role, &props, seed);
        let ctxs = wspc_send(&mut ws.session, &script);
        let (wire, done) = drain_sends(&mut ws, capacity);
        let all_sent: Vec<(u32, bool)> = ctxs.iter().map(|&c| (c, true)).collect();
        prop_assert_eq!(done, all_sent);

        let mut t = oracle(peer_of(role), wire);
        let got = oracle_read(&mut t);
        prop_assert_eq!(&got.end, &OracleEnd::Closed);
        prop_assert_eq!(&got.events, &script.expected(empty));

        // tungstenite answered each ping and echoed the close.
        let back = receive_stream(&mut ws, &got.wire, &Feed::whole());
        let mut expected: Vec<Event> = script.pings(empty).into_iter().map(Event::Pong).collect();
        expected.push(script.close_event());
        prop_assert_eq!(back.events, expected);
        prop_assert_eq!(back.end, End::Closed);
    }

    /// tungstenite (client or server) → bytes → wspc, read in random chunks into random buffer
    /// sizes, and wspc's pongs and close reply back to tungstenite.
    #[test]
    fn tungstenite_to_wspc(
        role in role(),
        script in script(),
        rbs in receive_buffer_size(),
        reads in read_sizes(),
        caller_buffer in prop_oneof![3 => Just(None), 1 => (1usize..=4096).prop_map(Some)],
        seed in any::<u64>(),
    ) {
        let mut t = oracle(peer_of(role), Vec::new());
        let wire = tungstenite_send(&mut t, &script);

        let mut ws = open_seeded(role, &[Property::ReceiveBufferSize(rbs)], seed);
        let feed = Feed { reads, eof: true, caller_buffer };
        let run = receive_stream(&mut ws, &wire, &feed);
        let messages: Vec<Event> = script
            .expected(empty)
            .into_iter()
            .filter(|e| !matches!(e, Event::Ping(_)))
            .collect();
        prop_assert_eq!(&run.events, &messages);
        prop_assert_eq!(&run.end, &End::Closed);
        prop_assert_eq!(run.fed, wire.len());
        prop_assert!(run.max_piece <= caller_buffer.unwrap_or(usize::MAX).min(rbs as usize));
        // Every ping was answered with its own payload.
        prop_assert_eq!(run.pongs(), script.pings(<[u8]>::to_vec));

        // wspc echoes the close; tungstenite gets the pongs, then the close.
        match &script.close {
            Some((s, r)) => ws.session.send_close(CloseStatus(*s), Some(r.clone()), 0),
            None => ws.session.send(BufferType::Close, None, 0),
        }
        .unwrap();
        let (reply, done) = drain_sends(&mut ws, 2);
        prop_assert_eq!(done, vec![(0, true)]);
        t.get_mut().input.extend(run.wire.iter().chain(&reply));
        let back = oracle_read(&mut t);
        let mut expected: Vec<Event> =
            script.pings(<[u8]>::to_vec).into_iter().map(Event::Pong).collect();
        expected.push(script.close_event());
        prop_assert_eq!(back.events, expected);
        prop_assert_eq!(back.end, OracleEnd::Closed);
    }

    /// `send_into` writes the very bytes `send` and the action loop write (same seed, so the
    /// same masking keys), and tungstenite reads them as the script.
    #[test]
    fn send_into_writes_what_the_action_loop_writes(
        role in role(),
        script in script(),
        unmasked in prop_oneof![4 => Just(false), 1 => Just(true)],
        seed in any::<u64>(),
    ) {
        let props = [Property::DisableMasking(unmasked)];
        let mut queued = open_seeded(role, &props, seed);
        wspc_send(&mut queued.session, &script);
        let (expected, _) = drain_sends(&mut queued, 2);

        let mut direct = open_seeded(role, &props, seed);
        let mut wire = Vec::new();
        for m in &script.msgs {
            let frags = m.fragments();
            let last = frags.len() - 1;
            for (i, frag) in frags.iter().enumerate() {
                direct.session.send_into(data_type(m.text, i == last), frag, &mut wire).unwrap();
                if let Some(Some(_)) = m.pings.get(i) {
                    direct.session.send_into(BufferType::PingPong, &[], &mut wire).unwrap();
                }
            }
        }
        match &script.close {
            Some((s, r)) => direct.session.send_close(CloseStatus(*s), Some(r.clone()), 0),
            None => direct.session.send(BufferType::Close, None, 0),
        }
        .unwrap();
        wire.extend(drain_sends(&mut direct, 2).0);
        prop_assert!(wire == expected, "send_into wrote other bytes than the action loop");

        let got = oracle_read(&mut oracle(peer_of(role), wire));
        prop_assert_eq!(&got.end, &OracleEnd::Closed);
        prop_assert_eq!(&got.events, &script.expected(empty));
    }
}
