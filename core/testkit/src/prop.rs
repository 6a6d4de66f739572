//! proptest configuration and strategies of the property tests (feature `proptest`): messages
//! ([`msg_spec`]), valid peer streams ([`stream_spec`]) and mutations that may make them invalid
//! ([`mutation`], [`mutate`]), close statuses and reasons, read sizes and receive buffer sizes.
//! Streams are built with [`crate::frame::RawFrame`], payloads with [`crate::data`].

use crate::data::{random_bytes, random_text, XorShift};
use crate::frame::{encode_all, LenEnc, RawFrame};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use wspc::Role;

/// `default_cases` cases, unless `PROPTEST_CASES` is set (then proptest's own default reads it).
/// Failing cases are saved beside the test file, `tests/<test>.proptest-regressions`, which is
/// committed and replayed first by every run.
pub fn config(default_cases: u32) -> Config {
    let mut config = if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(default_cases)
    };
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
}

/// Either role.
pub fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Server)]
}

/// Message lengths from 0 to 256 KiB, mostly small so that cases stay fast.
pub fn msg_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => 0usize..=32,
        6 => 33usize..=1024,
        2 => 1025usize..=16 * 1024,
        1 => 16usize * 1024 + 1..=256 * 1024,
    ]
}

/// A message: its type, its bytes (valid UTF-8 for text), where it is cut into frames, and a ping
/// payload (or none) after each frame but the last.
#[derive(Clone, Debug)]
pub struct MsgSpec {
    /// A text message (`data` is then valid UTF-8).
    pub text: bool,
    /// The message's bytes.
    pub data: Vec<u8>,
    /// Cut offsets, sorted, each in `0..=data.len()` (repeats give empty frames).
    pub cuts: Vec<usize>,
    /// `pings[i]`: a ping after fragment `i` (one entry per cut).
    pub pings: Vec<Option<Vec<u8>>>,
}

impl MsgSpec {
    /// The fragments (one per frame).
    pub fn fragments(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(self.cuts.len() + 1);
        let mut from = 0;
        for &c in &self.cuts {
            out.push(&self.data[from..c]);
            from = c;
        }
        out.push(&self.data[from..]);
        out
    }

    /// The frames a peer of `from` role sends for this message, pings included; masks from `keys`.
    pub fn frames(&self, keys: &mut XorShift, masked: bool) -> Vec<RawFrame> {
        let mut out = Vec::new();
        let frags = self.fragments();
        let last = frags.len() - 1;
        for (i, frag) in frags.iter().enumerate() {
            let opcode = match (i, self.text) {
                (0, true) => 1,
                (0, false) => 2,
                _ => 0,
            };
            let mut f = RawFrame::new(opcode, key(keys, masked), frag.to_vec());
            f.fin = i == last;
            out.push(f);
            if let Some(Some(p)) = self.pings.get(i) {
                out.push(RawFrame::new(0x9, key(keys, masked), p.clone()));
            }
        }
        out
    }
}

/// A mask key from `keys` if `masked`.
pub fn key(keys: &mut XorShift, masked: bool) -> Option<[u8; 4]> {
    masked.then(|| (keys.next_u64() as u32).to_le_bytes())
}

/// A control payload of 0 to 125 bytes.
pub fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => proptest::collection::vec(any::<u8>(), 1..=8),
        1 => proptest::collection::vec(any::<u8>(), 9..=125),
    ]
}

/// A message of up to 256 KiB in up to `max_frames` frames, with pings between them sometimes.
pub fn msg_spec(max_frames: usize) -> impl Strategy<Value = MsgSpec> {
    (any::<bool>(), msg_len(), any::<u64>(), 0..max_frames)
        .prop_flat_map(|(text, len, seed, ncuts)| {
            let cuts = proptest::collection::vec(0..=len, ncuts);
            let pings = proptest::collection::vec(
                prop_oneof![2 => Just(None), 1 => control_payload().prop_map(Some)],
                ncuts,
            );
            (Just(text), Just(len), Just(seed), cuts, pings)
        })
        .prop_map(|(text, len, seed, mut cuts, pings)| {
            cuts.sort_unstable();
            let data = if text {
                random_text(seed, len)
            } else {
                random_bytes(seed, len)
            };
            MsgSpec {
                text,
                data,
                cuts,
                pings,
            }
        })
}

/// Close statuses that both wspc and tungstenite accept on the wire (1014 is left out: see
/// `wspc::divergences`).
pub fn close_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013
        ]),
        3000u16..=4999,
    ]
}

