//! RFC 7692 §7.2: the §7.2.3 examples, round trips, fragmentation, draining, limits and hostile
//! input.

use super::{reference, Rng};
use crate::close::CloseStatus;
use crate::deflate::{Compressor, Decompressor, DeflateError, DeflateLimits};

const HELLO: &[u8] = b"Hello";
/// RFC 7692 §7.2.3.1: "Hello" in one compressed block, without the tail.
const HELLO_DEFLATED: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn limits(max: Option<u64>) -> DeflateLimits {
    DeflateLimits {
        max_message_size: max,
        ..DeflateLimits::DEFAULT
    }
}

/// Compresses one message in one frame.
fn compress(c: &mut Compressor, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    c.compress(msg, true, &mut out).unwrap();
    out
}

/// Decompresses one message fed `chunk` bytes at a time into an `out_size`-byte buffer,
/// draining as the docs say.
fn inflate(
    d: &mut Decompressor,
    payload: &[u8],
    chunk: usize,
    out_size: usize,
) -> Result<Vec<u8>, DeflateError> {
    let mut message = Vec::new();
    let mut buf = vec![0u8; out_size];
    for piece in payload.chunks(chunk.max(1)) {
        let mut input = piece;
        loop {
            let (used, made) = d.decompress(input, &mut buf)?;
            message.extend_from_slice(&buf[..made]);
            input = &input[used..];
            if input.is_empty() && made < buf.len() {
                break;
            }
        }
    }
    loop {
        let (made, done) = d.finish_message(&mut buf)?;
        message.extend_from_slice(&buf[..made]);
        if done {
            return Ok(message);
        }
    }
}

fn inflate_all(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, DeflateError> {
    inflate(d, payload, usize::MAX, 1 << 16)
}

fn decompressor(no_context_takeover: bool) -> Decompressor {
    Decompressor::new(no_context_takeover, DeflateLimits::DEFAULT)
}

/// Text-like data with repeats near and far, so compression uses matches of every distance.
fn corpus(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "websocket",
        "frame",
        "deflate",
        "window",
        "message",
        "{\"id\":",
        "\"payload\"",
        " ",
        "context",
        "takeover",
        "\n",
        "0123456789",
    ];
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        match rng.below(10) {
            0 if out.len() > 64 => {
                // A copy from anywhere earlier: distances up to the whole buffer.
                let start = rng.below(out.len() - 32);
                let n = 8 + rng.below(24);
                let copy = out[start..start + n].to_vec();
                out.extend_from_slice(&copy);
            }
            1 => {
                let n = 1 + rng.below(8);
                out.extend(rng.bytes(n));
            }
            _ => out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
        }
    }
    out.truncate(len);
    out
}

// ---- the RFC 7692 §7.2.3 examples ----

#[test]
fn hello_compresses_to_the_rfc_bytes_at_every_window() {
    // §7.2.3.1, at 9 and 15 as flate2 with zlib-rs gives them, and everything between.
    for bits in 9..=15 {
        let mut c = Compressor::new(bits, false, 6);
        assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED, "{bits} bits");
    }
}

#[test]
fn second_hello_uses_the_shared_window() {
    // §7.2.3.2: with context takeover the second "Hello" is one back-reference.
    let mut c = Compressor::new(15, false, 6);
    assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
    assert_eq!(compress(&mut c, HELLO), [0xf2, 0x00, 0x11, 0x00, 0x00]);
    // Without it, every message stands alone.
    let mut c = Compressor::new(15, true, 6);
    assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
    assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
}

