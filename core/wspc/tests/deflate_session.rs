//! permessage-deflate (RFC 7692) in the session: negotiated through the real handshake methods,
//! compressed and decompressed through the action loop (issue 13, second step).
//!
//! - negotiation: off by default (no offer, no answer), the offer after the application's
//!   extensions, the server's answer after its selections, the indices the client reports, the
//!   client refusing answers that do not honour its offer, the application naming the extension
//!   while the property is on;
//! - round trips between two sessions in memory, both directions, text and binary, 0 B to 1 MiB,
//!   receive buffers of 256 and 4096 bytes, caller buffers, one buffer per action, small reads,
//!   fragmented sends with control frames between the fragments: every piece within the receive
//!   buffer (and the caller's buffer);
//! - every window size 9 to 15 with and without context takeover, and what takeover does to the
//!   wire;
//! - the RFC 7692 §7.2.3 frames received by a server (masked) and by a client;
//! - the failures: RSV1 without negotiation or on a continuation or control frame (1002),
//!   invalid compressed data (1007), invalid UTF-8 after decompression (1007), a decompression
//!   bomb stopped at the cap (1009);
//! - memory: once agreed, neither receiving nor sending (past the first large frame) allocates.
#![cfg(feature = "deflate")]

use wspc::deflate::{Compressor, DeflateConfig, WindowBits};
use wspc::frame::{Opcode, RSV1};
use wspc::{
    BufferType, CloseStatus, Error, HandshakeError, Header, HeaderRef, Misuse, Property,
    ProtocolError, Role, Session,
};
use wspc_testkit::data::{pattern, random_bytes, random_text};
use wspc_testkit::frame::{raw_frame, KEY};
use wspc_testkit::pair::{data_type, message, open, Got, Pair, Side};
use wspc_testkit::parse::parse_frames;

type Ws = Session<Vec<u8>, u32>;

// Counts this thread's live heap bytes, for the memory test at the end.
#[global_allocator]
static ALLOC: wspc_testkit::alloc::Counting = wspc_testkit::alloc::Counting;

fn deflate(config: DeflateConfig) -> Property {
    Property::PermessageDeflate(Some(config))
}

fn on() -> Property {
    deflate(DeflateConfig::DEFAULT)
}

fn refs(headers: &[Header]) -> Vec<HeaderRef<'_>> {
    headers.iter().map(Header::as_header_ref).collect()
}

fn value<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

const EXT: &str = "Sec-WebSocket-Extensions";

/// The request of `client` (with `exts` offered) plus `Host`.
fn request(client: &mut Ws, exts: &[&str]) -> Vec<Header> {
    let mut req = client.begin_client_handshake(&[], exts, &[]).unwrap();
    req.push(Header {
        name: "Host".into(),
        value: "example.com".into(),
    });
    req
}

// ----- negotiation ---------------------------------------------------------------------------

#[test]
fn off_by_default_nothing_is_offered_or_answered() {
    for props in [vec![], vec![Property::PermessageDeflate(None)]] {
        let mut client: Ws = Session::client(&props).unwrap();
        let req = request(&mut client, &[]);
        assert_eq!(value(&req, EXT), None, "{props:?}");
        // A server without the property ignores an offer, as websocket.dll does.
        let mut server: Ws = Session::server(&props).unwrap();
        let mut req = refs(&req);
        req.push(HeaderRef {
            name: b"Sec-WebSocket-Extensions",
            value: b"permessage-deflate; client_max_window_bits",
        });
        let resp = server.begin_server_handshake(None, &[], &req).unwrap();
        assert_eq!(value(&resp, EXT), None);
        assert!(client.end_client_handshake(&refs(&resp)).is_ok());
        assert_eq!(client.permessage_deflate(), None);
        assert_eq!(server.permessage_deflate(), None);
    }
}

#[test]
fn negotiated_through_the_handshake_methods_with_the_applications_extensions() {
    let mut client: Ws = Session::client(&[on()]).unwrap();
    let mut server: Ws = Session::server(&[on()]).unwrap();
    let req = request(&mut client, &["x-foo; a=1", "x-bar"]);
    assert_eq!(
        value(&req, EXT),
        Some("x-foo; a=1, x-bar, permessage-deflate; client_max_window_bits")
    );
    let resp = server
        .begin_server_handshake(None, &["x-bar"], &refs(&req))
        .unwrap();
    assert_eq!(value(&resp, EXT), Some("x-bar, permessage-deflate"));
    let negotiated = client.end_client_handshake(&refs(&resp)).unwrap();
    // The indices are the application's: x-bar is its second; permessage-deflate is not listed.
    assert_eq!(negotiated.extensions, [1]);
    let (c, s) = (
        client.permessage_deflate().unwrap(),
        server.permessage_deflate().unwrap(),
    );
    assert_eq!(
        (c.local_max_window_bits, c.remote_max_window_bits),
        (15, 15)
    );
    assert_eq!(
        (s.local_max_window_bits, s.remote_max_window_bits),
        (15, 15)
    );
    assert!(!c.local_no_context_takeover && !s.remote_no_context_takeover);
    server.end_server_handshake().unwrap();

    // Without selections of its own the server's answer is the header's only element, and a
    // client that offered nothing else reports no index.
    let mut client: Ws = Session::client(&[on()]).unwrap();
    let mut server: Ws = Session::server(&[on()]).unwrap();
    let req = request(&mut client, &[]);
    let resp = server
        .begin_server_handshake(None, &[], &refs(&req))
        .unwrap();
    assert_eq!(value(&resp, EXT), Some("permessage-deflate"));
    let negotiated = client.end_client_handshake(&refs(&resp)).unwrap();
    assert!(negotiated.extensions.is_empty());
    assert!(client.permessage_deflate().is_some());
}

