//! Per-handle properties through the constructors (defaults, limits, effects), the caller-owned
//! memory block, and the global properties.

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use wspc::frame::Opcode;
use wspc::properties::{global_property, GlobalProperty, ALLOCATED_BUFFER_OVERHEAD, KEEPALIVE_ENV};
use wspc::{
    Action, BufferType, CloseStatus, Error, HResult, Properties, Property, PropertyError,
    PropertyType, ProtocolError, Queue, Role, Session,
};
use wspc_testkit::data::pattern;
use wspc_testkit::frame::*;
use wspc_testkit::pair::*;
use wspc_testkit::parse::parse_frames;
use wspc_testkit::snap::*;

fn props(role: Role, list: &[Property]) -> Result<Properties, Error> {
    Session::<Vec<u8>, u32>::new(role, list).map(|s| *s.properties())
}

/// The defaults for `role` with the two buffer sizes set (`Properties` is non-exhaustive).
fn sized(role: Role, receive_buffer_size: u32, send_buffer_size: u32) -> Properties {
    let mut p = Properties::new(role);
    p.receive_buffer_size = receive_buffer_size;
    p.send_buffer_size = send_buffer_size;
    p
}

/// The fields of `p`, to compare with literals (`Properties` is non-exhaustive).
fn fields(p: &Properties) -> (u32, u32, bool, bool) {
    (
        p.receive_buffer_size,
        p.send_buffer_size,
        p.disable_masking,
        p.disable_utf8_verification,
    )
}

fn out_of_range(r: Result<Properties, Error>, property: PropertyType, value: u64) {
    let e = r.expect_err("expected OutOfRange");
    assert_eq!(
        e,
        Error::InvalidProperty(PropertyError::OutOfRange {
            property: property as i32,
            value,
        })
    );
    assert_eq!(e.hresult(), HResult::E_INVALIDARG);
}

#[test]
fn defaults_through_constructors() {
    let c: Ws = Session::client(&[]).unwrap();
    assert_eq!(c.role(), Role::Client);
    assert_eq!(fields(c.properties()), (4096, 4096, false, false));
    let s: Ws = Session::server(&[]).unwrap();
    assert_eq!(s.role(), Role::Server);
    assert_eq!(fields(s.properties()), (4096, 16, false, false));
    assert_eq!(*s.properties(), Properties::new(Role::Server));
    assert_eq!(*c.properties(), Properties::new(Role::Client));
}

#[test]
fn properties_given_are_in_force() {
    for role in [Role::Client, Role::Server] {
        let p = props(
            role,
            &[
                Property::ReceiveBufferSize(1000),
                Property::SendBufferSize(300),
                Property::DisableMasking(true),
                Property::DisableUtf8Verification(true),
            ],
        )
        .unwrap();
        assert_eq!(fields(&p), (1000, 300, true, true));
    }
}

/// For both roles, `make(v)` is refused as out of range for every `v` in `bad`, and kept as
/// `get` reads it back for every `v` in `good`.
fn size_limits(
    make: fn(u32) -> Property,
    ptype: PropertyType,
    get: fn(&Properties) -> u32,
    bad: &[u32],
    good: &[u32],
) {
    for role in [Role::Client, Role::Server] {
        for &v in bad {
            out_of_range(props(role, &[make(v)]), ptype, v.into());
        }
        for &v in good {
            assert_eq!(get(&props(role, &[make(v)]).unwrap()), v);
        }
    }
}

#[test]
fn receive_buffer_size_limits() {
    size_limits(
        Property::ReceiveBufferSize,
        PropertyType::ReceiveBufferSize,
        |p| p.receive_buffer_size,
        &[0, 1, 255, 65537, 1 << 20, u32::MAX],
        &[256, 4096, 65536],
    );
}

#[test]
fn send_buffer_size_limits() {
    // §9 Q2: 16 for both roles, up to 64 KiB.
    size_limits(
        Property::SendBufferSize,
        PropertyType::SendBufferSize,
        |p| p.send_buffer_size,
        &[0, 15, 65537, u32::MAX],
        &[16, 256, 65536],
    );
}

