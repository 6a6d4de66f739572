//! Property 6 of issue 7: streaming UTF-8 against `std::str::from_utf8`.
//!
//! Random byte strings (mostly text, with invalid, overlong, surrogate, out-of-range and truncated
//! sequences mixed in) are fed to `wspc::utf8::Utf8Validator` in random splits: it must fail at
//! the first piece after which the bytes seen can no longer begin valid UTF-8, and `finish` must
//! agree with std on the whole. The same strings as text messages, in random fragments and reads,
//! must fail a session with 1007 exactly when std refuses them, as soon as the byte that makes
//! them impossible has been read, and never deliver that byte.

use proptest::prelude::*;
use wspc::utf8::{validate, Utf8Validator};
use wspc::{Property, ProtocolError, Role};
use wspc_testkit::data::*;
use wspc_testkit::frame::*;
use wspc_testkit::pair::open_seeded;
use wspc_testkit::prop::*;
use wspc_testkit::stream::*;

/// True if `bytes` cannot be the start of any valid UTF-8 (std's `error_len` is `Some` when the
/// bytes so far are invalid whatever follows).
fn impossible(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_err_and(|e| e.error_len().is_some())
}

/// The length of the shortest prefix of `bytes` that cannot begin valid UTF-8, if any.
fn first_impossible(bytes: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(bytes).err()?;
    e.error_len()?;
    (e.valid_up_to() + 1..=bytes.len()).find(|&k| impossible(&bytes[..k]))
}

/// Mostly text, with broken sequences of every kind and random bytes mixed in.
fn mixed_bytes() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        6 => (any::<u64>(), 0usize..=24).prop_map(|(s, n)| random_text(s, n)),
        2 => bad_utf8(),
        1 => prop::sample::select(vec![
            "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}",
            "\u{10000}", "\u{10FFFF}",
        ]).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..=6),
    ];
    proptest::collection::vec(segment, 0..=8).prop_map(|s| s.concat())
}

/// Cut offsets into `len` bytes, sorted (repeats give empty pieces).
fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..=6).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut from = 0;
    for &c in cuts {
        out.push(&bytes[from..c]);
        from = c;
    }
    out.push(&bytes[from..]);
    out
}

fn bytes_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    mixed_bytes().prop_flat_map(|b| {
        let n = b.len();
        (Just(b), cuts(n))
    })
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn validator_agrees_with_std((bytes, cuts) in bytes_and_cuts()) {
        prop_assert_eq!(validate(&bytes), std::str::from_utf8(&bytes).is_ok());
        let mut v = Utf8Validator::new();
        let mut seen = 0;
        for piece in pieces(&bytes, &cuts) {
            seen += piece.len();
            let bad = impossible(&bytes[..seen]);
            prop_assert_eq!(v.feed(piece).is_err(), bad, "after {} bytes", seen);
            if bad {
                return Ok(());
            }
        }
        prop_assert_eq!(v.finish().is_ok(), std::str::from_utf8(&bytes).is_ok());
        prop_assert!(v.is_complete());
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn sessions_fail_fast_on_invalid_text(
        to in role(),
        (data, cuts) in bytes_and_cuts(),
        rbs in receive_buffer_size(),
        reads in read_sizes(),
        caller_buffer in prop_oneof![3 => Just(None), 1 => (1usize..=64).prop_map(Some)],
        seed in any::<u64>(),
    ) {
        // The message as fragments; where each fragment's payload starts in the stream.
        let masked = to == Role::Server;
        let mut keys = XorShift::new(seed);
        let frags = pieces(&data, &cuts);
        let mut stream = Vec::new();
        let mut starts = Vec::new();
        for (i, frag) in frags.iter().enumerate() {
            let opcode = if i == 0 { 1 } else { 0 };
            let mut f = RawFrame::new(opcode, key(&mut keys, masked), frag.to_vec());
            f.fin = i + 1 == frags.len();
            let header = { let mut h = Vec::new(); f.encode(&mut h); h.len() - frag.len() };
            starts.push(stream.len() + header);
            f.encode(&mut stream);
        }
        let props = [Property::ReceiveBufferSize(rbs)];
        let feed = Feed { reads, eof: false, caller_buffer };
        let run = |bytes: &[u8]| receive_stream(&mut open_seeded(to, &props, seed), bytes, &feed);

        let all = run(&stream);
        let delivered = match (&all.events[..], &all.partial) {
            ([Event::Msg(true, d)], None) => d.clone(),
            ([], Some((true, d))) => d.clone(),
            ([], None) => Vec::new(),
            other => panic!("unexpected delivery {other:?}"),
        };
        match first_impossible(&data) {
            None => {
                let complete = std::str::from_utf8(&data).is_ok();
                let expected = if complete {
                    End::Starved
                } else {
                    End::Failed(ProtocolError::InvalidUtf8)
                };
                prop_assert_eq!(&all.end, &expected);
                if complete {
                    prop_assert_eq!(&all.events, &vec![Event::Msg(true, data.clone())]);
                }
            }
            Some(k) => {
                prop_assert_eq!(&all.end, &End::Failed(ProtocolError::InvalidUtf8));
                // The impossible byte was never delivered.
                prop_assert!(
                    delivered.len() < k,
                    "{} bytes delivered, byte {} is bad",
                    delivered.len(),
                    k - 1
                );
                // Fail fast: the stream up to that byte is enough, one byte less is not.
                let frag = cuts.iter().filter(|&&c| c < k).count();
                let from = if frag == 0 { 0 } else { cuts[frag - 1] };
                let cut = starts[frag] + (k - from);
                prop_assert_eq!(run(&stream[..cut]).end, End::Failed(ProtocolError::InvalidUtf8));
                prop_assert_eq!(run(&stream[..cut - 1]).end, End::Starved);
            }
        }
    }
}
