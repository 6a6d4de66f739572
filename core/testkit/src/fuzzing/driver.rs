//! `driver`: the blocking driver's receive path (`wspc::io::WebSocket::read_message` and
//! `read_piece`, over the pump both drivers share) fed a hostile client's byte stream, in reads
//! of a fuzzer-chosen size, with a fuzzer-chosen message cap. It checks what the drivers add to
//! the engine: assembly, the cap, the answers to closes and errors.
//!
//! Input: `[flags: u8]` then the bytes the client sends after the upgrade (at most
//! [`STREAM_PER_INPUT`] of them are used). Flags bits 0–2 pick the
//! cap from [`CAPS`]; bits 3–5 the size of the reads from [`READ_SIZES`] (growing
//! with the number of reads, as in `http_head`); bit 6 piece-level
//! reads instead of messages; bit 7 a 256-byte receive buffer instead of 4096.
//!
//! Invariants, against the reference parser ([`Reference`], written from RFC 6455 without the
//! engine):
//! - message-level: the messages delivered are the reference's complete messages, pongs and close
//!   in order, as a prefix; none is longer than the cap; the read that ends the run says why, and
//!   agrees with the reference: end of stream, the reference's protocol error, or
//!   [`ProtocolError::MessageTooBig`] exactly when the reference's next message is longer than
//!   the cap;
//! - piece-level: pieces are at most the receive buffer, run together they are the reference's
//!   events, and the cap does not apply;
//! - what the driver writes parses as unmasked frames; a failure is answered with a close frame
//!   carrying the error's status unless a close went out before;
//! - the heap grows by at most the cap (when messages are assembled) plus a constant while the
//!   run goes on.

use super::http::READ_SIZES;
use super::{heap, Reader};
use crate::parse::{parse_lax, push_event, Event, Reference};
use std::io::{self, Read, Write};
use wspc::driver::{Config, DriverError, Message};
use wspc::io::{Transport, WebSocket};
use wspc::properties::{Property, Role};
use wspc::{BufferType, CloseStatus, Error, ProtocolError, Session};

/// The message caps the flags choose from (`None`: no cap).
pub const CAPS: [Option<usize>; 8] = [
    Some(0),
    Some(1),
    Some(16),
    Some(125),
    Some(1000),
    Some(4096),
    Some(65536),
    None,
];

/// The most stream bytes an input feeds the driver (the rest is ignored).
pub const STREAM_PER_INPUT: usize = 2048;

/// At most this many reads per input (a stream of empty frames could otherwise go on long).
const MAX_READS: usize = 100_000;

/// Heap the driver may hold beyond the assembled message: the session block, the pump's control
/// piece, the written frames we collect, allocator slack.
const HEAP_SLACK: isize = 64 * 1024;

/// The client: reads serve the input in chunks, writes are collected.
struct Peer<'a> {
    input: &'a [u8],
    at: usize,
    chunk: usize,
    /// Reads served so far.
    reads: usize,
    written: Vec<u8>,
}

impl Read for Peer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The n-th read serves up to `chunk * (1 + n / 64)` bytes, as in the `http_head` harness:
        // the first reads are as small as the flags say, and a long stream in 1-byte reads costs
        // hundreds of pump rounds instead of thousands (so an input costs a bounded amount of work).
        let size = self.chunk * (1 + self.reads / 64);
        self.reads += 1;
        let n = buf.len().min(size).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Peer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// In memory: no timeouts, no half-close.
impl Transport for Peer<'_> {}

/// The reference's events as a driver delivers them: data pieces run together into whole
/// messages (control frames between the fragments of a message come out first, as they
/// arrive), and the length of the data run the stream ended in, if any.
fn expected_messages(events: &[Event]) -> (Vec<Message>, Option<usize>) {
    let mut out = Vec::new();
    let mut open: Option<(bool, Vec<u8>)> = None;
    for e in events {
        match e {
            Event::Data { text, bytes, fin } => {
                let (_, run) = open.get_or_insert_with(|| (*text, Vec::new()));
                run.extend_from_slice(bytes);
                if *fin {
                    let (text, run) = open.take().expect("open");
                    out.push(match text {
                        false => Message::Binary(run),
                        true => match String::from_utf8(run) {
                            Ok(text) => Message::Text(text),
                            // The run the reference failed in (its bytes up to the error).
                            Err(e) => return (out, Some(e.into_bytes().len())),
                        },
                    });
                }
            }
            Event::Pong(p) => out.push(Message::Pong(p.clone())),
            Event::Close(1005, _) => out.push(Message::Close(None)),
            Event::Close(code, reason) => {
                out.push(Message::Close(Some(wspc::driver::CloseFrame {
                    code: CloseStatus(*code),
                    reason: String::from_utf8_lossy(reason).into_owned(),
                })));
            }
        }
    }
    (out, open.map(|(_, run)| run.len()))
}