#[test]
fn one_side_without_the_property_means_no_compression() {
    for (c, s) in [(vec![on()], vec![]), (vec![], vec![on()])] {
        let mut pair = Pair::new(&c, &s);
        assert_eq!(pair.client.session.permessage_deflate(), None);
        assert_eq!(pair.server.session.permessage_deflate(), None);
        round_trip(&mut pair, Role::Client, true, b"plain", 5, 4096);
        round_trip(&mut pair, Role::Server, false, &pattern(5000), 5000, 4096);
        for f in pair
            .client
            .wire_frames()
            .iter()
            .chain(&pair.server.wire_frames())
        {
            assert_eq!(f.head.rsv, 0);
        }
    }
}

#[test]
fn the_application_may_not_name_it_while_the_property_is_on() {
    let mut client: Ws = Session::client(&[on()]).unwrap();
    let r = client.begin_client_handshake(&[], &["Permessage-Deflate; x"], &[]);
    assert!(
        matches!(r, Err(Error::Misuse(Misuse::InvalidArgument(_)))),
        "{r:?}"
    );

    let mut client: Ws = Session::client(&[]).unwrap();
    let req = request(&mut client, &["permessage-deflate"]);
    let mut server: Ws = Session::server(&[on()]).unwrap();
    let r = server.begin_server_handshake(None, &["permessage-deflate"], &refs(&req));
    assert!(
        matches!(r, Err(Error::Misuse(Misuse::InvalidArgument(_)))),
        "{r:?}"
    );

    // Property off: the name goes through by name only, as on Windows.
    let mut server: Ws = Session::server(&[]).unwrap();
    let resp = server
        .begin_server_handshake(None, &["permessage-deflate"], &refs(&req))
        .unwrap();
    assert_eq!(value(&resp, EXT), Some("permessage-deflate"));
    assert_eq!(
        client
            .end_client_handshake(&refs(&resp))
            .unwrap()
            .extensions,
        [0]
    );
    assert_eq!(client.permessage_deflate(), None);
}

#[test]
fn the_client_refuses_answers_that_do_not_honour_its_offer() {
    let mut config = DeflateConfig::DEFAULT;
    config.server_no_context_takeover = true;
    for (answer, want) in [
        // No value for client_max_window_bits in an answer (§7.1.2.2).
        (
            "permessage-deflate; server_no_context_takeover; client_max_window_bits",
            HandshakeError::ExtensionNotSupported,
        ),
        // Requested server_no_context_takeover missing.
        ("permessage-deflate", HandshakeError::ExtensionNotSupported),
        (
            "permessage-deflate; server_no_context_takeover; x=1",
            HandshakeError::ExtensionNotSupported,
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=16",
            HandshakeError::ExtensionNotSupported,
        ),
        // Answered twice: refused by the name check already.
        (
            "permessage-deflate; server_no_context_takeover, permessage-deflate",
            HandshakeError::ExtensionNotSupported,
        ),
    ] {
        let mut client: Ws = Session::client(&[deflate(config)]).unwrap();
        let req = request(&mut client, &[]);
        // A server without the property selects whatever string it is given (by name).
        let mut server: Ws = Session::server(&[]).unwrap();
        let resp = server.begin_server_handshake(None, &[answer], &refs(&req));
        let resp = match resp {
            Ok(r) => r,
            // Two elements in one selection string are refused as an argument: put the
            // answer in by hand.
            Err(_) => {
                let mut r = server_response(&req);
                r.push(Header {
                    name: EXT.into(),
                    value: answer.into(),
                });
                r
            }
        };
        let got = client.end_client_handshake(&refs(&resp));
        assert_eq!(got, Err(Error::Handshake(want)), "{answer}");
        assert!(!client.is_open());
    }
}

/// A valid response to `req` without any extension.
fn server_response(req: &[Header]) -> Vec<Header> {
    let mut server: Ws = Session::server(&[]).unwrap();
    server
        .begin_server_handshake(None, &[], &refs(req))
        .unwrap()
}

