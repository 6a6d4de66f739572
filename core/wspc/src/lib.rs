//! # wspc — the WebSocket Protocol Component, in Rust
//!
//! wspc is a sans-IO implementation of WebSocket (RFC 6455, version 13) with the shape of the
//! Windows WebSocket Protocol Component API (`websocket.dll`): it builds and checks the upgrade
//! headers, frames and parses the stream, and hands every byte of I/O to the caller through an
//! action loop. It does no I/O of its own, starts no threads, reads no clock.
//!
//! The 13 Windows functions and their Rust twins:
//!
//! | `websocket.h` | wspc |
//! |---|---|
//! | `WebSocketCreateClientHandle` / `WebSocketCreateServerHandle` | [`Session::client`], [`Session::server`], [`Session::with_block`] |
//! | `WebSocketBeginClientHandshake` / `WebSocketEndClientHandshake` | [`Session::begin_client_handshake`], [`Session::end_client_handshake`] |
//! | `WebSocketBeginServerHandshake` / `WebSocketEndServerHandshake` | [`Session::begin_server_handshake`], [`Session::end_server_handshake`] |
//! | `WebSocketSend` | [`Session::send`], [`Session::send_close`] |
//! | `WebSocketReceive` | [`Session::receive`], [`Session::receive_into`] |
//! | `WebSocketGetAction` | [`Session::get_action`], [`Session::get_action_with_capacity`] |
//! | `WebSocketCompleteAction` | [`Session::complete_action`] |
//! | `WebSocketAbortHandle` | [`Session::abort`] |
//! | `WebSocketDeleteHandle` | [`Session::delete`] (or drop) |
//! | `WebSocketGetGlobalProperty` | [`properties::global_property`], [`properties::keepalive_interval`], [`properties::supported_versions`] |
//!
//! Rust-only extensions, with the same rules: [`Session::send_control`] (pings and pongs with a
//! payload) and [`Session::send_into`], which frames one send straight into the caller's
//! `Vec<u8>` in one call, for code that owns its write buffer (the Windows flow takes six calls
//! per message: `send`, then `get_action` and `complete_action` until the queue is idle).
//!
//! A C ABI with the exact Windows names, types and values is a thin shell over this crate, built
//! by its sibling crate `wspc-capi` (`core/capi/`: `libwspc.so`, `libwspc.a`,
//! `include/websocket.h`). For sockets, two drivers run the loop and the HTTP/1.1 upgrade for
//! you and deliver whole messages: [`io`] over blocking streams and, with the cargo feature
//! `tokio`, `wspc::tokio` over async ones (a `Stream` + `Sink`); their settings, defaults and
//! limits are in [`driver`].
//!
//! ## The action loop
//!
//! ```text
//!   application                                   Session
//!   ───────────                                   ───────
//!   send(type, payload, ctx) ───────────────────▶ queued
//!   receive(ctx) ───────────────────────────────▶ queued
//!   get_action(queue) ◀────────────────────────── SendToNetwork { header, payload }
//!        write the buffers to the transport             ReceiveFromNetwork { free buffer }
//!                                                       IndicateSendComplete { ctx }
//!                                                       IndicateReceiveComplete { piece, type, ctx }
//!                                                       NoAction
//!   complete_action(id, bytes) ─────────────────▶ advances; returns ctx (+ buffer) for Indicate*
//! ```
//!
//! ```
//! use wspc::{Action, BufferType, HeaderRef, Queue, Session};
//!
//! // Two handles joined in memory: what one writes, the other reads.
//! let mut client: Session<Vec<u8>, &str> = Session::client(&[])?;
//! let mut server: Session<Vec<u8>, &str> = Session::server(&[])?;
//! let request = client.begin_client_handshake(&[], &[], &[])?;
//! let mut headers: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_header_ref()).collect();
//! headers.push(HeaderRef { name: b"Host", value: b"example.com" });
//! let response = server.begin_server_handshake(None, &[], &headers)?;
//! let response: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_header_ref()).collect();
//! client.end_client_handshake(&response)?;
//!
//! client.send(BufferType::Utf8Message, Some(b"hello".to_vec()), "greeting")?;
//! let mut wire = Vec::new();
//! loop {
//!     let (id, n) = match client.get_action(Queue::Send)? {
//!         Action::SendToNetwork(a) => {
//!             a.buffers().iter().for_each(|b| wire.extend_from_slice(b));
//!             (a.id, a.total_len())
//!         }
//!         Action::IndicateSendComplete(a) => (a.id, 0),
//!         _ => break,
//!     };
//!     client.complete_action(id, n)?;
//! }
//!
//! server.receive("first message")?;
//! let Action::ReceiveFromNetwork(read) = server.get_action(Queue::Receive)? else { panic!() };
//! read.buffer[..wire.len()].copy_from_slice(&wire);
//! let id = read.id;
//! server.complete_action(id, wire.len())?;
//! let Action::IndicateReceiveComplete(piece) = server.get_action(Queue::Receive)? else { panic!() };
//! assert_eq!((piece.buffer_type, piece.data), (BufferType::Utf8Message, &b"hello"[..]));
//! let id = piece.id;
//! let done = server.complete_action(id, 0)?.expect("the receive is finished");
//! assert_eq!(done.context, "first message");
//! # Ok::<(), wspc::Error>(())
//! ```
//!
//! ## Limits
//!
//! A session's memory is one block of `receive buffer + send buffer + 144` bytes plus constant
//! state and the queues of operations the application itself posted, whatever the peer sends:
//! messages are never assembled, pieces are delivered as soon as their bytes arrive.
//!
//! | limit | default | range | when exceeded |
//! |---|---|---|---|
//! | receive buffer ([`Properties::receive_buffer_size`]) | 4096 B | 256 – 65536 B | [`PropertyError::OutOfRange`] |
//! | send buffer ([`Properties::send_buffer_size`]) | client 4096 B, server 16 B | 16 – 65536 B | [`PropertyError::OutOfRange`] |
//! | caller-allocated block ([`Session::with_block`]) | — | ≥ RBS + SBS + 144 B, 8-byte aligned | [`PropertyError::BadAllocatedBuffer`] |
//! | piece delivered by a receive | — | ≤ receive buffer (and ≤ the caller's buffer) | split into `*_FRAGMENT` pieces |
//! | client masked chunk per `SendToNetwork` | — | ≤ send buffer | split into more actions |
//! | bytes of one `SendToNetwork` | — | ≤ 2³² − 1 (a `ULONG` in the C ABI) | an uncopied payload goes out in slices |
//! | control frame payload | — | ≤ 125 B (RFC 6455 §5.5) | [`ProtocolError::ControlFrameTooLong`], close 1002 |
//! | close reason | — | ≤ 123 B ([`MAX_CLOSE_REASON_LENGTH`]) | [`Misuse::InvalidArgument`] on send |
//! | message and frame length | — | up to 2⁶³ − 1 B (streamed) | — |
//! | decompressed message, permessage-deflate only (`deflate::DeflateLimits`) | 64 MiB | any, or none; ratio cap optional | close 1009, [`ProtocolError::MessageTooBig`] |
//! | handshake header count ([`handshake::MAX_HEADER_COUNT`]) | — | ≤ 128 | [`HandshakeError::Malformed`] |
//! | handshake header bytes ([`handshake::MAX_HEADER_BYTES`]) | — | ≤ 16 KiB of names + values | [`HandshakeError::Malformed`] |
//! | HTTP head read by the drivers ([`driver::upgrade::MAX_HEAD_BYTES`]) | — | ≤ 20 KiB | a server answers 431; [`driver::DriverError::Http`] |
//! | message assembled by the drivers ([`driver::Config::max_message_size`]) | 64 MiB | any, or none | close 1009, [`ProtocolError::MessageTooBig`] |
//! | driver timeouts (handshake, close, keep-alive ping and pong, write) | 10 s, 10 s, 20 s + 20 s, 30 s | any, or none | see [`driver`] |
//! | keep-alive interval ([`properties::keepalive_interval`]) | 30000 ms | ≥ 15000 ms | raised to 15000 |
//!
//! Handshake parsing is one pass over the header list after the caps are checked: its work is
//! linear in the header bytes (no re-parse of a growing buffer, as in CVE-2023-43669).
//!
//! ## Protocol errors
//!
//! Every violation of RFC 6455 in received data is a [`ProtocolError`] carrying the close status
//! the RFC asks for ([`ProtocolError::close_status`]: 1007 for invalid UTF-8, 1002 otherwise). It
//! is returned by `get_action` on a queue with receives, and again on every later call until
//! [`Session::abort`]; a close can still be sent (nothing else: spec §9 Q18), so the application
//! fails the connection the RFC way: [`Session::send_close`] with that status, serve the send
//! actions, then abort and drop the transport (the drivers do exactly this). UTF-8 is checked incrementally as
//! bytes arrive, across pieces, frames and partial frames, so invalid text fails as soon as the
//! byte that makes it impossible is read.
//!
//! RSV bits are carried by [`frame::FrameHeader`] and judged by the receive side against the bits
//! a negotiated extension has claimed: none, unless permessage-deflate was agreed (RSV1, on the
//! first frame of a data message only). Any other set RSV bit fails with close 1002.
//!
//! ## permessage-deflate (RFC 7692)
//!
//! wspc's one addition to the Windows component, off by default: with the cargo feature
//! `deflate` (on by default) and the per-handle property `Property::PermessageDeflate`
//! (`Properties::permessage_deflate`; raw type [`properties::PERMESSAGE_DEFLATE_PROPERTY_TYPE`],
//! `0x1000`, for the C ABI), a handle negotiates and uses permessage-deflate. Without the
//! property everything is exactly as websocket.dll does it.
//!
//! - Handshake: a client's `begin_client_handshake` offers it after the application's own
//!   extensions and `end_client_handshake` checks the answer against the offer; a server's
//!   `begin_server_handshake` accepts the first acceptable offer and appends its answer after the
//!   application's selected extensions (or declines quietly). The selected-extension indices
//!   returned to a client count the application's extensions only. The application must not name
//!   permessage-deflate among its own extensions while the property is on.
//! - Send: each data frame's payload is compressed when the frame starts (one compressor call
//!   per send, the caller's buffer untouched and returned as always), RSV1 set on the first frame
//!   of each message; control frames are never compressed. A compressed message may be
//!   fragmented over several sends, as any.
//! - Receive: a message whose first frame has RSV1 is decompressed as its payload arrives, into a
//!   buffer of the receive buffer size (or the caller's buffer), so pieces stay within both;
//!   UTF-8 is checked on the decompressed text. Invalid compressed data fails with
//!   [`ProtocolError::InvalidCompressedData`] (close 1007), a message past the decompression
//!   limits (`deflate::DeflateLimits`: 64 MiB by default) with [`ProtocolError::MessageTooBig`]
//!   (1009).
//! - Memory: zlib's state and the two buffers are allocated once, outside the block, when the
//!   handshake agrees (see [`Properties::block_size`]); so, unlike every other buffer, a
//!   decompressed piece handed out from the internal buffer lies outside the caller-allocated
//!   block, and a server's compressed payload is not the caller's memory. (.NET, the one caller
//!   that checks containment, never sets the property.)
//!
//! ## Decisions on the open questions (spec §9)
//!
//! | # | decision |
//! |---|---|
//! | Q1 | `CompleteAction`, `AbortHandle`, `DeleteHandle` return `void` in the C ABI; in Rust, `complete_action` returns a `Result` so that an unknown id is reported. |
//! | Q2 | Receive buffer ≥ 256; send buffer ≥ 16 for both roles; both ≤ 65536. |
//! | Q3 | A caller block needs ≥ RBS + SBS + 144 bytes, 8-byte aligned; every internal buffer handed out lies inside it. |
//! | Q4 | `Host` is not required in the client's initial headers; the server requires it (any value). |
//! | Q5 | A client's header and first masked chunk form one buffer, within the send buffer size (the copy exists anyway, and a small message goes out in one `write`); a header and an uncopied payload (server, or unmasked client) go out as two consecutive `SendToNetwork` actions; capacity 0 is an invalid argument. |
//! | Q6 | `IndicateSendComplete` echoes the send's type, payload (or close status and reason) and context. |
//! | Q7 | A receive ended by a 0-byte read or an abort completes as `Close` with status 1006 and no reason; the handle is aborted. |
//! | Q8 | No automatic close reply and no close on protocol errors in the engine: the error is returned, the application sends the close. The drivers do both for their users. |
//! | Q9 | Received text and close reasons are checked (incrementally) unless UTF-8 verification is disabled; outgoing text is not; an outgoing close reason must be UTF-8 and ≤ 123 bytes. |
//! | Q10 | The client fails with `E_SUBPROTOCOL_NOT_SUPPORTED` if the server selects a subprotocol it did not offer, or none when some were offered; the server refuses a selection the client did not offer. |
//! | Q11 | Several sends and receives may be queued; they are served in FIFO order. |
//! | Q12 | Extensions are negotiated by name only; extension buffer types are invalid arguments; RSV bits fail the connection. The exception is wspc's own permessage-deflate property (above). |
//! | Q13 | A short `SendToNetwork` completion cancels the send (`IndicateSendComplete` with `sent == false`); later sends fail with `E_INVALID_PROTOCOL_OPERATION`. |
//! | Q14 | Global-only property types given to a constructor are invalid; the keep-alive interval comes from the `WSPC_KEEPALIVE_INTERVAL` environment variable (default 30000, clamped to ≥ 15000). |
//! | Q15 | One frame per send; a client's masked payload streams in chunks of at most the send buffer, the first preceded by the header. |
//! | Q16 | Output header strings are NUL-terminated in the C ABI (length excludes the NUL); input header names match case-insensitively and repeated headers count as one comma-joined list. |
//! | Q17 | C handles are internally synchronised; one thread per queue may call concurrently. |
//! | Q18 | After an abort, sends and receives fail with `E_INVALID_PROTOCOL_OPERATION`; `get_action` returns the pending completions, then `NoAction`. |
//!
//! Further choices where the spec is silent:
//! - An automatic pong answers only the latest ping (RFC 6455 §5.5.3 allows it); no automatic pong
//!   is started once our close frame is queued, as on Windows.
//! - Pong payloads and close reasons are always delivered from the internal receive buffer, even
//!   for a [`Session::receive_into`]; data pieces go to the caller's buffer.
//! - An empty non-final data frame is consumed without delivering an empty piece.
//! - A compressed message (permessage-deflate) whose decompressed bytes fill its last piece
//!   exactly ends with an empty `*_MESSAGE` piece: the decompressor cannot tell that nothing
//!   follows until it is asked again.
//! - Receives queued behind a received close stay queued until an abort drains them.
//! - A client with masking disabled still sets the MASK bit, with the all-zero key (as Windows); a
//!   client always refuses masked frames.
//!
//! ## Modules
//!
//! [`frame`] (header codec), [`mask`], [`utf8`] (streaming validator), [`close`], [`handshake`],
//! [`session`] (the one state machine), [`properties`], [`error`], [`driver`] (what the drivers
//! share: settings, messages, the HTTP upgrade, the pump), [`io`] (the blocking driver),
//! `tokio` (the async driver, feature `tokio`), `deflate` (permessage-deflate, RFC 7692, feature
//! `deflate`: negotiation and codec, used by the session when the property enables it), and [`divergences`] (where wspc and tungstenite
//! differ, and why).
//!
//! The crate is safe Rust throughout (the attribute below forbids the alternative); the C ABI,
//! whose exports take raw pointers, lives in `wspc-capi`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod close;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod divergences;
pub mod driver;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod io;
pub mod mask;
pub mod properties;
pub mod session;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod utf8;

