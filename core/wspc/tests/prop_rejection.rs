//! Property 3 of issue 7: rejection agreement with tungstenite.
//!
//! Random mutations of valid peer streams (RSV bits, opcodes, FIN, length encodings, masks on the
//! wrong side, oversize or fragmented control frames, invalid UTF-8 across fragment boundaries,
//! close statuses and reasons, inserted frames, truncation, bit flips) go to a wspc handle and to
//! tungstenite of the same role. Both must deliver the same messages and pongs and end the same
//! way: the same close, or a failure with the same close status, or the end of the stream. Every
//! disagreement must be one of the justified divergences of `wspc::divergences`, whose table
//! [`DIVERGENCES`] encodes: a new kind fails the test.

use proptest::prelude::*;
use wspc::{Property, ProtocolError, Role};
use wspc_testkit::frame::*;
use wspc_testkit::oracle::*;
use wspc_testkit::pair::open_seeded;
use wspc_testkit::parse::parse_lax;
use wspc_testkit::prop::*;
use wspc_testkit::stream::*;

/// One case: what both sides were given and what they made of it.
#[derive(Clone, Copy)]
struct Case<'a> {
    to: Role,
    bytes: &'a [u8],
    props: &'a [Property],
    wspc: &'a Run,
    oracle: &'a OracleRun,
}

impl Case<'_> {
    /// tungstenite's events without pings (wspc answers them and does not report them).
    fn oracle_events(&self) -> Vec<Event> {
        self.oracle
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Ping(_)))
            .cloned()
            .collect()
    }

    /// Both delivered the same and ended with the same status.
    fn agree(&self) -> bool {
        let theirs = self.oracle_events();
        let ours = &self.wspc.events;
        match (&self.wspc.end, &self.oracle.end) {
            (End::Closed, OracleEnd::Closed) => *ours == theirs,
            (End::Eof, OracleEnd::Eof) => *ours == theirs,
            (End::Failed(p), OracleEnd::Failed(status, _)) => {
                *ours == theirs && p.close_status().0 == *status
            }
            // tungstenite's way of failing on a close status that may not be sent: it reports
            // (and answers) a close with 1002.
            (End::Failed(ProtocolError::InvalidCloseStatus(_)), OracleEnd::Closed) => {
                theirs.split_last().is_some_and(|(last, before)| {
                    *last == Event::Close(1002, b"Protocol violation".to_vec()) && before == ours
                })
            }
            _ => false,
        }
    }
}