#[test]
fn duplicate_property_is_refused() {
    for list in [
        [
            Property::ReceiveBufferSize(256),
            Property::ReceiveBufferSize(256),
        ],
        [Property::SendBufferSize(256), Property::SendBufferSize(512)],
        [
            Property::DisableMasking(true),
            Property::DisableMasking(true),
        ],
        [
            Property::DisableUtf8Verification(false),
            Property::DisableUtf8Verification(true),
        ],
    ] {
        let ty = list[0].property_type().expect("a Windows property");
        let e = Session::<Vec<u8>, u32>::client(&list).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidProperty(PropertyError::Duplicate(ty as i32))
        );
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
    }
}

#[test]
fn property_types_have_windows_values() {
    let all = [
        (PropertyType::ReceiveBufferSize, 0, true),
        (PropertyType::SendBufferSize, 1, true),
        (PropertyType::DisableMasking, 2, true),
        (PropertyType::AllocatedBuffer, 3, true),
        (PropertyType::DisableUtf8Verification, 4, true),
        (PropertyType::KeepaliveInterval, 5, false),
        (PropertyType::SupportedVersions, 6, false),
    ];
    for (ty, raw, per_handle) in all {
        assert_eq!(ty as i32, raw);
        assert_eq!(PropertyType::from_raw(raw), Some(ty));
        assert_eq!(ty.is_per_handle(), per_handle);
    }
    for raw in [-1, 7, 100] {
        assert_eq!(PropertyType::from_raw(raw), None);
    }
    assert_eq!(
        Property::ReceiveBufferSize(1).property_type(),
        Some(PropertyType::ReceiveBufferSize)
    );
    assert_eq!(
        Property::SendBufferSize(1).property_type(),
        Some(PropertyType::SendBufferSize)
    );
    assert_eq!(
        Property::DisableMasking(true).property_type(),
        Some(PropertyType::DisableMasking)
    );
    assert_eq!(
        Property::DisableUtf8Verification(true).property_type(),
        Some(PropertyType::DisableUtf8Verification)
    );
}

#[test]
fn receive_buffer_size_bounds_reads_and_pieces() {
    for rbs in [256u32, 65536] {
        let mut p = Pair::new(&[Property::ReceiveBufferSize(rbs)], &[]);
        let got = p.binary_to_client(pattern(60_000));
        assert!(p.client.reads.iter().all(|&n| n <= rbs as usize));
        assert!(got.iter().all(|g| match g {
            Got::Piece(_, d) => d.len() <= rbs as usize,
            _ => false,
        }));
        if rbs == 65536 {
            // Header and payload fit: one read, one piece.
            assert_eq!(got.len(), 1);
        } else {
            assert!(got.len() >= 60_000 / 256);
        }
        assert_eq!(message(&got), (BufferType::BinaryMessage, pattern(60_000)));
    }
}

#[test]
fn send_buffer_size_bounds_client_chunks() {
    for sbs in [16u32, 300, 65536] {
        let mut c = open(Role::Client, &[Property::SendBufferSize(sbs)]);
        c.session
            .send(BufferType::BinaryMessage, Some(pattern(70_000)), 1)
            .unwrap();
        c.drive_alone();
        let chunks: Vec<usize> = c.writes.iter().map(|w| *w.last().unwrap()).collect();
        assert!(chunks.iter().all(|&n| n <= sbs as usize), "{sbs}");
        // The 14-byte header (64-bit length, key) shares the first buffer with the payload.
        assert_eq!(chunks.len(), (70_000usize + 14).div_ceil(sbs as usize));
        assert_eq!(c.wire_frames()[0].payload, pattern(70_000));
    }
    // A server with the minimum sends anything: payloads come from the caller's memory.
    let mut s = open(Role::Server, &[Property::SendBufferSize(16)]);
    s.session
        .send(BufferType::BinaryMessage, Some(pattern(70_000)), 1)
        .unwrap();
    s.session
        .send_close(CloseStatus(4999), Some(vec![b'r'; 123]), 2)
        .unwrap();
    s.drive_alone();
    assert_eq!(s.writes, [vec![10, 70_000], vec![4, 123]]);
    let frames = s.wire_frames();
    assert_eq!(frames[0].payload, pattern(70_000));
    assert_eq!(frames[1].payload, close_payload(4999, &[b'r'; 123]));
}