#[test]
fn the_server_answers_the_first_acceptable_offer_and_declines_quietly() {
    let mut client: Ws = Session::client(&[]).unwrap();
    let mut req = request(&mut client, &[]);
    req.push(Header {
        name: EXT.into(),
        value: "x-foo, permessage-deflate; server_max_window_bits=8, \
                permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
            .into(),
    });
    let mut server: Ws = Session::server(&[on()]).unwrap();
    let resp = server
        .begin_server_handshake(None, &[], &refs(&req))
        .unwrap();
    assert_eq!(
        value(&resp, EXT),
        Some("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
    );
    let p = server.permessage_deflate().unwrap();
    assert_eq!(
        (p.local_no_context_takeover, p.remote_max_window_bits),
        (true, 10)
    );

    // Nothing acceptable: no answer, no error, no compression.
    let mut req = request(&mut Session::<Vec<u8>, u32>::client(&[]).unwrap(), &[]);
    req.push(Header {
        name: EXT.into(),
        value: "permessage-deflate; server_max_window_bits=8".into(),
    });
    let mut server: Ws = Session::server(&[on()]).unwrap();
    let resp = server
        .begin_server_handshake(None, &[], &refs(&req))
        .unwrap();
    assert_eq!(value(&resp, EXT), None);
    assert_eq!(server.permessage_deflate(), None);
}

// ----- round trips ---------------------------------------------------------------------------

/// `from` sends `payload` as one message in sends of at most `chunk` bytes; the peer receives
/// everything and must get exactly `payload`, in pieces of at most `limit` bytes.
fn round_trip(pair: &mut Pair, from: Role, text: bool, payload: &[u8], chunk: usize, limit: usize) {
    let (tx, rx) = pair.sides(from);
    let parts: Vec<&[u8]> = if payload.is_empty() {
        vec![&[][..]]
    } else {
        payload.chunks(chunk).collect()
    };
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        tx.session
            .send(data_type(text, last), Some(part.to_vec()), i as u32)
            .unwrap();
    }
    tx.drive(&mut rx.inbox);
    assert!(tx.sends_sent.iter().all(|&s| s));
    let got = rx.receive_all().unwrap();
    let pieces: Vec<Got> = got
        .into_iter()
        .filter(|g| matches!(g, Got::Piece(..)))
        .collect();
    for p in &pieces {
        let Got::Piece(_, d) = p else { unreachable!() };
        assert!(d.len() <= limit, "piece of {} > {limit}", d.len());
    }
    let (t, data) = message(&pieces);
    assert_eq!(t, data_type(text, true));
    assert!(
        data == payload,
        "{} bytes back for {}",
        data.len(),
        payload.len()
    );
}

const SIZES: [usize; 16] = [
    0,
    1,
    5,
    125,
    126,
    255,
    256,
    257,
    1000,
    4095,
    4096,
    4097,
    20_000,
    65_536,
    300_000,
    1 << 20,
];

fn payload(text: bool, compressible: bool, seed: u64, len: usize) -> Vec<u8> {
    match (text, compressible) {
        (true, _) => random_text(seed, len),
        (false, true) => pattern(len),
        (false, false) => random_bytes(seed, len),
    }
}

#[test]
fn round_trips_of_every_size_both_ways_at_receive_buffers_256_and_4096() {
    for rbs in [256u32, 4096] {
        let props = [on(), Property::ReceiveBufferSize(rbs)];
        let mut pair = Pair::new(&props, &props);
        assert!(pair.client.session.permessage_deflate().is_some());
        for (k, &len) in SIZES.iter().enumerate() {
            for from in [Role::Client, Role::Server] {
                for (text, compressible) in [(true, true), (false, true), (false, false)] {
                    let p = payload(text, compressible, k as u64, len);
                    round_trip(&mut pair, from, text, &p, usize::MAX, rbs as usize);
                }
            }
        }
        // Every data frame on the wire is compressed and unfragmented: RSV1 and FIN.
        for side in [&pair.client, &pair.server] {
            let frames = side.wire_frames();
            assert_eq!(frames.len(), SIZES.len() * 3);
            assert!(frames.iter().all(|f| f.head.rsv == RSV1 && f.head.fin));
        }
        // Compressible payloads did shrink.
        let wire: usize = pair.client.wire.len();
        let sent: usize = SIZES.iter().sum::<usize>() * 3;
        assert!(wire < sent, "{wire} bytes for {sent}");
    }
}

#[test]
fn caller_buffers_one_buffer_per_action_and_small_reads() {
    for (receive_buffer, capacity, reads) in [
        (Some(100), 2, vec![usize::MAX]),
        (Some(1), 1, vec![3, 1, 50]),
        (None, 1, vec![1, 7, 300]),
        (Some(10_000), 2, vec![2000]),
    ] {
        let props = [
            on(),
            Property::ReceiveBufferSize(256),
            Property::SendBufferSize(16),
        ];
        let mut pair = Pair::new(&props, &props);
        for side in [&mut pair.client, &mut pair.server] {
            side.receive_buffer = receive_buffer;
            side.capacity = capacity;
            side.read_sizes.clone_from(&reads);
        }
        let limit = receive_buffer.unwrap_or(256).min(256);
        for (k, len) in [0, 1, 300, 5000, 70_000].into_iter().enumerate() {
            for from in [Role::Client, Role::Server] {
                let text = k % 2 == 0;
                let p = payload(text, k % 3 != 0, k as u64, len);
                round_trip(&mut pair, from, text, &p, 1000, limit);
            }
        }
    }
}