/// A close reason: valid UTF-8 of at most 123 bytes.
pub fn close_reason() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        2 => (any::<u64>(), 1usize..=16).prop_map(|(s, n)| random_text(s, n)),
        1 => (any::<u64>(), 17usize..=123).prop_map(|(s, n)| random_text(s, n)),
    ]
}

/// One item of a peer stream.
#[derive(Clone, Debug)]
pub enum Item {
    /// A message, maybe in fragments with pings between them.
    Msg(MsgSpec),
    /// A ping with this payload.
    Ping(Vec<u8>),
    /// A pong with this payload.
    Pong(Vec<u8>),
}

/// A valid stream from a peer: items, then a close (status and reason; `None` for an empty close
/// frame) or no close at all.
#[derive(Clone, Debug)]
pub struct StreamSpec {
    /// What comes before the close.
    pub items: Vec<Item>,
    /// The close: none, an empty close frame, or a status and a reason.
    pub close: Option<Option<(u16, Vec<u8>)>>,
    /// The seed of the masking keys.
    pub key_seed: u64,
}

impl StreamSpec {
    /// The frames a peer sends towards a `to` handle (masked if `to` is a server).
    pub fn frames(&self, to: Role) -> Vec<RawFrame> {
        let masked = to == Role::Server;
        let mut keys = XorShift::new(self.key_seed);
        let mut out = Vec::new();
        for item in &self.items {
            match item {
                Item::Msg(m) => out.extend(m.frames(&mut keys, masked)),
                Item::Ping(p) => out.push(RawFrame::new(0x9, key(&mut keys, masked), p.clone())),
                Item::Pong(p) => out.push(RawFrame::new(0xA, key(&mut keys, masked), p.clone())),
            }
        }
        if let Some(close) = &self.close {
            let payload = match close {
                Some((status, reason)) => [&status.to_be_bytes()[..], reason].concat(),
                None => Vec::new(),
            };
            out.push(RawFrame::new(0x8, key(&mut keys, masked), payload));
        }
        out
    }
}

/// Streams of up to `max_items` items (messages of up to 4 frames, pings, pongs), mostly ending
/// with a close.
pub fn stream_spec(max_items: usize) -> impl Strategy<Value = StreamSpec> {
    let item = prop_oneof![
        6 => msg_spec(4).prop_map(Item::Msg),
        1 => control_payload().prop_map(Item::Ping),
        1 => control_payload().prop_map(Item::Pong),
    ];
    let close = prop_oneof![
        1 => Just(None),
        1 => Just(Some(None)),
        4 => (close_status(), close_reason()).prop_map(|c| Some(Some(c))),
    ];
    (
        proptest::collection::vec(item, 0..=max_items),
        close,
        any::<u64>(),
    )
        .prop_map(|(items, close, key_seed)| StreamSpec {
            items,
            close,
            key_seed,
        })
}

/// A change that may make a valid stream invalid (RFC 6455 §5.2, §5.4, §5.5, §7.4, §8.1).
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Set RSV bits (1–7) of a frame.
    Rsv(usize, u8),
    /// Replace a frame's opcode (reserved ones included).
    Opcode(usize, u8),
    /// Toggle a frame's FIN bit.
    Fin(usize),
    /// Encode a frame's length in another way (non-minimal or with the 64-bit MSB set).
    Length(usize, LenEnc),
    /// Add or remove a frame's mask (the wrong side's framing).
    Mask(usize),
    /// Give a frame a payload of this many bytes (over 125 for control frames).
    Resize(usize, usize),
    /// Put an invalid or incomplete UTF-8 sequence into a frame's payload at an offset.
    Utf8(usize, usize, Vec<u8>),
    /// Replace the status of a close frame (any frame, if its payload has 2 bytes or more).
    CloseStatus(usize, u16),
    /// Insert a frame (a stray continuation, a new message start, a bare close…) before a frame.
    Insert(usize, RawFrame),
    /// Cut the encoded stream at a fraction (in 1/1000) of its length.
    Truncate(u16),
    /// Flip one bit of the encoded stream (offset as a fraction in 1/1000, bit).
    Flip(u16, u8),
}

/// Byte sequences that break UTF-8 where they are put: invalid ones and incomplete ones.
pub fn bad_utf8() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        vec![0x80],
        vec![0xBF],
        vec![0xC0, 0x80],
        vec![0xC1, 0xBF],
        vec![0xE0, 0x80, 0x80],
        vec![0xED, 0xA0, 0x80],
        vec![0xED, 0xBF, 0xBF],
        vec![0xF0, 0x80, 0x80, 0x80],
        vec![0xF4, 0x90, 0x80, 0x80],
        vec![0xF5],
        vec![0xFE],
        vec![0xFF],
        vec![0xC2],
        vec![0xE2, 0x82],
        vec![0xF0, 0x9F, 0x98],
        vec![0xCE, 0xBA, 0xE1, 0xBD],
    ])
}

