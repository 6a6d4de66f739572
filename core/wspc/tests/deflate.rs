//! permessage-deflate from outside the crate: through the existing handshake functions, against
//! an independent DEFLATE implementation (miniz_oxide, which shares no code with zlib-rs), and
//! with every allocation counted (the test kit's counting allocator), so that "memory bounded"
//! is measured rather than assumed.

use wspc::deflate::{
    accept_response, offer, respond, Compressor, Decompressor, DeflateConfig, DeflateError,
    DeflateLimits, WindowBits,
};
use wspc::handshake::{client::ClientHandshake, server};
use wspc::HeaderRef;
use wspc_testkit::alloc::measure;
use wspc_testkit::miniz::{MinizSender, TAIL};

// Counts this thread's heap bytes, for the memory tests.
#[global_allocator]
static ALLOC: wspc_testkit::alloc::Counting = wspc_testkit::alloc::Counting;

// ---- helpers ----

fn compress(c: &mut Compressor, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    c.compress(msg, true, &mut out).unwrap();
    out
}

/// Decompresses one message through an `out_size`-byte buffer.
fn inflate(d: &mut Decompressor, payload: &[u8], out_size: usize) -> Result<Vec<u8>, DeflateError> {
    let mut message = Vec::new();
    let mut buf = vec![0u8; out_size];
    let mut input = payload;
    loop {
        let (used, made) = d.decompress(input, &mut buf)?;
        message.extend_from_slice(&buf[..made]);
        input = &input[used..];
        if input.is_empty() && made < buf.len() {
            break;
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

/// Text-like messages with repeats within and across messages.
fn messages(seed: u64, count: usize, len: usize) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words = [
        "permessage",
        "-deflate",
        " window",
        " 0123",
        "\n",
        "{\"k\":",
        "~",
    ];
    (0..count)
        .map(|_| {
            let mut m = Vec::with_capacity(len);
            while m.len() < len {
                let r = next();
                if r % 7 == 0 {
                    m.push(r as u8);
                } else {
                    m.extend_from_slice(words[(r >> 8) as usize % words.len()].as_bytes());
                }
            }
            m.truncate(len);
            m
        })
        .collect()
}

// ---- the existing handshake, with deflate negotiated on top ----

#[test]
fn negotiated_through_the_existing_handshake_then_used_both_ways() {
    let client_config = DeflateConfig::default();
    let mut server_config = DeflateConfig::default();
    server_config.client_max_window_bits = WindowBits::new(10);

    // The client offers; the server reads the offer, answers, and the client checks it.
    let client_offer = offer(&client_config);
    let (hs, request) = ClientHandshake::begin([9; 16], &[], &[&client_offer], &[]).unwrap();
    let mut request: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_header_ref()).collect();
    request.push(HeaderRef {
        name: b"Host",
        value: b"example.com",
    });
    let offers: Vec<&[u8]> = request
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"sec-websocket-extensions"))
        .map(|h| h.value)
        .collect();
    let (server_params, answer) = respond(&server_config, &offers).expect("accepted");
    assert_eq!(answer, "permessage-deflate; client_max_window_bits=10");
    let response = server::accept(None, &[&answer], &request).unwrap();
    let response: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_header_ref()).collect();
    assert_eq!(hs.end(&response).unwrap().extensions, [0]);
    let answers: Vec<&[u8]> = response
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"sec-websocket-extensions"))
        .map(|h| h.value)
        .collect();
    let client_params = accept_response(&client_config, &answers)
        .unwrap()
        .expect("agreed");
    assert_eq!(client_params.local_max_window_bits, 10);
    assert_eq!(server_params.remote_max_window_bits, 10);

    // Each side's compressor feeds the other's decompressor.
    let mut client_tx = client_params.compressor(&client_config);
    let mut client_rx = client_params.decompressor(&client_config);
    let mut server_tx = server_params.compressor(&server_config);
    let mut server_rx = server_params.decompressor(&server_config);
    for m in messages(1, 20, 3000) {
        let up = compress(&mut client_tx, &m);
        assert_eq!(inflate(&mut server_rx, &up, 512).unwrap(), m);
        let down = compress(&mut server_tx, &m);
        assert_eq!(inflate(&mut client_rx, &down, 512).unwrap(), m);
    }
}

// ---- differential: miniz_oxide on the other side ----

