//! Support for the property tests (`tests/prop_*.rs`), apart from `tests/common/`:
//!
//! - [`config`]: the proptest configuration (a default case count, `PROPTEST_CASES` overrides it);
//! - seeded sessions opened by a handshake ([`open`], [`pair`]);
//! - [`Duplex`] and [`oracle`]: tungstenite, the independent implementation, over memory, and
//!   [`oracle_read`] to collect what it received;
//! - [`receive_stream`]: a wspc session fed a byte stream in chosen chunks, collecting what it
//!   delivers and the pongs it writes;
//! - a lax frame codec for crafting streams ([`RawFrame`], any header bits and length encodings)
//!   and reading them back ([`parse_lax`]);
//! - generators of messages ([`msg_spec`]) and of peer streams with mutations ([`stream_spec`]).
#![allow(dead_code, unreachable_pub)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use wspc::{
    Action, BufferType, Error, Header, HeaderRef, Properties, Property, ProtocolError, Queue, Role,
    Session,
};

/// The session type of the property tests: owned buffers, `u32` contexts.
pub type Ws = Session<Vec<u8>, u32>;

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

// ----- sessions ----------------------------------------------------------------------------------

/// A fresh handle whose masking keys and nonce come from `seed`.
pub fn session(role: Role, props: &[Property], seed: u64) -> Ws {
    let p = Properties::from_list(role, props).expect("valid properties");
    Session::with_block(
        role,
        p,
        vec![0; p.block_size()],
        StdRng::seed_from_u64(seed),
    )
    .expect("a block of the right size")
}

/// A client and a server opened by a handshake between them.
pub fn pair(client_props: &[Property], server_props: &[Property], seed: u64) -> (Ws, Ws) {
    let mut client = session(Role::Client, client_props, seed);
    let mut server = session(Role::Server, server_props, seed ^ 0x5eed);
    let request = client.begin_client_handshake(&[], &[], &[]).unwrap();
    let mut refs: Vec<HeaderRef<'_>> = request.iter().map(Header::as_ref).collect();
    refs.push(HeaderRef {
        name: b"Host",
        value: b"example.com",
    });
    let response = server.begin_server_handshake(None, &[], &refs).unwrap();
    let refs: Vec<HeaderRef<'_>> = response.iter().map(Header::as_ref).collect();
    client.end_client_handshake(&refs).unwrap();
    server.end_server_handshake().unwrap();
    (client, server)
}

/// An open handle of `role` (its peer is dropped).
pub fn open(role: Role, props: &[Property], seed: u64) -> Ws {
    let (client, server) = match role {
        Role::Client => pair(props, &[], seed),
        Role::Server => pair(&[], props, seed),
    };
    match role {
        Role::Client => client,
        Role::Server => server,
    }
}

/// The other role.
pub fn peer_of(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// Serve the send queue (writes completed in full) until it is idle; returns the bytes written
/// and the contexts of the sends that completed, with their `sent` flags.
pub fn drain_sends(ws: &mut Ws, capacity: usize) -> (Vec<u8>, Vec<(u32, bool)>) {
    let mut wire = Vec::new();
    let mut done = Vec::new();
    loop {
        let (id, n, sent) = match ws.get_action_with_capacity(Queue::Send, capacity).unwrap() {
            Action::NoAction => break,
            Action::SendToNetwork(a) => {
                for b in a.buffers() {
                    wire.extend_from_slice(b);
                }
                (a.id, a.total_len(), None)
            }
            Action::IndicateSendComplete(a) => (a.id, 0, Some(a.sent)),
            other => panic!("{other:?} on the send queue"),
        };
        let completed = ws.complete_action(id, n).unwrap();
        if let Some(sent) = sent {
            done.push((completed.expect("a finished send").context, sent));
        }
    }
    (wire, done)
}

// ----- tungstenite, the oracle -------------------------------------------------------------------

/// An in-memory transport: reads come from `input` (0 bytes, end of stream, once it is empty),
/// writes go to `output`.
#[derive(Debug, Default)]
pub struct Duplex {
    pub input: VecDeque<u8>,
    pub output: Vec<u8>,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite's frame size limit as configured here. Every stream the tests give it is shorter,
/// so a frame declaring more cannot complete: its `Capacity` error means the same as running out
/// of input ([`OracleEnd::Eof`]), and the limit causes no divergence of its own. (Without a limit
/// it would try to reserve the declared length, up to 2⁶⁴ − 1 bytes.)
pub const ORACLE_MAX_FRAME: usize = 16 << 20;

/// A tungstenite socket of `role` (no handshake: as after one) reading `input`. No message size
/// limit; writes go straight to the transport.
pub fn oracle(role: Role, input: Vec<u8>) -> tungstenite::WebSocket<Duplex> {
    assert!(input.len() < ORACLE_MAX_FRAME);
    let role = match role {
        Role::Client => tungstenite::protocol::Role::Client,
        Role::Server => tungstenite::protocol::Role::Server,
    };
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(Some(ORACLE_MAX_FRAME))
        .write_buffer_size(0);
    let duplex = Duplex {
        input: input.into(),
        output: Vec::new(),
    };
    tungstenite::WebSocket::from_raw_socket(duplex, role, Some(config))
}

/// Something a receiver delivered, as the application sees it (messages whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A text (`true`) or binary message.
    Msg(bool, Vec<u8>),
    /// A ping (tungstenite reports them; wspc answers them itself).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame: status (1005 for none) and reason.
    Close(u16, Vec<u8>),
}

/// How tungstenite's reading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OracleEnd {
    /// A close frame arrived (the last event).
    Closed,
    /// It failed the connection; the status is the one the RFC asks for (1002 for a protocol
    /// error, 1007 for invalid UTF-8), and the text is tungstenite's error.
    Failed(u16, String),
    /// The input ended (also for a frame over [`ORACLE_MAX_FRAME`], which cannot complete).
    Eof,
}