/// Close statuses around every boundary of the valid ranges.
pub fn any_close_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            0u16, 1, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011,
            1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 65535,
        ]),
        any::<u16>(),
    ]
}

/// One mutation; frame indices are taken modulo the frame count.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let frame = any::<usize>();
    prop_oneof![
        (frame, 1u8..8).prop_map(|(f, b)| Mutation::Rsv(f, b)),
        (frame, 0u8..16).prop_map(|(f, o)| Mutation::Opcode(f, o)),
        frame.prop_map(Mutation::Fin),
        (
            frame,
            prop::sample::select(vec![LenEnc::Wide16, LenEnc::Wide64, LenEnc::Msb64])
        )
            .prop_map(|(f, e)| Mutation::Length(f, e)),
        frame.prop_map(Mutation::Mask),
        (
            frame,
            prop_oneof![0usize..=1, 120usize..=130, 200usize..=300]
        )
            .prop_map(|(f, n)| Mutation::Resize(f, n)),
        (frame, any::<usize>(), bad_utf8()).prop_map(|(f, at, b)| Mutation::Utf8(f, at, b)),
        (frame, any_close_status()).prop_map(|(f, s)| Mutation::CloseStatus(f, s)),
        (
            frame,
            0u8..16,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..4)
        )
            .prop_map(|(f, op, fin, payload)| {
                let mut raw = RawFrame::new(op, None, payload);
                raw.fin = fin;
                Mutation::Insert(f, raw)
            }),
        (0u16..1000).prop_map(Mutation::Truncate),
        (0u16..1000, 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
    ]
}

/// Apply `mutations` to the frames a peer sends towards a `to` handle, and encode them.
pub fn mutate(frames: &mut Vec<RawFrame>, mutations: &[Mutation], to: Role) -> Vec<u8> {
    let masked = to == Role::Server;
    let mut bytes_muts = Vec::new();
    for m in mutations {
        let n = frames.len();
        match m.clone() {
            Mutation::Truncate(_) | Mutation::Flip(..) => bytes_muts.push(m.clone()),
            Mutation::Insert(at, mut f) => {
                if masked {
                    f.mask = Some([0x11, 0x22, 0x33, 0x44]);
                }
                frames.insert(if n == 0 { 0 } else { at % (n + 1) }, f);
            }
            _ if n == 0 => {}
            Mutation::Rsv(i, b) => frames[i % n].rsv = b,
            Mutation::Opcode(i, o) => frames[i % n].opcode = o,
            Mutation::Fin(i) => frames[i % n].fin ^= true,
            Mutation::Length(i, e) => frames[i % n].len = e,
            Mutation::Mask(i) => {
                let f = &mut frames[i % n];
                f.mask = match f.mask {
                    Some(_) => None,
                    None => Some([0xA5, 0x5A, 0x0F, 0xF0]),
                };
            }
            Mutation::Resize(i, len) => {
                let f = &mut frames[i % n];
                f.payload.resize(len, b'x');
            }
            Mutation::Utf8(i, at, seq) => {
                let f = &mut frames[i % n];
                let at = at % (f.payload.len() + 1);
                let end = (at + seq.len()).min(f.payload.len());
                f.payload.splice(at..end, seq);
            }
            Mutation::CloseStatus(i, s) => {
                let f = &mut frames[i % n];
                if f.payload.len() < 2 {
                    f.payload.resize(2, 0);
                }
                f.payload[..2].copy_from_slice(&s.to_be_bytes());
            }
        }
    }
    let mut bytes = encode_all(frames);
    for m in bytes_muts {
        match m {
            Mutation::Truncate(at) => bytes.truncate(bytes.len() * usize::from(at) / 1000),
            Mutation::Flip(at, bit) if !bytes.is_empty() => {
                let i = (bytes.len() - 1) * usize::from(at) / 1000;
                bytes[i] ^= 1 << bit;
            }
            _ => {}
        }
    }
    bytes
}

/// Read sizes: a few byte counts from 1 up to 64 KiB (cycled by [`crate::stream::Feed`]).
pub fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![
            3 => 1usize..=16,
            2 => 17usize..=512,
            1 => 513usize..=65536,
        ],
        1..=6,
    )
}

/// Receive buffer sizes from 256 B to 64 KiB, the ends included.
pub fn receive_buffer_size() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(256u32),
        1 => Just(65536u32),
        4 => 256u32..=4096,
        1 => 4097u32..=65536,
    ]
}