#[test]
fn fragmented_sends_with_control_frames_between_the_fragments() {
    let props = [on(), Property::ReceiveBufferSize(256)];
    let mut pair = Pair::new(&props, &props);
    for from in [Role::Client, Role::Server] {
        let (tx, rx) = pair.sides(from);
        let text = random_text(7, 3000);
        let parts: Vec<&[u8]> = vec![&text[..1000], &[], &text[1000..1001], &text[1001..]];
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            tx.session
                .send(data_type(true, last), Some(part.to_vec()), i as u32)
                .unwrap();
            if !last {
                tx.session.send(BufferType::PingPong, None, 100).unwrap();
                tx.session
                    .send_control(BufferType::UnsolicitedPong, b"keep".to_vec(), 101)
                    .unwrap();
            }
        }
        tx.drive(&mut rx.inbox);
        let got = rx.receive_all().unwrap();
        let (pieces, others): (Vec<Got>, Vec<Got>) =
            got.into_iter().partition(|g| matches!(g, Got::Piece(..)));
        assert_eq!(others, vec![Got::Pong(b"keep".to_vec()); 3]);
        let (t, data) = message(&pieces);
        assert_eq!((t, data), (BufferType::Utf8Message, text.clone()));

        // RSV1 on the message's first frame only; never on control frames.
        let frames = parse_frames(&tx.wire);
        let rsv: Vec<(Opcode, u8)> = frames.iter().map(|f| (f.opcode(), f.head.rsv)).collect();
        let data_frames: Vec<u8> = rsv
            .iter()
            .filter(|(op, _)| !op.is_control())
            .map(|&(_, r)| r)
            .collect();
        assert_eq!(data_frames, [RSV1, 0, 0, 0]);
        assert!(rsv
            .iter()
            .filter(|(op, _)| op.is_control())
            .all(|&(_, r)| r == 0));
        tx.wire.clear();
    }
}

#[test]
fn every_window_size_with_and_without_context_takeover() {
    // Short enough for a 9-bit window (zlib matches at most 250 bytes back in a 512-byte one).
    let text = random_text(3, 200);
    for bits in 9..=15u8 {
        for (server_nct, client_nct) in [(false, false), (true, true), (true, false), (false, true)]
        {
            let mut config = DeflateConfig::DEFAULT;
            config.client_max_window_bits = WindowBits::new(bits);
            config.server_max_window_bits = WindowBits::new(bits);
            config.server_no_context_takeover = server_nct;
            config.client_no_context_takeover = client_nct;
            let client_props = [deflate(config), Property::ReceiveBufferSize(256)];
            let server_props = [on(), Property::ReceiveBufferSize(256)];
            let mut pair = Pair::new(&client_props, &server_props);
            let c = pair.client.session.permessage_deflate().unwrap();
            let s = pair.server.session.permessage_deflate().unwrap();
            assert_eq!(
                (c.local_max_window_bits, c.remote_max_window_bits),
                (bits, bits)
            );
            assert_eq!(
                (s.local_max_window_bits, s.remote_max_window_bits),
                (bits, bits)
            );
            assert_eq!(
                (c.local_no_context_takeover, c.remote_no_context_takeover),
                (client_nct, server_nct)
            );
            assert_eq!(
                (s.local_no_context_takeover, s.remote_no_context_takeover),
                (server_nct, client_nct)
            );
            for from in [Role::Client, Role::Server] {
                // The same text twice: with context takeover the second refers back to the
                // first and is much smaller on the wire; without, it compresses alike.
                for _ in 0..2 {
                    round_trip(&mut pair, from, true, &text, usize::MAX, 256);
                }
                let big = payload(false, true, 0, 40_000);
                round_trip(&mut pair, from, false, &big, 7000, 256);
                let (tx, _) = pair.sides(from);
                let frames = tx.wire_frames();
                let n = frames.len();
                let (first, second) = (frames[n - 8].payload.len(), frames[n - 7].payload.len());
                let nct = match from {
                    Role::Client => client_nct,
                    Role::Server => server_nct,
                };
                if nct {
                    assert_eq!(first, second, "bits {bits}, {from:?}");
                } else {
                    assert!(
                        second * 4 < first,
                        "bits {bits}, {from:?}: {first} then {second}"
                    );
                }
            }
        }
    }
}

// ----- RFC 7692 §7.2.3 -----------------------------------------------------------------------

/// A side of `role` with permessage-deflate agreed (context takeover both ways).
fn negotiated(role: Role, rbs: u32) -> Side {
    let side = open(role, &[on(), Property::ReceiveBufferSize(rbs)]);
    assert!(side.session.permessage_deflate().is_some());
    side
}

/// `b0` and `payload` as a frame towards `role` (masked for a server).
fn frame(role: Role, b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = (role == Role::Server).then_some(KEY);
    raw_frame(b0, key, payload)
}

fn text_message(got: &[Got]) -> Vec<u8> {
    let (t, data) = message(got);
    assert_eq!(t, BufferType::Utf8Message);
    data
}

