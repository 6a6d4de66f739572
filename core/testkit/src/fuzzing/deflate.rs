//! `deflate`: permessage-deflate's codec (`wspc::deflate`, RFC 7692 §7.2) on hostile and on
//! well-formed streams.
//!
//! Input: `[flags: u8] [limits: u8] [codec: u8]`, then messages, each `[len: u16 LE] [len bytes]`
//! (at most [`BYTES_PER_INPUT`] bytes of input and [`MAX_MESSAGES`] messages are used).
//! - flags bit 0: the peer has no context takeover; bits 1–3: the size of the output slices,
//!   from [`OUT_SIZES`]; bits 4–6: the size of the input pieces, from [`READ_SIZES`]; bit 7:
//!   round-trip mode (the messages are plain data, compressed here first) instead of hostile
//!   mode (the messages are compressed payloads as a peer might send them).
//! - limits bits 0–2: the message cap, from [`CAPS`] (never more than [`MAX_OUTPUT`], nor than
//!   the output slice size times [`CALLS_PER_BYTE_OF_CAP`], so that an input costs a bounded
//!   number of calls); bit 3: a ratio cap of 10 past 1 KiB.
//! - codec (round trip): window bits `8 + n % 8` (8: stored blocks only), level `(n >> 4) % 10`.
//!
//! Speed (issue 10 asks ≥ 10 M execs per campaign): input pieces and output slices grow for long
//! messages so that a message takes at most about [`MAX_CALLS`] calls each way (the small sizes
//! are still met by short messages, where they cost little), and the output slice is allocated
//! once per thread. Every call still goes through the same code; only the count is bounded.
//!
//! Invariants:
//! - hostile mode: no panic; every call consumes at most its input and writes at most its
//!   slice; the message never exceeds the cap by more than one byte, and `TooBig` comes only
//!   past the cap (or past the ratio cap); an error is final (the next call returns it again); the
//!   heap does not grow after the decompressor is made; every message ends within a bounded
//!   number of calls;
//! - round-trip mode: what the compressor makes (one frame per input piece) decompresses to the
//!   original, both through `Decompressor` and through an independent inflater (`miniz_oxide`,
//!   no code shared with zlib-rs), message by message with or without context takeover.

use super::{heap, Reader, READ_SIZES};
use crate::miniz::TAIL; // the tail a sender removes from each message (RFC 7692 §7.2.1)
use wspc::deflate::{Compressor, Decompressor, DeflateError, DeflateLimits};

/// The most input bytes an input uses.
pub(super) const BYTES_PER_INPUT: usize = 4096;

/// Output slice sizes.
pub(super) const OUT_SIZES: [usize; 8] = [1, 2, 7, 64, 256, 1000, 4096, 65536];

/// Message caps (`None`: the default, 64 MiB, bounded below).
pub(super) const CAPS: [Option<u64>; 8] = [
    Some(0),
    Some(1),
    Some(100),
    Some(4096),
    Some(65536),
    Some(1 << 20),
    Some(16 << 20),
    None,
];

/// The cap is at most this many bytes per byte of output slice (with 1-byte slices, 1 MiB of
/// output would take a million calls).
pub(super) const CALLS_PER_BYTE_OF_CAP: u64 = 512;

/// The most messages an input makes (the rest of it is ignored): each costs a few fixed-cost
/// calls, and in round-trip mode without context takeover an independent inflater of its own.
pub(super) const MAX_MESSAGES: usize = 32;

/// Input pieces and output slices are at least `1/MAX_CALLS` of the message (see the module
/// docs).
pub(super) const MAX_CALLS: usize = 128;

/// No message inflates to more than this (a bomb of a few KiB would otherwise inflate to
/// megabytes at every execution; the cap logic is the same at any size).
pub(super) const MAX_OUTPUT: u64 = 64 * 1024;

