//! # Where wspc and tungstenite disagree, and why
//!
//! `tests/prop_rejection.rs` feeds random mutations of valid frame streams (header bits, RSV bits,
//! reserved opcodes, length encodings, masks on the wrong side, oversize or fragmented control
//! frames, invalid UTF-8 across fragment boundaries, bad close statuses and reasons, truncation,
//! bit flips) to a wspc handle and to [tungstenite] 0.30 (a dev-dependency, used in memory), both
//! as client and as server, and compares what each delivers and the status each ends with: the
//! peer's close, a failure with a close status (1002, 1007), or the end of the stream (1006).
//!
//! Each disagreement it can meet is one of the rows below, where wspc follows RFC 6455 and the
//! oracle is lenient or slower to judge. The test encodes this table: every disagreement must be
//! explained by one row's condition (checked on the case itself), so a new kind of disagreement
//! fails the test until it is fixed or justified here.
//!
//! | id | input | wspc | tungstenite 0.30 | RFC 6455 |
//! |---|---|---|---|---|
//! | `non_minimal_length` | a payload length not in its minimal encoding (5 as `7E 00 05`, 300 as `7F 00 … 01 2C`) | fails, 1002 | accepts the frame | §5.2: "the minimal number of bytes MUST be used to encode the length" |
//! | `length_msb` | a 64-bit payload length with its most significant bit set | fails, 1002, once the first length byte arrives | no check (waits for the payload, or hits its frame size limit) | §5.2: "the most significant bit MUST be 0" |
//! | `fail_fast` | a stream that ends inside a frame whose bytes so far already break a rule: reserved opcode, RSV bit, mask on the wrong side, fragmented or over-125-byte control frame, invalid UTF-8 | fails as soon as the offending byte arrives (1002, or 1007 for UTF-8) | reads whole frames before judging them, so it sees only the end of the stream (1006) | §5.1, §5.2, §5.5, §8.1: the endpoint MUST _Fail the WebSocket Connection_ on these; wspc never holds a whole frame (its memory is the receive buffer), so it judges bytes as they arrive |
//! | `close_1014` | a close frame with status 1014 | accepts it (delivers the close with 1014) | treats it as not allowed: reports 1002 and answers the close with 1002 | §7.4.2: 1000–2999 are for the RFC and its registered extensions; IANA's "WebSocket Close Code Number Registry" (§11.7) registers 1014 (bad gateway), so it may be sent |
//! | `close_check_order` | a close frame whose status is not valid on the wire *and* whose reason is not UTF-8 | fails with 1002 (the status is checked first) | fails with 1007 (the reason is decoded first) | §5.5.1, §7.4, §8.1: both make the frame invalid; the RFC gives no order, both fail the connection |
//!
//! Not a divergence: for a close status that may not be sent (0–999, 1004–1006, 1015, 1016–2999,
//! 5000 and above) tungstenite does not return an error but reports and answers a close with 1002
//! "Protocol violation"; wspc returns [`ProtocolError::InvalidCloseStatus`] (close status 1002),
//! with which the application fails the connection: the same 1002 on the wire. The test counts
//! that as agreement.
//!
//! Limits are configured away: tungstenite runs with no message size limit and a 16 MiB frame
//! limit, larger than any stream the test makes, so a frame it refuses as too big could not have
//! completed anyway and is treated as the end of the stream.
//!
//! [tungstenite]: https://crates.io/crates/tungstenite
//! [`ProtocolError::InvalidCloseStatus`]: crate::ProtocolError::InvalidCloseStatus