#[test]
fn rfc7692_examples_received_by_a_server_and_by_a_client() {
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for role in [Role::Server, Role::Client] {
        for rbs in [256, 4096] {
            let mut side = negotiated(role, rbs);
            // §7.2.3.1: one compressed frame.
            let got = side.feed(&frame(role, 0xc1, &HELLO)).unwrap();
            assert_eq!(text_message(&got), b"Hello");
            // §7.2.3.1: the same, fragmented (RSV1 on the first frame only).
            let mut bytes = frame(role, 0x41, &HELLO[..3]);
            bytes.extend(frame(role, 0x80, &HELLO[3..]));
            assert_eq!(text_message(&side.feed(&bytes).unwrap()), b"Hello");
            // §7.2.3.2: a second message referring to the first ("Hello" again, via the
            // shared window): right after a message that ended at a byte boundary.
            let got = side.feed(&frame(role, 0xc1, &HELLO)).unwrap();
            assert_eq!(text_message(&got), b"Hello");
            let shared = [0xf2, 0x00, 0x11, 0x00, 0x00];
            assert_eq!(
                text_message(&side.feed(&frame(role, 0xc1, &shared)).unwrap()),
                b"Hello"
            );
            // §7.2.3.3: a stored (uncompressed) block.
            let stored = [
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ];
            assert_eq!(
                text_message(&side.feed(&frame(role, 0xc1, &stored)).unwrap()),
                b"Hello"
            );
            // §7.2.3.4: a block with BFINAL set.
            let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
            assert_eq!(
                text_message(&side.feed(&frame(role, 0xc1, &bfinal)).unwrap()),
                b"Hello"
            );
            // §7.2.3.5: two DEFLATE blocks in one message.
            let two = [
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ];
            assert_eq!(
                text_message(&side.feed(&frame(role, 0xc1, &two)).unwrap()),
                b"Hello"
            );
            // §7.2.3.6: an empty message (one byte 00), and a compressed frame with no payload.
            assert_eq!(
                side.feed(&frame(role, 0xc1, &[0x00])).unwrap(),
                [Got::Piece(BufferType::Utf8Message, vec![])]
            );
            assert_eq!(
                side.feed(&frame(role, 0xc2, &[])).unwrap(),
                [Got::Piece(BufferType::BinaryMessage, vec![])]
            );
            // An uncompressed message (RSV1 clear) is still delivered as it is.
            let got = side.feed(&frame(role, 0x81, b"plain")).unwrap();
            assert_eq!(text_message(&got), b"plain");
            assert!(side.error.is_none());
        }
    }
}