#[test]
fn disable_masking_client_sends_zero_key_from_callers_memory() {
    let mut c = open(Role::Client, &[Property::DisableMasking(true)]).session;
    let payload = pattern(5000);
    let ptr = payload.as_ptr() as usize;
    c.send(BufferType::BinaryMessage, Some(payload), 1).unwrap();
    let a = next(&mut c, Queue::Send).unwrap();
    let Snap::Send { bufs, ptrs, .. } = &a else {
        panic!("{a:?}")
    };
    assert_eq!(bufs.len(), 2);
    // The MASK bit stays set (RFC 6455 §5.3), with the all-zero key; no copy is made.
    assert_eq!(bufs[0], [0x82, 0xFE, 0x13, 0x88, 0, 0, 0, 0]);
    assert_eq!(ptrs[1], ptr);
    assert_eq!(bufs[1], pattern(5000));
    // A default server accepts it.
    let mut s = server();
    let got = s.feed(&a.bytes()).unwrap();
    assert_eq!(message(&got), (BufferType::BinaryMessage, pattern(5000)));
    // Pongs too carry the zero key.
    let mut c = open(Role::Client, &[Property::DisableMasking(true)]);
    c.feed(&server_frame(true, Opcode::Ping, b"zero")).unwrap();
    let frames = c.wire_frames();
    assert_eq!(frames[0].head.mask, Some([0; 4]));
    assert_eq!(&c.wire[6..], b"zero");
}

#[test]
fn disable_masking_server_accepts_unmasked_frames() {
    let mut s = open(Role::Server, &[Property::DisableMasking(true)]);
    let bytes = [
        server_frame(true, Opcode::Text, b"plain"),
        client_frame(true, Opcode::Text, b"masked"),
        server_frame(true, Opcode::Ping, b"p"),
    ]
    .concat();
    assert_eq!(
        s.feed(&bytes).unwrap(),
        [
            Got::Piece(BufferType::Utf8Message, b"plain".to_vec()),
            Got::Piece(BufferType::Utf8Message, b"masked".to_vec()),
        ]
    );
    // The server still sends unmasked frames.
    let frames = s.wire_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].head.mask, None);
    // Without the property, the same bytes fail.
    let mut strict = server();
    assert_eq!(
        strict.feed(&bytes).unwrap_err(),
        Error::Protocol(ProtocolError::UnmaskedFrame)
    );
    // A client with masking disabled still refuses masked input.
    let mut c = open(Role::Client, &[Property::DisableMasking(true)]);
    assert_eq!(
        c.feed(&client_frame(true, Opcode::Binary, b"x"))
            .unwrap_err(),
        Error::Protocol(ProtocolError::MaskedFrame)
    );
}

#[test]
fn disable_utf8_verification() {
    let bad_text = server_frame(true, Opcode::Text, b"\xFF\xFE bad \xC0\x80");
    let bad_reason = server_frame(true, Opcode::Close, &close_payload(1000, b"\xFF"));
    let mut c = open(Role::Client, &[Property::DisableUtf8Verification(true)]);
    assert_eq!(
        c.feed(&[bad_text.clone(), bad_reason.clone()].concat())
            .unwrap(),
        [
            Got::Piece(BufferType::Utf8Message, b"\xFF\xFE bad \xC0\x80".to_vec()),
            Got::Close(1000, b"\xFF".to_vec()),
        ]
    );
    // Other checks stay.
    let mut c = open(Role::Client, &[Property::DisableUtf8Verification(true)]);
    assert_eq!(
        c.feed(&server_frame(
            true,
            Opcode::Close,
            &close_payload(1005, b"")
        ))
        .unwrap_err(),
        Error::Protocol(ProtocolError::InvalidCloseStatus(1005))
    );
    // With verification (the default), both fail with 1007.
    for bytes in [bad_text, bad_reason] {
        let e = client().feed(&bytes).unwrap_err();
        assert_eq!(e, Error::Protocol(ProtocolError::InvalidUtf8));
        assert_eq!(e.close_status(), Some(CloseStatus::INVALID_PAYLOAD));
    }
    // Outgoing text is never checked (§9 Q9); close reasons always are.
    let mut s = open(Role::Server, &[Property::DisableUtf8Verification(true)]);
    s.session
        .send(BufferType::Utf8Message, Some(vec![0xFF]), 1)
        .unwrap();
    assert!(s
        .session
        .send_close(CloseStatus::SUCCESS, Some(vec![0xFF]), 2)
        .is_err());
}