/// What tungstenite received.
#[derive(Clone, Debug)]
pub struct OracleRun {
    pub events: Vec<Event>,
    pub end: OracleEnd,
    /// What it wrote back (pongs, the close reply).
    pub wire: Vec<u8>,
}

/// Read `ws` until a close, an error or the end of its input.
pub fn oracle_read(ws: &mut tungstenite::WebSocket<Duplex>) -> OracleRun {
    use tungstenite::error::{Error as TError, ProtocolError as TProtocol};
    use tungstenite::Message;
    let mut events = Vec::new();
    let end = loop {
        match ws.read() {
            Ok(Message::Text(t)) => events.push(Event::Msg(true, t.as_bytes().to_vec())),
            Ok(Message::Binary(b)) => events.push(Event::Msg(false, b.to_vec())),
            Ok(Message::Ping(p)) => events.push(Event::Ping(p.to_vec())),
            Ok(Message::Pong(p)) => events.push(Event::Pong(p.to_vec())),
            Ok(Message::Close(c)) => {
                events.push(match c {
                    Some(c) => Event::Close(c.code.into(), c.reason.as_bytes().to_vec()),
                    None => Event::Close(1005, Vec::new()),
                });
                break OracleEnd::Closed;
            }
            Ok(Message::Frame(_)) => unreachable!("read never returns raw frames"),
            Err(TError::Protocol(TProtocol::ResetWithoutClosingHandshake)) => break OracleEnd::Eof,
            Err(TError::Capacity(_)) => break OracleEnd::Eof,
            Err(TError::Protocol(p)) => break OracleEnd::Failed(1002, p.to_string()),
            Err(TError::Utf8(e)) => break OracleEnd::Failed(1007, e),
            Err(other) => panic!("tungstenite: unexpected error {other:?}"),
        }
    };
    // Flush the reply to a close (or a last pong); errors past a close are of no interest.
    let _ = ws.flush();
    OracleRun {
        events,
        end,
        wire: std::mem::take(&mut ws.get_mut().output),
    }
}

// ----- wspc fed a byte stream --------------------------------------------------------------------

/// How wspc's receiving ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// A close frame arrived (the last event).
    Closed,
    /// `get_action` returned this protocol error.
    Failed(ProtocolError),
    /// The input ended: the receive completed as a close with status 1006.
    Eof,
    /// The input ran out and no end of stream was signalled: a read is waiting.
    Starved,
}

impl End {
    /// The close status the application fails or closes the connection with (1006 for Eof),
    /// `None` for Closed and Starved.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Failed(p) => Some(p.close_status().0),
            Self::Eof => Some(1006),
            Self::Closed | Self::Starved => None,
        }
    }
}

/// How [`receive_stream`] feeds the stream.
#[derive(Clone, Debug)]
pub struct Feed {
    /// Bytes per network read, used in turn (cycled); each read is also capped by the free space
    /// the session offers.
    pub reads: Vec<usize>,
    /// Signal the end of stream (a 0-byte read) once the stream is used up.
    pub eof: bool,
    /// Receive into a caller buffer of this size (`receive_into`) instead of the internal one.
    pub caller_buffer: Option<usize>,
}

impl Feed {
    /// Everything in as few reads as the session allows, then the end of stream.
    pub fn whole() -> Self {
        Self {
            reads: vec![usize::MAX],
            eof: true,
            caller_buffer: None,
        }
    }
}