/// A justified divergence: its id (a row of the table in `wspc::divergences`), the RFC section,
/// and the condition that recognises it in a case.
struct Divergence {
    id: &'static str,
    rfc: &'static str,
    explains: fn(&Case<'_>) -> bool,
}

/// The table of `wspc::divergences`, row by row.
const DIVERGENCES: &[Divergence] = &[
    Divergence {
        id: "non_minimal_length",
        rfc: "RFC 6455 §5.2",
        explains: |c| {
            // With every whole frame's length re-encoded minimally, wspc agrees (or differs only
            // for another row's reason).
            let repaired = minimal_lengths(c.bytes);
            if repaired == c.bytes {
                return false;
            }
            let mut ws = open_seeded(c.to, c.props, 1);
            let run = receive_stream(&mut ws, &repaired, &Feed::whole());
            let case = Case {
                bytes: &repaired,
                wspc: &run,
                ..*c
            };
            case.agree() || DIVERGENCES[1..].iter().any(|d| (d.explains)(&case))
        },
    },
    Divergence {
        id: "length_msb",
        rfc: "RFC 6455 §5.2",
        explains: |c| {
            // Such a frame can never complete: tungstenite runs out of input.
            matches!(c.wspc.end, End::Failed(ProtocolError::LengthMsbSet))
                && c.oracle.end == OracleEnd::Eof
                && c.oracle_events() == c.wspc.events
        },
    },
    Divergence {
        id: "fail_fast",
        rfc: "RFC 6455 §5.1, §5.2, §5.5, §8.1",
        explains: |c| {
            // tungstenite ran out of input inside a frame that wspc already refused: the same
            // stream cut after its last whole frame gives wspc no error either.
            if !matches!(c.wspc.end, End::Failed(_))
                || c.oracle.end != OracleEnd::Eof
                || c.oracle_events() != c.wspc.events
            {
                return false;
            }
            let (_, whole) = parse_lax(c.bytes);
            if whole == c.bytes.len() {
                return false;
            }
            let mut ws = open_seeded(c.to, c.props, 1);
            let prefix = receive_stream(&mut ws, &c.bytes[..whole], &Feed::whole());
            prefix.end == End::Eof && prefix.events == c.wspc.events
        },
    },
    Divergence {
        id: "close_1014",
        rfc: "RFC 6455 §7.4.2, §11.7",
        explains: |c| {
            let theirs = c.oracle_events();
            c.wspc.end == End::Closed
                && c.wspc.events.split_last().is_some_and(|(last, before)| {
                    matches!(last, Event::Close(1014, _))
                        && theirs.split_last().is_some_and(|(t, b)| {
                            *t == Event::Close(1002, b"Protocol violation".to_vec()) && b == before
                        })
                })
        },
    },
    Divergence {
        id: "close_check_order",
        rfc: "RFC 6455 §5.5.1, §7.4, §8.1",
        explains: |c| {
            matches!(
                c.wspc.end,
                End::Failed(ProtocolError::InvalidCloseStatus(_))
            ) && matches!(c.oracle.end, OracleEnd::Failed(1007, _))
                && c.oracle_events() == c.wspc.events
        },
    },
];

/// `bytes` with the length of every whole frame in its minimal encoding (the same header bits,
/// mask key and payload), and any incomplete frame at the end left as it is.
fn minimal_lengths(bytes: &[u8]) -> Vec<u8> {
    let (frames, whole) = parse_lax(bytes);
    let mut out = Vec::with_capacity(bytes.len());
    for f in frames {
        let raw = RawFrame {
            len: LenEnc::Minimal,
            ..f.to_raw()
        };
        raw.encode(&mut out);
    }
    out.extend_from_slice(&bytes[whole..]);
    out
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn wspc_and_tungstenite_agree_on_rejection(
        to in role(),
        spec in stream_spec(4),
        mutations in proptest::collection::vec(mutation(), 0..=3),
        rbs in receive_buffer_size(),
        reads in read_sizes(),
        seed in any::<u64>(),
    ) {
        let mut frames = spec.frames(to);
        let bytes = mutate(&mut frames, &mutations, to);
        let props = [Property::ReceiveBufferSize(rbs)];

        let mut ws = open_seeded(to, &props, seed);
        let feed = Feed { reads, eof: true, caller_buffer: None };
        let ours = receive_stream(&mut ws, &bytes, &feed);
        let theirs = oracle_read(&mut oracle(to, bytes.clone()));

        let case = Case { to, bytes: &bytes, props: &props, wspc: &ours, oracle: &theirs };
        if !case.agree() {
            let why = DIVERGENCES.iter().find(|d| (d.explains)(&case));
            prop_assert!(
                why.is_some(),
                "unexplained disagreement ({:?} side)\nwspc: {:?} {:?}\n\
                 tungstenite: {:?} {:?}\nframes: {:?}",
                to, ours.end, ours.events, theirs.end, theirs.events, parse_lax(&bytes)
            );
        }
    }
}

/// Each row of the table is met by a case of its own, and explains it first.
#[test]
fn each_divergence_has_an_example() {
    let close = |status: u16, reason: &[u8]| {
        let mut p = status.to_be_bytes().to_vec();
        p.extend_from_slice(reason);
        RawFrame::new(0x8, None, p)
    };
    let mut non_minimal = RawFrame::new(0x2, None, b"hello".to_vec());
    non_minimal.len = LenEnc::Wide16;
    let mut msb = RawFrame::new(0x2, None, b"hello".to_vec());
    msb.len = LenEnc::Msb64;
    let examples: [(&str, Vec<u8>); 5] = [
        (
            "non_minimal_length",
            encode_all(&[non_minimal, close(1000, b"")]),
        ),
        ("length_msb", encode_all(&[msb])),
        // RSV1 on a frame whose payload never arrives.
        ("fail_fast", vec![0xC2, 0x05, b'h']),
        ("close_1014", encode_all(&[close(1014, b"")])),
        ("close_check_order", encode_all(&[close(999, b"\xFF")])),
    ];
    let props = [Property::ReceiveBufferSize(4096)];
    for (id, bytes) in examples {
        let wspc = receive_stream(
            &mut open_seeded(Role::Client, &props, 1),
            &bytes,
            &Feed::whole(),
        );
        let oracle = oracle_read(&mut oracle(Role::Client, bytes.clone()));
        let case = Case {
            to: Role::Client,
            bytes: &bytes,
            props: &props,
            wspc: &wspc,
            oracle: &oracle,
        };
        assert!(
            !case.agree(),
            "{id}: no disagreement ({wspc:?}, {oracle:?})"
        );
        let first = DIVERGENCES
            .iter()
            .find(|d| (d.explains)(&case))
            .map(|d| d.id);
        assert_eq!(first, Some(id), "{wspc:?} / {oracle:?}");
    }
}

/// The table above and the one in `wspc::divergences` have the same rows.
#[test]
fn table_matches_the_docs() {
    let docs = include_str!("../src/divergences.rs");
    let rows: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let ids: Vec<&str> = DIVERGENCES.iter().map(|d| d.id).collect();
    assert_eq!(rows, ids);
    for d in DIVERGENCES {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("//! | `{}`", d.id)))
            .unwrap();
        let section = d.rfc.trim_start_matches("RFC 6455 ");
        for s in section.split(", ") {
            assert!(row.contains(s), "row {} does not cite {s}", d.id);
        }
    }
}