// ----- the memory block -----------------------------------------------------------------------

/// A block that starts `off` bytes into a vector (to control alignment).
struct Offset {
    v: Vec<u8>,
    off: usize,
    len: usize,
}

impl AsRef<[u8]> for Offset {
    fn as_ref(&self) -> &[u8] {
        &self.v[self.off..self.off + self.len]
    }
}

impl AsMut<[u8]> for Offset {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.v[self.off..self.off + self.len]
    }
}

/// A block of `len` bytes, 8-byte aligned if `aligned`, else 1 byte past alignment.
fn offset_block(len: usize, aligned: bool) -> Offset {
    let v = vec![0u8; len + 9];
    let off = v.as_ptr().align_offset(8) + usize::from(!aligned);
    let block = Offset { v, off, len };
    assert_eq!(block.as_ref().as_ptr().align_offset(8) == 0, aligned);
    block
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

#[test]
fn block_size_is_buffers_plus_144() {
    assert_eq!(ALLOCATED_BUFFER_OVERHEAD, 144);
    for (rbs, sbs) in [(256, 16), (4096, 4096), (65536, 65536)] {
        let p = sized(Role::Client, rbs, sbs);
        assert_eq!(p.block_size(), (rbs + sbs) as usize + 144);
    }
}

#[test]
fn with_block_too_small_or_misaligned_is_bad_allocated_buffer() {
    for role in [Role::Client, Role::Server] {
        let p = Properties::new(role);
        let need = p.block_size();
        for (len, aligned) in [
            (need - 1, true),
            (0, true),
            (need, false),
            (need + 64, false),
        ] {
            let e = Session::<Offset, u32>::with_block(role, p, offset_block(len, aligned), rng())
                .unwrap_err();
            assert_eq!(
                e,
                Error::InvalidProperty(PropertyError::BadAllocatedBuffer {
                    needed: need,
                    given: len
                }),
                "{role:?} {len} {aligned}"
            );
            assert_eq!(e.hresult(), HResult::E_INVALIDARG);
        }
        for len in [need, need + 1000] {
            let s = Session::<Offset, u32>::with_block(role, p, offset_block(len, true), rng());
            assert!(s.is_ok(), "{role:?} {len}");
        }
    }
}

#[test]
fn with_block_validates_properties() {
    let mut p = Properties::new(Role::Client);
    p.receive_buffer_size = 100;
    let e =
        Session::<Vec<u8>, u32>::with_block(Role::Client, p, vec![0; 100_000], rng()).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidProperty(PropertyError::OutOfRange {
            property: PropertyType::ReceiveBufferSize as i32,
            value: 100,
        })
    );
}

#[test]
fn seeded_sessions_are_reproducible() {
    let run = || {
        let p = Properties::new(Role::Client);
        let mut c: Ws =
            Session::with_block(Role::Client, p, vec![0; p.block_size()], rng()).unwrap();
        let mut s: Ws = Session::server(&[]).unwrap();
        handshake(&mut c, &mut s);
        let mut side = Side::new(c);
        side.session
            .send(BufferType::BinaryMessage, Some(pattern(100)), 1)
            .unwrap();
        side.drive_alone();
        side.wire
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b, "same seed, same masking keys");
    assert_eq!(parse_frames(&a)[0].payload, pattern(100));
}