pub use close::{CloseStatus, MAX_CLOSE_REASON_LENGTH};
pub use error::{Error, HResult, HandshakeError, Misuse, PropertyError, ProtocolError};
pub use handshake::{Header, HeaderRef, Negotiated};
pub use properties::{Properties, Property, PropertyType, Role};
pub use session::action::{
    Action, ActionId, ActionKind, BufferType, Completed, IndicateReceiveComplete,
    IndicateSendComplete, Queue, ReceiveFromNetwork, SendToNetwork,
};
pub use session::{Buffer, Session};

/// What the test kit's fuzz harnesses (`core/testkit`) read of private state; not part of the API.
#[doc(hidden)]
pub mod fuzz_bridge {
    /// The handshake header bytes examined so far on this thread (counted in debug and fuzzing
    /// builds only, `None` otherwise), so a harness can check that the work is linear.
    pub fn handshake_bytes_examined() -> Option<u64> {
        crate::handshake::work::examined()
    }

    /// Opens a session that was just created as if its handshake had succeeded (negotiating no
    /// subprotocol or extension), so a session harness spends no time on a handshake per input;
    /// a session past `Created` is left as it is.
    pub fn open<B: crate::Buffer, C>(session: &mut crate::Session<B, C>) {
        session.open_without_handshake();
    }
}

/// The README's Rust example is compiled as a doc test, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