#[test]
fn rfc7692_hello_as_sent_by_a_server_and_by_a_client() {
    for from in [Role::Server, Role::Client] {
        let mut pair = Pair::new(&[on()], &[on()]);
        let (tx, rx) = pair.sides(from);
        tx.session
            .send(BufferType::Utf8Message, Some(b"Hello".to_vec()), 1)
            .unwrap();
        tx.drive(&mut rx.inbox);
        let frames = parse_frames(&tx.wire);
        let f = &frames[0];
        // §7.2.3.1: FIN, RSV1, text, and the payload f2 48 cd c9 c9 07 00.
        assert_eq!(f.head.b0(), 0xc1);
        assert_eq!(f.head.mask.is_some(), from == Role::Client);
        assert_eq!(f.payload, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        if from == Role::Server {
            assert_eq!(
                tx.wire,
                [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
            );
        }
        assert_eq!(text_message(&rx.receive_all().unwrap()), b"Hello");
    }
}

#[test]
fn compressed_frames_fed_one_byte_at_a_time_with_a_ping_between_fragments() {
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for role in [Role::Server, Role::Client] {
        let mut side = negotiated(role, 256);
        side.read_sizes = vec![1];
        let mut bytes = frame(role, 0x41, &HELLO[..2]);
        bytes.extend(frame(role, 0x89, b"ping"));
        bytes.extend(frame(role, 0x00, &HELLO[2..5]));
        bytes.extend(frame(role, 0x8a, b"pong"));
        bytes.extend(frame(role, 0x80, &HELLO[5..]));
        let got = side.feed(&bytes).unwrap();
        let (pieces, others): (Vec<Got>, Vec<Got>) =
            got.into_iter().partition(|g| matches!(g, Got::Piece(..)));
        assert_eq!(others, [Got::Pong(b"pong".to_vec())]);
        assert_eq!(text_message(&pieces), b"Hello");
        // The ping was answered.
        let pongs: Vec<_> = side
            .wire_frames()
            .into_iter()
            .filter(|f| f.opcode() == Opcode::Pong)
            .map(|f| f.payload)
            .collect();
        assert_eq!(pongs, [b"ping".to_vec()]);
    }
}

#[test]
fn a_few_compressed_bytes_that_inflate_to_many_pieces() {
    // 1 MiB of zeros compresses to about a kilobyte: one small frame, thousands of pieces,
    // most of them drained from the decompressor with no input left.
    let zeros = vec![0u8; 1 << 20];
    let mut c = Compressor::new(15, false, 9);
    let mut z = Vec::new();
    c.compress(&zeros, true, &mut z).unwrap();
    assert!(z.len() < 2000, "{}", z.len());
    for role in [Role::Server, Role::Client] {
        let mut side = negotiated(role, 256);
        let got = side.feed(&frame(role, 0xc2, &z)).unwrap();
        // Full pieces, but for a few cut where a read's compressed bytes ran out.
        assert!(got.len() >= (1 << 20) / 256 && got.len() < (1 << 20) / 256 + 10);
        assert!(got
            .iter()
            .all(|g| matches!(g, Got::Piece(_, d) if d.len() <= 256)));
        assert_eq!(message(&got), (BufferType::BinaryMessage, zeros.clone()));
    }
}

#[test]
fn an_uncompressed_message_between_two_compressed_ones_stays_out_of_the_window() {
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    // §7.2.3.2's second message copies the 5 bytes before it in the window: "Hello" only if
    // the uncompressed "XYZZY" between them did not enter the window (RFC 7692 §6: only
    // compressed messages use it).
    let shared = [0xf2, 0x00, 0x11, 0x00, 0x00];
    for role in [Role::Server, Role::Client] {
        let mut side = negotiated(role, 256);
        assert_eq!(
            text_message(&side.feed(&frame(role, 0xc1, &HELLO)).unwrap()),
            b"Hello"
        );
        assert_eq!(
            text_message(&side.feed(&frame(role, 0x81, b"XYZZY")).unwrap()),
            b"XYZZY"
        );
        assert_eq!(
            text_message(&side.feed(&frame(role, 0xc1, &shared)).unwrap()),
            b"Hello"
        );
    }
}

#[test]
fn messages_that_fill_the_receive_buffer_exactly_end_with_a_final_piece() {
    // Decompressed lengths of exact multiples of the receive buffer: the output fills the
    // buffer just as the compressed input runs out, and the message must still end with one
    // *_MESSAGE piece (possibly empty), never a fragment left hanging.
    for role in [Role::Server, Role::Client] {
        for rbs in [256u32, 4096] {
            for k in [1usize, 2, 7] {
                for compressible in [true, false] {
                    let msg = payload(false, compressible, k as u64, k * rbs as usize);
                    let mut z = Vec::new();
                    Compressor::new(15, false, 6)
                        .compress(&msg, true, &mut z)
                        .unwrap();
                    let mut side = negotiated(role, rbs);
                    let got = side.feed(&frame(role, 0xc2, &z)).unwrap();
                    assert!(got
                        .iter()
                        .all(|g| matches!(g, Got::Piece(_, d) if d.len() <= rbs as usize)));
                    assert_eq!(
                        message(&got),
                        (BufferType::BinaryMessage, msg),
                        "{role:?} rbs {rbs} k {k}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_stream_ending_inside_a_compressed_message_is_a_1006_close() {
    // A non-final compressed fragment of 10 000 bytes (sync-flushed, so it inflates whole).
    let data = pattern(10_000);
    let mut z = Vec::new();
    Compressor::new(15, false, 6)
        .compress(&data, false, &mut z)
        .unwrap();
    for role in [Role::Server, Role::Client] {
        let f = frame(role, 0x42, &z);
        let header = f.len() - z.len();
        // The stream ends inside the frame's payload, then between two fragments.
        for cut in [header + z.len() / 2, f.len()] {
            let mut side = negotiated(role, 256);
            let mut got = side.feed(&f[..cut]).unwrap();
            side.eof = true;
            got.extend(side.receive_all().unwrap());
            let (close, pieces) = got.split_last().unwrap();
            assert_eq!(*close, Got::Close(1006, vec![]), "{role:?} cut {cut}");
            let mut delivered = Vec::new();
            for p in pieces {
                let Got::Piece(t, d) = p else { panic!("{p:?}") };
                assert_eq!(*t, BufferType::BinaryFragment);
                delivered.extend_from_slice(d);
            }
            assert!(data.starts_with(&delivered), "{role:?} cut {cut}");
            if cut == f.len() {
                assert_eq!(delivered, data, "a whole fragment inflates on arrival");
            }
        }
    }
}

#[test]
fn a_compressed_send_cut_short_by_an_abort_is_reported_unsent() {
    for from in [Role::Client, Role::Server] {
        let mut pair = Pair::new(&[on()], &[on()]);
        let (tx, _) = pair.sides(from);
        tx.session
            .send(BufferType::BinaryFragment, Some(pattern(100_000)), 7)
            .unwrap();
        tx.session.abort();
        tx.drive_alone();
        assert_eq!(tx.sends_done, [7]);
        assert_eq!(tx.sends_sent, [false]);
        assert!(tx.wire.is_empty(), "{} bytes went out", tx.wire.len());
    }
}

// ----- failures --------------------------------------------------------------------------------

fn fails(side: &mut Side, bytes: &[u8]) -> ProtocolError {
    match side.feed(bytes) {
        Err(Error::Protocol(e)) => e,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn rsv1_without_negotiation_or_off_the_first_data_frame_fails_1002() {
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for role in [Role::Server, Role::Client] {
        // Not negotiated: off, or offered by one side only.
        for (c, s) in [(vec![], vec![]), (vec![on()], vec![]), (vec![], vec![on()])] {
            let mut side = Pair::new(&c, &s).into_side(role);
            let e = fails(&mut side, &frame(role, 0xc1, &HELLO));
            assert_eq!(e, ProtocolError::ReservedBits(RSV1));
            assert_eq!(e.close_status(), CloseStatus::PROTOCOL_ERROR);
        }
        // Negotiated: RSV1 on a continuation frame, on a control frame; RSV2 and RSV3.
        let mut side = negotiated(role, 256);
        let mut bytes = frame(role, 0x41, &HELLO[..3]);
        bytes.extend(frame(role, 0xc0, &HELLO[3..]));
        assert_eq!(fails(&mut side, &bytes), ProtocolError::ReservedBits(RSV1));
        // A new compressed data frame while a compressed message is still open.
        let mut side = negotiated(role, 256);
        let mut bytes = frame(role, 0x41, &HELLO[..3]);
        bytes.extend(frame(role, 0xc1, &HELLO));
        let e = fails(&mut side, &bytes);
        assert_eq!(e.close_status(), CloseStatus::PROTOCOL_ERROR, "{e:?}");
        for b0 in [0xc9, 0xca, 0xc8, 0xa1, 0x91] {
            let mut side = negotiated(role, 256);
            let e = fails(&mut side, &frame(role, b0, &[]));
            assert!(
                matches!(e, ProtocolError::ReservedBits(_)),
                "{b0:#x}: {e:?}"
            );
            assert_eq!(e.close_status().0, 1002);
        }
    }
}

#[test]
fn invalid_compressed_data_fails_1007() {
    for role in [Role::Server, Role::Client] {
        // Block type 3 is reserved (RFC 1951 §3.2.3); the RFC 7692 §7.2.3.2 second message
        // refers back 5 bytes, before the start of a fresh window.
        for bad in [&[0x06u8][..], &[0xff; 40], &[0xf2, 0x00, 0x11, 0x00, 0x00]] {
            let mut side = negotiated(role, 256);
            let e = fails(&mut side, &frame(role, 0xc2, bad));
            assert_eq!(e, ProtocolError::InvalidCompressedData, "{bad:x?}");
            assert_eq!(e.close_status(), CloseStatus::INVALID_PAYLOAD);
        }
        // Valid DEFLATE of invalid UTF-8 in a text message: 1007 too, from the UTF-8 check.
        let mut c = Compressor::new(15, false, 6);
        let mut z = Vec::new();
        c.compress(b"ok \xff\xfe", true, &mut z).unwrap();
        let mut side = negotiated(role, 256);
        assert_eq!(
            fails(&mut side, &frame(role, 0xc1, &z)),
            ProtocolError::InvalidUtf8
        );
        // A text message that ends inside a character.
        let mut z = Vec::new();
        Compressor::new(15, false, 6)
            .compress(b"caf\xc3", true, &mut z)
            .unwrap();
        let mut side = negotiated(role, 256);
        assert_eq!(
            fails(&mut side, &frame(role, 0xc1, &z)),
            ProtocolError::InvalidUtf8
        );
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_cap_with_1009() {
    const CAP: usize = 1 << 20;
    let mut config = DeflateConfig::DEFAULT;
    config.limits.max_message_size = Some(CAP as u64);
    let limited = [deflate(config), Property::ReceiveBufferSize(4096)];
    let plain = [on()];
    for (len, ok) in [(CAP, true), (CAP + 1, false), (8 * CAP, false)] {
        let mut pair = Pair::new(&plain, &limited);
        pair.client
            .session
            .send(BufferType::BinaryMessage, Some(vec![0; len]), 1)
            .unwrap();
        pair.run_client();
        // A bomb: the wire carries a tiny fraction of what it inflates to.
        assert!(pair.server.inbox.len() < len / 500);
        let r = pair.server.receive_all();
        let delivered: usize = pair
            .server
            .got
            .iter()
            .map(|g| match g {
                Got::Piece(_, d) => d.len(),
                _ => 0,
            })
            .sum();
        if ok {
            assert_eq!(delivered, CAP);
            assert!(r.is_ok());
        } else {
            assert_eq!(r, Err(Error::Protocol(ProtocolError::MessageTooBig)));
            assert_eq!(
                ProtocolError::MessageTooBig.close_status(),
                CloseStatus::MESSAGE_TOO_BIG
            );
            assert!(delivered <= CAP, "{delivered}");
            // The connection is failed the RFC way: a close with 1009 can still go out.
            assert_eq!(
                pair.server.session.fault(),
                Some(ProtocolError::MessageTooBig)
            );
            pair.server
                .session
                .send_close(CloseStatus::MESSAGE_TOO_BIG, None, 9)
                .unwrap();
            pair.run_server();
            let last = parse_frames(&pair.server.wire).pop().unwrap();
            assert_eq!(
                (last.opcode(), &last.payload[..]),
                (Opcode::Close, &[0x03, 0xf1][..])
            );
        }
    }
}

// ----- memory ----------------------------------------------------------------------------------

/// The bytes this thread has live on the heap.
fn live() -> isize {
    wspc_testkit::alloc::live().expect("the counting allocator is installed")
}

/// Serves `s`'s send queue until it is idle, appending what it writes to `wire`; returns the
/// most heap bytes live (beyond `base`) after any action.
fn drain_sends(s: &mut Ws, wire: &mut Vec<u8>, base: isize) -> isize {
    let mut peak = 0;
    loop {
        let (id, n) = match s.get_action(wspc::Queue::Send).unwrap() {
            wspc::Action::SendToNetwork(a) => {
                a.buffers().iter().for_each(|b| wire.extend_from_slice(b));
                (a.id, a.total_len())
            }
            wspc::Action::IndicateSendComplete(a) => (a.id, 0),
            _ => return peak,
        };
        let done = s.complete_action(id, n).unwrap();
        drop(done);
        peak = peak.max(live() - base);
    }
}

#[test]
fn once_agreed_neither_receiving_nor_sending_allocates() {
    let props = [on(), Property::ReceiveBufferSize(4096)];
    let pair = Pair::new(&props, &props);
    let (mut client, mut server) = (pair.client.session, pair.server.session);
    let messages: Vec<Vec<u8>> = (0..6)
        .map(|k| payload(k % 2 == 0, k % 3 != 0, k, 300_000))
        .collect();
    // The wire, big enough up front; a first large frame grows the compressed-frame buffer.
    let primer = random_bytes(99, 300_000);
    let mut wire = Vec::with_capacity(8 << 20);
    client
        .send(BufferType::BinaryMessage, Some(primer.clone()), 0)
        .unwrap();
    drain_sends(&mut client, &mut wire, 0);

    // Sending: the payloads, made beforehand, move into the session and back out; nothing
    // else is allocated.
    let mut payloads: Vec<Vec<u8>> = messages.clone();
    let base = live();
    let mut peak = 0;
    for (k, p) in payloads.drain(..).enumerate() {
        let t = data_type(k % 2 == 0, true);
        client.send(t, Some(p), k as u32).unwrap();
        peak = peak.max(drain_sends(&mut client, &mut wire, base));
    }
    assert!(peak <= 0, "sending allocated {peak} bytes");

    // Receiving: nothing at all, whatever the messages inflate to, once the first compressed
    // message (the primer) has made the decompressor and the piece buffer.
    let mut base = live();
    let (mut at, mut peak) = (0, 0);
    for (i, m) in std::iter::once(&primer).chain(&messages).enumerate() {
        let mut got = 0;
        // One receive per piece, until the piece that ends the message.
        'message: loop {
            server.receive(0).unwrap();
            loop {
                let (id, n, piece) = match server.get_action(wspc::Queue::Receive).unwrap() {
                    wspc::Action::ReceiveFromNetwork(a) => {
                        let n = a.buffer.len().min(wire.len() - at);
                        a.buffer[..n].copy_from_slice(&wire[at..at + n]);
                        at += n;
                        (a.id, n, None)
                    }
                    wspc::Action::IndicateReceiveComplete(a) => {
                        assert!(a.data == &m[got..got + a.data.len()]);
                        got += a.data.len();
                        (a.id, 0, Some(a.buffer_type))
                    }
                    other => panic!("{:?}", other.kind()),
                };
                let done = server.complete_action(id, n).unwrap();
                drop(done);
                peak = peak.max(live() - base);
                match piece {
                    Some(t) if t.is_final() => break 'message,
                    Some(_) => break,
                    None => {}
                }
            }
        }
        assert_eq!(got, m.len());
        if i == 0 {
            let first = peak;
            assert!(
                (40 << 10..200 << 10).contains(&first),
                "the first compressed message allocated {first} bytes"
            );
            (base, peak) = (live(), 0);
        }
    }
    assert_eq!(at, wire.len());
    assert_eq!(peak, 0, "receiving allocated");
}

#[test]
fn an_agreed_codec_allocates_each_direction_on_first_use() {
    // Agreement alone allocates next to nothing: the compressor (hundreds of KiB) and the
    // decompressor come with the first compressed message each way.
    let props = [on(), Property::ReceiveBufferSize(4096)];
    let (_, plain, _) = wspc_testkit::alloc::measure(|| Pair::new(&[], &[]));
    let (mut pair, agreed, _) = wspc_testkit::alloc::measure(|| Pair::new(&props, &props));
    assert!(pair.client.session.permessage_deflate().is_some());
    assert!(
        agreed - plain < 4096,
        "agreeing cost {} bytes more than a plain pair",
        agreed - plain
    );
    let before = live();
    round_trip(&mut pair, Role::Client, false, b"first", 1 << 20, 4096);
    let used = live() - before;
    assert!(
        used > 200 << 10,
        "the first message each way made codec state of only {used} bytes"
    );
}
