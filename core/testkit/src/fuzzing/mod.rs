//! Fuzzing harnesses: one function per target of `fuzz/`. Each fuzz target in
//! `fuzz/fuzz_targets/` is a one-liner calling a function here, and `core/testkit/tests/fuzz_corpus.rs` replays every committed seed and past crash through the same
//! functions on stable, so the corpus is a regression suite without libFuzzer.
//!
//! Every harness takes raw bytes and parses them with [`Reader`] (no `arbitrary` dependency: the
//! formats are small, documented per target, and [`seeds`] can write them, which is how the seeds
//! recorded from real traffic are made). Each asserts invariants, not only "no crash":
//!
//! | target | function | invariants |
//! |---|---|---|
//! | `frame_header` | [`frame_header`] | decode never reads past the header, re-encodes byte for byte, errors and `Partial` are prefix-monotone; encode → decode round trip |
//! | `session_server`, `session_client` | [`session_server`], [`session_client`] | pieces ≤ receive buffer (and ≤ the caller's buffer); data equals a reference parse of the bytes read, errors too; text pieces concatenate to valid UTF-8 when verification is on; our frames parse back to exactly what was sent; every operation completes exactly once; every buffer lies in the block or the caller's memory; heap growth within the documented bound; no livelock |
//! | `handshake_request`, `handshake_response` | [`handshake_request`], [`handshake_response`] | bytes examined linear in the input; outputs well-formed; the accept value is right; results do not depend on header-name case |
//! | `utf8_stream` | [`utf8_stream`] | streaming validator agrees with `std::str::from_utf8` on every prefix, whatever the splits |
//! | `http_head` | [`http_head`] | the driver's upgrade (`wspc::io::accept`, `connect`) over reads of any size: at most `MAX_HEAD_BYTES` read; end of stream reported exactly when no head came; a `101` only for a `GET` with one key, answering it; refusals are one `400`/`426`/`431` head and its body; the client's request is well-formed |
//! | `driver` | [`driver()`] | the drivers' receive path (`wspc::io::WebSocket` over the pump both drivers share) with any message cap and read size: messages are the reference parser's, in order, none over the cap; 1009 exactly when the next message is over it; errors as the reference's; pieces ≤ the receive buffer; writes are unmasked frames, a failure answered with its close; heap within cap + constant |
//! | `deflate` | [`deflate()`] | permessage-deflate's codec on hostile streams, pieces and output slices of any size: no call writes past its slice or consumes past its input, no two calls in a row without progress; the message cap holds (at most one byte over) and `TooBig` comes only past it; errors are final; no allocation while inflating. On its own output: round trips, and `miniz_oxide` (independent) reads the same |
//! | `capi` | [`capi()`] | the 13 C functions in any order with any arguments: documented HRESULTs only, never `E_FAIL`; outputs of failed calls; contexts in FIFO order; dead handles refused; no leak |
//!
//! Heap accounting needs the counting global allocator of [`crate::alloc`]: the fuzz crate and the
//! replay test install it. Without it the memory bound is not checked.

mod capi;
mod deflate;
mod driver;
mod frame;
mod handshake;
mod http;
mod pool;
pub mod seeds;
mod session;
mod utf8;

pub use capi::capi;
pub use deflate::deflate;
pub use driver::{driver, CAPS, STREAM_PER_INPUT};
pub use frame::frame_header;
pub use handshake::{handshake_request, handshake_response};
pub use http::{http_head, READ_SIZES};
pub use session::{
    buffer_size, buffer_size_raw, op, session_client, session_server, BYTES_PER_INPUT, HEAP_PER_OP,
    HEAP_SLACK,
};
pub use utf8::utf8_stream;

/// A harness: runs one input, panicking when an invariant breaks.
pub type Harness = fn(&[u8]);

/// The fuzz targets with a harness here, by name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("frame_header", frame_header),
    ("session_server", session_server),
    ("session_client", session_client),
    ("handshake_request", handshake_request),
    ("handshake_response", handshake_response),
    ("utf8_stream", utf8_stream),
    ("capi", capi),
    ("http_head", http_head),
    ("driver", driver),
    ("deflate", deflate),
];

/// The live heap bytes of this thread, if the counting allocator is installed.
fn heap() -> Option<isize> {
    crate::alloc::live()
}

/// A cursor over fuzzer input. Reading past the end yields zeros and empty slices, so every input
/// is valid; [`Reader::is_empty`] ends the loops.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.u8());
        u64::from_le_bytes(b)
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}