/// Where the caller's own memory lies: payloads given to `send`, buffers given to
/// `receive_into`.
type Owned = Rc<RefCell<Vec<Range<usize>>>>;

fn range_of(v: &[u8]) -> Range<usize> {
    let p = v.as_ptr() as usize;
    p..p + v.len()
}

/// Check every buffer an action hands out: inside the block, or inside the caller's memory;
/// and no longer than the larger buffer size.
fn checker(block: Range<usize>, owned: Owned, max: usize, count: Rc<RefCell<usize>>) -> Inspect {
    Box::new(move |a: &Action<'_, u32>| {
        let inside = |b: &[u8], caller_ok: bool| {
            if b.is_empty() {
                return;
            }
            *count.borrow_mut() += 1;
            let r = range_of(b);
            let in_block = block.start <= r.start && r.end <= block.end;
            let in_caller = caller_ok
                && owned
                    .borrow()
                    .iter()
                    .any(|o| o.start <= r.start && r.end <= o.end);
            assert!(in_block || in_caller, "{r:x?} outside {block:x?}: {a:?}");
            if in_block {
                assert!(b.len() <= max, "{} > {max}", b.len());
            }
        };
        match a {
            Action::SendToNetwork(s) => {
                for (i, b) in s.buffers().iter().enumerate() {
                    // Only a payload (never a header) may be the caller's memory.
                    inside(b, i == 1 || s.buffers().len() == 1);
                }
            }
            Action::ReceiveFromNetwork(r) => inside(r.buffer, false),
            Action::IndicateReceiveComplete(r) => {
                let caller_ok = r.buffer_type.is_data();
                inside(r.data, caller_ok);
            }
            Action::IndicateSendComplete(_) | Action::NoAction => {}
        }
    })
}

fn session_in_block(role: Role, props: Properties) -> (Ws, Range<usize>) {
    let block = vec![0u8; props.block_size()];
    let range = range_of(&block);
    let s = Session::with_block(role, props, block, rng()).unwrap();
    (s, range)
}