/// The empty final block (fixed Huffman, end of block only) that ends a raw DEFLATE stream for
/// a one-shot inflater.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// The one harness of the target.
pub fn deflate(data: &[u8]) {
    allocate_out();
    let data = &data[..data.len().min(BYTES_PER_INPUT)];
    let mut r = Reader::new(data);
    let (flags, limit_bits, codec) = (r.u8(), r.u8(), r.u8());
    let no_context_takeover = flags & 1 != 0;
    let out_size = OUT_SIZES[usize::from(flags >> 1) & 7];
    let chunk = READ_SIZES[usize::from(flags >> 4) & 7];
    let mut limits = DeflateLimits::DEFAULT;
    let bound = (out_size as u64 * CALLS_PER_BYTE_OF_CAP).min(MAX_OUTPUT);
    let cap = CAPS[usize::from(limit_bits & 7)]
        .unwrap_or(u64::MAX)
        .min(limits.max_message_size.unwrap_or(u64::MAX))
        .min(bound);
    limits.max_message_size = Some(cap);
    if limit_bits & 8 != 0 {
        limits.max_ratio = Some(10);
        limits.ratio_floor = 1024;
    }
    let mut messages = Vec::new();
    while !r.is_empty() && messages.len() < MAX_MESSAGES {
        let len = usize::from(r.u16());
        messages.push(r.bytes(len));
    }
    if flags & 0x80 == 0 {
        hostile(&messages, no_context_takeover, limits, out_size, chunk);
    } else {
        let bits = 8 + codec % 8;
        let level = (codec >> 4) % 10;
        round_trip(&messages, no_context_takeover, bits, level, out_size, chunk);
    }
}

/// What one message gave: its output (kept only when asked), its size, or the error.
struct Inflated {
    out: Vec<u8>,
    size: u64,
    error: Option<DeflateError>,
}

/// Feeds `payload` to `d` in pieces of `chunk`, draining into slices of `out_size`, then ends the
/// message; checks the per-call invariants and that the calls make progress.
fn inflate(
    d: &mut Decompressor,
    payload: &[u8],
    chunk: usize,
    out_size: usize,
    keep: bool,
) -> Inflated {
    let out_size = share_of(out_size, payload.len());
    let chunk = share_of(chunk, payload.len());
    let mut slice = OUT.take();
    let got = inflate_into(d, payload, chunk, &mut slice[..out_size], keep);
    OUT.set(slice);
    got
}

/// `size`, grown to at least `1/MAX_CALLS` of a message of `len` bytes (see the module docs).
fn share_of(size: usize, len: usize) -> usize {
    size.max(len.div_ceil(MAX_CALLS))
}