#[test]
fn miniz_oxide_inflates_what_we_compress() {
    for bits in 8..=15 {
        for no_context_takeover in [false, true] {
            let msgs = messages(u64::from(bits), 12, 5000);
            let mut c = Compressor::new(bits, no_context_takeover, 6);
            let mut stream = Vec::new();
            for m in &msgs {
                stream.extend(compress(&mut c, m));
                stream.extend_from_slice(&TAIL);
            }
            // A final empty fixed block (BFINAL set) ends the stream for a one-shot inflater.
            stream.extend_from_slice(&[0x03, 0x00]);
            let got = miniz_oxide::inflate::decompress_to_vec(&stream).unwrap();
            assert!(
                got == msgs.concat(),
                "{bits} bits, nct {no_context_takeover}"
            );
        }
    }
}

#[test]
fn we_inflate_what_miniz_oxide_compresses() {
    for level in [1, 6, 9] {
        let mut tx = MinizSender::new(level);
        let mut rx = Decompressor::new(false, DeflateLimits::default());
        for (i, m) in messages(level as u64, 30, 7000).iter().enumerate() {
            let wire = tx.message(m);
            let got = inflate(&mut rx, &wire, 1 + i * 37).unwrap();
            assert!(got == *m, "level {level}, message {i}");
        }
        // An empty message: miniz's sync flush with nothing new.
        let wire = tx.message(b"");
        assert_eq!(inflate(&mut rx, &wire, 64).unwrap(), b"");
    }
}

/// Large incompressible messages: miniz_oxide's output of one outruns its internal buffer, the
/// case where a sender that stops once a call leaves room in its output slice loses the end of
/// the frame (a property test found it; see `wspc_testkit::miniz`).
#[test]
fn we_inflate_what_miniz_oxide_compresses_from_large_incompressible_messages() {
    for level in [2, 6] {
        let mut tx = MinizSender::new(level);
        let mut rx = Decompressor::new(false, DeflateLimits::default());
        for seed in 0..3 {
            let m = wspc_testkit::data::random_bytes(seed, 95_492);
            let wire = tx.message(&m);
            let got = inflate(&mut rx, &wire, 4096).unwrap();
            assert!(got == m, "level {level}, seed {seed}");
        }
    }
}

// ---- memory ----

#[test]
fn codec_state_sizes() {
    let msg = messages(3, 1, 100_000).pop().unwrap();
    let mut report = Vec::new();
    for bits in [8, 9, 12, 15] {
        let (_c, live, _) = measure(|| {
            let mut c = Compressor::new(bits, false, 6);
            compress(&mut c, &msg);
            c
        });
        report.push(format!("compressor {bits} bits: {} KiB", live / 1024));
        assert!(live < 400 << 10, "{bits} bits: {live}");
    }
    let (_d, live, _) = measure(|| {
        let mut d = Decompressor::new(false, DeflateLimits::default());
        let mut c = Compressor::new(15, false, 6);
        let wire = compress(&mut c, &msg);
        inflate(&mut d, &wire, 4096).unwrap();
        d
    });
    report.push(format!("decompressor: {} KiB", live / 1024));
    assert!(live < 64 << 10, "{live}");
    eprintln!("{}", report.join(", "));
}

#[test]
fn compressing_allocates_only_the_output() {
    let msgs = messages(4, 10, 20_000);
    let mut c = Compressor::new(15, false, 6);
    compress(&mut c, &msgs[0]);
    let mut out = Vec::with_capacity(1 << 20);
    let ((), live, peak) = measure(|| {
        for m in &msgs {
            out.clear();
            c.compress(m, true, &mut out).unwrap();
        }
    });
    assert_eq!((live, peak), (0, 0));
}

/// A bomb of the default size: more than 64 MiB from about 64 KiB, drained through a
/// 256-byte buffer, stops with TooBig one byte past the cap, and nothing is allocated on the way.
#[test]
fn a_default_cap_bomb_stops_at_the_cap_without_allocating() {
    let cap = DeflateLimits::default().max_message_size.unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut c = Compressor::new(15, false, 9);
    let mut wire = Vec::new();
    for _ in 0..(cap >> 20) {
        c.compress(&zeros, false, &mut wire).unwrap();
    }
    c.compress(&zeros, true, &mut wire).unwrap();
    assert!(wire.len() < 128 << 10, "{}", wire.len());

    let mut d = Decompressor::new(false, DeflateLimits::default());
    // The window is allocated when the decompressor is made; nothing after.
    let (result, live, peak) = measure(|| {
        let mut buf = [0u8; 256];
        let mut input = &wire[..];
        let mut total = 0u64;
        loop {
            match d.decompress(input, &mut buf) {
                Ok((used, made)) => {
                    total += made as u64;
                    input = &input[used..];
                }
                Err(e) => return (e, total),
            }
        }
    });
    assert_eq!(result.0, DeflateError::TooBig);
    assert!(result.1 <= cap);
    assert_eq!(d.message_size(), cap + 1);
    assert_eq!((live, peak), (0, 0));
}