/// What wspc delivered from a stream.
#[derive(Clone, Debug)]
pub struct Run {
    /// Whole messages, pongs and the close, in order.
    pub events: Vec<Event>,
    /// The pieces of a message that had not ended when receiving stopped: text?, bytes.
    pub partial: Option<(bool, Vec<u8>)>,
    pub end: End,
    /// Everything the session wrote (automatic pongs).
    pub wire: Vec<u8>,
    /// The longest data piece delivered (pongs and close reasons always come from the internal
    /// buffer).
    pub max_piece: usize,
    /// Bytes of the stream handed to the session.
    pub fed: usize,
}

impl Run {
    /// The payloads of the pongs the session wrote.
    pub fn pongs(&self) -> Vec<Vec<u8>> {
        let (frames, used) = parse_lax(&self.wire);
        assert_eq!(used, self.wire.len(), "a partial frame written");
        frames
            .into_iter()
            .map(|f| {
                assert_eq!(f.b0, 0x8A, "only pongs are written: {f:?}");
                f.payload
            })
            .collect()
    }
}

/// Post receives one at a time on `ws` and serve the all-queue, reading from `stream` as `feed`
/// says, until a close arrives, `get_action` fails, the end of stream completes a receive, or (with
/// `feed.eof` false) the stream is used up.
pub fn receive_stream(ws: &mut Ws, stream: &[u8], feed: &Feed) -> Run {
    let mut run = Run {
        events: Vec::new(),
        partial: None,
        end: End::Starved,
        wire: Vec::new(),
        max_piece: 0,
        fed: 0,
    };
    let mut reads = 0;
    let mut open_receive = false;
    let mut ctx = 0;
    loop {
        if !open_receive {
            ctx += 1;
            match feed.caller_buffer {
                Some(n) => ws.receive_into(vec![0; n], ctx),
                None => ws.receive(ctx),
            }
            .expect("receive");
            open_receive = true;
        }
        let (id, n) = match ws.get_action(Queue::All) {
            Err(Error::Protocol(p)) => {
                run.end = End::Failed(p);
                break;
            }
            Err(e) => panic!("get_action: {e:?}"),
            Ok(Action::NoAction) => break,
            Ok(Action::SendToNetwork(a)) => {
                for b in a.buffers() {
                    run.wire.extend_from_slice(b);
                }
                (a.id, a.total_len())
            }
            Ok(Action::IndicateSendComplete(a)) => (a.id, 0),
            Ok(Action::ReceiveFromNetwork(a)) => {
                let rest = stream.len() - run.fed;
                if rest == 0 && !feed.eof {
                    break;
                }
                let want = feed.reads[reads % feed.reads.len()].max(1);
                reads += 1;
                let n = want.min(a.buffer.len()).min(rest);
                a.buffer[..n].copy_from_slice(&stream[run.fed..run.fed + n]);
                run.fed += n;
                (a.id, n)
            }
            Ok(Action::IndicateReceiveComplete(a)) => {
                assert_eq!(
                    *a.context, ctx,
                    "a receive completed with another's context"
                );
                if a.buffer_type.is_data() {
                    run.max_piece = run.max_piece.max(a.data.len());
                }
                let data = a.data.to_vec();
                match a.buffer_type {
                    BufferType::Close => {
                        let status = a.close_status.expect("a close has a status").0;
                        if status == 1006 {
                            run.end = End::Eof;
                        } else {
                            run.events.push(Event::Close(status, data));
                            run.end = End::Closed;
                        }
                    }
                    BufferType::PingPong => run.events.push(Event::Pong(data)),
                    t => {
                        let (text, mut bytes) = run.partial.take().unwrap_or((t.is_text(), vec![]));
                        assert_eq!(text, t.is_text(), "a message changed type");
                        bytes.extend_from_slice(&data);
                        if t.is_final() {
                            run.events.push(Event::Msg(text, bytes));
                        } else {
                            run.partial = Some((text, bytes));
                        }
                    }
                }
                let id = a.id;
                let done = ws
                    .complete_action(id, 0)
                    .unwrap()
                    .expect("the receive ends");
                assert_eq!(done.context, ctx);
                open_receive = false;
                if run.end != End::Starved {
                    break;
                }
                continue;
            }
        };
        ws.complete_action(id, n).unwrap();
    }
    run
}

// ----- a lax frame codec -------------------------------------------------------------------------

/// How a crafted frame encodes its payload length (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenEnc {
    /// The minimal encoding.
    Minimal,
    /// Always the 16-bit form (non-minimal below 126).
    Wide16,
    /// Always the 64-bit form (non-minimal below 65536).
    Wide64,
    /// The 64-bit form with the most significant bit set.
    Msb64,
}