thread_local! {
    /// The output slice, allocated (and zeroed) once, before the heap is first measured: a fresh
    /// 64 KiB per message was a tenth of the target's time.
    static OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Makes the output slice its full size, once per thread.
fn allocate_out() {
    let mut slice = OUT.take();
    slice.resize(OUT_SIZES[OUT_SIZES.len() - 1], 0);
    OUT.set(slice);
}

fn inflate_into(
    d: &mut Decompressor,
    payload: &[u8],
    chunk: usize,
    buf: &mut [u8],
    keep: bool,
) -> Inflated {
    let mut got = Inflated {
        out: Vec::new(),
        size: 0,
        error: None,
    };
    let record = |got: &mut Inflated, buf: &[u8], n: usize| {
        assert!(n <= buf.len(), "wrote {n} into a slice of {}", buf.len());
        got.size += n as u64;
        if keep {
            got.out.extend_from_slice(&buf[..n]);
        }
    };
    let mut stalled = 0;
    for piece in payload.chunks(chunk) {
        let mut input = piece;
        loop {
            match d.decompress(input, buf) {
                Ok((used, made)) => {
                    assert!(used <= input.len(), "consumed {used} of {}", input.len());
                    record(&mut got, buf, made);
                    assert_eq!(d.message_size(), got.size, "message size");
                    input = &input[used..];
                    if input.is_empty() && made < buf.len() {
                        break;
                    }
                    // A call may stop at the end of a block with BFINAL set having used and
                    // written nothing (the next one starts a new stream); never two in a row.
                    if used == 0 && made == 0 {
                        stalled += 1;
                        assert!(stalled < 2, "calls with input and room make no progress");
                    } else {
                        stalled = 0;
                    }
                }
                Err(e) => {
                    got.error = Some(e);
                    return got;
                }
            }
        }
    }
    // Calls of `finish_message` that wrote nothing and did not end the message.
    let mut idle = 0;
    loop {
        match d.finish_message(buf) {
            Ok((made, done)) => {
                record(&mut got, buf, made);
                if done {
                    break;
                }
                idle += usize::from(made == 0);
                assert!(idle < 8, "finish_message makes no progress");
            }
            Err(e) => {
                got.error = Some(e);
                break;
            }
        }
    }
    got
}

fn hostile(
    messages: &[&[u8]],
    no_context_takeover: bool,
    limits: DeflateLimits,
    out_size: usize,
    chunk: usize,
) {
    let cap = limits.max_message_size.unwrap_or(u64::MAX);
    let mut d = Decompressor::new(no_context_takeover, limits);
    let base = heap();
    for &payload in messages {
        let got = inflate(&mut d, payload, chunk, out_size, false);
        // `message_size` counts what the failing call wrote too.
        let size = d.message_size();
        assert!(
            size <= cap.saturating_add(1),
            "{size} bytes, past the cap {cap}"
        );
        if let (Some(base), Some(now)) = (base, heap()) {
            // Nothing is allocated per message (the output slice was made before `base`).
            assert!(
                now - base <= 1024,
                "heap grew by {} while inflating",
                now - base
            );
        }
        match got.error {
            None => {}
            Some(e) => {
                match e {
                    DeflateError::TooBig => assert!(
                        size > cap || limits.max_ratio.is_some(),
                        "TooBig at {size} bytes, cap {cap}"
                    ),
                    DeflateError::Corrupt => {}
                    other => panic!("an error no input may cause: {other}"),
                }
                // Final: the next call says it again.
                let mut buf = [0u8; 8];
                assert_eq!(
                    d.decompress(b"\x00", &mut buf),
                    Err(e),
                    "an error that passed"
                );
                assert_eq!(d.finish_message(&mut buf), Err(e), "an error that passed");
                return;
            }
        }
    }
}

fn round_trip(
    messages: &[&[u8]],
    no_context_takeover: bool,
    bits: u8,
    level: u8,
    out_size: usize,
    chunk: usize,
) {
    let mut c = Compressor::new(bits, no_context_takeover, level);
    let mut d = Decompressor::new(no_context_takeover, DeflateLimits::DEFAULT);
    // The independent inflater's input: with context takeover one stream for all messages,
    // without it one per message.
    let mut stream = Vec::new();
    let mut plain = Vec::new();
    for &message in messages {
        let mut wire = Vec::new();
        let mut pieces = message.chunks(share_of(chunk, message.len())).peekable();
        if pieces.peek().is_none() {
            c.compress(&[], true, &mut wire).expect("compress");
        }
        while let Some(piece) = pieces.next() {
            c.compress(piece, pieces.peek().is_none(), &mut wire)
                .expect("compress");
        }
        assert!(!c.in_message(), "the message did not end");
        let got = inflate(&mut d, &wire, chunk, out_size, true);
        assert_eq!(got.error, None, "our own stream refused");
        assert!(got.out == message, "round trip differs");

        if no_context_takeover {
            stream.clear();
            plain.clear();
        }
        // A message compressed to the lone `00` (§7.2.3.6) is an empty stored block without
        // its length: the tail completes it.
        stream.extend_from_slice(&wire);
        stream.extend_from_slice(&TAIL);
        plain.extend_from_slice(message);
        if no_context_takeover {
            independent(&mut stream, &plain);
        }
    }
    if !no_context_takeover {
        independent(&mut stream, &plain);
    }
}

/// `miniz_oxide` inflates `stream` (ended here with a final empty block) to `plain`.
fn independent(stream: &mut Vec<u8>, plain: &[u8]) {
    stream.extend_from_slice(&FINAL_BLOCK);
    let got =
        miniz_oxide::inflate::decompress_to_vec(stream).expect("miniz_oxide refuses our stream");
    assert!(got == plain, "miniz_oxide reads something else");
}