#[test]
fn every_internal_buffer_lies_inside_the_block() {
    for (rbs, sbs, capacity) in [(256, 16, 2), (256, 16, 1), (4096, 300, 2), (1000, 4096, 1)] {
        let cp = sized(Role::Client, rbs, sbs);
        let sp = sized(Role::Server, rbs, 16);
        let (c, c_block) = session_in_block(Role::Client, cp);
        let (s, s_block) = session_in_block(Role::Server, sp);
        let owned: Owned = Rc::default();
        let checked = Rc::new(RefCell::new(0));
        let mut p = Pair::from_sessions(c, s);
        let max = rbs.max(sbs) as usize;
        p.client.inspect = Some(checker(
            c_block,
            Rc::clone(&owned),
            max,
            Rc::clone(&checked),
        ));
        p.server.inspect = Some(checker(
            s_block,
            Rc::clone(&owned),
            max,
            Rc::clone(&checked),
        ));
        p.client.capacity = capacity;
        p.server.capacity = capacity;
        p.client.read_sizes = vec![100];

        let send = |side: &mut Side, t: BufferType, payload: Option<Vec<u8>>, ctx: u32| {
            if let Some(v) = &payload {
                owned.borrow_mut().push(range_of(v));
            }
            side.session.send(t, payload, ctx).unwrap();
        };
        // Client: masked chunks, pings, a pong; server: zero-copy payloads, pings.
        send(
            &mut p.client,
            BufferType::BinaryMessage,
            Some(pattern(5000)),
            1,
        );
        send(&mut p.client, BufferType::PingPong, None, 2);
        send(
            &mut p.client,
            BufferType::Utf8Fragment,
            Some(b"frag ".to_vec()),
            3,
        );
        send(
            &mut p.client,
            BufferType::Utf8Message,
            Some(b"ment".to_vec()),
            4,
        );
        send(
            &mut p.server,
            BufferType::BinaryMessage,
            Some(pattern(3000)),
            5,
        );
        send(&mut p.server, BufferType::PingPong, None, 6);
        send(&mut p.server, BufferType::UnsolicitedPong, None, 7);
        // Receives into the internal buffer and into caller buffers.
        for i in 0..3 {
            let buf = vec![0u8; 50];
            owned.borrow_mut().push(range_of(&buf));
            p.server.session.receive_into(buf, 100 + i).unwrap();
        }
        p.exchange();
        // A ping with the longest payload, to the client, answered from the pong area.
        p.client
            .inbox
            .extend(server_frame(true, Opcode::Ping, &pattern(125)));
        p.exchange();
        // Closes with reasons both ways.
        send(&mut p.server, BufferType::UnsolicitedPong, None, 8);
        let reason = b"server reason".to_vec();
        owned.borrow_mut().push(range_of(&reason));
        p.server
            .session
            .send_close(CloseStatus(4000), Some(reason), 9)
            .unwrap();
        let reason = vec![b'c'; 123];
        owned.borrow_mut().push(range_of(&reason));
        p.client
            .session
            .send_close(CloseStatus(4001), Some(reason), 10)
            .unwrap();
        p.exchange();
        // An end of stream: the 1006 completion.
        let c = &mut p.client;
        c.eof = true;
        c.receive_all().ok();

        assert!(p.client.error.is_none() && p.server.error.is_none());
        let (pieces, rest) = p.server.split_got();
        let (binary, text): (Vec<Got>, Vec<Got>) = pieces
            .into_iter()
            .partition(|g| matches!(g, Got::Piece(t, _) if !t.is_text()));
        assert_eq!(message(&binary), (BufferType::BinaryMessage, pattern(5000)));
        assert_eq!(
            message(&text),
            (BufferType::Utf8Message, b"frag ment".to_vec())
        );
        assert!(
            rest.contains(&Got::Close(4001, vec![b'c'; 123])),
            "{rest:?}"
        );
        assert!(p
            .client
            .got
            .contains(&Got::Close(4000, b"server reason".to_vec())));
        let pongs = p.client.wire_frames();
        assert!(pongs
            .iter()
            .any(|f| f.opcode() == Opcode::Pong && f.payload == pattern(125)));
        assert!(
            *checked.borrow() > 50,
            "only {} buffers checked",
            checked.borrow()
        );
    }
}

// ----- global properties ----------------------------------------------------------------------

#[test]
fn global_properties() {
    assert_eq!(
        global_property(PropertyType::SupportedVersions),
        Ok(GlobalProperty::SupportedVersions(&[13]))
    );
    for ty in [
        PropertyType::ReceiveBufferSize,
        PropertyType::SendBufferSize,
        PropertyType::DisableMasking,
        PropertyType::AllocatedBuffer,
        PropertyType::DisableUtf8Verification,
    ] {
        let e = global_property(ty).unwrap_err();
        assert_eq!(e, PropertyError::UnsupportedType(ty as i32));
        assert_eq!(Error::from(e).hresult(), HResult::E_INVALIDARG);
    }
    // The keep-alive interval: default 30000 ms, at least 15000, from the environment. (The
    // only test in this binary that touches the environment.)
    let keepalive = || match global_property(PropertyType::KeepaliveInterval) {
        Ok(GlobalProperty::KeepaliveInterval(ms)) => ms,
        other => panic!("{other:?}"),
    };
    std::env::remove_var(KEEPALIVE_ENV);
    assert_eq!(keepalive(), 30_000);
    for (set, want) in [
        ("45000", 45_000),
        ("15000", 15_000),
        ("14999", 15_000),
        ("0", 15_000),
        (" 20000 ", 20_000),
        ("soon", 30_000),
        ("", 30_000),
        ("-5", 30_000),
    ] {
        std::env::set_var(KEEPALIVE_ENV, set);
        assert_eq!(keepalive(), want, "{set:?}");
    }
    std::env::remove_var(KEEPALIVE_ENV);
    assert_eq!(keepalive(), 30_000);
}