/// A frame with any header bits: FIN, RSV (3 bits), a 4-bit opcode (reserved ones included), a
/// mask key or none, a length encoding. The payload is given unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub len: LenEnc,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// A final frame with the minimal length encoding.
    pub fn new(opcode: u8, mask: Option<[u8; 4]>, payload: Vec<u8>) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            len: LenEnc::Minimal,
            payload,
        }
    }

    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Append the frame's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0xF));
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        let n = self.payload.len() as u64;
        match self.len {
            LenEnc::Minimal if n < 126 => out.push(m | n as u8),
            LenEnc::Minimal if n <= 0xFFFF => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            LenEnc::Wide16 if n <= 0xFFFF => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            LenEnc::Msb64 => {
                out.push(m | 127);
                out.extend_from_slice(&(n | 1 << 63).to_be_bytes());
            }
            _ => {
                out.push(m | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        let mut payload = self.payload.clone();
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
            mask(&mut payload, key);
        }
        out.extend_from_slice(&payload);
    }
}

/// XOR with the key from position 0 (RFC 6455 §5.3), independently of `wspc::mask`.
pub fn mask(bytes: &mut [u8], key: [u8; 4]) {
    for (i, b) in bytes.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Encode frames into one stream.
pub fn encode_all(frames: &[RawFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        f.encode(&mut out);
    }
    out
}

/// A frame as read back by [`parse_lax`]: the header as declared, nothing judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaxFrame {
    /// The first header byte (FIN, RSV, opcode).
    pub b0: u8,
    pub masked: bool,
    /// The declared payload length.
    pub len: u64,
    /// Offset of the frame in the stream, and of the byte after it.
    pub start: usize,
    pub end: usize,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

/// Split `bytes` into whole frames without judging them (any opcode, bits or length encoding);
/// returns them and the offset where the first incomplete frame (or the end) starts.
pub fn parse_lax(bytes: &[u8]) -> (Vec<LaxFrame>, usize) {
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        let rest = &bytes[at..];
        if rest.len() < 2 {
            break;
        }
        let masked = rest[1] & 0x80 != 0;
        let (len, mut h) = match rest[1] & 0x7F {
            126 if rest.len() >= 4 => (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => {
                let mut b = [0; 8];
                b.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(b), 10)
            }
            126 | 127 => break,
            n => (u64::from(n), 2),
        };
        let mut key = None;
        if masked {
            if rest.len() < h + 4 {
                break;
            }
            key = Some([rest[h], rest[h + 1], rest[h + 2], rest[h + 3]]);
            h += 4;
        }
        if ((rest.len() - h) as u64) < len {
            break;
        }
        let len_usize = len as usize;
        let mut payload = rest[h..h + len_usize].to_vec();
        if let Some(k) = key {
            mask(&mut payload, k);
        }
        frames.push(LaxFrame {
            b0: rest[0],
            masked,
            len,
            start: at,
            end: at + h + len_usize,
            payload,
        });
        at += h + len_usize;
    }
    (frames, at)
}

// ----- generators --------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so that big payloads cost one seed to shrink.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `len` random bytes.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut r = XorShift::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&r.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte characters (boundary code points
/// included).
pub fn random_text(seed: u64, len: usize) -> Vec<u8> {
    let mut r = XorShift::new(seed);
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let room = len - s.len();
        let width = 1 + r.below(4) as usize;
        let c = match width.min(room) {
            1 => char::from(r.below(0x80) as u8),
            2 => char::from_u32(0x80 + r.below(0x800 - 0x80) as u32).unwrap(),
            3 => {
                let c = 0x800 + r.below(0x1_0000 - 0x800 - 0x800) as u32;
                // Skip the surrogates U+D800..U+DFFF.
                char::from_u32(if c >= 0xD800 { c + 0x800 } else { c }).unwrap()
            }
            _ => char::from_u32(0x1_0000 + r.below(0x11_0000 - 0x1_0000) as u32).unwrap(),
        };
        s.push(c);
    }
    s.into_bytes()
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
    pub text: bool,
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
    masked.then(|| (keys.next() as u32).to_le_bytes())
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
    Msg(MsgSpec),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// A valid stream from a peer: items, then a close (status and reason; `None` for an empty close
/// frame) or no close at all.
#[derive(Clone, Debug)]
pub struct StreamSpec {
    pub items: Vec<Item>,
    pub close: Option<Option<(u16, Vec<u8>)>>,
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

/// Read sizes: a few byte counts from 1 up to 64 KiB (cycled by [`Feed`]).
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
