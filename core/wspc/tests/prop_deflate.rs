//! The differential property tests extended to compressed streams (issue 13): tungstenite has
//! no permessage-deflate, so the independent side here is `miniz_oxide`, a DEFLATE
//! implementation that shares no code with zlib-rs, driven as RFC 7692 §7.2 says, with the
//! frames read and built by the test kit's RFC 6455 parser and builder (not the engine).
//!
//! - **wspc sends:** random messages (text and binary, compressible or not, 0 B to 256 KiB, cut
//!   into random fragments, one send per fragment) leave a wspc client or server with
//!   permessage-deflate agreed under random settings (window bits 9–15 each way, context
//!   takeover or not); on the wire every message is RSV1 on its first frame only, one frame per
//!   fragment, and miniz_oxide, keeping its window from message to message, inflates each
//!   message's payloads plus `00 00 ff ff` to exactly the message sent. The wspc peer receives
//!   the same messages, in pieces no larger than its receive buffer.
//! - **wspc receives:** miniz_oxide compresses the same kind of messages, a sync flush per
//!   fragment and the final `00 00 ff ff` removed, into frames built by the test kit (masked
//!   towards a server); a wspc side receives exactly those messages, in pieces no larger than its
//!   receive buffer.
#![cfg(feature = "deflate")]

use miniz_oxide::inflate::stream::{inflate as miniz_inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush};
use proptest::prelude::*;
use wspc::deflate::{DeflateConfig, WindowBits};
use wspc::frame::Opcode;
use wspc::{Property, Role};
use wspc_testkit::frame::{raw_frame, KEY};
use wspc_testkit::miniz::{MinizSender, TAIL};
use wspc_testkit::pair::{data_type, message, open, Got, Pair};
use wspc_testkit::prop::{msg_spec, MsgSpec};

/// Messages, half of them made compressible (a repeated phrase, same length and cuts).
fn messages() -> impl Strategy<Value = Vec<MsgSpec>> {
    proptest::collection::vec(
        (msg_spec(5), any::<bool>()).prop_map(|(mut m, repeat)| {
            if repeat {
                let phrase = b"permessage-deflate, window bits 15; ";
                m.data = phrase.iter().copied().cycle().take(m.data.len()).collect();
            }
            m
        }),
        1..=6,
    )
}

/// A permessage-deflate configuration with the given windows and takeover settings.
fn config(server_bits: u8, client_bits: u8, server_nct: bool, client_nct: bool) -> DeflateConfig {
    let mut c = DeflateConfig::DEFAULT;
    c.server_max_window_bits = WindowBits::new(server_bits);
    c.client_max_window_bits = WindowBits::new(client_bits);
    c.server_no_context_takeover = server_nct;
    c.client_no_context_takeover = client_nct;
    c
}

/// Inflates one message's compressed payload with miniz_oxide, the window kept in `state`.
fn miniz_message(state: &mut InflateState, payload: &[u8]) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&TAIL);
    let mut rest = &input[..];
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 15];
    loop {
        let r = miniz_inflate(state, rest, &mut buf, MZFlush::Sync);
        assert!(r.status.is_ok(), "miniz_oxide refused wspc's stream: {r:?}");
        out.extend_from_slice(&buf[..r.bytes_written]);
        rest = &rest[r.bytes_consumed..];
        if rest.is_empty() && r.bytes_written < buf.len() {
            return out;
        }
    }
}

/// The data messages of `got` (pieces run together up to each final one), every piece at most
/// `limit` bytes.
fn received(got: &[Got], limit: usize) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for g in got {
        let Got::Piece(t, d) = g else { continue };
        assert!(d.len() <= limit, "a piece of {} > {limit}", d.len());
        current.push(g.clone());
        if t.is_final() {
            let (t, data) = message(&current);
            out.push((t == data_type(true, true), data));
            current.clear();
        }
    }
    assert!(current.is_empty(), "a message left open");
    out
}

