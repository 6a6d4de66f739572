//! permessage-deflate (RFC 7692): its negotiation and a streaming, bounded codec (cargo feature
//! `deflate`, on by default).
//!
//! This module stands alone: pure functions over `Sec-WebSocket-Extensions` values, and a
//! [`Compressor`] and [`Decompressor`] over byte slices. The session uses it when a handle's
//! `Properties::permessage_deflate` is set, which the drivers do by default
//! (`driver::Config::deflate`) and the C ABI on request (`WSPC_PROPERTY_PERMESSAGE_DEFLATE`).
//! "Integration" below says how.
//!
//! # Negotiation (RFC 7692 §5, §7.1)
//!
//! - A client sends [`offer`]`(&config)` as (or among) its `Sec-WebSocket-Extensions`, and
//!   checks the server's answer with [`accept_response`], which returns the agreed [`Params`]
//!   (`None` if the server declined) or a [`NegotiationError`] (the handshake fails:
//!   `HandshakeError::from` gives `ExtensionNotSupported`, or `Malformed` for syntax).
//! - A server passes the request's `Sec-WebSocket-Extensions` values to [`respond`], which takes
//!   the first acceptable permessage-deflate offer in order and returns the agreed [`Params`] and
//!   the value to answer with, or `None` to decline.
//!
//! What each [`DeflateConfig`] field offers or answers, per role, is in its docs. Parameter and
//! extension names match ASCII case-insensitively; values may be tokens or quoted strings (RFC
//! 6455 §9.1), and window sizes must be `8` to `15` without leading zeros.
//!
//! ## Decisions
//!
//! - **Window bits 8.** RFC 7692 allows 8, zlib cannot compress a raw DEFLATE stream with a
//!   256-byte window (old zlib silently used 512 bytes, which breaks a peer that relies on 8),
//!   and flate2 panics outside 9..=15. So:
//!   - a configuration cannot name 8 ([`WindowBits`] is 9..=15);
//!   - a server declines an offer of `server_max_window_bits=8` (it would have to answer 8 or
//!     less) and tries the next offer;
//!   - a client whose server answers `client_max_window_bits=8` agrees, and its compressor
//!     then emits stored blocks only (zlib level 0): they hold no back-references, so they are
//!     valid under any window. A failed handshake would serve the application worse. (Our
//!     client only meets this when it offers `client_max_window_bits`, as it does by default.)
//!   - the decompressor always has a 32 KiB window (see [`Decompressor`]): a larger window
//!     decodes every stream a smaller one produced, 8 bits included.
//! - **Malformed offers are declined, never refused**: a server skips an offer that does not
//!   parse or that it cannot honour and answers the next acceptable one, or none (as
//!   python-websockets does); it has no error to report. A client, which made a single offer,
//!   refuses any answer that does not match it (each rule is a [`NegotiationError`] variant).
//! - **A client that does not offer `client_max_window_bits`** (`None`) is accepted by a server
//!   configured to limit it: the server cannot ask, and decompresses with a 32 KiB window.
//! - **`client_no_context_takeover` offered by a client** is echoed by our server, so our
//!   decompressor resets after each of that client's messages.
//!
//! # Codec (RFC 7692 §7.2)
//!
//! [`Compressor::compress`] takes one frame's payload at a time and appends its compressed
//! bytes to a `Vec`, each frame ended with a sync flush so that it inflates on arrival; the
//! final frame's `00 00 ff ff` is removed. [`Decompressor::decompress`] takes compressed bytes
//! in pieces of any size and writes into slices of any size; [`Decompressor::finish_message`]
//! appends the `00 00 ff ff` and drains the rest. With context takeover (the default) both keep
//! their window from one message to the next; without it, the side concerned starts each
//! message with an empty window.
//!
//! A peer may end a message with a block whose BFINAL bit is set (§7.2.3.4): zlib's stream ends
//! there, and the decompressor starts a new one, with an empty window, for what follows. A peer
//! that then refers back across that block fails with [`DeflateError::Corrupt`] (zlib cannot be
//! given its old window back through flate2); a zlib-based peer that ends messages with BFINAL
//! (`Z_FINISH`) resets its own window with it, so it never does.
//!
//! # Limits
//!
//! Nothing here grows with what the peer sends: the decompressor's only memory is zlib's state
//! with its window, allocated when it is created, and output goes into the caller's slices. The
//! compressor's is zlib's state and the caller's output `Vec`.
//!
//! | limit | default | when exceeded |
//! |---|---|---|
//! | decompressed bytes per message ([`DeflateLimits::max_message_size`]) | 64 MiB | [`DeflateError::TooBig`], close 1009; at most one byte past the cap is written |
//! | decompressed per compressed bytes ([`DeflateLimits::max_ratio`]), checked past [`DeflateLimits::ratio_floor`] (1 MiB) | none | [`DeflateError::TooBig`], close 1009 |
//! | window bits, configured ([`WindowBits`]) | 15 | not representable outside 9..=15 |
//! | window bits, from the peer | — | outside 8..=15: [`NegotiationError::InvalidValue`] (client) or the offer declined (server) |
//!
//! The ratio cap is off by default because DEFLATE cannot exceed about 1032:1 anyway and the
//! message cap already bounds what one message costs; a ratio cap is a policy on top.
//!
//! Memory measured with zlib-rs (`tests/deflate.rs` counts the allocations): a compressor holds
//! about 370 KiB at 15 bits, 260 KiB at 12 and 245 KiB at 9 (or 8); a decompressor about 46 KiB
//! whatever the window. Neither allocates after it is made, except the compressor's output `Vec`.
//! A session makes each on first use (the compressor with its first compressed send, the
//! decompressor with the first compressed message it receives), so agreement alone costs nothing.
//! A server that keeps many connections may want smaller server windows, or no compression.
//!
//! # Close codes
//!
//! [`DeflateError::close_status`]: invalid compressed data fails the connection (RFC 7692 names
//! no code for it) with 1007, "data within a message that was not consistent with the
//! type of the message", as Node's `ws` does (python-websockets sends 1002); a message past a
//! limit with 1009.
//!
//! # Integration
//!
//! - Handshake (the session's handshake methods, when `Properties::permessage_deflate` is set):
//!   the client appends [`offer`] to the application's extension strings, lets the name check of
//!   `ClientHandshake::end` run as before, then runs [`accept_response`] on the response's
//!   permessage-deflate elements only; the indices it reports stay the application's. The
//!   server runs [`respond`] on the request's values after `handshake::server::accept`, and
//!   appends its answer to the response's `Sec-WebSocket-Extensions`. The session keeps the
//!   [`Params`] (`Session::permessage_deflate`) with a [`Compressor`] and a [`Decompressor`].
//! - Receive: the session claims [`RSV_BIT`] on the first frame of a data message (a set RSV1
//!   on a continuation or control frame stays a protocol error, §6). A compressed message's
//!   unmasked payload goes through [`Decompressor::decompress`] into the piece's buffer (the
//!   codec's buffer of the receive buffer size, or the caller's), called again with empty input
//!   while it fills the buffer, so pieces stay at most the receive buffer size; after the final
//!   frame, [`Decompressor::finish_message`] until done. UTF-8 is checked on the output. Errors
//!   map to protocol errors with [`DeflateError::close_status`]
//!   (`ProtocolError::InvalidCompressedData` for 1007, `ProtocolError::MessageTooBig` for 1009).
//! - Send: each data send is one frame: [`Compressor::compress`]`(payload, fin, &mut buf)` as
//!   the frame starts, then the frame goes out with `buf` as its payload and RSV1 set on a
//!   message's first frame. Control frames are never compressed.
//!   Every data message is compressed, incompressible ones included (a few bytes larger than
//!   they are: RFC 7692 lets a sender choose per message, but with context takeover the
//!   decision would have to come before the bytes are known).
//! - Drivers: `driver::Config::deflate`, on by default with [`DeflateConfig::DEFAULT`]
//!   (`None` turns it off); the C ABI: the wspc-specific property type
//!   `PERMESSAGE_DEFLATE_PROPERTY_TYPE` (`0x1000`, a `ULONG`: 0 off, the default, 1 on with the
//!   defaults) through `Property::from_wspc_type`.

mod codec;
mod config;
mod header;
mod negotiation;
#[cfg(test)]
mod tests;

pub use codec::{Compressor, Decompressor, DeflateError};
pub use config::{DeflateConfig, DeflateLimits, WindowBits};
pub use negotiation::{
    accept_response, offer, respond, NegotiationError, Parameter, Params, EXTENSION_NAME, RSV_BIT,
};
