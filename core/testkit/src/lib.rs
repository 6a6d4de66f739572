//! wspc's test kit (`publish = false`): what the engine's tests, the C ABI crate's tests and the
//! fuzz targets share, kept out of the product crates (STYLE §10: one `Pair`, one frame builder,
//! one reference parser, one counting allocator, all here).
//!
//! | module | what is in it |
//! |---|---|
//! | [`pair`] | the one in-memory [`Pair`](pair::Pair) of a client and a server [`Side`](pair::Side) run until idle; openers ([`open`](pair::open), [`open_seeded`](pair::open_seeded), [`session`](pair::session), [`handshake`](pair::handshake)); what a side received ([`Got`](pair::Got)) |
//! | [`frame`] | the one frame builder ([`RawFrame`](frame::RawFrame): any header bits, length encodings and masks; [`client_frame`](frame::client_frame), [`server_frame`](frame::server_frame), [`frame_to`](frame::frame_to), [`raw_frame`](frame::raw_frame)) and the one masking helper ([`mask`](frame::mask)) |
//! | [`parse`] | the one reference parser, from RFC 6455: [`parse_frames`](parse::parse_frames) reads back what the engine wrote, [`parse_lax`](parse::parse_lax) splits any stream, [`Reference`](parse::Reference) predicts delivery and errors (the session fuzz harnesses use it) |
//! | [`peer`] | a raw WebSocket peer over a real TCP socket, without the engine: hand-made upgrade, frames from [`frame`], frames read back with [`parse`] (for the drivers' tests against hostile peers) |
//! | [`snap`] | owned snapshots of actions ([`Snap`](snap::Snap)), [`next`](snap::next), [`fill`](snap::fill) |
//! | [`stream`] | a side fed a whole stream in chosen reads ([`receive_stream`](stream::receive_stream)), the send queue alone ([`drain_sends`](stream::drain_sends)) |
//! | [`data`] | payloads: [`pattern`](data::pattern), seeded random bytes and text |
//! | [`headers`] | HTTP header helpers for handshake tests |
//! | [`miniz`] | miniz_oxide as an independent permessage-deflate sender ([`MinizSender`](miniz::MinizSender)), for the deflate tests |
//! | [`errors`] | assertions on error groups and HRESULTs |
//! | `prop` (feature `proptest`) | the proptest configuration and strategies of the property tests |
//! | `oracle` (feature `oracle`) | tungstenite over memory, the property tests' independent oracle |
//! | [`fuzzing`] | one harness per fuzz target (each target in `fuzz/` is a one-liner calling it, and `tests/fuzz_corpus.rs` replays the committed corpus through the same functions on stable), and [`fuzzing::seeds`], which records the seeds from real traffic |
//! | [`alloc`] | the counting global allocator the harnesses use to check the memory bound |
//!
//! What the harnesses read of the engine's private state goes through `wspc::fuzz_bridge`.
#![deny(missing_docs)]

pub mod alloc;
pub mod data;
pub mod errors;
pub mod frame;
pub mod fuzzing;
pub mod headers;
pub mod miniz;
#[cfg(feature = "oracle")]
pub mod oracle;
pub mod pair;
pub mod parse;
pub mod peer;
#[cfg(feature = "proptest")]
pub mod prop;
pub mod snap;
pub mod stream;