fn sent(msgs: &[MsgSpec]) -> Vec<(bool, Vec<u8>)> {
    msgs.iter().map(|m| (m.text, m.data.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn what_wspc_compresses_an_independent_inflater_reads(
        msgs in messages(),
        from_client in any::<bool>(),
        server_bits in 9u8..=15,
        client_bits in 9u8..=15,
        server_nct in any::<bool>(),
        client_nct in any::<bool>(),
        small_buffer in any::<bool>(),
    ) {
        let rbs: u32 = if small_buffer { 256 } else { 4096 };
        let c = config(server_bits, client_bits, server_nct, client_nct);
        let props = [Property::PermessageDeflate(Some(c)), Property::ReceiveBufferSize(rbs)];
        let mut pair = Pair::new(&props, &props);
        let from = if from_client { Role::Client } else { Role::Server };
        let (tx, rx) = pair.sides(from);
        let params = tx.session.permessage_deflate().expect("agreed");
        prop_assert_eq!(params.local_max_window_bits, if from_client { client_bits } else { server_bits });
        let mut ctx = 0;
        for m in &msgs {
            let fragments = m.fragments();
            for (i, f) in fragments.iter().enumerate() {
                let last = i + 1 == fragments.len();
                tx.session.send(data_type(m.text, last), Some(f.to_vec()), ctx).unwrap();
                ctx += 1;
            }
        }
        tx.drive(&mut rx.inbox);
        prop_assert!(tx.sends_sent.iter().all(|&s| s));

        // The wire, read by the test kit's parser and inflated by miniz_oxide.
        let frames = tx.wire_frames();
        prop_assert_eq!(frames.len(), msgs.iter().map(|m| m.cuts.len() + 1).sum::<usize>());
        let mut state = InflateState::new_boxed(DataFormat::Raw);
        let mut at = 0;
        for m in &msgs {
            let n = m.cuts.len() + 1;
            let mine = &frames[at..at + n];
            at += n;
            let mut payload = Vec::new();
            for (i, f) in mine.iter().enumerate() {
                let opcode = if i > 0 { Opcode::Continuation } else if m.text { Opcode::Text } else { Opcode::Binary };
                prop_assert_eq!(f.opcode(), opcode);
                prop_assert_eq!(f.head.fin, i + 1 == n);
                // RSV1 (0x4 of the three RSV bits) on the first frame only.
                prop_assert_eq!(f.head.rsv, if i == 0 { 4 } else { 0 });
                payload.extend_from_slice(&f.payload);
            }
            prop_assert!(miniz_message(&mut state, &payload) == m.data, "miniz_oxide read another message");
        }

        // And the wspc peer receives them.
        let got = rx.receive_all().unwrap();
        prop_assert_eq!(received(&got, rbs as usize), sent(&msgs));
    }

    #[test]
    fn what_an_independent_compressor_sends_wspc_reads(
        msgs in messages(),
        to_server in any::<bool>(),
        level in 0i32..=9,
        small_buffer in any::<bool>(),
    ) {
        let rbs: u32 = if small_buffer { 256 } else { 4096 };
        let role = if to_server { Role::Server } else { Role::Client };
        let mut side = open(role, &[
            Property::PermessageDeflate(Some(DeflateConfig::DEFAULT)),
            Property::ReceiveBufferSize(rbs),
        ]);
        prop_assert!(side.session.permessage_deflate().is_some());
        // miniz_oxide with a 32 KiB window, keeping it from message to message (the default
        // agreement: context takeover both ways, 15 bits).
        let mut compressor = MinizSender::new(level);
        let key = to_server.then_some(KEY);
        let mut wire = Vec::new();
        for m in &msgs {
            let fragments = m.fragments();
            for (i, f) in fragments.iter().enumerate() {
                let last = i + 1 == fragments.len();
                let z = compressor.fragment(f, last);
                let opcode: u8 = if i > 0 { 0x0 } else if m.text { 0x1 } else { 0x2 };
                let b0 = (u8::from(last) << 7) | (u8::from(i == 0) << 6) | opcode;
                wire.extend(raw_frame(b0, key, &z));
            }
        }
        let got = side.feed(&wire).unwrap();
        prop_assert_eq!(received(&got, rbs as usize), sent(&msgs));
    }
}