/// The one harness of the target.
pub fn driver(data: &[u8]) {
    let mut r = Reader::new(data);
    let flags = r.u8();
    let cap = CAPS[usize::from(flags & 7)];
    let chunk = READ_SIZES[usize::from(flags >> 3) & 7];
    let pieces = flags & 0x40 != 0;
    let rbs: u32 = if flags & 0x80 != 0 { 256 } else { 4096 };
    // A bounded amount of work per input, as in the session harnesses: the first
    // `STREAM_PER_INPUT` bytes of the stream.
    let input = r.rest();
    let input = &input[..input.len().min(STREAM_PER_INPUT)];

    let mut config = Config::default();
    config.properties = vec![Property::ReceiveBufferSize(rbs)];
    config.max_message_size = cap;
    config.handshake_timeout = None;
    config.close_timeout = None;
    config.ping_interval = None;
    config.ping_timeout = None;
    config.write_timeout = None;
    let mut session = Session::server(&config.properties).expect("a server session");
    wspc::fuzz_bridge::open(&mut session);
    let peer = Peer {
        input,
        at: 0,
        chunk,
        reads: 0,
        written: Vec::new(),
    };
    let base = heap();
    let mut ws = WebSocket::from_session(peer, session, Vec::new(), config).expect("in memory");
    let reference = Reference::new(Role::Server).parse(input);

    let mut got = Vec::new();
    // The bytes of the messages in `got`.
    let mut held = 0;
    let mut events = Vec::new();
    let mut end = None;
    for _ in 0..MAX_READS {
        if pieces {
            match ws.read_piece() {
                Ok(piece) => {
                    assert!(piece.data.len() <= rbs as usize, "piece over the buffer");
                    let event = match piece.buffer_type {
                        t if t.is_data() => Event::Data {
                            text: t.is_text(),
                            bytes: piece.data.to_vec(),
                            fin: t.is_final(),
                        },
                        BufferType::PingPong => Event::Pong(piece.data.to_vec()),
                        _ => Event::Close(
                            piece.close_status.map_or(1005, |s| s.0),
                            piece.data.to_vec(),
                        ),
                    };
                    push_event(&mut events, event);
                }
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        } else {
            match ws.read_message() {
                Ok(m) => {
                    if let (Some(cap), true) = (cap, m.is_data()) {
                        assert!(m.len() <= cap, "a message over the cap");
                    }
                    held += m.len();
                    got.push(m);
                }
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        if let (Some(base), Some(now)) = (base, heap()) {
            let assembling = if pieces {
                0
            } else {
                cap.unwrap_or(input.len())
            };
            let bound = (held + assembling + 2 * input.len().min(1 << 20)) as isize + HEAP_SLACK;
            assert!(now - base <= bound, "heap grew by {} > {bound}", now - base);
        }
    }
    let Some(end) = end else {
        // Only a stream of many tiny frames gets here; what came so far is still checked below.
        return;
    };

    // The closing reason agrees with the reference.
    let (expected, pending) = expected_messages(&reference.events);
    let failed = match &end {
        DriverError::Closed => None,
        DriverError::Ws(Error::Protocol(e)) => Some(*e),
        other => panic!("in memory, a read ends only by a close or an error: {other}"),
    };
    if pieces {
        // The pieces run together are the reference's events (its last run may be cut short);
        // the end of the stream is a last `Close` piece with 1006, which the reference does not
        // list.
        if let Some(Event::Close(1006, _)) = events.last() {
            events.pop();
        }
        // What came is the reference's events, except that the last data run may stop short
        // (where the stream ended or failed: the reference counts the bytes of a frame the engine
        // refuses, an invalid code point say, and of a frame cut by the end of input).
        let want = &reference.events;
        let cut = |g: &Event, w: &Event| match (g, w) {
            (
                Event::Data {
                    text: a, bytes: g, ..
                },
                Event::Data {
                    text: b, bytes: w, ..
                },
            ) => a == b && w.starts_with(g),
            _ => false,
        };
        assert!(events.len() <= want.len(), "pieces beyond the reference");
        for (i, (g, w)) in events.iter().zip(want).enumerate() {
            assert!(
                g == w || (i + 1 == events.len() && cut(g, w)),
                "piece run {i} differs: {g:?} vs {w:?}"
            );
        }
        if failed.is_none() {
            // A clean end: at most the reference's last, unfinished data run is missing.
            let missing = &want[events.len()..];
            assert!(
                missing.is_empty()
                    || (missing.len() == 1 && matches!(missing[0], Event::Data { fin: false, .. })),
                "pieces lost: {missing:?}"
            );
        }
        assert_eq!(failed, reference.error, "a different error");
    } else {
        assert!(
            got.len() <= expected.len(),
            "more messages than the reference"
        );
        assert_eq!(got[..], expected[..got.len()], "messages differ");
        // The first data message not delivered, or the run the stream ended in.
        let next_len = expected[got.len()..]
            .iter()
            .find(|m| m.is_data())
            .map(Message::len)
            .or(pending);
        match failed {
            Some(ProtocolError::MessageTooBig) => {
                let cap = cap.expect("no cap, no MessageTooBig");
                assert!(
                    next_len.is_some_and(|n| n > cap) || reference.error.is_some(),
                    "1009 for a message within the cap"
                );
            }
            Some(e) => {
                assert_eq!(got.len(), expected.len(), "messages lost before the error");
                assert_eq!(Some(e), reference.error, "a different error");
            }
            None => {
                assert_eq!(got.len(), expected.len(), "messages lost");
                assert!(
                    cap.is_none() || next_len.is_none_or(|n| n <= cap.unwrap_or(0)),
                    "a message over the cap went unnoticed"
                );
                assert_eq!(reference.error, None, "an error went unnoticed");
            }
        }
    }

    // What the driver wrote: unmasked frames; a failure answered with its close.
    let written = &ws.get_ref().written;
    let (frames, whole) = parse_lax(written);
    assert_eq!(whole, written.len(), "a cut frame written");
    assert!(
        frames.iter().all(|f| f.head.mask.is_none()),
        "a masked frame"
    );
    if let Some(e) = failed {
        let closes: Vec<_> = frames.iter().filter(|f| f.head.opcode == 8).collect();
        assert_eq!(closes.len(), 1, "one close written");
        let close = closes[0];
        let code = u16::from_be_bytes([close.payload[0], close.payload[1]]);
        let answered_before = got.iter().any(|m| matches!(m, Message::Close(_)));
        assert!(
            answered_before || code == e.close_status().0,
            "failed with {code} for {e:?}"
        );
    }
}