#[test]
fn rfc_examples_decompress() {
    let mut d = decompressor(false);
    // §7.2.3.1 and §7.2.3.2, in sequence on one window.
    assert_eq!(inflate_all(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
    assert_eq!(
        inflate_all(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        HELLO
    );
    // §7.2.3.3: a stored block.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(inflate_all(&mut d, &stored).unwrap(), HELLO);
    // §7.2.3.4: a block with BFINAL set, then the byte that opens an empty stored block.
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(inflate_all(&mut d, &bfinal).unwrap(), HELLO);
    // §7.2.3.5: two blocks in one message.
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(inflate_all(&mut d, &two).unwrap(), HELLO);
    // §7.2.3.6: an empty stored block, the empty message.
    assert_eq!(inflate_all(&mut d, &[0x00]).unwrap(), b"");
    // And the stream still works after all of them.
    assert_eq!(inflate_all(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
}

#[test]
fn bfinal_block_without_the_extra_byte_ends_the_message_cleanly() {
    // A peer that ends with BFINAL and omits §7.2.3.4's extra 00: no tail is fed to the new
    // stream, so the next message is read from a block boundary.
    for chunk in [1, 3, 100] {
        let mut d = decompressor(false);
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate(&mut d, &bfinal, chunk, 3).unwrap(), HELLO);
        assert_eq!(inflate(&mut d, &HELLO_DEFLATED, chunk, 3).unwrap(), HELLO);
    }
}

#[test]
fn empty_messages_compress_to_a_single_zero_byte() {
    // §7.2.3.6, whatever came before.
    for no_context_takeover in [false, true] {
        let mut c = Compressor::new(15, no_context_takeover, 6);
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(compress(&mut c, HELLO).len(), 7);
        assert_eq!(compress(&mut c, b""), [0x00]);
        // Fragmented and empty: nothing for the first frame, 00 for the last.
        let mut out = Vec::new();
        c.compress(b"", false, &mut out).unwrap();
        assert!(out.is_empty());
        c.compress(b"", true, &mut out).unwrap();
        assert_eq!(out, [0x00]);
    }
}

#[test]
fn an_empty_compressed_payload_is_an_empty_message() {
    // No bytes at all with RSV1: nothing to close, so no tail; the window is untouched.
    let mut d = decompressor(false);
    assert_eq!(inflate_all(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
    assert_eq!(inflate_all(&mut d, b"").unwrap(), b"");
    assert_eq!(
        inflate_all(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        HELLO
    );
}

// ---- round trips ----

#[test]
fn round_trips_at_every_window_with_and_without_context_takeover() {
    let mut rng = Rng::new(0x7692);
    for bits in 9..=15 {
        for no_context_takeover in [false, true] {
            for level in [1, 6, 9] {
                let mut c = Compressor::new(bits, no_context_takeover, level);
                let mut d = decompressor(no_context_takeover);
                for _ in 0..6 {
                    let len = rng.below(3 << bits);
                    let msg = corpus(&mut rng, len);
                    let wire = compress(&mut c, &msg);
                    let chunk = 1 + rng.below(64);
                    let out_size = 1 + rng.below(300);
                    let got = inflate(&mut d, &wire, chunk, out_size)
                        .unwrap_or_else(|e| panic!("{bits} bits, nct {no_context_takeover}: {e}"));
                    assert_eq!(got, msg, "{bits} bits, level {level}");
                }
            }
        }
    }
}

#[test]
fn context_takeover_shrinks_a_repeated_message() {
    let mut rng = Rng::new(1);
    let msg = corpus(&mut rng, 2000);
    let mut with = Compressor::new(15, false, 6);
    let mut without = Compressor::new(15, true, 6);
    let first = compress(&mut with, &msg);
    assert_eq!(compress(&mut without, &msg), first);
    let again_with = compress(&mut with, &msg);
    let again_without = compress(&mut without, &msg);
    assert!(again_with.len() * 10 < first.len(), "{}", again_with.len());
    assert_eq!(again_without, first);
}

#[test]
fn fragmented_messages_round_trip() {
    let mut rng = Rng::new(3);
    for no_context_takeover in [false, true] {
        let mut c = Compressor::new(12, no_context_takeover, 6);
        let mut d = decompressor(no_context_takeover);
        for _ in 0..20 {
            let len = rng.below(20_000);
            let msg = corpus(&mut rng, len);
            // Cut into frames of random sizes, some empty.
            let mut frames = Vec::new();
            let mut rest = &msg[..];
            while !rest.is_empty() {
                let n = rng.below(rest.len() + 1).min(rng.below(5000));
                frames.push(&rest[..n]);
                rest = &rest[n..];
            }
            let mut wire_frames = Vec::new();
            for f in &frames {
                let mut out = Vec::new();
                c.compress(f, false, &mut out).unwrap();
                assert!(c.in_message());
                wire_frames.push(out);
            }
            let mut out = Vec::new();
            c.compress(b"", true, &mut out).unwrap();
            assert!(!c.in_message());
            wire_frames.push(out);
            // The receiver decompresses frame by frame, as the payloads arrive; each non-final
            // frame is sync-flushed, so it inflates to all of its payload at once.
            let mut got = Vec::new();
            let mut buf = [0u8; 97];
            let mut sent = 0;
            for (i, wf) in wire_frames.iter().enumerate() {
                let mut input = &wf[..];
                loop {
                    let (used, made) = d.decompress(input, &mut buf).unwrap();
                    got.extend_from_slice(&buf[..made]);
                    input = &input[used..];
                    if input.is_empty() && made < buf.len() {
                        break;
                    }
                }
                if let Some(f) = frames.get(i) {
                    sent += f.len();
                    assert_eq!(got, msg[..sent], "frame {i} of {}", frames.len());
                }
            }
            loop {
                let (made, done) = d.finish_message(&mut buf).unwrap();
                got.extend_from_slice(&buf[..made]);
                if done {
                    break;
                }
            }
            assert_eq!(got, msg);
        }
    }
}

#[test]
fn a_big_message_drains_from_ten_byte_input_into_a_256_byte_buffer() {
    let msg: Vec<u8> = (0..1 << 20).map(|i| (i / 4096) as u8).collect();
    let mut c = Compressor::new(15, false, 6);
    let wire = compress(&mut c, &msg);
    assert!(wire.len() < 8 << 10, "{}", wire.len());
    let mut d = decompressor(false);
    let got = inflate(&mut d, &wire, 10, 256).unwrap();
    assert_eq!(got.len(), msg.len());
    assert!(got == msg);
    // A second message on the same stream.
    let wire = compress(&mut c, HELLO);
    assert_eq!(inflate(&mut d, &wire, 10, 256).unwrap(), HELLO);
}

#[test]
fn window_8_compresses_to_stored_blocks_only() {
    let mut rng = Rng::new(8);
    let mut c = Compressor::new(8, false, 9);
    let mut d = decompressor(false);
    let messages: Vec<Vec<u8>> = [0, 1, 5, 300, 70_000]
        .iter()
        .map(|&n| corpus(&mut rng, n))
        .collect();
    for m in &messages {
        assert_eq!(inflate_all(&mut d, &compress(&mut c, m)).unwrap(), *m);
    }
    let (stream, _) = as_one_stream(&mut Compressor::new(8, false, 9), &messages);
    let decoded = reference::decode(&stream).unwrap();
    assert_eq!(decoded.data, messages.concat());
    assert!(decoded.matches.is_empty());
    assert!(
        decoded.blocks.iter().all(|&t| t == 0),
        "{:?}",
        decoded.blocks
    );
    // Compression proper uses other block types, so the check above means something.
    let (stream, _) = as_one_stream(&mut Compressor::new(9, false, 9), &messages);
    let decoded = reference::decode(&stream).unwrap();
    assert!(!decoded.matches.is_empty() && decoded.blocks.iter().any(|&t| t != 0));
}

// ---- limits ----

#[test]
fn message_cap_is_exact() {
    let msg = vec![b'a'; 10_000];
    let mut c = Compressor::new(15, true, 6);
    let wire = compress(&mut c, &msg);
    let mut d = Decompressor::new(true, limits(Some(10_000)));
    assert_eq!(inflate(&mut d, &wire, 7, 333).unwrap(), msg);
    assert_eq!(inflate(&mut d, &wire, 7, 333).unwrap(), msg);
    // One byte over: TooBig, with at most one byte past the cap written.
    let mut d = Decompressor::new(true, limits(Some(9_999)));
    let mut written = 0;
    let mut buf = [0u8; 4096];
    let mut input = &wire[..];
    let err = loop {
        match d.decompress(input, &mut buf) {
            Ok((used, made)) => {
                written += made;
                input = &input[used..];
                if input.is_empty() && made < buf.len() {
                    break d.finish_message(&mut buf).unwrap_err();
                }
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, DeflateError::TooBig);
    assert!(written <= 9_999);
    assert_eq!(err.close_status(), CloseStatus::MESSAGE_TOO_BIG);
    // The decompressor stays failed.
    assert_eq!(d.decompress(b"", &mut buf), Err(DeflateError::TooBig));
    assert_eq!(d.finish_message(&mut buf), Err(DeflateError::TooBig));
}

#[test]
fn a_bomb_stops_at_the_cap() {
    // 8 MiB of zeros in a few KiB; a 1 MiB cap (the default 64 MiB cap is the integration
    // test's, in release-like time).
    let mut c = Compressor::new(15, false, 9);
    let zeros = vec![0u8; 1 << 20];
    let mut wire = Vec::new();
    for _ in 0..7 {
        c.compress(&zeros, false, &mut wire).unwrap();
    }
    c.compress(&zeros, true, &mut wire).unwrap();
    assert!(wire.len() < 16 << 10, "{}", wire.len());
    let mut d = Decompressor::new(false, limits(Some(1 << 20)));
    let mut buf = [0u8; 4096];
    let mut total = 0u64;
    let mut input = &wire[..];
    let err = loop {
        match d.decompress(input, &mut buf) {
            Ok((used, made)) => {
                total += made as u64;
                input = &input[used..];
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, DeflateError::TooBig);
    assert!(total <= 1 << 20);
    assert_eq!(d.message_size(), (1 << 20) + 1);
}

#[test]
fn ratio_cap_applies_past_its_floor() {
    let zeros = vec![0u8; 4 << 20];
    let mut c = Compressor::new(15, false, 6);
    let wire = compress(&mut c, &zeros);
    let ratio = DeflateLimits {
        max_ratio: Some(100),
        ..DeflateLimits::DEFAULT
    };
    let mut d = Decompressor::new(false, ratio);
    let err = inflate(&mut d, &wire, 64, 4096).unwrap_err();
    assert_eq!(err, DeflateError::TooBig);
    // Below the floor the same ratio passes.
    let small = vec![0u8; 1 << 19];
    let mut c = Compressor::new(15, false, 6);
    let mut d = Decompressor::new(false, ratio);
    assert_eq!(
        inflate(&mut d, &compress(&mut c, &small), 64, 4096).unwrap(),
        small
    );
    // So does incompressible data above it.
    let noise = Rng::new(5).bytes(2 << 20);
    let mut c = Compressor::new(15, false, 6);
    assert_eq!(
        inflate(&mut d, &compress(&mut c, &noise), 4096, 4096).unwrap(),
        noise
    );
}

#[test]
fn no_limit_means_no_limit() {
    let zeros = vec![0u8; 3 << 20];
    let mut c = Compressor::new(15, false, 6);
    let mut d = Decompressor::new(false, limits(None));
    assert_eq!(
        inflate_all(&mut d, &compress(&mut c, &zeros)).unwrap(),
        zeros
    );
}

// ---- hostile input ----

/// A fixed-Huffman block (RFC 1951 §3.2.6): the literal `A`, then a match of length 3 at
/// distance 2, one byte before anything was written.
fn too_far_back() -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0);
    let mut bit = |b: u32| {
        acc |= b << n;
        n += 1;
        if n == 8 {
            out.push(acc as u8);
            (acc, n) = (0, 0);
        }
    };
    // Header fields go least significant bit first, Huffman codes most significant bit first.
    bit(0); // BFINAL
    bit(1); // BTYPE = 01, fixed codes
    bit(0);
    let mut code = |c: u32, len: u32| (0..len).rev().for_each(|i| bit((c >> i) & 1));
    code(0x30 + u32::from(b'A'), 8); // literal A
    code(1, 7); // 257: length 3
    code(1, 5); // distance code 1: distance 2
    code(0, 7); // 256: end of block
    code(0, 7); // padding
    out
}

#[test]
fn corrupt_data_is_corrupt() {
    for bad in [
        &[0xff, 0xff, 0xff][..],
        // A stored block whose NLEN is not the complement of LEN.
        &[0x00, 0x05, 0x00, 0x00, 0x00],
        // Reserved block type 11.
        &[0x06],
        // A back-reference before the start of the stream.
        &too_far_back(),
    ] {
        let mut d = decompressor(false);
        let e = inflate_all(&mut d, bad).unwrap_err();
        assert_eq!(e, DeflateError::Corrupt, "{bad:02x?}");
        assert_eq!(e.close_status(), CloseStatus::INVALID_PAYLOAD);
        let mut buf = [0u8; 8];
        assert_eq!(
            d.decompress(&HELLO_DEFLATED, &mut buf),
            Err(DeflateError::Corrupt)
        );
    }
}

/// A compressor's messages, each followed by the tail the receiver appends, as one stream for
/// the reference decoder; with the start of each message in the decoded data.
fn as_one_stream(c: &mut Compressor, messages: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut stream = Vec::new();
    let mut starts = Vec::new();
    let mut at = 0;
    for m in messages {
        stream.extend(compress(c, m));
        stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
        starts.push(at);
        at += m.len();
    }
    (stream, starts)
}

/// Checked with the reference decoder, which sees every distance (zlib-rs' inflater keeps
/// 32 KiB of history whatever the window, so it cannot tell).
#[test]
fn our_compressor_stays_within_the_agreed_window_and_context() {
    let mut rng = Rng::new(0x5eed);
    for bits in 9..=15u8 {
        for no_context_takeover in [false, true] {
            for level in [1, 6, 9] {
                let mut c = Compressor::new(bits, no_context_takeover, level);
                let messages: Vec<Vec<u8>> = (0..3).map(|_| corpus(&mut rng, 3 << bits)).collect();
                let (stream, starts) = as_one_stream(&mut c, &messages);
                let decoded = reference::decode(&stream).unwrap();
                assert_eq!(decoded.data, messages.concat());
                let window = 1usize << bits;
                let mut longest = 0;
                for &(at, distance) in &decoded.matches {
                    assert!(distance <= window, "{bits} bits: distance {distance}");
                    if no_context_takeover {
                        let start = starts.iter().rev().find(|&&s| s <= at).unwrap();
                        assert!(distance <= at - start, "{bits} bits: across messages");
                    }
                    longest = longest.max(distance);
                }
                // The data has repeats at every distance, so the window is actually used.
                assert!(
                    longest > window / 4,
                    "{bits} bits, level {level}: {longest}"
                );
            }
        }
    }
}

#[test]
fn a_peer_exceeding_its_window_is_still_decoded() {
    // Compressed with 15 bits, referring 4 KiB back, though 9 bits might have been agreed.
    let mut rng = Rng::new(9);
    let block = rng.bytes(4096);
    let msg = [&block[..], &block[..]].concat();
    let mut c = Compressor::new(15, false, 6);
    let wire = compress(&mut c, &msg);
    assert!(wire.len() < 4096 + 200);
    assert!(inflate(&mut decompressor(false), &wire, 4096, 1).unwrap() == msg);
}

#[test]
fn references_into_a_previous_message_without_context_takeover_are_corrupt() {
    // The peer promised no context takeover and broke it.
    let mut c = Compressor::new(15, false, 6);
    let first = compress(&mut c, HELLO);
    let second = compress(&mut c, HELLO);
    let mut d = decompressor(true);
    assert_eq!(inflate_all(&mut d, &first).unwrap(), HELLO);
    assert_eq!(inflate_all(&mut d, &second), Err(DeflateError::Corrupt));
}

#[test]
fn random_input_never_panics_and_stays_bounded() {
    let mut rng = Rng::new(0xbad);
    let cap = 1 << 16;
    let mut good = 0;
    for round in 0..3000 {
        let len = rng.below(64);
        let mut payload = rng.bytes(len);
        if round % 3 == 0 {
            // Start like a real block more often, so more than the first byte is parsed.
            payload.insert(0, [0x00, 0x02, 0x04, 0xf2][rng.below(4)]);
        }
        let mut d = Decompressor::new(rng.below(2) == 0, limits(Some(cap)));
        match inflate(&mut d, &payload, 1 + rng.below(8), 1 + rng.below(64)) {
            Ok(m) => {
                assert!(m.len() as u64 <= cap);
                good += 1;
            }
            Err(e) => assert!(matches!(e, DeflateError::Corrupt | DeflateError::TooBig)),
        }
    }
    assert!(good > 0);
}

#[test]
fn decompress_during_finish_is_refused() {
    let mut c = Compressor::new(15, false, 6);
    let wire = compress(&mut c, &[b'x'; 1000]);
    let mut d = decompressor(false);
    let mut big = [0u8; 2000];
    let (used, made) = d.decompress(&wire, &mut big).unwrap();
    assert_eq!((used, made), (wire.len(), 1000));
    // With no room the tail goes in but the message cannot be declared done.
    assert_eq!(d.finish_message(&mut []).unwrap(), (0, false));
    assert!(matches!(
        d.decompress(b"", &mut big),
        Err(DeflateError::Internal(_))
    ));
    // Not fatal: finishing goes on, and so does the stream.
    assert_eq!(d.finish_message(&mut big).unwrap(), (0, true));
    assert_eq!(
        inflate_all(&mut d, &compress(&mut c, HELLO)).unwrap(),
        HELLO
    );
}

#[test]
fn errors_display_and_close_statuses() {
    assert_eq!(DeflateError::Corrupt.close_status().0, 1007);
    assert_eq!(DeflateError::TooBig.close_status().0, 1009);
    assert_eq!(DeflateError::Internal("x").close_status().0, 1011);
    assert!(DeflateError::Internal("why").to_string().contains("why"));
}
